// Keyring files whose key material is sealed under a data key held by AWS KMS (format 2,
// "envelope encryption"): the file stores the data key only wrapped by KMS, so opening the
// keyring takes a KMS Decrypt call, which IAM allows or refuses and CloudTrail records.
// Sans-io: the KMS calls are made by the caller (the app); this parses, seals and opens.
//
//     # comments
//     sqs2pg-keyring 2 kms
//     kms-key-id arn:aws:kms:eu-west-1:123456789012:key/1234abcd-...
//     kms-context table=user_logins            (zero or more, the KMS encryption context)
//     kms-data-key <base64 of the CiphertextBlob of GenerateDataKey>
//     key <KEY_ID> <base64url of nonce(12) | AES-256-GCM ciphertext(32) | tag(16)> [active]
//
// Each key's material is sealed with AES-256-GCM under the 32-byte data key, with the
// associated data "sqs2pg-keyring 2|<KEY_ID>" (a sealed key cannot be moved to another id).
#pragma once

#include <sqs2pg/mask/error.hpp>
#include <sqs2pg/mask/keyring.hpp>

#include <boost/system/result.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::mask {

/// The first line that is neither blank nor a comment in a format-2 file.
inline constexpr std::string_view envelope_magic = "sqs2pg-keyring 2 kms";

/// True when `text` is a format-2 keyring (its first significant line is envelope_magic).
bool is_envelope_keyring(std::string_view text) noexcept;

struct sealed_key {
    std::string id;
    std::string sealed; ///< nonce | ciphertext | tag (60 bytes)
    bool active = false;
};

/// A parsed format-2 keyring: what KMS must unwrap, and the sealed keys.
struct envelope {
    std::string kms_key_id;
    std::map<std::string, std::string> context; ///< encryption context (sorted)
    std::string wrapped_data_key;               ///< CiphertextBlob bytes
    std::vector<sealed_key> keys;
};

/// Parses format-2 text; messages name the line (`origin` line N), never key bytes. The
/// same rules as plain keyrings: ids valid and unique, one active key (or a single key).
boost::system::result<envelope, load_error> parse_envelope(std::string_view text,
                                                           std::string_view origin);

/// The file text of `e`, with a comment saying what it is and what opening it needs.
std::string format_envelope(const envelope& e);

/// Seals 32 bytes of key material under `data_key` (32 bytes) for key `id`.
sealed_key seal_key(std::string_view id, std::string_view material, std::string_view data_key,
                    bool active);

/// Opens every key with `data_key` (the plaintext KMS returned for wrapped_data_key) into
/// a keyring. Fails with key_invalid_material when a key does not open (another data key,
/// a changed file). Intermediate plaintext is wiped.
boost::system::result<keyring, load_error>
open_envelope(const envelope& e, std::string_view data_key, std::string_view origin);

/// "table=user_logins,env=prod" -> {table: user_logins, env: prod}; nullopt when a pair
/// has no '=' or an empty key. "" gives an empty map.
std::optional<std::map<std::string, std::string>> parse_context(std::string_view text);

} // namespace sqs2pg::mask
