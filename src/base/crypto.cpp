// OpenSSL wrappers. SHA-256, MD5 and HMAC-SHA256 - hashed for every message and every
// request - use OpenSSL's low-level digest functions on stack contexts: through EVP under
// OpenSSL 3's providers each call allocated a context (or duplicated one) and went
// through the provider dispatch, which cost more than the hashing of short inputs (24
// heap allocations per message). The low-level functions are deprecated in 3.0 but
// shipped, and run the same assembly (SHA extensions where the CPU has them); they are
// used in this file only. Failures of the library itself are broken invariants and throw.
//
// Undefined before any OpenSSL header: this file alone uses the deprecated digests.
#undef OPENSSL_NO_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/encoding.hpp>

#include <string.h> // explicit_bzero
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace sqs2pg::base {
namespace {

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

// Zeroes memory in a way the compiler keeps. glibc's explicit_bzero is its vectorised
// memset behind a barrier; OPENSSL_cleanse, byte and word stores, cost ~250 instructions
// per call here, and every HMAC wipes its state twice.
void wipe(void* p, std::size_t n) noexcept {
    ::explicit_bzero(p, n);
}

} // namespace

sha256_digest sha256(std::string_view data) {
    sha256_digest out{};
    SHA256_CTX c;
    if (SHA256_Init(&c) != 1 || SHA256_Update(&c, data.data(), data.size()) != 1 ||
        SHA256_Final(out.data(), &c) != 1)
        fail("SHA256");
    return out;
}

md5_digest md5(std::string_view data) {
    md5_digest out{};
    MD5_CTX c;
    if (MD5_Init(&c) != 1 || MD5_Update(&c, data.data(), data.size()) != 1 ||
        MD5_Final(out.data(), &c) != 1)
        fail("MD5");
    return out;
}

sha256_digest hmac_sha256(std::string_view key, std::string_view data) {
    return hmac_sha256_key(key).compute(data);
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

std::uint64_t random_seed() {
    std::uint64_t seed = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1)
        fail("RAND_bytes");
    return seed;
}

struct hmac_sha256_key::pads {
    SHA256_CTX inner; ///< after hashing key XOR ipad
    SHA256_CTX outer; ///< after hashing key XOR opad
    ~pads() { wipe(this, sizeof *this); }
};

hmac_sha256_key::hmac_sha256_key(std::string_view key)
    : pads_(std::make_unique<pads>()) {
    // RFC 2104: a key longer than the block is hashed first; then padded to the block.
    constexpr std::size_t block = SHA256_CBLOCK;
    unsigned char k[block] = {};
    if (key.size() > block) {
        const auto h = sha256(key);
        std::memcpy(k, h.data(), h.size());
    } else if (!key.empty()) {
        std::memcpy(k, key.data(), key.size());
    }
    unsigned char ipad[block], opad[block];
    for (std::size_t i = 0; i < block; ++i) {
        ipad[i] = static_cast<unsigned char>(k[i] ^ 0x36);
        opad[i] = static_cast<unsigned char>(k[i] ^ 0x5c);
    }
    const bool ok =
        SHA256_Init(&pads_->inner) == 1 && SHA256_Update(&pads_->inner, ipad, block) == 1 &&
        SHA256_Init(&pads_->outer) == 1 && SHA256_Update(&pads_->outer, opad, block) == 1;
    wipe(k, sizeof k);
    wipe(ipad, sizeof ipad);
    wipe(opad, sizeof opad);
    if (!ok)
        fail("HMAC-SHA256 key");
}

hmac_sha256_key::hmac_sha256_key(const hmac_sha256_key& other)
    : pads_(other.pads_ ? std::make_unique<pads>(*other.pads_) : nullptr) {}

hmac_sha256_key& hmac_sha256_key::operator=(const hmac_sha256_key& other) {
    if (this != &other)
        pads_ = other.pads_ ? std::make_unique<pads>(*other.pads_) : nullptr;
    return *this;
}

hmac_sha256_key::hmac_sha256_key(hmac_sha256_key&& other) noexcept = default;
hmac_sha256_key& hmac_sha256_key::operator=(hmac_sha256_key&& other) noexcept = default;
hmac_sha256_key::~hmac_sha256_key() = default;

sha256_digest hmac_sha256_key::compute(std::string_view data) const {
    if (!pads_)
        throw std::logic_error("hmac_sha256_key used after move");
    sha256_digest inner_hash{}, out{};
    SHA256_CTX c = pads_->inner;
    bool ok = SHA256_Update(&c, data.data(), data.size()) == 1 &&
              SHA256_Final(inner_hash.data(), &c) == 1;
    c = pads_->outer;
    ok = ok && SHA256_Update(&c, inner_hash.data(), inner_hash.size()) == 1 &&
         SHA256_Final(out.data(), &c) == 1;
    wipe(&c, sizeof c);
    wipe(inner_hash.data(), inner_hash.size());
    if (!ok)
        fail("HMAC-SHA256");
    return out;
}

void cleanse(std::string& s) noexcept {
    if (!s.empty())
        wipe(s.data(), s.size());
    s.clear();
}

bool protect_secret_memory(const void* p, std::size_t n) noexcept {
    if (p == nullptr || n == 0)
        return true;
    static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<std::uintptr_t>(p) & ~(page - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(p) + n + page - 1) & ~(page - 1);
    auto* const addr = reinterpret_cast<void*>(begin);
    const std::size_t len = end - begin;
    // Both are best effort: RLIMIT_MEMLOCK may be small, and the process is made
    // non-dumpable at start anyway (see app::harden_process).
    const bool locked = ::mlock(addr, len) == 0;
    const bool no_dump = ::madvise(addr, len, MADV_DONTDUMP) == 0;
    return locked && no_dump;
}

} // namespace sqs2pg::base
