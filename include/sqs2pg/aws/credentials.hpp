// AWS credentials as a value type. They print only redacted, so a secret cannot reach
// a log line or a test failure message by accident.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>

namespace sqs2pg::aws {

/// An access key pair, with a session token for temporary credentials.
struct credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token; ///< empty unless the credentials are temporary
    /// When temporary credentials stop working; nullopt for long-term keys.
    std::optional<std::chrono::system_clock::time_point> expiration;

    friend bool operator==(const credentials&, const credentials&) = default;
};

/// "credentials{access_key_id=AKIA…MPLE, secret=<redacted>, session_token=<present>,
/// expiration=2024-01-15T08:30:05Z}": the key id shortened to its first and last four
/// characters, never the secret or the token.
std::string describe(const credentials& c);

/// Writes describe(c): the only way credentials print (gtest failure output too).
std::ostream& operator<<(std::ostream& os, const credentials& c);

} // namespace sqs2pg::aws
