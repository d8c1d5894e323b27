// The cryptographic building blocks of masking and sealing, over OpenSSL 3 EVP:
// HKDF-SHA256 (RFC 5869), deterministic AES-SIV (RFC 5297) and the AES-128 block cipher
// under ipcrypt.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
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

/// AES-128 on whole 16-byte blocks, each on its own (ECB), with both key schedules set up
/// once: the block cipher under ipcrypt (ipcrypt.hpp). Move-only; not thread-safe (the
/// contexts are reused by every call).
class aes128 {
public:
    static constexpr std::size_t key_size = 16;
    static constexpr std::size_t block_size = 16;

    /// Throws std::invalid_argument unless `key` is 16 bytes.
    explicit aes128(std::string_view key);
    aes128(aes128&& other) noexcept;
    aes128& operator=(aes128&& other) noexcept;
    aes128(const aes128&) = delete;
    aes128& operator=(const aes128&) = delete;
    ~aes128();

    /// Encrypts (decrypts) the blocks of `in` into `out`: the same size, a multiple of 16
    /// bytes (std::invalid_argument otherwise); they may be the same buffer.
    void encrypt(std::span<const unsigned char> in, std::span<unsigned char> out) const;
    void decrypt(std::span<const unsigned char> in, std::span<unsigned char> out) const;

private:
    EVP_CIPHER_CTX* enc_ = nullptr;
    EVP_CIPHER_CTX* dec_ = nullptr;
};

} // namespace sqs2pg::mask
