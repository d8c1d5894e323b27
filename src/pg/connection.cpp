// Async libpq connection: connect via PQconnectPoll with Asio readiness, flush and
// result collection without a blocking libpq call.
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdlib>
#include <utility>
#include <variant>
#include <vector>

namespace sqs2pg::pg {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Notices (e.g. "relation already exists, skipping") would otherwise go to stderr with
// their text, which for some notices can quote data.
void notice_receiver(void*, const PGresult* r) {
    ops::log(ops::level::debug, "pg.notice", {{"sqlstate", result_sqlstate(r)}});
}

// libpq's message on one line: "...failed: Connection refused\n\tIs the server...".
std::string one_line(const char* msg) {
    std::string s;
    for (const char* p = msg != nullptr ? msg : ""; *p != '\0'; ++p) {
        const bool space = *p == '\n' || *p == '\t' || *p == ' ';
        if (space && (s.empty() || s.back() == ' '))
            continue;
        s += space ? ' ' : *p;
    }
    while (!s.empty() && s.back() == ' ')
        s.pop_back();
    return s;
}

/// TCP liveness defaults (connect_options::tcp_liveness_defaults). A table, not an
/// initializer list inside the coroutine: GCC 12 cannot compile those.
constexpr std::pair<const char*, const char*> tcp_liveness[] = {
    {"keepalives", "1"},       {"keepalives_idle", "10"},     {"keepalives_interval", "5"},
    {"keepalives_count", "3"}, {"tcp_user_timeout", "30000"},
};

/// Connection keywords in order, as PQconnectStartParams takes them.
class param_list {
public:
    void set(std::string key, std::string value) {
        for (std::size_t i = 0; i < keys_.size(); ++i)
            if (keys_[i] == key) {
                values_[i] = std::move(value);
                return;
            }
        keys_.push_back(std::move(key));
        values_.push_back(std::move(value));
    }
    const std::string* get(std::string_view key) const {
        for (std::size_t i = 0; i < keys_.size(); ++i)
            if (keys_[i] == key)
                return &values_[i];
        return nullptr;
    }
    /// Null-terminated arrays for libpq, valid while this list is unchanged.
    std::pair<std::vector<const char*>, std::vector<const char*>> arrays() const {
        std::vector<const char*> k, v;
        for (std::size_t i = 0; i < keys_.size(); ++i) {
            k.push_back(keys_[i].c_str());
            v.push_back(values_[i].c_str());
        }
        k.push_back(nullptr);
        v.push_back(nullptr);
        return {std::move(k), std::move(v)};
    }

private:
    std::vector<std::string> keys_;
    std::vector<std::string> values_;
};

boost::system::result<param_list> parse_conninfo(const std::string& conninfo) {
    param_list p;
    if (conninfo.empty())
        return p;
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    if (opts == nullptr) {
        // The message may quote part of the string, password included: not kept.
        if (err != nullptr)
            PQfreemem(err);
        return errc::invalid_conninfo;
    }
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o)
        if (o->val != nullptr)
            p.set(o->keyword, o->val);
    PQconninfoFree(opts);
    return p;
}

/// The setting from the connection string, else from the environment variable.
std::string setting(const param_list& p, std::string_view key, const char* env) {
    if (const std::string* v = p.get(key))
        return *v;
    const char* e = std::getenv(env);
    return e != nullptr ? e : "";
}

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = s.find(',', start);
        out.push_back(s.substr(start, comma - start));
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return out;
}

std::string join_commas(const std::vector<std::string>& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i > 0)
            out += ',';
        out += v[i];
    }
    return out;
}

bool needs_lookup(const std::string& host) {
    if (host.empty() || host.front() == '/' || host.front() == '@')
        return false; // the default, or a Unix-domain socket directory
    error_code ec;
    (void)asio::ip::make_address(host, ec);
    return static_cast<bool>(ec);
}

