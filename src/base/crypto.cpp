// OpenSSL 3 EVP wrappers. Algorithms are fetched once per process; failures of the
// library itself are broken invariants and throw.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/encoding.hpp>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <utility>

namespace sqs2pg::base {
namespace {

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

EVP_MAC* hmac_algorithm() {
    // Fetched once; lives for the process (freed by OpenSSL at exit).
    static EVP_MAC* mac = [] {
        EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        if (m == nullptr)
            fail("EVP_MAC_fetch(HMAC)");
        return m;
    }();
    return mac;
}

const EVP_MD* sha256_md() {
    static EVP_MD* md = [] {
        EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        if (m == nullptr)
            fail("EVP_MD_fetch(SHA256)");
        return m;
    }();
    return md;
}

const EVP_MD* md5_md() {
    static EVP_MD* md = [] {
        EVP_MD* m = EVP_MD_fetch(nullptr, "MD5", nullptr);
        if (m == nullptr)
            fail("EVP_MD_fetch(MD5)");
        return m;
    }();
    return md;
}

template <std::size_t N>
std::array<unsigned char, N> digest(const EVP_MD* md, std::string_view data) {
    std::array<unsigned char, N> out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != N)
        fail("EVP_Digest");
    return out;
}

EVP_MAC_CTX* new_keyed_hmac(std::string_view key) {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac_algorithm());
    if (ctx == nullptr)
        fail("EVP_MAC_CTX_new");
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    // A zero-length key is legal for HMAC, but OpenSSL wants a non-null pointer.
    static const unsigned char empty = 0;
    const auto* k = key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
    if (EVP_MAC_init(ctx, k, key.size(), params) != 1) {
        EVP_MAC_CTX_free(ctx);
        fail("EVP_MAC_init");
    }
    return ctx;
}

sha256_digest finish_hmac(EVP_MAC_CTX* ctx, std::string_view data) {
    sha256_digest out{};
    std::size_t len = 0;
    const bool ok = EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()),
                                   data.size()) == 1 &&
                    EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == out.size();
    EVP_MAC_CTX_free(ctx);
    if (!ok)
        fail("HMAC-SHA256");
    return out;
}

} // namespace

sha256_digest sha256(std::string_view data) {
    return digest<32>(sha256_md(), data);
}

md5_digest md5(std::string_view data) {
    return digest<16>(md5_md(), data);
}

sha256_digest hmac_sha256(std::string_view key, std::string_view data) {
    return finish_hmac(new_keyed_hmac(key), data);
}

std::string sha256_hex(std::string_view data) {
    return to_hex(as_bytes(sha256(data)));
}

std::string md5_hex(std::string_view data) {
    return to_hex(as_bytes(md5(data)));
}

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
        fail("RAND_bytes");
    return out;
}

hmac_sha256_key::hmac_sha256_key(std::string_view key)
    : keyed_(new_keyed_hmac(key)) {}

hmac_sha256_key::hmac_sha256_key(const hmac_sha256_key& other)
    : keyed_(other.keyed_ ? EVP_MAC_CTX_dup(other.keyed_) : nullptr) {
    if (other.keyed_ && !keyed_)
        fail("EVP_MAC_CTX_dup");
}

hmac_sha256_key& hmac_sha256_key::operator=(const hmac_sha256_key& other) {
    if (this != &other) {
        hmac_sha256_key copy(other);
        std::swap(keyed_, copy.keyed_);
    }
    return *this;
}

hmac_sha256_key::hmac_sha256_key(hmac_sha256_key&& other) noexcept
    : keyed_(std::exchange(other.keyed_, nullptr)) {}

hmac_sha256_key& hmac_sha256_key::operator=(hmac_sha256_key&& other) noexcept {
    std::swap(keyed_, other.keyed_);
    return *this;
}

hmac_sha256_key::~hmac_sha256_key() {
    EVP_MAC_CTX_free(keyed_);
}

sha256_digest hmac_sha256_key::compute(std::string_view data) const {
    if (keyed_ == nullptr)
        throw std::logic_error("hmac_sha256_key used after move");
    // Re-initialising with a null key restarts from the key set at construction without
    // re-deriving the pads: less than half the cost of duplicating the context per call.
    sha256_digest out{};
    std::size_t len = 0;
    const bool ok = EVP_MAC_init(keyed_, nullptr, 0, nullptr) == 1 &&
                    EVP_MAC_update(keyed_, reinterpret_cast<const unsigned char*>(data.data()),
                                   data.size()) == 1 &&
                    EVP_MAC_final(keyed_, out.data(), &len, out.size()) == 1 && len == out.size();
    if (!ok)
        fail("HMAC-SHA256");
    return out;
}

void cleanse(std::string& s) noexcept {
    if (!s.empty())
        OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

} // namespace sqs2pg::base
