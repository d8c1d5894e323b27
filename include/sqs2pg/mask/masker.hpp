// The masking modes (hmac-sha256, aes-siv, sha256, and for ip ipcrypt and ipcrypt-pfx),
// the masker that applies a mode per field on the hot path, the unmasker for the
// reversible values, and the rekeyer that moves them to the active key.
#pragma once

#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/mask/error.hpp>
#include <sqs2pg/mask/ipcrypt.hpp>
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
    ipcrypt,     ///< ip only: keyed, deterministic, reversible, address-shaped: "KID~address"
    ipcrypt_pfx, ///< ip only: as ipcrypt and prefix-preserving: "KID:address"
};

/// "hmac-sha256" | "aes-siv" | "sha256" | "ipcrypt" | "ipcrypt-pfx".
std::string_view mode_name(mode m) noexcept;
/// The mode named `name`; nullopt otherwise.
std::optional<mode> parse_mode(std::string_view name) noexcept;

/// Every mode but sha256 needs a key.
constexpr bool is_keyed(mode m) noexcept {
    return m != mode::sha256;
}
/// Key holders can recover the value (unmask) and move it to another key (rekey).
constexpr bool is_reversible(mode m) noexcept {
    return m == mode::aes_siv || m == mode::ipcrypt || m == mode::ipcrypt_pfx;
}

/// The personal fields that get masked; each has its own derived keys.
enum class field { ip, device_id };
/// "ip" | "device_id": the HKDF label part and the name used in messages.
std::string_view field_name(field f) noexcept;

/// Whether field `f` can be masked in mode `m`: the ipcrypt modes encrypt IP addresses, so
/// they apply to ip only. (Their values are not authenticated either, so a value could
/// not tell which field's key it was made with, as aes-siv values do.)
constexpr bool mode_applies(mode m, field f) noexcept {
    return f == field::ip || (m != mode::ipcrypt && m != mode::ipcrypt_pfx);
}

/// The mode of each field (--mask-ip, --mask-device-id).
struct field_modes {
    mode ip = mode::hmac_sha256;
    mode device_id = mode::hmac_sha256;

    mode of(field f) const noexcept { return f == field::ip ? ip : device_id; }
    bool any_keyed() const noexcept { return is_keyed(ip) || is_keyed(device_id); }
    bool operator==(const field_modes&) const = default;
};

/// HKDF info labels; published so others can reproduce derivations (docs/masking.md).
/// One per mode and field, so no two fields or modes share a key.
std::string hkdf_label(mode m, field f);
inline constexpr std::string_view seal_label = "sqs2pg/v1 seal aes-256-gcm";

/// Upper bound of a masked value in characters (varchar(256)).
inline constexpr std::size_t max_masked_length = 256;

/// Masks ip and device_id, each in its own mode, with the keyring's active key (keys
/// derived once at construction). Move-only; not thread-safe (one per pipeline thread).
class masker {
public:
    /// Each field in its mode of `modes`; the keyed ones with `keys.active()`. The keyring
    /// may be destroyed after. Throws std::invalid_argument for a mode a field cannot take
    /// (mode_applies).
    masker(field_modes modes, const keyring& keys);
    /// Both fields in mode `m` (so not an ipcrypt mode).
    masker(mode m, const keyring& keys);
    /// Both fields in the unkeyed sha256 mode. Throws std::invalid_argument for other modes.
    explicit masker(mode m);

    masker(masker&&) noexcept;
    masker& operator=(masker&&) noexcept;
    ~masker();

    mode mode_of(field f) const noexcept { return modes_.of(f); }
    const field_modes& modes() const noexcept { return modes_; }
    /// The id of the key in use; empty when no field is keyed.
    const std::string& key_id() const noexcept { return key_id_; }

    /// The value to store for `value` of field `f` (ASCII): normalized (not in sha256
    /// mode), then masked. Errors: reject_reason::empty_field when nothing is left after
    /// normalization (keyed modes), too_long when the aes-siv output would exceed
    /// max_masked_length (normalized values over max_plaintext() bytes), invalid_ip when an
    /// ipcrypt mode gets a value that is not an IPv4 or IPv6 address.
    boost::system::result<std::string, record::reject_reason> mask(field f,
                                                                   std::string_view value) const;