// libpq resolves host names with a blocking getaddrinfo inside PQconnectPoll. Resolve
// them here instead (Asio runs getaddrinfo off the loop) and hand libpq one
// host/hostaddr/port entry per address: it still tries them in order, and TLS still
// verifies the certificate against the host name.
asio::awaitable<boost::system::result<void>>
resolve_hosts(param_list& p, asio::steady_timer& deadline, std::string& detail) {
    if (!setting(p, "hostaddr", "PGHOSTADDR").empty())
        co_return boost::system::result<void>{};
    const std::string host_setting = setting(p, "host", "PGHOST");
    if (host_setting.empty())
        co_return boost::system::result<void>{};
    const std::vector<std::string> hosts = split_commas(host_setting);
    bool any = false;
    for (const auto& h : hosts)
        any = any || needs_lookup(h);
    if (!any)
        co_return boost::system::result<void>{};
    const std::vector<std::string> ports = split_commas(setting(p, "port", "PGPORT"));
    if (ports.size() != 1 && ports.size() != hosts.size()) {
        detail = "the port list does not match the host list";
        co_return errc::invalid_conninfo;
    }

    asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
    std::vector<std::string> out_hosts, out_addrs, out_ports;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        const std::string& port = ports.size() == 1 ? ports[0] : ports[i];
        if (!needs_lookup(hosts[i])) {
            out_hosts.push_back(hosts[i]);
            out_addrs.emplace_back();
            out_ports.push_back(port);
            continue;
        }
        // A named string, not a temporary: GCC 12 destroys temporaries in a co_await
        // expression twice.
        const std::string service = port.empty() ? "5432" : port;
        auto r = co_await (resolver.async_resolve(hosts[i], service, use_tuple) ||
                           deadline.async_wait(use_tuple));
        if (r.index() == 1) {
            const auto [ec] = std::get<1>(r);
            detail = "timed out resolving " + hosts[i];
            co_return ec ? ec : error_code(errc::connect_timeout);
        }
        const auto& [ec, endpoints] = std::get<0>(r);
        if (ec) {
            if (ec == asio::error::operation_aborted)
                co_return ec;
            detail = "could not resolve " + hosts[i] + ": " + ec.message();
            continue;
        }
        for (const auto& e : endpoints) {
            out_hosts.push_back(hosts[i]);
            out_addrs.push_back(e.endpoint().address().to_string());
            out_ports.push_back(port);
        }
    }
    if (out_hosts.empty())
        co_return errc::connect_failed;
    p.set("host", join_commas(out_hosts));
    p.set("hostaddr", join_commas(out_addrs));
    p.set("port", join_commas(out_ports));
    co_return boost::system::result<void>{};
}

} // namespace

std::string_view result_sqlstate(const PGresult* r) noexcept {
    const char* s = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    return s != nullptr ? s : "";
}

connection::connection(asio::any_io_executor ex)
    : ex_(std::move(ex))
    , socket_(ex_) {}

connection::~connection() {
    close();
}

