// Sealed reject bodies: "s2pg" | version | kid length | kid | nonce(12) | ciphertext | tag(16),
// AES-256-GCM with AAD = header || context.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/mask/error.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/mask/primitives.hpp>
#include <sqs2pg/mask/seal.hpp>

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace sqs2pg::mask {
namespace {

constexpr std::size_t nonce_size = 12;
constexpr std::size_t tag_size = 16;
constexpr std::size_t gcm_key_size = 32;

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

const EVP_CIPHER* gcm() {
    static EVP_CIPHER* c = [] {
        EVP_CIPHER* f = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
        if (f == nullptr)
            fail("EVP_CIPHER_fetch(AES-256-GCM)");
        return f;
    }();
    return c;
}

struct ctx_deleter {
    void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

std::string header_for(std::string_view kid) {
    std::string h(seal_magic);
    h += static_cast<char>(seal_version);
    h += static_cast<char>(kid.size());
    h.append(kid);
    return h;
}

} // namespace

std::string sealed_key_id(std::string_view sealed) {
    if (sealed.size() < seal_magic.size() + 2 || !sealed.starts_with(seal_magic))
        return {};
    const std::size_t at = seal_magic.size();
    if (static_cast<unsigned char>(sealed[at]) != seal_version)
        return {};
    const std::size_t len = static_cast<unsigned char>(sealed[at + 1]);
    if (len == 0 || len > max_key_id_length || sealed.size() < at + 2 + len)
        return {};
    std::string id(sealed.substr(at + 2, len));
    return valid_key_id(id) ? id : std::string();
}

sealer::sealer(const keyring& keys) {
    for (const auto& k : keys.keys())
        keys_.push_back({k.id(), hkdf_sha256(k.material(), {}, seal_label, gcm_key_size)});
    for (std::size_t i = 0; i < keys_.size(); ++i)
        if (keys_[i].key_id == keys.active().id())
            active_ = i;
}

sealer::sealer(sealer&&) noexcept = default;
sealer& sealer::operator=(sealer&&) noexcept = default;

sealer::~sealer() {
    for (auto& k : keys_)
        base::cleanse(k.key);
}

const std::string& sealer::key_id() const noexcept {
    return keys_[active_].key_id;
}

std::string sealer::seal(std::string_view plaintext, std::string_view context) const {
    const derived& k = keys_[active_];
    std::string out = header_for(k.key_id);
    const std::size_t header_size = out.size();
    out += base::random_bytes(nonce_size);
    out.resize(out.size() + plaintext.size() + tag_size);
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    const unsigned char* nonce = o + header_size;
    unsigned char* ct = o + header_size + nonce_size;

    ctx_ptr ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    int fin = 0;
    if (!ctx || EVP_EncryptInit_ex2(ctx.get(), gcm(), bytes(k.key), nonce, nullptr) != 1 ||
        EVP_EncryptUpdate(ctx.get(), nullptr, &len, o, static_cast<int>(header_size)) != 1 ||
        EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(context),
                          static_cast<int>(context.size())) != 1 ||
        EVP_EncryptUpdate(ctx.get(), ct, &len, bytes(plaintext),
                          static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), ct + len, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, tag_size, ct + plaintext.size()) != 1)
        fail("AES-256-GCM seal");
    return out;
}

boost::system::result<std::string> sealer::open(std::string_view sealed,
                                                std::string_view context) const {
    const std::size_t fixed = seal_magic.size() + 2;
    if (sealed.size() < fixed || sealed.substr(0, seal_magic.size()) != seal_magic ||
        static_cast<unsigned char>(sealed[seal_magic.size()]) != seal_version)
        return errc::malformed;
    const std::size_t kid_size = static_cast<unsigned char>(sealed[seal_magic.size() + 1]);
    if (kid_size == 0 || kid_size > max_key_id_length ||
        sealed.size() < fixed + kid_size + nonce_size + tag_size)
        return errc::malformed;
    const std::string_view header = sealed.substr(0, fixed + kid_size);
    const std::string_view kid = header.substr(fixed);
    const derived* k = nullptr;
    for (const auto& candidate : keys_)
        if (candidate.key_id == kid)
            k = &candidate;
    if (k == nullptr)
        return errc::key_unknown_id;
    const std::string_view nonce = sealed.substr(header.size(), nonce_size);
    const std::string_view body = sealed.substr(header.size() + nonce_size);
    const std::string_view ct = body.substr(0, body.size() - tag_size);
    std::string tag(body.substr(ct.size()));

    std::string out(ct.size(), '\0');
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    ctx_ptr ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    int fin = 0;
    if (!ctx || EVP_DecryptInit_ex2(ctx.get(), gcm(), bytes(k->key), bytes(nonce), nullptr) != 1 ||
        EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(header),
                          static_cast<int>(header.size())) != 1 ||
        EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(context),
                          static_cast<int>(context.size())) != 1 ||
        EVP_DecryptUpdate(ctx.get(), o, &len, bytes(ct), static_cast<int>(ct.size())) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, tag_size, tag.data()) != 1)
        fail("AES-256-GCM open");
    if (EVP_DecryptFinal_ex(ctx.get(), o + len, &fin) != 1) {
        base::cleanse(out); // unauthenticated plaintext must not escape
        return errc::authentication_failed;
    }
    return out;
}

} // namespace sqs2pg::mask
