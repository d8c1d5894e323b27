// Where the masking keys come from, for every command that needs them (run, unmask,
// rejects show/replay, keygen --add): a plain key file or SQS2PG_MASK_KEY, a KMS keyring
// file (format 2, opened with one KMS Decrypt), or a Secrets Manager secret. The AWS calls
// run on a small io_context of their own, before the command's own work starts.
#pragma once

#include <sqs2pg/app/options.hpp>
#include <sqs2pg/aws/environment.hpp>
#include <sqs2pg/aws/kms.hpp>
#include <sqs2pg/mask/envelope.hpp>
#include <sqs2pg/mask/keyring.hpp>

#include <optional>
#include <string>

namespace sqs2pg::app {

struct key_options {
    std::optional<std::string> key_file;  ///< --mask-key-file: plain or KMS keyring
    std::optional<std::string> secret_id; ///< --mask-key-secret: Secrets Manager name or ARN
    std::optional<std::string> env_value; ///< SQS2PG_MASK_KEY
    std::optional<std::string> region;    ///< --region: for KMS / Secrets Manager without an ARN
    std::optional<std::string> ca_bundle; ///< extra trusted CAs for the AWS calls
};

/// The keyring, or nullopt when no source is set. --mask-key-file wins over
/// SQS2PG_MASK_KEY (an info line says so); --mask-key-file and --mask-key-secret together
/// are an error. A failure is one line naming the source, and for an AWS refusal the
/// service's code and message (which permission is missing) and what IAM must allow.
config_result<std::optional<mask::keyring>> load_mask_keys(const key_options& k,
                                                           const environment& env);

/// The AWS environment of a command: the process's variables, with --region as AWS_REGION.
aws::environment aws_environment(const environment& env, const std::optional<std::string>& region);

/// The region for a call about `resource` (an ARN names its region), else AWS_REGION,
/// AWS_DEFAULT_REGION, the profile's region; "" when none.
std::string region_for(const aws::environment& env, std::string_view resource);

/// What keygen --kms-key-id needs from KMS: a data key, asked for once.
config_result<aws::data_key> generate_data_key(const std::string& key_id,
                                               const aws::encryption_context& ctx,
                                               const aws::environment& env,
                                               const std::optional<std::string>& ca_bundle);

/// The plaintext data key of a KMS keyring (one KMS Decrypt); wipe it when done.
config_result<std::string> unwrap_data_key(const mask::envelope& e, std::string_view origin,
                                           const aws::environment& env,
                                           const std::optional<std::string>& ca_bundle);

} // namespace sqs2pg::app
