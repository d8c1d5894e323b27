// HKDF-SHA256, AES-SIV and single AES-128 blocks over OpenSSL 3 EVP. Algorithms are fetched once
// per process; library failures are broken invariants and throw.
#include <sqs2pg/mask/primitives.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>
#include <stdexcept>
#include <utility>

namespace sqs2pg::mask {
namespace {

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

EVP_KDF* hkdf_algorithm() {
    static EVP_KDF* kdf = [] {
        EVP_KDF* k = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
        if (k == nullptr)
            fail("EVP_KDF_fetch(HKDF)");
        return k;
    }();
    return kdf;
}

EVP_CIPHER* fetch_cipher(const char* name) {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
    if (c == nullptr)
        fail(name);
    return c;
}

const EVP_CIPHER* siv_cipher(std::size_t key_size) {
    static EVP_CIPHER* siv128 = fetch_cipher("AES-128-SIV");
    static EVP_CIPHER* siv192 = fetch_cipher("AES-192-SIV");
    static EVP_CIPHER* siv256 = fetch_cipher("AES-256-SIV");
    switch (key_size) {
    case 32:
        return siv128;
    case 48:
        return siv192;
    case 64:
        return siv256;
    default:
        throw std::invalid_argument("AES-SIV key must be 32, 48 or 64 bytes");
    }
}

struct ctx_deleter {
    void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

ctx_ptr copy_of(const EVP_CIPHER_CTX* keyed) {
    ctx_ptr ctx(EVP_CIPHER_CTX_new());
    if (!ctx || EVP_CIPHER_CTX_copy(ctx.get(), keyed) != 1)
        fail("EVP_CIPHER_CTX_copy");
    return ctx;
}

bool add_ad(EVP_CIPHER_CTX* ctx, std::initializer_list<std::string_view> ad) {
    for (std::string_view a : ad) {
        int len = 0;
        if (EVP_CipherUpdate(ctx, nullptr, &len, bytes(a), static_cast<int>(a.size())) != 1)
            return false;
    }
    return true;
}

} // namespace

std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info,
                        std::size_t length) {
    EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(hkdf_algorithm());
    if (ctx == nullptr)
        fail("EVP_KDF_CTX_new");
    char digest[] = "SHA256";
    OSSL_PARAM params[5];
    OSSL_PARAM* p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()),
                                             ikm.size());
    if (!salt.empty())
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                 const_cast<char*>(salt.data()), salt.size());
    if (!info.empty())
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                 const_cast<char*>(info.data()), info.size());
    *p = OSSL_PARAM_construct_end();
    std::string out(length, '\0');
    const int ok =
        EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()), out.size(), params);
    EVP_KDF_CTX_free(ctx);
    if (ok != 1)
        fail("EVP_KDF_derive(HKDF)");
    return out;
}

aes_siv::aes_siv(std::string_view key) {
    const EVP_CIPHER* cipher = siv_cipher(key.size());
    keyed_ = EVP_CIPHER_CTX_new();
    if (keyed_ == nullptr ||
        EVP_EncryptInit_ex2(keyed_, cipher, bytes(key), nullptr, nullptr) != 1) {
        EVP_CIPHER_CTX_free(keyed_);
        fail("EVP_EncryptInit_ex2(AES-SIV)");
    }
}

aes_siv::aes_siv(aes_siv&& other) noexcept
    : keyed_(std::exchange(other.keyed_, nullptr)) {}

aes_siv& aes_siv::operator=(aes_siv&& other) noexcept {
    std::swap(keyed_, other.keyed_);
    return *this;
}

aes_siv::~aes_siv() {
    EVP_CIPHER_CTX_free(keyed_); // clears the key schedule
}

