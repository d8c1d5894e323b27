// Errors of the HTTP transport: what failed on the way to a response, reduced to what
// a caller acts on (retry, give up, fix the configuration).
#pragma once

#include <boost/system/error_code.hpp>

#include <string_view>
#include <type_traits>

namespace sqs2pg::http {

enum class errc {
    timeout = 1,       ///< the caller's deadline passed before the response was complete
    resolve_failed,    ///< the host name did not resolve
    connect_failed,    ///< no TCP connection (refused, unreachable, connect timeout)
    tls_failed,        ///< the TLS handshake failed (reset, protocol mismatch)
    tls_verify_failed, ///< the server's certificate was rejected (trust, host name, expiry)
    closed,            ///< the connection dropped before the response was complete
    protocol,          ///< the server's bytes are not a valid HTTP/1.1 response
    body_too_large,    ///< the response body exceeds client_options::body_limit
    invalid_url,       ///< an endpoint URL that cannot be used
    cancelled,         ///< the caller cancelled the operation
};

const boost::system::error_category& http_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), http_category()};
}

/// Worth trying again, on a new connection, after a pause: timeout, resolve_failed,
/// connect_failed, tls_failed, closed. Not for requests that must not run twice (the
/// server may have acted on a request whose response was lost).
bool is_retryable(boost::system::error_code ec) noexcept;

/// No retry can help until someone changes the configuration: tls_verify_failed
/// (certificate trust or host name), invalid_url, body_too_large (the limit is too low
/// for the responses this endpoint sends).
bool is_fatal(boost::system::error_code ec) noexcept;

/// What to check for this error, in words for an operator; empty if nothing useful.
std::string_view hint(boost::system::error_code ec) noexcept;

} // namespace sqs2pg::http

template <>
struct boost::system::is_error_code_enum<sqs2pg::http::errc> : std::true_type {};
