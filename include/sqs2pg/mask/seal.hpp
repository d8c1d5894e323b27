// Sealing of rejected message bodies: AES-256-GCM under a key derived from the active
// master key, bound to a caller-given context (the SQS MessageId). Format in docs/masking.md.
#pragma once

#include <sqs2pg/mask/keyring.hpp>

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::mask {

/// Magic and version at the start of every sealed blob.
inline constexpr std::string_view seal_magic = "s2pg";
inline constexpr unsigned char seal_version = 1;
/// Bytes a sealed blob adds to the plaintext, for a key id of `kid_length` characters.
constexpr std::size_t seal_overhead(std::size_t kid_length) noexcept {
    return seal_magic.size() + 2 + kid_length + 12 + 16;
}

/// The key id a sealed blob's header names, or "" when `sealed` is not a sealed blob of
/// this version. Needs no key: it says which key a blob that does not open wants.
std::string sealed_key_id(std::string_view sealed);

/// Seals with the active key, opens with any key of the keyring (keys derived once).
/// Move-only; not thread-safe.
class sealer {
public:
    /// The keyring may be destroyed afterwards.
    explicit sealer(const keyring& keys);
    sealer(sealer&&) noexcept;
    sealer& operator=(sealer&&) noexcept;
    ~sealer();

    /// A sealed blob (binary, for bytea) of `plaintext`, with a fresh random nonce, that
    /// opens only with the same `context`. Throws std::runtime_error only if OpenSSL fails.
    std::string seal(std::string_view plaintext, std::string_view context) const;

    /// The plaintext of `sealed`: errc::malformed (not a sealed blob of a known version),
    /// key_unknown_id (its key is no longer in the keyring), authentication_failed
    /// (another context, or the blob was altered).
    boost::system::result<std::string> open(std::string_view sealed,
                                            std::string_view context) const;

    /// The key id new seals name.
    const std::string& key_id() const noexcept;

private:
    struct derived {
        std::string key_id;
        std::string key; // 32 bytes, wiped on destruction
    };
    std::vector<derived> keys_;
    std::size_t active_ = 0;
};

} // namespace sqs2pg::mask