std::string aes_siv::encrypt(std::string_view plaintext,
                             std::initializer_list<std::string_view> ad) const {
    if (plaintext.empty())
        throw std::invalid_argument("AES-SIV: empty plaintext");
    // OpenSSL's SIV allows one operation per keying, and a re-init without a key does not
    // reset that (nor the S2V state), so each call works on a copy of the keyed template;
    // the copy also skips the CMAC/CTR key setup and its algorithm fetches.
    ctx_ptr ctx = copy_of(keyed_);
    std::string out(tag_size + plaintext.size(), '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    int len = 0;
    int fin = 0;
    if (!add_ad(ctx.get(), ad) ||
        EVP_EncryptUpdate(ctx.get(), o + tag_size, &len, bytes(plaintext),
                          static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), o + tag_size + len, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, tag_size, o) != 1)
        fail("AES-SIV encrypt");
    return out;
}

std::optional<std::string> aes_siv::decrypt(std::string_view sealed,
                                            std::initializer_list<std::string_view> ad) const {
    if (sealed.size() <= tag_size)
        return std::nullopt;
    ctx_ptr ctx = copy_of(keyed_);
    // The template was keyed for encryption; switch direction without touching the key.
    if (EVP_DecryptInit_ex2(ctx.get(), nullptr, nullptr, nullptr, nullptr) != 1)
        fail("EVP_DecryptInit_ex2(AES-SIV)");
    std::string tag(sealed.substr(0, tag_size));
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, tag_size, tag.data()) != 1)
        fail("AES-SIV set tag");
    const std::string_view ct = sealed.substr(tag_size);
    std::string out(ct.size(), '\0');
    int len = 0;
    int fin = 0;
    if (!add_ad(ctx.get(), ad) ||
        EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, bytes(ct),
                          static_cast<int>(ct.size())) != 1 ||
        EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &fin) !=
            1)
        return std::nullopt;
    return out;
}

namespace {

const EVP_CIPHER* aes128_ecb() {
    static EVP_CIPHER* ecb = fetch_cipher("AES-128-ECB");
    return ecb;
}

// A context keyed for one direction, without padding: every call hands whole blocks.
EVP_CIPHER_CTX* keyed_ecb(std::string_view key, bool encrypt) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr ||
        EVP_CipherInit_ex2(ctx, aes128_ecb(), bytes(key), nullptr, encrypt ? 1 : 0, nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        fail("EVP_CipherInit_ex2(AES-128-ECB)");
    }
    return ctx;
}

void run_blocks(EVP_CIPHER_CTX* ctx, std::span<const unsigned char> in,
                std::span<unsigned char> out) {
    if (in.size() != out.size() || in.size() % aes128::block_size != 0)
        throw std::invalid_argument("AES-128: whole 16-byte blocks, as many out as in");
    if (in.empty())
        return;
    // ECB keeps no state between blocks and nothing is buffered (whole blocks, no
    // padding), so the keyed context serves every call without a re-init.
    int len = 0;
    if (EVP_CipherUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(in.size())) != 1 ||
        static_cast<std::size_t>(len) != in.size())
        fail("AES-128-ECB");
}

} // namespace

aes128::aes128(std::string_view key) {
    if (key.size() != key_size)
        throw std::invalid_argument("AES-128 key must be 16 bytes");
    enc_ = keyed_ecb(key, true);
    try {
        dec_ = keyed_ecb(key, false);
    } catch (...) {
        EVP_CIPHER_CTX_free(enc_);
        throw;
    }
}

aes128::aes128(aes128&& other) noexcept
    : enc_(std::exchange(other.enc_, nullptr))
    , dec_(std::exchange(other.dec_, nullptr)) {}

aes128& aes128::operator=(aes128&& other) noexcept {
    std::swap(enc_, other.enc_);
    std::swap(dec_, other.dec_);
    return *this;
}

aes128::~aes128() {
    EVP_CIPHER_CTX_free(enc_); // clears the key schedules
    EVP_CIPHER_CTX_free(dec_);
}

void aes128::encrypt(std::span<const unsigned char> in, std::span<unsigned char> out) const {
    run_blocks(enc_, in, out);
}

void aes128::decrypt(std::span<const unsigned char> in, std::span<unsigned char> out) const {
    run_blocks(dec_, in, out);
}

} // namespace sqs2pg::mask
