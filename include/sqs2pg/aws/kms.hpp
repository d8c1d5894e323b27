// AWS KMS (GenerateDataKey, Decrypt) and Secrets Manager (GetSecretValue), the calls that
// hold sqs2pg's masking keys: sans-io requests and answers for the generic service call.
#pragma once

#include <sqs2pg/aws/error.hpp>
#include <sqs2pg/aws/service.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::aws {

using encryption_context = std::map<std::string, std::string>;

/// GenerateDataKey with KeySpec AES_256 for `key_id` (key id, ARN, alias name or alias ARN).
service_request encode_generate_data_key(std::string_view key_id, const encryption_context& ctx);

/// Decrypt of `ciphertext_blob` (bytes), naming `key_id` when not empty (KMS then refuses a
/// blob made under another key).
service_request encode_decrypt(std::string_view ciphertext_blob, std::string_view key_id,
                               const encryption_context& ctx);

/// A data key: the plaintext (32 bytes; wipe it when done) and the blob KMS can unwrap.
struct data_key {
    std::string plaintext;
    std::string ciphertext_blob;
    std::string key_id; ///< the key's ARN as KMS reports it
};

/// The GenerateDataKey answer (Plaintext, CiphertextBlob, KeyId).
result<data_key> parse_generate_data_key(std::string_view json);

/// The Decrypt answer's Plaintext bytes (wipe them when done).
result<std::string> parse_decrypt(std::string_view json);

/// GetSecretValue of `secret_id` (name or ARN).
service_request encode_get_secret_value(std::string_view secret_id);

/// The SecretString of a GetSecretValue answer; invalid_response when the secret is
/// binary only (SecretBinary) or absent.
result<std::string> parse_get_secret_value(std::string_view json);

/// The region in an ARN ("arn:aws:kms:eu-west-1:123:key/x" -> "eu-west-1"); nullopt for a
/// bare key id or alias name.
std::optional<std::string> arn_region(std::string_view arn);

} // namespace sqs2pg::aws
