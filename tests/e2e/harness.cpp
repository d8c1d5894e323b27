// The end-to-end harness: service helpers (SQS, IAM, PostgreSQL, ops endpoint), login
// bodies, the summary parser and the per-test fixture.
#include "harness.hpp"

#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/signer.hpp>
#include <sqs2pg/http/client.hpp>
#include <sqs2pg/sqs/client.hpp>
#include <sqs2pg/sqs/codec.hpp>

#include "test_env.hpp"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <fmt/core.h>
#include <pugixml.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace sqs2pg::e2e {

namespace asio = boost::asio;

// --- services ----------------------------------------------------------------------------

const services& services::get() {
    static const services s = [] {
        services v;
        v.sqs_endpoint = test::require_env("SQS2PG_TEST_SQS_ENDPOINT");
        v.region = test::require_env("SQS2PG_TEST_AWS_REGION");
        v.admin = {test::require_env("SQS2PG_TEST_AWS_ACCESS_KEY_ID"),
                   test::require_env("SQS2PG_TEST_AWS_SECRET_ACCESS_KEY"),
                   {},
                   {}};
        v.pg = test::require_env("SQS2PG_TEST_PG");
        v.script = test::require_env("SQS2PG_TEST_SERVICES");
        return v;
    }();
    return s;
}

std::string binary_path() {
    return test::require_env("SQS2PG_E2E_BINARY");
}

void services_command(const std::string& what) {
    const std::string cmd = services::get().script + " " + what;
    if (std::system(cmd.c_str()) != 0)
        throw std::runtime_error("failed: " + cmd);
}

namespace {

// Runs `aw` on `ioc` until it completes; the transport keeps idle connections, so run()
// alone might not return. A minute is far beyond any call here: a hang fails the test.
template <class T>
T run_on(asio::io_context& ioc, asio::awaitable<T> aw) {
    auto fut = asio::co_spawn(ioc, std::move(aw), asio::use_future);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    ioc.restart();
    while (fut.wait_for(0s) != std::future_status::ready) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("an SQS/IAM call of the test harness took over 60 s");
        ioc.run_one_for(100ms);
    }
    return fut.get();
}

} // namespace

// --- SQS -----------------------------------------------------------------------------------

std::string queue_counts::describe() const {
    return fmt::format("visible={} not_visible={} delayed={}", visible, not_visible, delayed);
}

struct sqs_admin::impl {
    asio::io_context ioc;
    std::unique_ptr<aws::credentials_provider> provider =
        aws::make_static_provider(services::get().admin);
    sqs::client client{ioc.get_executor(),
                       http::endpoint::parse(services::get().sqs_endpoint).value(), *provider, [] {
                           sqs::client_options o;
                           o.region = services::get().region;
                           return o;
                       }()};

    template <class T>
    T call(asio::awaitable<sqs::result<T>> aw, std::string_view what) {
        auto r = run_on(ioc, std::move(aw));
        if (!r)
            throw std::runtime_error(std::string(what) + ": " + client.explain(r.error()));
        return std::move(*r);
    }
};

sqs_admin::sqs_admin()
    : impl_(std::make_unique<impl>()) {}
sqs_admin::~sqs_admin() = default;

std::string sqs_admin::create_queue(const std::string& name,
                                    std::vector<std::pair<std::string, std::string>> attributes) {
    return impl_->call(impl_->client.async_create_queue(name, std::move(attributes)),
                       "CreateQueue " + name);
}

void sqs_admin::delete_queue(const std::string& url) {
    impl_->call(impl_->client.async_delete_queue(url), "DeleteQueue");
}

