// The masking modes (hmac-sha256, aes-siv, sha256), the masker that applies one to
// ip and device_id on the hot path, and the unmasker for aes-siv values.
#pragma once

#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/mask/error.hpp>
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/mask/primitives.hpp>
#include <sqs2pg/record/error.hpp>

#include <boost/system/result.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::mask {

enum class mode {
    hmac_sha256, ///< default: keyed, one-way, 64 lowercase hex
    aes_siv,     ///< keyed, deterministic, reversible by key holders: "KID:base64url"
    sha256,      ///< unkeyed SHA-256 hex of the value as sent (the original script's output)
};

/// "hmac-sha256" | "aes-siv" | "sha256".
std::string_view mode_name(mode m) noexcept;
/// The mode named `name`; nullopt otherwise.
std::optional<mode> parse_mode(std::string_view name) noexcept;

/// The personal fields that get masked; each has its own derived keys.
enum class field { ip, device_id };
/// "ip" | "device_id": the HKDF label part and the name used in messages.
std::string_view field_name(field f) noexcept;

/// HKDF info labels; published so others can reproduce derivations (docs/masking.md).
std::string hkdf_label(mode m, field f);
inline constexpr std::string_view seal_label = "sqs2pg/v1 seal aes-256-gcm";

/// Upper bound of a masked value in characters (varchar(256)).
inline constexpr std::size_t max_masked_length = 256;

/// Masks ip and device_id in one mode with the keyring's active key (keys derived once
/// at construction). Move-only; not thread-safe (one per pipeline thread).
class masker {
public:
    /// hmac_sha256 or aes_siv with `keys.active()`; the keyring may be destroyed after.
    masker(mode m, const keyring& keys);
    /// The unkeyed sha256 mode. Throws std::invalid_argument for other modes.
    explicit masker(mode m);

    masker(masker&&) noexcept;
    masker& operator=(masker&&) noexcept;
    ~masker();

    mode current_mode() const noexcept { return mode_; }
    /// The id of the key in use; empty in sha256 mode.
    const std::string& key_id() const noexcept { return key_id_; }

    /// The value to store for `value` of field `f` (ASCII): normalized (not in sha256
    /// mode), then masked. Errors: reject_reason::empty_field when nothing is left after
    /// normalization (keyed modes), too_long when the aes-siv output would exceed
    /// max_masked_length (normalized values over max_plaintext() bytes).
    boost::system::result<std::string, record::reject_reason> mask(field f,
                                                                   std::string_view value) const;

    /// Longest normalized input aes-siv can mask within max_masked_length for this key id.
    std::size_t max_plaintext() const noexcept;

private:
    mode mode_;
    std::string key_id_;
    std::optional<std::array<base::hmac_sha256_key, 2>> hmac_;
    std::vector<aes_siv> siv_; // [ip, device_id]
};

/// Chooses the masker for the configuration: hmac-sha256 and aes-siv need `keys`
/// (errc::no_key with no_key_message() otherwise); sha256 works without and logs a
/// warning (ops::log "mask_mode_unkeyed") that its outputs can be reversed by enumeration.
boost::system::result<masker, load_error> make_masker(mode m, const keyring* keys);

/// An unmasked aes-siv value: which field's key opened it, under which key id.
struct unmasked {
    field source;
    std::string key_id;
    std::string value; ///< the normalized original: personal data
};

/// Recovers originals from aes-siv values under any key of the keyring (so values
/// written before a rotation stay readable while their key is kept). Move-only.
class unmasker {
public:
    /// Derives the aes-siv keys of every key in `keys`; the keyring may go afterwards.
    explicit unmasker(const keyring& keys);

    /// The original of `masked` ("KID:base64url"): errc::not_reversible for 64-hex
    /// values (hmac-sha256 or sha256), key_unknown_id, malformed, authentication_failed.
    boost::system::result<unmasked> unmask(std::string_view masked) const;

private:
    struct entry {
        std::string key_id;
        std::array<std::optional<aes_siv>, 2> siv; // [ip, device_id]
    };
    std::vector<entry> entries_;
};

} // namespace sqs2pg::mask
