// The maskers: per-field HKDF-derived keys, normalization, hex HMAC, "KID:base64url"
// AES-SIV, address-shaped ipcrypt ("KID~address") and ipcrypt-pfx ("KID:address"), unkeyed
// SHA-256; the unmasker that reads a value's format and key id; the rekeyer.
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/mask/normalize.hpp>
#include <sqs2pg/ops/log.hpp>

#include <algorithm>
#include <stdexcept>

namespace sqs2pg::mask {
namespace {

constexpr std::size_t hmac_key_size = 32;
constexpr std::size_t siv_key_size = 64; // AES-256-SIV: two 256-bit keys (CMAC, CTR)
constexpr char pfx_separator = ':';      // the same as aes-siv: "KID:203.0.113.77"
constexpr char deterministic_separator = '~';

constexpr std::array<mode, 5> all_modes{mode::hmac_sha256, mode::aes_siv, mode::sha256,
                                        mode::ipcrypt, mode::ipcrypt_pfx};

std::size_t index(field f) noexcept {
    return static_cast<std::size_t>(f);
}

std::string normalize(field f, std::string_view value) {
    return f == field::ip ? normalize_ip(value) : normalize_device_id(value);
}

std::string derive(std::string_view master, mode m, field f, std::size_t size) {
    return hkdf_sha256(master, {}, hkdf_label(m, f), size);
}

// A keyed primitive built from the derived key, which is wiped once it is loaded.
template <class Key>
Key derived_key(std::string_view master, mode m, field f, std::size_t size) {
    std::string k = derive(master, m, f, size);
    try {
        Key key(k);
        base::cleanse(k);
        return key;
    } catch (...) {
        base::cleanse(k);
        throw;
    }
}

aes_siv siv_key(std::string_view master, field f) {
    return derived_key<aes_siv>(master, mode::aes_siv, f, siv_key_size);
}

ipcrypt_deterministic deterministic_key(std::string_view master) {
    return derived_key<ipcrypt_deterministic>(master, mode::ipcrypt, field::ip,
                                              ipcrypt_deterministic::key_size);
}

ipcrypt_pfx pfx_key(std::string_view master) {
    return derived_key<ipcrypt_pfx>(master, mode::ipcrypt_pfx, field::ip, ipcrypt_pfx::key_size);
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
    case mode::ipcrypt:
        return "ipcrypt";
    case mode::ipcrypt_pfx:
        return "ipcrypt-pfx";
    }
    return "unknown";
}

std::optional<mode> parse_mode(std::string_view name) noexcept {
    for (mode m : all_modes)
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

masker::masker(field_modes modes, const keyring& keys)
    : modes_(modes) {
    const std::string_view master = keys.active().material();
    for (field f : {field::ip, field::device_id}) {
        const mode m = modes.of(f);
        if (!mode_applies(m, f))
            throw std::invalid_argument(std::string(mode_name(m)) + " does not apply to " +
                                        std::string(field_name(f)));
        keyed_field& k = keys_[index(f)];
        switch (m) {
        case mode::hmac_sha256:
            k.hmac.emplace(derived_key<base::hmac_sha256_key>(master, m, f, hmac_key_size));
            break;
        case mode::aes_siv:
            k.siv.emplace(siv_key(master, f));
            break;
        case mode::ipcrypt:
            k.deterministic.emplace(deterministic_key(master));
            break;
        case mode::ipcrypt_pfx:
            k.pfx.emplace(pfx_key(master));
            break;
        case mode::sha256:
            break; // unkeyed
        }
    }
    if (modes.any_keyed())
        key_id_ = keys.active().id();
}

masker::masker(mode m, const keyring& keys)
    : masker(field_modes{m, m}, keys) {}

masker::masker(mode m)
    : modes_{m, m} {
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
masker::mask_address(const keyed_field& k, mode m, std::string_view normal) const {
    // The normalized text of an address parses; anything else (a host name, a zone id,
    // an octal-looking IPv4) cannot be encrypted as an address and is not guessed at.
    const auto address = parse_ip16(normal);
    if (!address)
        return record::reject_reason::invalid_ip;
    const bool pfx = m == mode::ipcrypt_pfx;
    const ip16 encrypted = pfx ? k.pfx->encrypt(*address) : k.deterministic->encrypt(*address);
    std::string out;
    out.reserve(key_id_.size() + 1 + 39); // the longest IPv6 text is 39 characters
    out.append(key_id_);
    out += pfx ? pfx_separator : deterministic_separator;
    out.append(format_ip16(encrypted));
    return out;
}

boost::system::result<std::string, record::reject_reason>
masker::mask(field f, std::string_view value) const {
    const mode m = modes_.of(f);
    if (m == mode::sha256)
        return base::sha256_hex(value); // the bytes as sent, like the original script
    std::string normal = normalize(f, value);
    if (normal.empty())
        return record::reject_reason::empty_field;
    const keyed_field& k = keys_[index(f)];
    switch (m) {
    case mode::hmac_sha256:
        return base::to_hex(base::as_bytes(k.hmac->compute(normal)));
    case mode::ipcrypt:
    case mode::ipcrypt_pfx:
        return mask_address(k, m, normal);
    case mode::aes_siv:
    case mode::sha256:
        break;
    }
    if (normal.size() > max_plaintext())
        return record::reject_reason::too_long;
    std::string sealed = k.siv->encrypt(normal);
    std::string out;
    out.reserve(key_id_.size() + 1 + base64url_length(sealed.size()));
    out.append(key_id_).append(":").append(base::to_base64url(sealed));
    return out;
}

boost::system::result<masker, load_error> make_masker(field_modes modes, const keyring* keys) {
    for (field f : {field::ip, field::device_id}) {
        if (!mode_applies(modes.of(f), f))
            return load_error{errc::mode_not_for_field,
                              std::string(mode_name(modes.of(f))) +
                                  " encrypts IP addresses: it applies to ip only, not to " +
                                  std::string(field_name(f))};
    }
    if (modes.ip == mode::sha256 || modes.device_id == mode::sha256) {
        ops::log(ops::level::warn, "mask_mode_unkeyed",
                 {{"mode", "sha256"},
                  {"fields", modes.ip == modes.device_id ? "ip, device_id"
                             : modes.ip == mode::sha256  ? "ip"
                                                         : "device_id"},
                  {"risk", "unkeyed SHA-256 can be reversed by enumeration: hashing all 2^32 "
                           "IPv4 addresses takes minutes; use hmac-sha256 (the default) with a "
                           "key from 'sqs2pg keygen'"}});
    }
    if (!modes.any_keyed())
        return masker(mode::sha256);
    if (keys == nullptr)
        return load_error{errc::no_key, no_key_message()};
    return masker(modes, *keys);
}

boost::system::result<masker, load_error> make_masker(mode m, const keyring* keys) {
    return make_masker(field_modes{m, m}, keys);
}

std::optional<masked_format> read_masked_format(std::string_view masked) noexcept {
    const std::size_t sep = masked.find_first_of(":~");
    if (sep == std::string_view::npos)
        return std::nullopt;
    masked_format out{mode::aes_siv, masked.substr(0, sep), masked.substr(sep + 1)};
    if (!valid_key_id(out.key_id) || out.payload.empty())
        return std::nullopt;
    if (masked[sep] == deterministic_separator)
        out.masked_with = mode::ipcrypt;
    else if (out.payload.find_first_of(".:") != std::string_view::npos)
        out.masked_with = mode::ipcrypt_pfx; // base64url has neither; an address has one
    return out;
}

unmasker::unmasker(const keyring& keys) {
    for (const auto& k : keys.keys()) {
        entry e;
        e.key_id = k.id();
        e.siv[index(field::ip)].emplace(siv_key(k.material(), field::ip));
        e.siv[index(field::device_id)].emplace(siv_key(k.material(), field::device_id));
        e.deterministic.emplace(deterministic_key(k.material()));
        e.pfx.emplace(pfx_key(k.material()));
        entries_.push_back(std::move(e));
    }
}

boost::system::result<unmasked> unmasker::unmask(std::string_view masked) const {
    const auto format = read_masked_format(masked);
    if (!format)
        return is_hex64(masked) ? errc::not_reversible : errc::malformed;
    const entry* e = nullptr;
    for (const auto& candidate : entries_)
        if (candidate.key_id == format->key_id)
            e = &candidate;
    if (e == nullptr)
        return errc::key_unknown_id;
    if (format->masked_with != mode::aes_siv) {
        // Only the ip field has ipcrypt keys; the text must be an address of ours.
        const auto address = parse_ip16(format->payload);
        if (!address)
            return errc::malformed;
        const ip16 plain = format->masked_with == mode::ipcrypt_pfx
                               ? e->pfx->decrypt(*address)
                               : e->deterministic->decrypt(*address);
        // As normalize_ip writes it, so that unmask(mask(x)) is normalize_ip(x).
        return unmasked{field::ip, e->key_id, normalize_ip(format_ip16(plain)),
                        format->masked_with};
    }
    const auto sealed = base::from_base64(format->payload);
    if (!sealed || sealed->size() <= aes_siv::tag_size)
        return errc::malformed;
    // The value does not say which field it was; only the right field key authenticates.
    for (field f : {field::ip, field::device_id}) {
        if (auto plain = e->siv[index(f)]->decrypt(*sealed))
            return unmasked{f, e->key_id, std::move(*plain), mode::aes_siv};
    }
    return errc::authentication_failed;
}

rekeyer::rekeyer(const keyring& keys, field f)
    : field_(f)
    , active_(keys.active().id())
    , unmasker_(keys) {
    for (mode m : all_modes) {
        if (is_reversible(m) && mode_applies(m, f)) {
            // The other field's mode does not matter; aes-siv fits both.
            field_modes modes{mode::aes_siv, mode::aes_siv};
            (f == field::ip ? modes.ip : modes.device_id) = m;
            maskers_.emplace_back(modes, keys);
        }
    }
}

rekeyer::rekeyer(rekeyer&&) noexcept = default;
rekeyer& rekeyer::operator=(rekeyer&&) noexcept = default;
rekeyer::~rekeyer() = default;

boost::system::result<std::optional<std::string>> rekeyer::rekey(std::string_view masked) const {
    const auto format = read_masked_format(masked);
    if (format && format->key_id == active_)
        return std::optional<std::string>{};
    auto plain = unmasker_.unmask(masked);
    if (!plain)
        return plain.error();
    if (plain->source != field_) {
        base::cleanse(plain->value);
        return errc::wrong_field;
    }
    const auto m = std::find_if(maskers_.begin(), maskers_.end(), [&](const masker& candidate) {
        return candidate.mode_of(field_) == plain->masked_with;
    });
    if (m == maskers_.end()) {
        base::cleanse(plain->value);
        return errc::wrong_field; // an ipcrypt value of device_id cannot exist
    }
    auto again = m->mask(field_, plain->value);
    base::cleanse(plain->value);
    if (!again) // the value fitted under its old, shorter key id
        return again.error() == record::reject_reason::too_long ? errc::too_long : errc::malformed;
    return std::optional<std::string>(std::move(*again));
}

} // namespace sqs2pg::mask