std::vector<std::string> sqs_admin::send(const std::string& url,
                                         const std::vector<std::string>& bodies,
                                         std::optional<int> delay_seconds) {
    std::vector<std::string> ids(bodies.size());
    for (std::size_t start = 0; start < bodies.size(); start += sqs::max_batch_entries) {
        std::vector<sqs::send_entry> entries;
        const auto end = std::min(bodies.size(), start + sqs::max_batch_entries);
        for (std::size_t i = start; i < end; ++i)
            entries.emplace_back("m" + std::to_string(i), bodies[i], delay_seconds);
        auto sent = impl_->call(impl_->client.async_send_message_batch(url, std::move(entries)),
                                "SendMessageBatch");
        if (!sent.all_succeeded())
            throw std::runtime_error("SendMessageBatch entry failed: " + sent.failed.front().code);
        for (const auto& s : sent.successful)
            ids[std::stoul(s.id.substr(1))] = s.message_id;
    }
    return ids;
}

queue_counts sqs_admin::counts(const std::string& url) {
    auto last = reading(url);
    for (int i = 0; i < 20; ++i) {
        auto next = reading(url);
        if (next == last)
            return next;
        last = next;
    }
    return last;
}

queue_counts sqs_admin::reading(const std::string& url) {
    auto attrs = impl_->call(
        impl_->client.async_get_queue_attributes(url, {"ApproximateNumberOfMessages",
                                                       "ApproximateNumberOfMessagesNotVisible",
                                                       "ApproximateNumberOfMessagesDelayed"}),
        "GetQueueAttributes");
    const auto get = [&](std::string_view name) {
        const auto v = sqs::attribute_as_number(attrs, name);
        if (!v)
            throw std::runtime_error("GetQueueAttributes did not return " + std::string(name));
        return *v;
    };
    return {get("ApproximateNumberOfMessages"), get("ApproximateNumberOfMessagesNotVisible"),
            get("ApproximateNumberOfMessagesDelayed")};
}

std::vector<sqs::message> sqs_admin::receive(const std::string& url, std::size_t n,
                                             int visibility_timeout) {
    std::vector<sqs::message> out;
    for (int empty = 0; empty < 3 && out.size() < n;) {
        sqs::receive_options o;
        o.wait_time_seconds = 1;
        o.visibility_timeout = visibility_timeout;
        auto r = impl_->call(impl_->client.async_receive_message(url, o), "ReceiveMessage");
        if (!r.rejected.empty())
            throw std::runtime_error("ReceiveMessage: a message failed the MD5 check");
        empty = r.messages.empty() ? empty + 1 : 0;
        for (auto& m : r.messages)
            out.push_back(std::move(m));
    }
    return out;
}

// --- IAM -----------------------------------------------------------------------------------

aws::credentials create_iam_user(const std::string& name, const std::string& policy_json) {
    asio::io_context ioc;
    http::client client(ioc.get_executor(),
                        http::endpoint::parse(services::get().sqs_endpoint).value());
    aws::signer signer("us-east-1", "iam");
    const auto call = [&](std::vector<std::pair<std::string, std::string>> params) {
        std::string form;
        for (const auto& [k, v] : params)
            sqs::append_form_field(form, k, v);
        sqs::append_form_field(form, "Version", "2010-05-08");
        http::request req{boost::beast::http::verb::post, "/", 11};
        req.set(boost::beast::http::field::host, client.target().host_header());
        req.set(boost::beast::http::field::content_type,
                "application/x-www-form-urlencoded; charset=utf-8");
        req.body() = form;
        req.prepare_payload();
        signer.sign(req, services::get().admin, std::chrono::system_clock::now());
        auto res = run_on(ioc, client.async_send(std::move(req), 30s));
        if (!res)
            throw std::runtime_error("IAM " + params.front().second + ": " + res.error().message());
        if (res->result_int() != 200)
            throw std::runtime_error("IAM " + params.front().second + ": HTTP " +
                                     std::to_string(res->result_int()) + ": " + res->body());
        auto doc = std::make_unique<pugi::xml_document>();
        if (!doc->load_string(res->body().c_str()))
            throw std::runtime_error("IAM " + params.front().second + ": unreadable answer");
        return doc;
    };
    call({{"Action", "CreateUser"}, {"UserName", name}});
    call({{"Action", "PutUserPolicy"},
          {"UserName", name},
          {"PolicyName", name + "-policy"},
          {"PolicyDocument", policy_json}});
    const auto doc = call({{"Action", "CreateAccessKey"}, {"UserName", name}});
    const auto text = [&](const char* tag) {
        const auto node =
            doc->find_node([tag](pugi::xml_node n) { return std::string_view(n.name()) == tag; });
        const std::string v = node.child_value();
        if (v.empty())
            throw std::runtime_error(std::string("IAM CreateAccessKey: no ") + tag);
        return v;
    };
    return {text("AccessKeyId"), text("SecretAccessKey"), {}, {}};
}

