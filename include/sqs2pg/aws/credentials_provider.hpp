// Where credentials come from: a fixed pair, or the chain the AWS SDKs use (environment,
// web identity, shared files with assumed roles, container endpoint, EC2 instance
// metadata), refreshed before expiry.
#pragma once

#include <sqs2pg/aws/credentials.hpp>
#include <sqs2pg/aws/environment.hpp>
#include <sqs2pg/aws/error.hpp>
#include <sqs2pg/http/endpoint.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::aws {

class credentials_provider {
public:
    virtual ~credentials_provider() = default;

    /// Current credentials, refreshed ahead of expiry and cached in between; concurrent
    /// callers share one fetch. On failure an aws::errc (see is_fatal / is_retryable) and
    /// last_failure() says what was tried. Cancellation completes with errc::cancelled and
    /// leaves the cache as it was. The provider must outlive the call.
    virtual boost::asio::awaitable<boost::system::result<credentials>> async_get() = 0;

    /// After a failed async_get(): what was tried, why each source gave nothing, and what
    /// to check, in one paragraph for an operator. Never holds a secret. The default (for
    /// providers written elsewhere, e.g. test fakes) is "".
    virtual std::string last_failure() const { return {}; }

    /// Where the credentials come from ("environment", "profile \"default\" (files)",
    /// "container endpoint http://...", "instance metadata http://... (role r)"); for the
    /// chain, "" until a source has answered. The default is "".
    virtual std::string source() const { return {}; }

    /// The server refused the current credentials as expired (ExpiredToken) although the
    /// cache still holds them, e.g. with a skewed clock: the next async_get fetches anew
    /// instead of serving the cache. Static credentials cannot change; the default does
    /// nothing.
    virtual void expire() {}
};

/// Always `c`; source() says `source` ("environment", the profile it came from, ...). For
/// tests, benchmarks, explicit configuration and the default chain.
std::unique_ptr<credentials_provider> make_static_provider(credentials c,
                                                           std::string source = "static");

struct chain_options {
    /// Per request to the container endpoint, and how many tries (as botocore: 2 s, 3).
    std::chrono::milliseconds container_timeout{2'000};
    int container_attempts = 3;
    /// Per request to the instance metadata service, and how many tries (as the SDKs: 1 s,
    /// 1); AWS_METADATA_SERVICE_TIMEOUT and AWS_METADATA_SERVICE_NUM_ATTEMPTS override.
    std::chrono::milliseconds imds_timeout{1'000};
    int imds_attempts = 1;
    /// Temporary credentials are refreshed this long before they expire, plus a random
    /// jitter of up to `refresh_jitter`, but never before half their lifetime has passed.
    std::chrono::seconds refresh_ahead{300};
    std::chrono::seconds refresh_jitter{60};
    /// After a failed refresh while the cached credentials still work, wait this long
    /// (at most half their remaining life) before trying again.
    std::chrono::seconds retry_after_failure{30};
    /// The wall clock (expirations are wall-clock times); tests may substitute it.
    std::function<std::chrono::system_clock::time_point()> clock;
    /// PEM file of CA certificates trusted beside the system store for STS calls (as
    /// --ca-bundle is for SQS); "" for the system store only.
    std::string extra_ca_file;
};

/// The AWS SDKs' default chain, first source that is configured wins:
/// 1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
/// 2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME)
///    exchanged with STS AssumeRoleWithWebIdentity (EKS IAM roles for service accounts);
/// 3. the profile (see load_profile): role_arn with source_profile / credential_source, or
///    web_identity_token_file, through STS (see plan_profile_roles); else its
///    aws_access_key_id / aws_secret_access_key / aws_session_token;
/// 4. the container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2) or
///    AWS_CONTAINER_CREDENTIALS_FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
///    AWS_CONTAINER_AUTHORIZATION_TOKEN as the Authorization header (ECS, EKS Pod Identity);
/// 5. IMDSv2 unless AWS_EC2_METADATA_DISABLED=true (AWS_EC2_METADATA_SERVICE_ENDPOINT,
///    AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6).
/// A source that is configured but broken (half a key pair, a profile that does not exist
/// or uses a method sqs2pg lacks, a container endpoint that fails) is an error, not a reason
/// to try the next: the SDKs do the same, and silently using another identity is worse.
/// `env` is copied; nothing is read until the first async_get().
std::unique_ptr<credentials_provider> make_default_chain(boost::asio::any_io_executor ex,
                                                         const environment& env,
                                                         chain_options opts = {});

/// The container source alone (step 4 above); async_get() fails with invalid_configuration
/// when the variables are unset or unusable.
std::unique_ptr<credentials_provider> make_container_provider(boost::asio::any_io_executor ex,
                                                              const environment& env,
                                                              chain_options opts = {});

/// The instance metadata source alone (step 5 above), ignoring AWS_EC2_METADATA_DISABLED.
std::unique_ptr<credentials_provider> make_imds_provider(boost::asio::any_io_executor ex,
                                                         const environment& env,
                                                         chain_options opts = {});

// ---- Pure pieces (sans-io), exposed for tests ----

/// The credentials in a JSON document from a container or instance metadata endpoint:
/// AccessKeyId, SecretAccessKey, Token, Expiration (and Code, which must be "Success" when
/// present). Fails with invalid_document naming the missing or bad field (never its value).
result<credentials> parse_credentials_document(std::string_view json);

/// When credentials obtained at `obtained` and expiring at `expiration` should be
/// refreshed: `ahead` + `jitter` before they expire, but not before half their lifetime.
std::chrono::system_clock::time_point refresh_time(std::chrono::system_clock::time_point obtained,
                                                   std::chrono::system_clock::time_point expiration,
                                                   std::chrono::system_clock::duration ahead,
                                                   std::chrono::system_clock::duration jitter);

/// A plain-http container endpoint must be on this host (as the SDKs require): a loopback
/// address, "localhost", or the ECS / EKS addresses 169.254.170.2, 169.254.170.23,
/// fd00:ec2::23. https endpoints may be anywhere.
bool is_allowed_container_host(std::string_view host);

/// Where to GET container credentials from, per the environment.
struct container_target {
    http::endpoint endpoint;
    std::string target; ///< path and query for the request line
};

/// From AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (preferred, on http://169.254.170.2) or
/// AWS_CONTAINER_CREDENTIALS_FULL_URI. Fails with invalid_configuration when neither is set,
/// the URL is invalid, or a plain-http host is not allowed.
result<container_target> container_endpoint(const environment& env);

/// The Authorization header for the container endpoint: the contents of
/// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read on every call, as EKS rotates it; trailing
/// newline dropped) or AWS_CONTAINER_AUTHORIZATION_TOKEN; nullopt when neither is set.
/// Fails when the file cannot be read or the token holds a line break.
result<std::optional<std::string>> container_authorization(const environment& env);

/// The instance metadata endpoint: AWS_EC2_METADATA_SERVICE_ENDPOINT, else
/// http://[fd00:ec2::254] when AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE is IPv6, else
/// http://169.254.169.254.
result<http::endpoint> imds_endpoint(const environment& env);

} // namespace sqs2pg::aws
