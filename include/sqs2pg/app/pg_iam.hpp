// RDS / Aurora IAM database authentication for the PostgreSQL connection: where the token
// is for (host, port, user from --pg and libpq's PG* variables), the TLS rule, and the
// password callback the writer calls before each connect.
#pragma once

#include <sqs2pg/app/options.hpp>
#include <sqs2pg/aws/credentials_provider.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace sqs2pg::app {

/// What an RDS token is made for.
struct iam_target {
    std::string host;
    std::uint16_t port = 5432;
    std::string user;
    std::string sslmode;
};

/// The target of `conninfo` (with PGHOST, PGPORT, PGUSER, PGSSLMODE from `env` where the
/// string is silent). Refused (one line for the caller's flag): sslmode other than require,
/// verify-ca or verify-full (the token is a password: it must not travel in clear, and
/// libpq's default "prefer" falls back to plain text); no host or several hosts; a
/// Unix-socket host; no user.
config_result<iam_target> iam_auth_target(const std::string& conninfo, const environment& env);

/// The region an RDS host name names ("db.abc.eu-west-1.rds.amazonaws.com"); nullopt for
/// other names (a custom DNS name, an IP address).
std::optional<std::string> rds_host_region(std::string_view host);

/// The writer's password callback for --pg-iam-auth: a fresh token from `credentials` for
/// each connect. `credentials` must outlive the writer. A fatal credentials error is
/// invalid_conninfo (the run stops), a transient one connect_failed (retried).
std::function<boost::asio::awaitable<boost::system::result<std::string>>(std::string&)>
make_token_source(iam_target target, std::string region, aws::credentials_provider& credentials);

/// `sqs2pg rds-token --host H --port P --user U [--region R]`: prints one token line,
/// like `aws rds generate-db-auth-token`. Exit 0; 1 when no credentials; 2 bad usage.
int run_rds_token(std::span<const std::string> args, const environment& env, std::ostream& out,
                  std::ostream& err);

} // namespace sqs2pg::app
