// STS credentials: AssumeRole (signed with source credentials) and
// AssumeRoleWithWebIdentity (EKS IAM roles for service accounts; sent unsigned), the
// profile settings that ask for them, and the providers that refresh them before expiry.
#pragma once

#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/profile.hpp>
#include <sqs2pg/aws/service.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::aws {

inline constexpr std::string_view sts_version = "2011-06-15";

/// One role to assume.
struct role_step {
    std::string role_arn;
    std::string session_name;            ///< "" : default_session_name()
    std::string external_id;             ///< "" : none
    std::optional<int> duration_seconds; ///< nullopt: the role's default (1 hour)
    std::string profile;                 ///< the profile that asked for it ("" : environment)
};

/// "sqs2pg-<unix seconds>", what the SDKs do with "botocore-session-<seconds>".
std::string default_session_name();

/// The AssumeRole query request (signed by the caller).
service_request encode_assume_role(const role_step& role);

/// The AssumeRoleWithWebIdentity query request with `token`; anonymous (unsigned), as the
/// SDKs send it: the token is the proof of identity.
service_request encode_assume_role_with_web_identity(const role_step& role, std::string_view token);

/// The temporary credentials in an AssumeRole / AssumeRoleWithWebIdentity answer
/// (`<Credentials>` with AccessKeyId, SecretAccessKey, SessionToken, Expiration). Fails with
/// invalid_document naming the missing or bad element, never a value.
result<credentials> parse_sts_credentials(std::string_view xml);

/// Reads a web identity token file: its content without trailing white space. Fails with
/// invalid_configuration when it cannot be read or is empty (never quoting the token).
result<std::string> read_web_identity_token(const std::string& path);

/// Where STS calls go and what they are signed for: AWS_ENDPOINT_URL_STS, else
/// AWS_ENDPOINT_URL, else the regional endpoint https://sts.<region>.amazonaws.com for
/// AWS_REGION / AWS_DEFAULT_REGION / `profile_region`; with no region at all, the global
/// https://sts.amazonaws.com signed for us-east-1.
struct sts_target {
    http::endpoint endpoint;
    std::string region;
};
result<sts_target> resolve_sts(const environment& env, std::string_view profile_region);

// ---- profiles that assume roles (sans-io) ----

/// How a profile gets its credentials when it assumes a role: a base source, then each
/// role of `roles` assumed in turn with the previous credentials.
struct role_plan {
    enum class base_kind {
        static_keys,  ///< aws_access_key_id / aws_secret_access_key of a source profile
        web_identity, ///< web_identity_token_file + role_arn of a profile
        environment,  ///< credential_source = Environment
        imds,         ///< credential_source = Ec2InstanceMetadata
        container,    ///< credential_source = EcsContainer
    };
    base_kind base = base_kind::static_keys;
    credentials keys;            ///< static_keys
    std::string token_file;      ///< web_identity
    role_step web_identity_role; ///< web_identity: the role the token is exchanged for
    std::vector<role_step> roles;
    std::string region; ///< the profile's region ("" when it sets none)
    /// For logs and messages: "profile \"dev\": role arn:... via source profile \"base\"".
    std::string description;
};

/// The plan for profile `name`: nullopt when the profile neither sets role_arn nor
/// web_identity_token_file (static keys or nothing: the caller handles those). Follows
/// source_profile chains (a profile naming itself uses its own keys), refuses cycles, a
/// missing source profile, both source_profile and credential_source, an unknown
/// credential_source, a bad duration_seconds, and a source profile without keys or role.
result<std::optional<role_plan>> plan_profile_roles(std::string_view name,
                                                    const shared_files& files);

// ---- providers ----

/// Web identity: reads the token file at every refresh (EKS rotates it), exchanges it with
/// AssumeRoleWithWebIdentity (unsigned), caches and refreshes before expiry.
std::unique_ptr<credentials_provider> make_web_identity_provider(boost::asio::any_io_executor ex,
                                                                 std::string token_file,
                                                                 role_step role, sts_target sts,
                                                                 chain_options opts = {});

/// AssumeRole signed with `source`'s credentials (any provider: static keys, the
/// environment, a container or instance role, another role), refreshed before expiry.
std::unique_ptr<credentials_provider>
make_assume_role_provider(boost::asio::any_io_executor ex,
                          std::unique_ptr<credentials_provider> source, role_step role,
                          sts_target sts, chain_options opts = {});

/// The provider for a plan (base source, then each role in turn). `env` gives the base
/// sources that read the environment (credential_source).
std::unique_ptr<credentials_provider>
make_role_plan_provider(boost::asio::any_io_executor ex, const role_plan& plan,
                        const environment& env, sts_target sts, chain_options opts = {});

} // namespace sqs2pg::aws
