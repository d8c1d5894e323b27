// One signed AWS call, for the services sqs2pg uses besides SQS: STS (query protocol,
// XML answers), KMS and Secrets Manager (JSON 1.1). Sans-io encoding and error decoding,
// and a thin async driver on the HTTP client, the signer and base::backoff.
#pragma once

#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/environment.hpp>
#include <sqs2pg/aws/error.hpp>
#include <sqs2pg/aws/signer.hpp>
#include <sqs2pg/base/backoff.hpp>
#include <sqs2pg/http/client.hpp>
#include <sqs2pg/http/endpoint.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sqs2pg::aws {

// ---- Sans-io: requests ----

/// One request body with its headers, ready to sign and send (POST to the endpoint's path).
struct service_request {
    std::string action;       ///< "AssumeRole", "Decrypt": for messages and logs
    std::string content_type; ///< form or application/x-amz-json-1.1
    std::string amz_target;   ///< X-Amz-Target for JSON 1.1 ("TrentService.Decrypt"); "" for query
    std::string body;
    /// Sent without a signature (STS AssumeRoleWithWebIdentity: the token is the proof).
    bool anonymous = false;
    /// Safe to send again after a transport failure or a 5xx (no side effect repeated).
    bool idempotent = true;
};

/// A query-protocol request: `Action=<action>&Version=<version>` then `params` in order,
/// form-encoded as Python's urlencode does (what moto re-encodes before it checks the
/// signature; AWS accepts any valid encoding).
service_request encode_query(std::string_view action, std::string_view version,
                             const std::vector<std::pair<std::string, std::string>>& params);

/// A JSON 1.1 request: X-Amz-Target `<target_prefix>.<action>`, the body as given (a JSON
/// object), content type application/x-amz-json-1.1.
service_request encode_json(std::string_view target_prefix, std::string_view action,
                            std::string json_body);

// ---- Sans-io: answers ----

/// What came back, as the decoder needs it.
struct service_response {
    unsigned status = 0;
    std::string body;
    std::string error_type;  ///< X-Amzn-ErrorType header ("" when absent)
    std::string query_error; ///< x-amzn-query-error header ("Code;Sender")
    std::string request_id;  ///< x-amzn-RequestId / x-amz-request-id
};

/// An error answer, reduced: the AWS error code and message.
struct service_fault {
    std::string code;    ///< "AccessDeniedException", "ExpiredToken", "" when none was found
    std::string message; ///< the service's own message ("" when none); never holds a secret
};

/// nullopt for a 2xx; else the code and message. The code comes from the X-Amzn-ErrorType
/// header (text before ':'), else x-amzn-query-error (before ';'), else the body: XML
/// `<Error><Code>` (query protocol) or JSON `__type` / `code` (after '#'). The message from
/// the body's `<Message>` / `message` / `Message`. A KMS error may come as XML with its type
/// only in the header (moto does this); both are read.
std::optional<service_fault> decode_fault(const service_response& r);

/// Whether a failed answer is worth another try: 5xx, 429, and the throttling and
/// transient codes (Throttling, ThrottlingException, RequestLimitExceeded,
/// TooManyRequestsException, ServiceUnavailable, InternalFailure, InternalError,
/// KMSInternalException, IDPCommunicationError, RequestTimeout).
bool is_retryable_fault(unsigned status, std::string_view code) noexcept;

/// The text of the first element named `name` (any depth) in an XML document; nullopt when
/// the document does not parse or has no such element.
std::optional<std::string> xml_text(std::string_view xml, std::string_view name);

// ---- Endpoints ----

/// Where calls to one service go: AWS_ENDPOINT_URL_<ID> (e.g. AWS_ENDPOINT_URL_STS,
/// AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL_SECRETS_MANAGER), else AWS_ENDPOINT_URL (both
/// ignored with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else
/// https://<host_prefix>.<region>.amazonaws.com (.amazonaws.com.cn for cn-*). Plain http://
/// to an AWS host is refused (the credentials would travel unencrypted); emulators on http
/// are fine. Fails with invalid_endpoint naming the variable, or no_region.
result<http::endpoint> resolve_service_endpoint(const environment& env, std::string_view env_suffix,
                                                std::string_view host_prefix,
                                                std::string_view region);

// ---- The driver ----

struct service_options {
    std::string region;                        ///< signing region
    std::string service;                       ///< signing name: "sts", "kms", "secretsmanager"
    std::string display;                       ///< for messages: "STS", "KMS" ("" : `service`)
    http::client_options http;                 ///< TLS trust (extra CA file), limits
    std::chrono::milliseconds timeout{10'000}; ///< per attempt
    int max_attempts = 3;                      ///< retryable failures are tried this often
    base::backoff_config pacing{std::chrono::milliseconds(200), std::chrono::seconds(5),
                                base::jitter::equal};
};

/// Calls one AWS service endpoint. `credentials` may be null when every call is anonymous;
/// it must outlive the client. Single-threaded (the io_context's thread).
class service_client {
public:
    service_client(boost::asio::any_io_executor ex, http::endpoint endpoint,
                   credentials_provider* credentials, service_options options);
    ~service_client();
    service_client(const service_client&) = delete;
    service_client& operator=(const service_client&) = delete;

    /// Signs (unless anonymous) and sends `req`, retrying retryable failures with backoff;
    /// returns the 2xx body. Errors (aws::error, `service_code` set for service errors):
    /// service_rejected (4xx: access denied, bad input; fatal), service_unavailable (still
    /// failing after the tries; retryable), the credentials provider's own codes, cancelled.
    /// The message names the service, the action, the AWS code and the service's message
    /// (e.g. which permission is missing), and the endpoint.
    boost::asio::awaitable<result<std::string>> async_call(service_request req);

    const http::endpoint& endpoint() const noexcept;
    const service_options& options() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace sqs2pg::aws