bool connection::is_open() const noexcept {
    return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

int connection::backend_pid() const noexcept {
    return conn_ != nullptr ? PQbackendPID(conn_) : 0;
}

void connection::cancel() noexcept {
    error_code ignored;
    if (socket_.is_open())
        socket_.cancel(ignored);
}

void connection::close() noexcept {
    // Asio must let go of the descriptor before libpq closes it: a later socket could
    // get the same number while the reactor still had the old one registered.
    if (socket_.is_open())
        (void)socket_.release();
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
}

void connection::watch_socket() {
    // Re-register on every step: libpq may have closed the socket and opened another
    // (next host, TLS retry) that got the same descriptor number.
    if (socket_.is_open())
        (void)socket_.release();
    const int fd = conn_ != nullptr ? PQsocket(conn_) : -1;
    if (fd >= 0) {
        error_code ec;
        socket_.assign(fd, ec);
    }
}

error_code connection::lost(error_code ec) noexcept {
    close();
    return ec;
}

asio::awaitable<boost::system::result<void>> connection::async_connect(connect_options opts) {
    close();
    detail_.clear();
    sqlstate_.clear();
    auto parsed = parse_conninfo(opts.conninfo);
    if (!parsed) {
        detail_ = "the connection string does not parse";
        co_return parsed.error();
    }
    param_list params = std::move(*parsed);
    asio::steady_timer deadline(ex_);
    deadline.expires_after(opts.timeout);
    auto resolved = co_await resolve_hosts(params, deadline, detail_);
    if (!resolved)
        co_return resolved.error();
    params.set("fallback_application_name", "sqs2pg");
    if (opts.password)
        params.set("password", *opts.password);
    if (opts.tcp_liveness_defaults) {
        // Only where the user's connection string is silent (libpq reads no environment
        // variables for these).
        for (const auto& [key, value] : tcp_liveness)
            if (params.get(key) == nullptr)
                params.set(key, value);
    }
    params.set("client_encoding",
               "UTF8"); // rows are UTF-8 JSON text, whatever PGCLIENTENCODING says

    const auto [keys, values] = params.arrays();
    conn_ = PQconnectStartParams(keys.data(), values.data(), 0);
    if (conn_ == nullptr) {
        detail_ = "out of memory";
        co_return errc::connect_failed;
    }
    if (PQstatus(conn_) == CONNECTION_BAD) {
        detail_ = one_line(PQerrorMessage(conn_));
        close();
        co_return errc::connect_failed;
    }
    PQsetNoticeReceiver(conn_, notice_receiver, nullptr);

    // Before the first PQconnectPoll call the socket counts as "wait for writable".
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    while (poll != PGRES_POLLING_OK) {
        if (poll == PGRES_POLLING_FAILED) {
            detail_ = one_line(PQerrorMessage(conn_));
            close();
            co_return errc::connect_failed;
        }
        watch_socket();
        if (!socket_.is_open()) {
            detail_ = "libpq has no socket";
            close();
            co_return errc::connect_failed;
        }
        const auto what = poll == PGRES_POLLING_READING
                              ? asio::posix::stream_descriptor::wait_read
                              : asio::posix::stream_descriptor::wait_write;
        auto r = co_await (socket_.async_wait(what, use_tuple) || deadline.async_wait(use_tuple));
        if (r.index() == 1) {
            const auto [ec] = std::get<1>(r);
            close();
            if (ec)
                co_return ec; // cancelled
            detail_ = "timed out";
            co_return errc::connect_timeout;
        }
        if (const auto [ec] = std::get<0>(r); ec) {
            close();
            co_return ec;
        }
        poll = PQconnectPoll(conn_);
    }
    watch_socket();
    if (PQsetnonblocking(conn_, 1) != 0) {
        detail_ = one_line(PQerrorMessage(conn_));
        close();
        co_return errc::connect_failed;
    }
    co_return boost::system::result<void>{};
}

asio::awaitable<error_code> connection::async_wait_readable() {
    if (!socket_.is_open())
        co_return asio::error::operation_aborted;
    const auto [ec] =
        co_await socket_.async_wait(asio::posix::stream_descriptor::wait_read, use_tuple);
    co_return ec;
}

asio::awaitable<error_code> connection::async_wait_writable() {
    if (!socket_.is_open())
        co_return asio::error::operation_aborted;
    const auto [ec] =
        co_await socket_.async_wait(asio::posix::stream_descriptor::wait_write, use_tuple);
    co_return ec;
}

asio::awaitable<boost::system::result<void>> connection::async_flush() {
    while (true) {
        if (conn_ == nullptr)
            co_return errc::connection_lost;
        const int r = PQflush(conn_);
        if (r == 0)
            co_return boost::system::result<void>{};
        if (r < 0)
            co_return lost(errc::connection_lost);
        // libpq: with output pending, wait for either direction; the server may be
        // waiting for us to read before it reads more.
        auto w =
            co_await (socket_.async_wait(asio::posix::stream_descriptor::wait_read, use_tuple) ||
                      socket_.async_wait(asio::posix::stream_descriptor::wait_write, use_tuple));
        const error_code ec = std::visit([](const auto& t) { return std::get<0>(t); }, w);
        if (ec)
            co_return lost(
                ec == asio::error::operation_aborted ? ec : error_code(errc::connection_lost));
        if (w.index() == 0 && PQconsumeInput(conn_) == 0)
            co_return lost(errc::connection_lost);
    }
}

asio::awaitable<boost::system::result<result_ptr>> connection::async_collect() {
    auto flushed = co_await async_flush();
    if (!flushed)
        co_return flushed.error();
    result_ptr last;
    error_code err;
    while (true) {
        while (PQisBusy(conn_) != 0) {
            const error_code ec = co_await async_wait_readable();
            if (ec)
                co_return lost(
                    ec == asio::error::operation_aborted ? ec : error_code(errc::connection_lost));
            if (PQconsumeInput(conn_) == 0)
                co_return lost(errc::connection_lost);
        }
        result_ptr r(PQgetResult(conn_));
        if (!r)
            break;
        switch (PQresultStatus(r.get())) {
        case PGRES_FATAL_ERROR:
            if (!err) {
                sqlstate_ = std::string(result_sqlstate(r.get()));
                err = errc_from_sqlstate(sqlstate_);
            }
            break;
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
            last = std::move(r);
            break;
        default:
            co_return lost(errc::protocol); // COPY and friends are never started here
        }
    }
    if (PQstatus(conn_) == CONNECTION_BAD)
        co_return lost(errc::connection_lost);
    if (err)
        co_return err;
    co_return last;
}

asio::awaitable<boost::system::result<result_ptr>> connection::async_query(std::string_view sql) {
    if (conn_ == nullptr)
        co_return errc::connection_lost;
    sqlstate_.clear();
    if (PQsendQuery(conn_, std::string(sql).c_str()) == 0)
        co_return lost(errc::connection_lost);
    co_return co_await async_collect();
}

asio::awaitable<boost::system::result<result_ptr>>
connection::async_query_params(std::string_view sql,
                               std::span<const std::optional<std::string>> params) {
    if (conn_ == nullptr)
        co_return errc::connection_lost;
    sqlstate_.clear();
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params)
        values.push_back(p ? p->c_str() : nullptr);
    if (PQsendQueryParams(conn_, std::string(sql).c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0) == 0)
        co_return lost(errc::connection_lost);
    co_return co_await async_collect();
}

asio::awaitable<boost::system::result<void>>
connection::async_prepare(const std::string& name, const std::string& sql,
                          std::span<const std::uint32_t> types) {
    if (conn_ == nullptr)
        co_return errc::connection_lost;
    sqlstate_.clear();
    const std::vector<Oid> oids(types.begin(), types.end());
    if (PQsendPrepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(oids.size()),
                      oids.data()) == 0)
        co_return lost(errc::connection_lost);
    auto r = co_await async_collect();
    if (!r)
        co_return r.error();
    co_return boost::system::result<void>{};
}

} // namespace sqs2pg::pg
