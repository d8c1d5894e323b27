// Test helpers: where the test data is, and the service addresses the test command
// exports. A missing service setting fails the test; integration tests never skip.
#pragma once

#include <string>
#include <string_view>

namespace sqs2pg::test {

/// Absolute path of `name` under tests/data (SQS2PG_TEST_DATA overrides the directory).
std::string data_path(std::string_view name);

/// The whole file at `path`; throws std::runtime_error if it cannot be read.
std::string read_file(const std::string& path);

/// The value of environment variable `name`; throws std::runtime_error naming the
/// variable and how to get it set (run the suite through tests/run) if it is unset.
std::string require_env(const char* name);

/// A name unique to this process and call, for per-test queues and schemas:
/// `prefix` + pid + counter + random suffix, only [a-z0-9_].
std::string unique_name(std::string_view prefix);

} // namespace sqs2pg::test
