// The maskers: per-field HKDF-derived keys, normalization, hex HMAC, "KID:base64url"
// AES-SIV, unkeyed SHA-256; and the unmasker that tries each field key of the named key.
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/mask/normalize.hpp>
#include <sqs2pg/ops/log.hpp>

#include <stdexcept>

namespace sqs2pg::mask {
namespace {

constexpr std::size_t hmac_key_size = 32;
constexpr std::size_t siv_key_size = 64; // AES-256-SIV: two 256-bit keys (CMAC, CTR)

std::size_t index(field f) noexcept {
    return static_cast<std::size_t>(f);
}

std::string normalize(field f, std::string_view value) {
    return f == field::ip ? normalize_ip(value) : normalize_device_id(value);
}

std::string derive(std::string_view master, mode m, field f, std::size_t size) {
    return hkdf_sha256(master, {}, hkdf_label(m, f), size);
}

base::hmac_sha256_key hmac_key(std::string_view master, field f) {
    std::string k = derive(master, mode::hmac_sha256, f, hmac_key_size);
    base::hmac_sha256_key key(k);
    base::cleanse(k);
    return key;
}

aes_siv siv_key(std::string_view master, field f) {
    std::string k = derive(master, mode::aes_siv, f, siv_key_size);
    aes_siv key(k);
    base::cleanse(k);
    return key;
}

// Length of unpadded base64 for n bytes.
constexpr std::size_t base64url_length(std::size_t n) noexcept {
    return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

bool is_hex64(std::string_view s) noexcept {
    if (s.size() != 64)
        return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    return true;
}

} // namespace

std::string_view mode_name(mode m) noexcept {
    switch (m) {
    case mode::hmac_sha256:
        return "hmac-sha256";
    case mode::aes_siv:
        return "aes-siv";
    case mode::sha256:
        return "sha256";
    }
    return "unknown";
}

std::optional<mode> parse_mode(std::string_view name) noexcept {
    for (mode m : {mode::hmac_sha256, mode::aes_siv, mode::sha256})
        if (mode_name(m) == name)
            return m;
    return std::nullopt;
}

std::string_view field_name(field f) noexcept {
    return f == field::ip ? "ip" : "device_id";
}

std::string hkdf_label(mode m, field f) {
    if (m == mode::sha256)
        throw std::invalid_argument("sha256 mode is unkeyed: no HKDF label");
    std::string label = "sqs2pg/v1 mask ";
    label.append(mode_name(m)).append(" ").append(field_name(f));
    return label;
}

masker::masker(mode m, const keyring& keys)
    : mode_(m) {
    const std::string_view master = keys.active().material();
    switch (m) {
    case mode::hmac_sha256:
        hmac_.emplace(std::array{hmac_key(master, field::ip), hmac_key(master, field::device_id)});
        break;
    case mode::aes_siv:
        siv_.push_back(siv_key(master, field::ip));
        siv_.push_back(siv_key(master, field::device_id));
        break;
    case mode::sha256:
        return; // unkeyed: no key id
    }
    key_id_ = keys.active().id();
}

masker::masker(mode m)
    : mode_(m) {
    if (m != mode::sha256)
        throw std::invalid_argument("masker: keyed modes need a keyring");
}

masker::masker(masker&&) noexcept = default;
masker& masker::operator=(masker&&) noexcept = default;
masker::~masker() = default;

std::size_t masker::max_plaintext() const noexcept {
    const std::size_t room = max_masked_length - key_id_.size() - 1;
    const std::size_t max_sealed = room / 4 * 3 + (room % 4 == 0 ? 0 : room % 4 - 1);
    return max_sealed - aes_siv::tag_size;
}

boost::system::result<std::string, record::reject_reason>
masker::mask(field f, std::string_view value) const {
    if (mode_ == mode::sha256)
        return base::sha256_hex(value); // the bytes as sent, like the original script
    std::string normal = normalize(f, value);
    if (normal.empty())
        return record::reject_reason::empty_field;
    if (mode_ == mode::hmac_sha256)
        return base::to_hex(base::as_bytes((*hmac_)[index(f)].compute(normal)));
    if (normal.size() > max_plaintext())
        return record::reject_reason::too_long;
    std::string sealed = siv_[index(f)].encrypt(normal);
    std::string out;
    out.reserve(key_id_.size() + 1 + base64url_length(sealed.size()));
    out.append(key_id_).append(":").append(base::to_base64url(sealed));
    return out;
}

boost::system::result<masker, load_error> make_masker(mode m, const keyring* keys) {
    if (m == mode::sha256) {
        ops::log(ops::level::warn, "mask_mode_unkeyed",
                 {{"mode", "sha256"},
                  {"risk", "unkeyed SHA-256 can be reversed by enumeration: hashing all 2^32 "
                           "IPv4 addresses takes minutes; use hmac-sha256 (the default) with a "
                           "key from 'sqs2pg keygen'"}});
        return masker(m);
    }
    if (keys == nullptr)
        return load_error{errc::no_key, no_key_message()};
    return masker(m, *keys);
}

unmasker::unmasker(const keyring& keys) {
    for (const auto& k : keys.keys()) {
        entry e;
        e.key_id = k.id();
        e.siv[index(field::ip)].emplace(siv_key(k.material(), field::ip));
        e.siv[index(field::device_id)].emplace(siv_key(k.material(), field::device_id));
        entries_.push_back(std::move(e));
    }
}

boost::system::result<unmasked> unmasker::unmask(std::string_view masked) const {
    const std::size_t colon = masked.find(':');
    if (colon == std::string_view::npos)
        return is_hex64(masked) ? errc::not_reversible : errc::malformed;
    const std::string_view kid = masked.substr(0, colon);
    if (!valid_key_id(kid))
        return errc::malformed;
    const entry* e = nullptr;
    for (const auto& candidate : entries_)
        if (candidate.key_id == kid)
            e = &candidate;
    if (e == nullptr)
        return errc::key_unknown_id;
    const auto sealed = base::from_base64(masked.substr(colon + 1));
    if (!sealed || sealed->size() <= aes_siv::tag_size)
        return errc::malformed;
    // The value does not say which field it was; only the right field key authenticates.
    for (field f : {field::ip, field::device_id}) {
        if (auto plain = e->siv[index(f)]->decrypt(*sealed))
            return unmasked{f, e->key_id, std::move(*plain)};
    }
    return errc::authentication_failed;
}

} // namespace sqs2pg::mask
