// The sqs error category, the AWS code -> kind table for both protocols' spellings, and
// the operator-facing description of an error (codes only, never server text).
#include <sqs2pg/sqs/error.hpp>

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include <algorithm>
#include <utility>

namespace sqs2pg::sqs {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sqs2pg.sqs"; }
    std::string message(int ev) const override {
        return std::string(kind_name(static_cast<errc>(ev)));
    }
};

// Query codes carry an "AWS.SimpleQueueService." prefix that the JSON names lack; the
// table lists the bare names, compared after stripping it.
constexpr std::string_view aws_prefix = "AWS.SimpleQueueService.";

constexpr std::pair<std::string_view, errc> code_table[] = {
    // throttling (botocore's throttling list + SQS's own + KMS on SSE-KMS queues)
    {"RequestThrottled", errc::throttled},
    {"RequestThrottledException", errc::throttled},
    {"ThrottlingException", errc::throttled},
    {"Throttling", errc::throttled},
    {"ThrottledException", errc::throttled},
    {"TooManyRequestsException", errc::throttled},
    {"SlowDown", errc::throttled},
    {"RequestLimitExceeded", errc::throttled},
    {"KmsThrottled", errc::throttled},
    {"KMS.ThrottlingException", errc::throttled},
    // authentication and authorization (CommonErrors.html; JSON spellings from coral)
    {"SignatureDoesNotMatch", errc::auth},
    {"InvalidSignatureException", errc::auth},
    {"InvalidClientTokenId", errc::auth},
    {"UnrecognizedClientException", errc::auth},
    {"IncompleteSignature", errc::auth},
    {"IncompleteSignatureException", errc::auth},
    {"MissingAuthenticationToken", errc::auth},
    {"MissingAuthenticationTokenException", errc::auth},
    {"RequestExpired", errc::auth},
    {"ExpiredToken", errc::auth},
    {"ExpiredTokenException", errc::auth},
    {"AccessDenied", errc::auth},
    {"AccessDeniedException", errc::auth},
    {"InvalidSecurity", errc::auth},
    {"InvalidAccessKeyId", errc::auth},
    {"AuthFailure", errc::auth},
    {"OptInRequired", errc::auth},
    {"NotAuthorized", errc::auth},
    {"KmsAccessDenied", errc::auth},
    {"KMS.AccessDeniedException", errc::auth},
    // the queue (or its address) does not exist
    {"NonExistentQueue", errc::not_found},
    {"QueueDoesNotExist", errc::not_found},
    {"ResourceNotFoundException", errc::not_found},
    {"InvalidAddress", errc::not_found},
    // receipt handles
    {"ReceiptHandleIsInvalid", errc::receipt_invalid},
    {"MessageNotInflight", errc::receipt_invalid},
    {"InvalidIdFormat", errc::receipt_invalid},
    // in-flight limit
    {"OverLimit", errc::over_limit},
    // queue state
    {"PurgeQueueInProgress", errc::conflict},
    {"QueueDeletedRecently", errc::conflict},
    {"QueueAlreadyExists", errc::conflict},
    {"QueueNameExists", errc::conflict},
    // the request itself
    {"InvalidParameterValue", errc::invalid_request},
    {"InvalidParameterCombination", errc::invalid_request},
    {"MissingParameter", errc::invalid_request},
    {"MissingRequiredParameterException", errc::invalid_request},
    {"InvalidAttributeName", errc::invalid_request},
    {"InvalidAttributeValue", errc::invalid_request},
    {"InvalidMessageContents", errc::invalid_request},
    {"TooManyEntriesInBatchRequest", errc::invalid_request},
    {"EmptyBatchRequest", errc::invalid_request},
    {"BatchEntryIdsNotDistinct", errc::invalid_request},
    {"InvalidBatchEntryId", errc::invalid_request},
    {"BatchRequestTooLong", errc::invalid_request},
    {"UnsupportedOperation", errc::invalid_request},
    {"InvalidAction", errc::invalid_request},
    {"InvalidQueryParameter", errc::invalid_request},
    {"MalformedQueryString", errc::invalid_request},
    {"ValidationError", errc::invalid_request},
    {"ValidationException", errc::invalid_request},
    {"SerializationException", errc::invalid_request},
    // the server
    {"InternalError", errc::server},
    {"InternalFailure", errc::server},
    {"InternalServerError", errc::server},
    {"ServiceUnavailable", errc::server},
    {"ServiceUnavailableException", errc::server},
};