    /// Longest normalized input aes-siv can mask within max_masked_length for this key id.
    std::size_t max_plaintext() const noexcept;

private:
    struct keyed_field {
        std::optional<base::hmac_sha256_key> hmac;
        std::optional<aes_siv> siv;
        std::optional<ipcrypt_deterministic> deterministic;
        std::optional<ipcrypt_pfx> pfx;
    };

    boost::system::result<std::string, record::reject_reason>
    mask_address(const keyed_field& k, mode m, std::string_view normal) const;

    field_modes modes_;
    std::string key_id_;
    std::array<keyed_field, 2> keys_; // [ip, device_id]
};

/// Chooses the masker for the configuration: every mode but sha256 needs `keys`
/// (errc::no_key with no_key_message() otherwise); a mode a field cannot take is
/// errc::mode_not_for_field. sha256 works without a key and logs a warning (ops::log
/// "mask_mode_unkeyed") that its outputs can be reversed by enumeration.
boost::system::result<masker, load_error> make_masker(field_modes modes, const keyring* keys);
/// Both fields in mode `m`.
boost::system::result<masker, load_error> make_masker(mode m, const keyring* keys);

/// An unmasked value: which field's key opened it, under which key id, in which mode.
struct unmasked {
    field source;
    std::string key_id;
    std::string value;                ///< the normalized original: personal data
    mode masked_with = mode::aes_siv; ///< aes_siv, ipcrypt or ipcrypt_pfx
};

/// Which reversible format a masked value has, read from its text alone: aes-siv
/// "KID:base64url", ipcrypt-pfx "KID:address", ipcrypt "KID~address". The separator and
/// the characters after it tell them apart (base64url has neither '.' nor ':'; an address
/// has one of them). nullopt for anything else (64-hex one-way values included).
struct masked_format {
    mode masked_with;
    std::string_view key_id;
    std::string_view payload; ///< after the separator
};
std::optional<masked_format> read_masked_format(std::string_view masked) noexcept;

/// Recovers originals from reversible values (aes-siv, ipcrypt, ipcrypt-pfx) under any key
/// of the keyring, so values written before a rotation stay readable while their key is
/// kept. Move-only; not thread-safe.
class unmasker {
public:
    /// Derives the keys of every reversible mode for every key in `keys`; the keyring may go
    /// afterwards.
    explicit unmasker(const keyring& keys);

    /// The original of `masked`: errc::not_reversible for 64-hex values (hmac-sha256 or
    /// sha256), key_unknown_id, malformed, authentication_failed (aes-siv only: the
    /// ipcrypt modes carry no authentication, so a value under a wrong key decrypts to
    /// another address without notice).
    boost::system::result<unmasked> unmask(std::string_view masked) const;

private:
    struct entry {
        std::string key_id;
        std::array<std::optional<aes_siv>, 2> siv;          // [ip, device_id]
        std::optional<ipcrypt_deterministic> deterministic; // ip
        std::optional<ipcrypt_pfx> pfx;                     // ip
    };
    std::vector<entry> entries_;
};

/// Moves reversible values of one field to the keyring's active key (sqs2pg rekey): the
/// value is unmasked with the key it names and masked again, in the same mode, with the
/// active key. Equal values give equal results, so every row holding a value can take the
/// same new one. Move-only; not thread-safe.
class rekeyer {
public:
    /// For values of field `f`; the keyring may be destroyed after.
    rekeyer(const keyring& keys, field f);
    rekeyer(rekeyer&&) noexcept;
    rekeyer& operator=(rekeyer&&) noexcept;
    ~rekeyer();

    field target() const noexcept { return field_; }
    const std::string& active_key_id() const noexcept { return active_; }

    /// The value under the active key; nullopt when `masked` is under it already. Errors:
    /// those of unmasker::unmask, errc::wrong_field (the value was masked for the other
    /// field), errc::too_long (an aes-siv value that no longer fits 256 characters with the
    /// longer active key id).
    boost::system::result<std::optional<std::string>> rekey(std::string_view masked) const;

private:
    field field_;
    std::string active_;
    unmasker unmasker_;
    std::vector<masker> maskers_; // one per reversible mode the field can take
};

} // namespace sqs2pg::mask
