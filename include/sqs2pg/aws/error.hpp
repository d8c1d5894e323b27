// Errors of the aws module: finding credentials, the region and the endpoint. A code for
// programs to act on, and (where a person must act) a message saying what to check.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace sqs2pg::aws {

enum class errc {
    no_credentials = 1,    ///< no source in the chain had credentials
    invalid_configuration, ///< a source is set up wrongly (partial keys, unknown profile, bad URI)
    provider_unavailable,  ///< a credentials endpoint did not answer (timeout, refused, 5xx)
    provider_rejected,     ///< a credentials endpoint refused the request (4xx: token, role)
    invalid_document,      ///< a credentials endpoint answered with something unusable
    credentials_expired,   ///< the credentials on offer have already expired
    no_region,             ///< no region configured and none in the queue URL
    invalid_endpoint,      ///< an endpoint URL that cannot be used
    cancelled,             ///< the caller cancelled the operation
    service_rejected,      ///< an AWS service refused a call (4xx: access denied, bad input)
    service_unavailable, ///< an AWS service did not answer usefully after retries (5xx, throttling,
                         ///< transport)
    invalid_response,    ///< an AWS service answered 2xx with something unusable
};

const boost::system::error_category& aws_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), aws_category()};
}

/// Worth trying again later: provider_unavailable, service_unavailable (an endpoint that
/// worked may be back).
bool is_retryable(boost::system::error_code ec) noexcept;

/// Needs a person to change the configuration: no_credentials, invalid_configuration,
/// provider_rejected, no_region, invalid_endpoint, service_rejected.
bool is_fatal(boost::system::error_code ec) noexcept;

/// An error with the words for an operator: what was tried, what failed, what to check.
/// Never holds a secret.
struct error {
    error() = default;
    error(boost::system::error_code c, std::string m, std::string service = {})
        : code(c)
        , message(std::move(m))
        , service_code(std::move(service)) {}

    boost::system::error_code code;
    std::string message;
    /// For a service's refusal: its error code ("AccessDeniedException"); "" otherwise.
    std::string service_code;
};

/// For result<T, error>::value(): throws boost::system::system_error with the message.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

} // namespace sqs2pg::aws

template <>
struct boost::system::is_error_code_enum<sqs2pg::aws::errc> : std::true_type {};