errc classify_status(unsigned status) noexcept {
    if (status == 429)
        return errc::throttled;
    if (status == 401 || status == 403)
        return errc::auth;
    if (status == 404)
        return errc::not_found;
    if (status >= 500)
        return errc::server;
    if (status >= 400)
        return errc::invalid_request;
    return errc::bad_response;
}

} // namespace

const boost::system::error_category& sqs_category() noexcept {
    static const category instance;
    return instance;
}

errc classify(std::string_view code, unsigned http_status) noexcept {
    if (code.starts_with(aws_prefix))
        code.remove_prefix(aws_prefix.size());
    const auto* it =
        std::ranges::find_if(code_table, [&](const auto& entry) { return entry.first == code; });
    if (it != std::ranges::end(code_table))
        return it->second;
    // Unknown KMS codes are about the queue's key configuration, not the request.
    if (code.starts_with("Kms") || code.starts_with("KMS."))
        return errc::invalid_request;
    return classify_status(http_status);
}

bool is_retryable(errc kind) noexcept {
    switch (kind) {
    case errc::throttled:
    case errc::over_limit:
    case errc::server:
    case errc::transport:
    case errc::timeout:
        return true;
    default:
        return false;
    }
}

bool is_fatal(errc kind) noexcept {
    return kind == errc::auth || kind == errc::credentials || kind == errc::not_found ||
           kind == errc::configuration;
}

bool is_expired_token(std::string_view code) noexcept {
    return code == "ExpiredToken" || code == "ExpiredTokenException";
}

std::string_view kind_name(errc kind) noexcept {
    switch (kind) {
    case errc::throttled:
        return "throttled";
    case errc::auth:
        return "auth";
    case errc::credentials:
        return "credentials";
    case errc::not_found:
        return "not_found";
    case errc::invalid_request:
        return "invalid_request";
    case errc::invalid_argument:
        return "invalid_argument";
    case errc::receipt_invalid:
        return "receipt_invalid";
    case errc::over_limit:
        return "over_limit";
    case errc::conflict:
        return "conflict";
    case errc::server:
        return "server";
    case errc::transport:
        return "transport";
    case errc::configuration:
        return "configuration";
    case errc::timeout:
        return "timeout";
    case errc::bad_response:
        return "bad_response";
    case errc::cancelled:
        return "cancelled";
    }
    return "unknown";
}

std::string_view hint(errc kind) noexcept {
    switch (kind) {
    case errc::auth:
        return "authentication failed: check the access key id and secret access key (and "
               "session token), the system clock (SigV4 rejects requests more than 15 "
               "minutes off), the region used for signing, the endpoint, and the IAM "
               "permissions for this queue";
    case errc::credentials:
        return "no usable AWS credentials: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
               "AWS_PROFILE and the shared credentials files, or the container/instance role";
    case errc::not_found:
        return "the queue does not exist at this endpoint: check the queue URL or name, the "
               "region, the account id and the endpoint";
    case errc::throttled:
        return "SQS is throttling requests: retried with backoff";
    case errc::over_limit:
        return "too many messages in flight: delete or release messages faster";
    case errc::invalid_argument:
        return "the request is outside SQS limits and was not sent";
    case errc::transport:
        return "no HTTP response: check the endpoint address, network and TLS settings";
    case errc::configuration:
        return "the endpoint cannot be used as configured: check the endpoint URL, the TLS "
               "certificate and its host name (or the extra CA file)";
    case errc::timeout:
        return "no response before the deadline";
    case errc::bad_response:
        return "the endpoint's answer is not an SQS response: check the endpoint URL";
    default:
        return {};
    }
}

std::string describe(const error& e) {
    std::string out;
    out.reserve(160);
    out += e.action.empty() ? std::string_view("SQS call") : e.action;
    out += " failed: ";
    out += kind_name(e.kind);
    if (!e.code.empty()) {
        out += " (";
        out += e.code;
        out += ')';
    }
    if (e.http_status != 0) {
        out += ", HTTP ";
        out += std::to_string(e.http_status);
    }
    if (!e.request_id.empty()) {
        out += ", request id ";
        out += e.request_id;
    }
    if (e.transport_error) {
        out += ", ";
        out += e.transport_error.message();
    }
    if (const auto h = hint(e.kind); !h.empty()) {
        out += ": ";
        out += h;
    }
    return out;
}

void throw_exception_from_error(const error& e, const boost::source_location& loc) {
    boost::throw_with_location(boost::system::system_error(e.ec(), describe(e)), loc);
}

} // namespace sqs2pg::sqs
