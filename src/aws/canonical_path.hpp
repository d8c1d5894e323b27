// Inside the aws module: the canonical-path shortcut the signer takes (canonical.cpp).
#pragma once
#include <string_view>

namespace sqs2pg::aws::detail {

/// A path that is its own canonical URI: starts with '/', only unreserved characters and
/// single slashes, no "." or ".." segment (an SQS queue path, "/123456789012/name"); the
/// signer then uses it as is instead of canonical_uri().
bool is_canonical_path(std::string_view path);

} // namespace sqs2pg::aws::detail