// --- PostgreSQL ------------------------------------------------------------------------------

database::database(const std::string& conninfo)
    : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
        std::string err = PQerrorMessage(conn_);
        PQfinish(conn_);
        throw std::runtime_error("cannot connect to PostgreSQL: " + err);
    }
}

database::~database() {
    PQfinish(conn_);
}

PGresult* database::run(const std::string& sql) {
    if (PQstatus(conn_) != CONNECTION_OK)
        PQreset(conn_);
    PGresult* r = PQexec(conn_, sql.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) { // the server went away since the last statement
        PQclear(r);
        PQreset(conn_);
        r = PQexec(conn_, sql.c_str());
    }
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        std::string err = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
        PQclear(r);
        throw std::runtime_error("SQL failed: " + sql + ": " + err);
    }
    return r;
}

void database::exec(const std::string& sql) {
    PQclear(run(sql));
}

std::vector<std::vector<std::string>> database::rows(const std::string& sql) {
    PGresult* r = run(sql);
    std::vector<std::vector<std::string>> out;
    for (int i = 0; i < PQntuples(r); ++i) {
        auto& row = out.emplace_back();
        for (int j = 0; j < PQnfields(r); ++j)
            row.emplace_back(PQgetisnull(r, i, j) ? "<NULL>" : PQgetvalue(r, i, j));
    }
    PQclear(r);
    return out;
}

std::string database::value(const std::string& sql) {
    auto r = rows(sql);
    if (r.empty() || r[0].empty())
        throw std::runtime_error("no value from: " + sql);
    return r[0][0];
}

// --- summary ---------------------------------------------------------------------------------

std::int64_t summary::at(std::string_view name) const {
    const auto* v = fields.if_contains(name);
    if (v == nullptr)
        throw std::out_of_range("the summary has no field '" + std::string(name) + "': " + line);
    if (const auto* i = v->if_int64())
        return *i;
    if (const auto* u = v->if_uint64())
        return static_cast<std::int64_t>(*u);
    throw std::out_of_range("the summary field '" + std::string(name) +
                            "' is not an integer: " + line);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        if (nl == std::string::npos)
            nl = text.size();
        out.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return out;
}

boost::system::result<summary, std::string> parse_summary(const std::string& stdout_text) {
    const auto lines = lines_of(stdout_text);
    if (lines.size() != 1)
        return "stdout should hold exactly one line (the summary), it holds " +
               std::to_string(lines.size()) + ": '" + stdout_text + "'";
    boost::system::error_code ec;
    auto v = boost::json::parse(lines[0], ec);
    if (ec || !v.is_object())
        return "the stdout line is not a JSON object: '" + lines[0] + "'";
    summary s{std::move(v.as_object()), lines[0]};
    for (const char* f : {"received", "inserted", "duplicates_skipped", "rejected", "deleted",
                          "seconds", "msgs_per_sec", "p50_ms", "p99_ms", "peak_rss_kb"})
        if (!s.fields.contains(f))
            return "the summary lacks '" + std::string(f) + "': " + lines[0];
    return s;
}

// --- login bodies ----------------------------------------------------------------------------

namespace {

boost::json::array sample_array() {
    return boost::json::parse(test::read_file(test::data_path("sample_data.json"))).as_array();
}

bool sample_element_is_valid(const boost::json::object& o) {
    for (const char* f : {"user_id", "device_type", "ip", "device_id", "app_version"})
        if (!o.contains(f) || o.at(f).is_null())
            return false;
    return true;
}

} // namespace

