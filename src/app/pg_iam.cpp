// RDS IAM auth: the connection's target, the sslmode rule, the per-connect token source
// and the rds-token command.
#include <sqs2pg/app/mask_keys.hpp>
#include <sqs2pg/app/pg_iam.hpp>
#include <sqs2pg/aws/rds.hpp>
#include <sqs2pg/pg/error.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>
#include <map>
#include <ostream>

namespace sqs2pg::app {
namespace {

namespace asio = boost::asio;

constexpr std::string_view rds_token_usage =
    "usage: sqs2pg rds-token --host HOST --port PORT --user USER [--region REGION]\n"
    "Prints an RDS / Aurora IAM auth token (valid for 15 minutes to open connections) made\n"
    "with the AWS credentials chain, like `aws rds generate-db-auth-token`:\n"
    "    PGPASSWORD=\"$(sqs2pg rds-token --host H --port 5432 --user U)\" \\\n"
    "        psql \"host=H user=U sslmode=verify-full\"\n"
    "The region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile, else the host name.\n"
    "Exit status: 0 printed; 1 no credentials; 2 bad usage.\n";

std::map<std::string, std::string> parse(const std::string& conninfo, bool& ok) {
    std::map<std::string, std::string> out;
    ok = true;
    if (conninfo.empty())
        return out;
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    if (opts == nullptr) {
        if (err != nullptr)
            PQfreemem(err); // may quote the password
        ok = false;
        return out;
    }
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o)
        if (o->val != nullptr && *o->val != '\0')
            out[o->keyword] = o->val;
    PQconninfoFree(opts);
    return out;
}

} // namespace

config_result<iam_target> iam_auth_target(const std::string& conninfo, const environment& env) {
    bool ok = true;
    const auto p = parse(conninfo, ok);
    if (!ok)
        return config_error{"the --pg connection string does not parse"};
    const auto setting = [&](const char* key, const char* var) -> std::string {
        if (auto it = p.find(key); it != p.end())
            return it->second;
        if (auto v = env.get(var))
            return std::string(*v);
        return {};
    };
    iam_target t;
    t.sslmode = setting("sslmode", "PGSSLMODE");
    if (t.sslmode != "require" && t.sslmode != "verify-ca" && t.sslmode != "verify-full")
        return config_error{fmt::format(
            "needs sslmode=require, verify-ca or verify-full in --pg (got {}): the token is a "
            "password and must not travel unencrypted (RDS also refuses IAM logins without TLS)",
            t.sslmode.empty() ? "none, which means prefer" : "'" + show_value(t.sslmode) + "'")};
    t.host = setting("host", "PGHOST");
    if (t.host.empty() || t.host.find(',') != std::string::npos || t.host.front() == '/' ||
        t.host.front() == '@')
        return config_error{"needs exactly one host name in --pg (the token is signed for it)"};
    const std::string port = setting("port", "PGPORT");
    if (!port.empty()) {
        unsigned n = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
        if (ec != std::errc{} || end != port.data() + port.size() || n == 0 || n > 65535)
            return config_error{"needs one port number in --pg"};
        t.port = static_cast<std::uint16_t>(n);
    }
    t.user = setting("user", "PGUSER");
    if (t.user.empty())
        return config_error{"needs the database user in --pg (user=...), the one granted "
                            "rds_iam"};
    return t;
}

std::optional<std::string> rds_host_region(std::string_view host) {
    for (std::string_view suffix : {".rds.amazonaws.com", ".rds.amazonaws.com.cn"}) {
        if (!host.ends_with(suffix))
            continue;
        host.remove_suffix(suffix.size());
        const auto dot = host.rfind('.');
        const auto region = host.substr(dot == std::string_view::npos ? 0 : dot + 1);
        if (!region.empty())
            return std::string(region);
    }
    return std::nullopt;
}

std::function<asio::awaitable<boost::system::result<std::string>>(std::string&)>
make_token_source(iam_target target, std::string region, aws::credentials_provider& credentials) {
    return [target = std::move(target), region = std::move(region), &credentials](
               std::string& detail) -> asio::awaitable<boost::system::result<std::string>> {
        auto creds = co_await credentials.async_get();
        if (!creds) {
            detail = "--pg-iam-auth: no AWS credentials for the RDS auth token: " +
                     credentials.last_failure();
            co_return aws::is_fatal(creds.error()) ? make_error_code(pg::errc::invalid_conninfo)
                                                   : make_error_code(pg::errc::connect_failed);
        }
        co_return aws::rds_auth_token(target.host, target.port, target.user, region, *creds,
                                      std::chrono::system_clock::now());
    };
}

int run_rds_token(std::span<const std::string> args, const environment& env, std::ostream& out,
                  std::ostream& err) {
    std::optional<std::string> host, port, user, region;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            out << rds_token_usage;
            return 0;
        }
        std::optional<std::string>* slot = a == "--host"     ? &host
                                           : a == "--port"   ? &port
                                           : a == "--user"   ? &user
                                           : a == "--region" ? &region
                                                             : nullptr;
        if (slot == nullptr || i + 1 >= args.size() || args[i + 1].empty()) {
            err << "sqs2pg rds-token: "
                << (slot == nullptr ? "unexpected argument '" + show_value(a) + "'"
                                    : a + " needs a value")
                << "\n"
                << rds_token_usage;
            return 2;
        }
        *slot = args[++i];
    }
    if (!host || !port || !user) {
        err << "sqs2pg rds-token: --host, --port and --user are required\n" << rds_token_usage;
        return 2;
    }
    unsigned n = 0;
    const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), n);
    if (ec != std::errc{} || end != port->data() + port->size() || n == 0 || n > 65535) {
        err << "sqs2pg rds-token: --port must be 1..65535\n";
        return 2;
    }
    const auto aws_env = aws_environment(env, region);
    std::string r = region_for(aws_env, "");
    if (r.empty())
        r = rds_host_region(*host).value_or("");
    if (r.empty()) {
        err << "sqs2pg rds-token: no region: pass --region or set AWS_REGION\n";
        return 2;
    }
    asio::io_context ioc(1);
    auto chain = aws::make_default_chain(ioc.get_executor(), aws_env);
    std::optional<boost::system::result<aws::credentials>> creds;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { creds = co_await chain->async_get(); },
        [&](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    ioc.run();
    if (!creds || !*creds) {
        err << "sqs2pg rds-token: " << chain->last_failure() << "\n";
        return 1;
    }
    out << aws::rds_auth_token(*host, static_cast<std::uint16_t>(n), *user, r, **creds,
                               std::chrono::system_clock::now())
        << std::endl;
    return 0;
}

} // namespace sqs2pg::app
