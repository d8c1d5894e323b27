// Errors of the SQS module: the kind (errc, with its category), the error value every
// call returns (AWS code, HTTP status, request id) and what a caller should do with it.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <type_traits>

namespace sqs2pg::sqs {

/// What went wrong, reduced to what a caller acts on. Both wire protocols map here:
/// `AWS.SimpleQueueService.NonExistentQueue` (query) and `QueueDoesNotExist` (JSON)
/// are both `not_found`.
enum class errc {
    throttled = 1,    ///< RequestThrottled, ThrottlingException, KmsThrottled, HTTP 429
    auth,             ///< signature, keys, clock skew, token, permissions (fatal)
    credentials,      ///< the credentials provider could not supply credentials (fatal)
    not_found,        ///< the queue does not exist / the address is wrong (fatal)
    invalid_request,  ///< the server rejected a parameter (InvalidParameterValue, ...)
    invalid_argument, ///< the client refused to send it: out of SQS limits
    receipt_invalid,  ///< ReceiptHandleIsInvalid, MessageNotInflight
    over_limit,       ///< OverLimit: too many messages in flight
    conflict,         ///< queue state: PurgeQueueInProgress, QueueDeletedRecently, exists
    server,           ///< 5xx, InternalError, ServiceUnavailable
    transport,        ///< no HTTP response: connect failed, connection dropped, TLS
    configuration,    ///< the client cannot work as configured: TLS verification failed,
                      ///< bad endpoint URL, response body over the limit (fatal)
    timeout,          ///< the request deadline passed
    bad_response,     ///< a response this client cannot read (not XML/JSON, fields missing)
    cancelled,        ///< the caller cancelled the operation
};

const boost::system::error_category& sqs_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), sqs_category()};
}

/// A failed SQS call. `message` is the server's text: it may echo user data (receipt
/// handles, parameter values), so logs carry `kind`, `code`, `http_status` and
/// `request_id` only (see describe()).
struct error {
    errc kind = errc::bad_response;
    /// AWS error code as the query protocol spells it when known
    /// ("AWS.SimpleQueueService.NonExistentQueue", "SignatureDoesNotMatch"); for JSON the
    /// legacy code from `x-amzn-query-error`, else `__type` without its namespace.
    std::string code;
    unsigned http_status = 0; ///< 0: no HTTP response (transport, timeout, local check)
    std::string request_id;   ///< AWS request id, for support cases; may be empty
    bool sender_fault = true; ///< the server blamed the request (Type Sender)
    std::string message;      ///< server text; may contain user data: never log it
    boost::system::error_code transport_error; ///< the cause for transport/timeout
    /// false when the request provably never reached the server (the name did not
    /// resolve, the connection or TLS handshake failed): repeating it cannot duplicate.
    bool request_sent = true;
    std::string_view action; ///< e.g. "ReceiveMessage"; static storage

    boost::system::error_code ec() const noexcept { return make_error_code(kind); }
};

/// Kind of an AWS error code (either protocol's spelling), falling back on the HTTP
/// status for unknown or missing codes. Pure; used for whole-call errors and batch entries.
errc classify(std::string_view code, unsigned http_status) noexcept;

/// The retry loop may try the call again after a pause (throttling, 5xx, OverLimit,
/// transport, timeout); transport errors only for calls that are safe to repeat.
bool is_retryable(errc kind) noexcept;
inline bool is_retryable(const error& e) noexcept {
    return is_retryable(e.kind);
}

/// No call of this client can succeed until someone fixes the configuration
/// (credentials, clock, region, endpoint, queue URL): the process should stop.
bool is_fatal(errc kind) noexcept;
inline bool is_fatal(const error& e) noexcept {
    return is_fatal(e.kind);
}

/// An expired session token: fetching fresh credentials can fix it without a human.
bool is_expired_token(std::string_view code) noexcept;

/// Short name of the kind ("throttled", "auth", ...), for logs and metrics.
std::string_view kind_name(errc kind) noexcept;

/// What to check for this kind of error, in words for an operator; empty if nothing.
std::string_view hint(errc kind) noexcept;

/// One log-safe line: action, code, HTTP status, request id, kind and the hint. Never
/// includes the server's message text.
std::string describe(const error& e);

/// For boost::system::result<T, error>::value(): throws boost::system::system_error
/// carrying describe(e).
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

/// Value or error of an SQS call.
template <class T>
using result = boost::system::result<T, error>;

} // namespace sqs2pg::sqs

template <>
struct boost::system::is_error_code_enum<sqs2pg::sqs::errc> : std::true_type {};