login_set sample_logins() {
    login_set s;
    for (const auto& v : sample_array()) {
        s.bodies.push_back(boost::json::serialize(v));
        const auto& o = v.as_object();
        if (sample_element_is_valid(o))
            s.valid_user_ids.emplace_back(o.at("user_id").as_string());
        else
            ++s.malformed;
    }
    return s;
}

std::vector<std::string> sample_personal_values() {
    std::vector<std::string> out;
    for (const auto& v : sample_array()) {
        const auto& o = v.as_object();
        if (!sample_element_is_valid(o))
            continue;
        out.emplace_back(o.at("ip").as_string());
        out.emplace_back(o.at("device_id").as_string());
    }
    return out;
}

login_set generated_logins(int n, std::string_view prefix, int malformed_every) {
    login_set s;
    for (int i = 0; i < n; ++i) {
        const std::string user = fmt::format("{}-{}", prefix, i);
        if (malformed_every > 0 && i % malformed_every == malformed_every - 1) {
            ++s.malformed;
            switch ((i / malformed_every) % 5) {
            case 0:
                s.bodies.push_back(R"({"user_id": ")" + user + R"(", "ip": )");
                break;
            case 1:
                s.bodies.push_back(R"({"device_type":"ios","ip":"10.0.0.1","device_id":"d",)"
                                   R"("app_version":"1.0"})");
                break;
            case 2:
                s.bodies.push_back(R"({"user_id":")" + user +
                                   R"(","device_type":"ios","ip":"10.0.0.2","device_id":"d",)"
                                   R"("app_version":"v1.2-beta"})");
                break;
            case 3:
                s.bodies.push_back(R"({"user_id":")" + user +
                                   R"(","device_type":"ios","ip":"   ","device_id":"d",)"
                                   R"("app_version":"1.0"})");
                break;
            default:
                s.bodies.push_back(R"(["not", "an", "object"])");
                break;
            }
            continue;
        }
        boost::json::object o;
        o["user_id"] = user;
        o["device_type"] = std::array{"ios", "android", "web"}[i % 3];
        switch (i % 4) {
        case 0:
            o["ip"] = fmt::format("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256);
            break;
        case 1:
            o["ip"] = fmt::format("2001:DB8:0:0:0:0:{:x}:1", i);
            break;
        case 2:
            o["ip"] = fmt::format(" 192.168.{}.{}\n", i / 256 % 256, i % 256);
            break;
        default:
            o["ip"] = fmt::format("::ffff:172.16.{}.{}", i / 256 % 256, i % 256);
            break;
        }
        switch (i % 3) {
        case 0:
            o["device_id"] = 1'000'000 + i;
            break;
        case 1:
            o["device_id"] = fmt::format("6F9619FF-8B86-D011-B42D-{:012X}", i);
            break;
        default:
            o["device_id"] = fmt::format("dev-{}-Token", i);
            break;
        }
        switch (i % 3) {
        case 0:
            o["app_version"] = i % 9 + 1;
            break;
        case 1:
            o["app_version"] = fmt::format("1.{}.{}", i % 20, i % 7);
            break;
        default:
            o["app_version"] = fmt::format("0.{}", i % 100);
            break;
        }
        switch (i % 4) {
        case 0:
            break; // absent
        case 1:
            o["locale"] = nullptr;
            break;
        case 2:
            o["locale"] = "en_US";
            break;
        default:
            o["locale"] = "Ünïcødé ☃";
            break;
        }
        s.bodies.push_back(boost::json::serialize(o));
        s.valid_user_ids.push_back(user);
    }
    return s;
}

// --- ops endpoint ----------------------------------------------------------------------------

namespace {

struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0)
            ::close(fd);
    }
};

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

} // namespace

