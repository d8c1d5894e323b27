// The cryptographic building blocks of masking and sealing, over OpenSSL 3 EVP:
// HKDF-SHA256 (RFC 5869) and deterministic AES-SIV (RFC 5297).
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::mask {

/// RFC 5869 HKDF-SHA256 (extract then expand) via EVP_KDF "HKDF": `length` bytes
/// (at most 255 * 32). An empty salt means the RFC's default (32 zero bytes).
/// Wipe the result when done if it is key material.
std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info,
                        std::size_t length);

/// AES-SIV with a fixed key, set up once: encrypt/decrypt copy the keyed context, so
/// a call costs no key schedule. Key length picks the variant: 32 bytes AES-128-SIV
/// (RFC 5297's AES-CMAC-128 test vectors), 48 AES-192-SIV, 64 AES-256-SIV. Move-only;
/// not thread-safe.
class aes_siv {
public:
    explicit aes_siv(std::string_view key);
    aes_siv(aes_siv&& other) noexcept;
    aes_siv& operator=(aes_siv&& other) noexcept;
    aes_siv(const aes_siv&) = delete;
    aes_siv& operator=(const aes_siv&) = delete;
    ~aes_siv();

    static constexpr std::size_t tag_size = 16;

    /// RFC 5297 output V || C (16 + plaintext bytes) for the associated-data vector `ad`
    /// (a nonce, if any, is its last element). `plaintext` must not be empty.
    std::string encrypt(std::string_view plaintext,
                        std::initializer_list<std::string_view> ad = {}) const;

    /// The plaintext of V || C, or nullopt if it is shorter than 17 bytes or does not
    /// authenticate under this key and `ad`.
    std::optional<std::string> decrypt(std::string_view sealed,
                                       std::initializer_list<std::string_view> ad = {}) const;

private:
    EVP_CIPHER_CTX* keyed_ = nullptr;
};

} // namespace sqs2pg::mask
