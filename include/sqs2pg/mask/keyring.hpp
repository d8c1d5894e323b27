// The masking keyring: 32-byte master keys, each named by a key id, exactly one active;
// read from a key file or the SQS2PG_MASK_KEY variable (format in docs/masking.md).
#pragma once

#include <sqs2pg/mask/error.hpp>

#include <boost/system/result.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::mask {

inline constexpr std::size_t key_bytes = 32;
inline constexpr std::size_t max_key_id_length = 16;

/// One master key. The material is locked in memory and left out of core dumps
/// (base::protect_secret_memory) and wiped (base::cleanse) when the key is destroyed.
class master_key {
public:
    master_key(std::string id, std::string material);
    master_key(master_key&&) noexcept = default;
    master_key& operator=(master_key&&) noexcept = default;
    master_key(const master_key&) = delete;
    master_key& operator=(const master_key&) = delete;
    ~master_key();

    const std::string& id() const noexcept { return id_; }
    /// The 32 key bytes; valid while this key lives.
    std::string_view material() const noexcept { return material_; }

private:
    std::string id_;
    std::string material_;
};

/// Master keys in file order, one of them active (used for new masks and seals).
/// Older keys stay usable for unmasking and opening. Move-only.
class keyring {
public:
    keyring(std::vector<master_key> keys, std::size_t active);

    const master_key& active() const noexcept { return keys_[active_]; }
    /// The key named `id`, or nullptr; the pointer is valid while the keyring lives.
    const master_key* find(std::string_view id) const noexcept;
    std::span<const master_key> keys() const noexcept { return keys_; }

private:
    std::vector<master_key> keys_;
    std::size_t active_;
};

/// True if `id` is 1 to 16 characters of [A-Za-z0-9_-].
bool valid_key_id(std::string_view id) noexcept;

/// Parses keyring text: lines (or ';'-separated entries) of `KEY_ID KEY [active]`, where
/// KEY is 64 hex digits or base64/base64url of 32 bytes; '#' starts a comment; a single
/// key is active without the flag. `origin` names the source in messages (a path or
/// "SQS2PG_MASK_KEY"). Messages name the line, never the key.
boost::system::result<keyring, load_error> parse_keyring(std::string_view text,
                                                         std::string_view origin);

/// Reads the key file at `path` whole (at most 64 KiB), with the permission rule of
/// load_keyring_file; the caller wipes the text (base::cleanse) once parsed.
boost::system::result<std::string, load_error> read_key_file(const std::string& path);

/// Reads and parses the key file at `path`, wiping the read buffer afterwards. A file
/// group or others have any permission on is refused unread (errc::key_file_permissions,
/// with the mode and the chmod that fixes it), as ssh refuses such a private key.
boost::system::result<keyring, load_error> load_keyring_file(const std::string& path);

/// Where the keys come from, as configured: --mask-key-file and SQS2PG_MASK_KEY.
struct key_source {
    std::optional<std::string> key_file;  ///< path; wins over env_value
    std::optional<std::string> env_value; ///< the variable's text
};

/// The keyring from `source`; nullopt when neither is set (make_masker decides whether
/// that is an error). When both are set the file wins and an info line says so.
boost::system::result<std::optional<keyring>, load_error> load_keyring(const key_source& source);

/// The refusal shown when a keyed mode has no key: what is missing and how to make a
/// key (`sqs2pg keygen`), how to pass it, and the explicit unkeyed alternative.
std::string no_key_message();

/// A fresh random key id: "k" and 6 lowercase hex digits.
std::string random_key_id();

/// A new keyring line for `id` (checked with valid_key_id; throws std::invalid_argument
/// otherwise): a comment with the UTC creation time, then `ID <64 hex> active`.
/// The result holds key material: wipe it (base::cleanse) once written.
std::string generate_key_text(std::string_view id);

} // namespace sqs2pg::mask
