// RDS / Aurora IAM database authentication tokens: a SigV4 query-string presign of
// `Action=connect&DBUser=<user>` for service rds-db, the password PostgreSQL (and MySQL)
// on RDS accept for a user granted rds_iam. Sans-io: credentials and time come in.
#pragma once

#include <sqs2pg/aws/credentials.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sqs2pg::aws {

/// How long a token is good for connecting: 15 minutes (RDS's own limit; an open
/// connection is not affected when it expires).
inline constexpr std::chrono::seconds rds_token_lifetime{900};

/// The token for `user` at `host`:`port`, signed for `region` at `now`, exactly as
/// botocore's generate_db_auth_token (and `aws rds generate-db-auth-token`) makes it:
/// "<host>:<port>/?Action=connect&DBUser=<user>&X-Amz-Algorithm=AWS4-HMAC-SHA256&
/// X-Amz-Credential=…&X-Amz-Date=…&X-Amz-Expires=900&X-Amz-SignedHeaders=host
/// [&X-Amz-Security-Token=…]&X-Amz-Signature=…", without a scheme. It holds no secret
/// beyond itself, but it is a password for 15 minutes: never log it.
std::string rds_auth_token(std::string_view host, std::uint16_t port, std::string_view user,
                           std::string_view region, const credentials& creds,
                           std::chrono::system_clock::time_point now);

} // namespace sqs2pg::aws