std::uint16_t free_port() {
    fd_guard s{::socket(AF_INET, SOCK_STREAM, 0)};
    auto a = loopback(0);
    if (s.fd < 0 || ::bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        throw std::runtime_error("cannot bind a port on 127.0.0.1");
    socklen_t len = sizeof a;
    ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

http_answer http_get(std::uint16_t port, const std::string& path) {
    fd_guard s{::socket(AF_INET, SOCK_STREAM, 0)};
    if (s.fd < 0)
        return {};
    timeval tv{5, 0};
    ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    auto a = loopback(port);
    if (::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        return {};
    const std::string req = fmt::format(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", path, port);
    if (::send(s.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
        return {};
    std::string raw;
    char buf[4096];
    for (;;) {
        const auto n = ::recv(s.fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        raw.append(buf, static_cast<std::size_t>(n));
    }
    const auto head_end = raw.find("\r\n\r\n");
    if (!raw.starts_with("HTTP/1.") || raw.size() < 12 || head_end == std::string::npos)
        return {};
    return {std::atoi(raw.substr(9, 3).c_str()), raw.substr(head_end + 4)};
}

namespace {

// "name{b="2",a="1"}" -> "name{a="1",b="2"}": labels in a fixed order for comparison.
std::string canonical_sample_name(std::string_view s) {
    const auto brace = s.find('{');
    if (brace == std::string_view::npos)
        return std::string(s);
    std::vector<std::string> labels;
    std::string_view rest = s.substr(brace + 1, s.rfind('}') - brace - 1);
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        labels.emplace_back(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    std::sort(labels.begin(), labels.end());
    std::string out(s.substr(0, brace));
    out += '{';
    for (std::size_t i = 0; i < labels.size(); ++i)
        out += (i ? "," : "") + labels[i];
    return out + '}';
}

} // namespace

std::optional<double> metric_value(const std::string& exposition, std::string_view name) {
    const auto wanted = canonical_sample_name(name);
    for (const auto& line : lines_of(exposition)) {
        if (line.empty() || line[0] == '#')
            continue;
        const auto close = line.find('}');
        const auto space = line.find(' ', close == std::string::npos ? 0 : close);
        if (space == std::string::npos)
            continue;
        if (canonical_sample_name(std::string_view(line).substr(0, space)) == wanted)
            return std::strtod(line.c_str() + space + 1, nullptr);
    }
    return std::nullopt;
}

// --- fixture ---------------------------------------------------------------------------------

void e2e_test::SetUp() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/sqs2pg-e2e.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr)
        throw std::runtime_error("mkdtemp failed");
    dir_ = templ;

    sqs_ = std::make_unique<sqs_admin>();
    queue_url_ = extra_queue("e2e_");
    db_ = std::make_unique<database>(services::get().pg);
    schema_ = test::unique_name("e2e_");
    db().exec("CREATE SCHEMA " + schema_);

    // The key as a user makes it: `sqs2pg keygen --out mask.keys` (mode 0600 from the start).
    key_file_ = dir_ + "/mask.keys";
    auto keygen = run({"keygen", "--out", key_file_}, run_env(), 30s);
    ASSERT_TRUE(keygen.status.exited_with(0)) << keygen.status.describe() << ": " << keygen.err;
    ASSERT_EQ(keygen.out, "") << "keygen --out printed the key";
    struct stat st {};
    ASSERT_EQ(::stat(key_file_.c_str(), &st), 0) << key_file_;
    ASSERT_EQ(st.st_mode & 07777, 0600u) << "keygen --out made the key file with another mode";
    {
        std::ifstream f(key_file_, std::ios::binary);
        key_text_.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
}

void e2e_test::TearDown() {
    for (auto& p : processes_)
        p->kill();
    processes_.clear();
    for (const auto& q : queues_) {
        EXPECT_NO_THROW(sqs().delete_queue(q)) << q;
    }
    if (db_) {
        EXPECT_NO_THROW(db().exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE"));
    }
    if (!dir_.empty()) {
        if (HasFailure())
            std::fprintf(stderr, "e2e: the children's output is kept in %s\n", dir_.c_str());
        else
            std::filesystem::remove_all(dir_);
    }
}

std::string e2e_test::extra_queue(std::string_view prefix,
                                  std::vector<std::pair<std::string, std::string>> attributes) {
    if (attributes.empty())
        attributes = {{"VisibilityTimeout", "30"}};
    auto url = sqs().create_queue(test::unique_name(prefix), std::move(attributes));
    queues_.push_back(url);
    return url;
}

std::vector<std::string> e2e_test::run_args(const std::vector<std::string>& extra) const {
    const auto& s = services::get();
    std::vector<std::string> a{
        "--queue-url",  queue_url_, "--endpoint-url", s.sqs_endpoint, "--region",        s.region,
        "--pg",         s.pg,       "--table",        table(),        "--mask-key-file", key_file_,
        "--log-format", "json"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

std::vector<std::string> e2e_test::run_env(const std::vector<std::string>& extra,
                                           const std::optional<aws::credentials>& creds) const {
    const char* path = std::getenv("PATH");
    const auto& c = creds ? *creds : services::get().admin;
    std::vector<std::string> env{
        std::string("PATH=") + (path ? path : "/usr/bin:/bin"),
        "LANG=C.UTF-8",
        "HOME=" + dir_,
        "AWS_CONFIG_FILE=" + dir_ + "/no-aws-config",
        "AWS_SHARED_CREDENTIALS_FILE=" + dir_ + "/no-aws-credentials",
        "AWS_EC2_METADATA_DISABLED=true",
        "AWS_ACCESS_KEY_ID=" + c.access_key_id,
        "AWS_SECRET_ACCESS_KEY=" + c.secret_access_key,
    };
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

process& e2e_test::start(const std::vector<std::string>& args,
                         const std::vector<std::string>& env) {
    std::vector<std::string> argv{binary_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto prefix = dir_ + "/run" + std::to_string(++next_output_);
    processes_.push_back(std::make_unique<process>(argv, env, prefix));
    return *processes_.back();
}

finished e2e_test::finish(process& p, std::chrono::seconds limit) {
    finished f;
    if (auto st = p.wait_for(limit)) {
        f.status = *st;
    } else {
        f.status = p.kill();
        f.timed_out = true;
        ADD_FAILURE() << "sqs2pg did not end within " << limit.count()
                      << " s and was killed; the end of its stderr:\n"
                      << p.stderr_tail();
    }
    f.out = p.stdout_text();
    f.err = p.stderr_text();
    return f;
}

finished e2e_test::run(const std::vector<std::string>& args, const std::vector<std::string>& env,
                       std::chrono::seconds limit) {
    return finish(start(args, env), limit);
}

long e2e_test::rows_if_any() {
    try {
        if (db().value("SELECT to_regclass('" + table() + "') IS NOT NULL") != "t")
            return -1;
        return rows();
    } catch (const std::runtime_error&) {
        return -1;
    }
}

std::vector<std::string> e2e_test::user_ids() {
    std::vector<std::string> out;
    for (auto& r : db().rows("SELECT user_id FROM " + table() + " ORDER BY user_id"))
        out.push_back(std::move(r[0]));
    return out;
}

::testing::AssertionResult same_elements(std::vector<std::string> expected,
                                         std::vector<std::string> actual) {
    std::sort(expected.begin(), expected.end());
    std::sort(actual.begin(), actual.end());
    if (expected == actual)
        return ::testing::AssertionSuccess();
    std::vector<std::string> missing, extra;
    std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                        std::back_inserter(missing));
    std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                        std::back_inserter(extra));
    auto r = ::testing::AssertionFailure();
    r << expected.size() << " expected, " << actual.size() << " found; " << missing.size()
      << " missing, " << extra.size() << " extra (duplicates count)";
    for (std::size_t i = 0; i < missing.size() && i < 10; ++i)
        r << "\n  missing: " << missing[i];
    for (std::size_t i = 0; i < extra.size() && i < 10; ++i)
        r << "\n  extra:   " << extra[i];
    return r;
}

} // namespace sqs2pg::e2e
