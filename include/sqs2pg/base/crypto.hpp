// OpenSSL 3 digests and HMAC behind value types: SigV4 signing, MD5 checks of SQS
// bodies, masking and key derivation all go through here.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace sqs2pg::base {

using sha256_digest = std::array<unsigned char, 32>;
using md5_digest = std::array<unsigned char, 16>;

/// The digest's bytes as a string_view; valid while `d` lives.
template <std::size_t N>
std::string_view as_bytes(const std::array<unsigned char, N>& d) {
    return {reinterpret_cast<const char*>(d.data()), N};
}

sha256_digest sha256(std::string_view data);
md5_digest md5(std::string_view data);
sha256_digest hmac_sha256(std::string_view key, std::string_view data);

/// Lowercase hex SHA-256 / MD5, as SigV4 payload hashes and SQS MD5OfBody use them.
std::string sha256_hex(std::string_view data);
std::string md5_hex(std::string_view data);

/// `n` bytes from OpenSSL's CSPRNG. Throws std::runtime_error if the generator
/// fails (a broken invariant: nothing secure can be done without it).
std::string random_bytes(std::size_t n);
/// 64 bits from the same generator: a seed for a jitter generator (std::mt19937_64).
std::uint64_t random_seed();

/// HMAC-SHA256 with a fixed key set up once: the inner and outer hash states after the
/// padded key are kept, so each compute() copies them and hashes only the data - no
/// allocation, no re-derivation. Use it on hot paths (masking every row, signing with a
/// cached SigV4 key). compute() does not change the key, so const calls may overlap;
/// copyable. The key-derived states are wiped on destruction.
class hmac_sha256_key {
public:
    explicit hmac_sha256_key(std::string_view key);
    hmac_sha256_key(const hmac_sha256_key& other);
    hmac_sha256_key& operator=(const hmac_sha256_key& other);
    hmac_sha256_key(hmac_sha256_key&& other) noexcept;
    hmac_sha256_key& operator=(hmac_sha256_key&& other) noexcept;
    ~hmac_sha256_key();

    sha256_digest compute(std::string_view data) const;

private:
    struct pads; // the two SHA-256 states (OpenSSL's SHA256_CTX)
    std::unique_ptr<pads> pads_;
};

/// Overwrites `s` with zeros (not optimised away) and clears it: for secrets.
void cleanse(std::string& s) noexcept;

/// Locks the pages holding [p, p+n) in memory (mlock: never swapped out) and leaves them
/// out of core dumps (MADV_DONTDUMP), for key material. Best effort: false when either
/// call failed (RLIMIT_MEMLOCK reached, say); the pages stay locked until the process
/// ends (pages are shared with other data, so they are never unlocked early).
bool protect_secret_memory(const void* p, std::size_t n) noexcept;

} // namespace sqs2pg::base
