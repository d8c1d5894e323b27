// Format-2 keyrings: key material sealed with AES-256-GCM under a KMS data key.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/mask/envelope.hpp>

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace sqs2pg::mask {
namespace {

constexpr std::size_t nonce_bytes = 12;
constexpr std::size_t tag_bytes = 16;
constexpr std::size_t sealed_bytes = nonce_bytes + key_bytes + tag_bytes;

struct ctx_deleter {
    void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

std::string aad_for(std::string_view id) {
    return "sqs2pg-keyring 2|" + std::string(id);
}

load_error error_at(errc code, std::string message) {
    return load_error{code, std::move(message)};
}

constexpr bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<std::string_view> split(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_blank(line[i]))
            ++i;
        const std::size_t start = i;
        while (i < line.size() && !is_blank(line[i]))
            ++i;
        if (i > start)
            out.push_back(line.substr(start, i - start));
    }
    return out;
}

// Calls `f(line_no, line)` for each line without its comment, skipping blank ones.
template <class F>
bool for_each_line(std::string_view text, F&& f) {
    std::size_t line_no = 0;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++line_no;
        if (const auto hash = line.find('#'); hash != std::string_view::npos)
            line = line.substr(0, hash);
        auto tokens = split(line);
        if (tokens.empty())
            continue;
        if (!f(line_no, tokens))
            return false;
    }
    return true;
}

} // namespace

bool is_envelope_keyring(std::string_view text) noexcept {
    bool result = false;
    for_each_line(text, [&](std::size_t, const std::vector<std::string_view>& t) {
        result = t.size() == 3 && t[0] == "sqs2pg-keyring" && t[1] == "2" && t[2] == "kms";
        return false; // only the first significant line counts
    });
    return result;
}

std::optional<std::map<std::string, std::string>> parse_context(std::string_view text) {
    std::map<std::string, std::string> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const std::string_view pair = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || eq == 0)
            return std::nullopt;
        out[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
    }
    return out;
}

boost::system::result<envelope, load_error> parse_envelope(std::string_view text,
                                                           std::string_view origin) {
    envelope e;
    bool magic = false;
    std::optional<load_error> failure;
    std::vector<std::size_t> active_lines;
    for_each_line(text, [&](std::size_t n, const std::vector<std::string_view>& t) {
        const std::string where = fmt::format("{} line {}", origin, n);
        if (!magic) {
            if (!(t.size() == 3 && t[0] == "sqs2pg-keyring" && t[1] == "2" && t[2] == "kms")) {
                failure =
                    error_at(errc::key_syntax, fmt::format("{}: not a KMS keyring (expected '{}')",
                                                           where, envelope_magic));
                return false;
            }
            magic = true;
            return true;
        }
        if (t[0] == "kms-key-id" && t.size() == 2 && e.kms_key_id.empty()) {
            e.kms_key_id = std::string(t[1]);
        } else if (t[0] == "kms-context" && t.size() == 2) {
            auto c = parse_context(t[1]);
            if (!c) {
                failure =
                    error_at(errc::key_syntax,
                             fmt::format("{}: kms-context must be KEY=VALUE[,KEY=VALUE]", where));
                return false;
            }
            e.context.insert(c->begin(), c->end());
        } else if (t[0] == "kms-data-key" && t.size() == 2 && e.wrapped_data_key.empty()) {
            auto blob = base::from_base64(t[1]);
            if (!blob || blob->empty()) {
                failure = error_at(errc::key_syntax,
                                   fmt::format("{}: kms-data-key is not base64", where));
                return false;
            }
            e.wrapped_data_key = std::move(*blob);
        } else if (t[0] == "key" && (t.size() == 3 || (t.size() == 4 && t[3] == "active"))) {
            if (!valid_key_id(t[1])) {
                failure =
                    error_at(errc::key_invalid_id,
                             fmt::format("{}: key id must be 1-{} characters of A-Z a-z 0-9 _ -",
                                         where, max_key_id_length));
                return false;
            }
            if (std::any_of(e.keys.begin(), e.keys.end(),
                            [&](const sealed_key& k) { return k.id == t[1]; })) {
                failure = error_at(errc::key_duplicate_id,
                                   fmt::format("{}: key id '{}' is used twice", where, t[1]));
                return false;
            }
            auto sealed = base::from_base64(t[2]);
            if (!sealed || sealed->size() != sealed_bytes) {
                failure = error_at(errc::key_invalid_material,
                                   fmt::format("{}: the sealed key of '{}' is not {} bytes of "
                                               "base64",
                                               where, t[1], sealed_bytes));
                return false;
            }
            if (t.size() == 4)
                active_lines.push_back(n);
            e.keys.push_back({std::string(t[1]), std::move(*sealed), t.size() == 4});
        } else {
            failure = error_at(errc::key_syntax,
                               fmt::format("{}: expected kms-key-id, kms-context, kms-data-key "
                                           "or 'key ID SEALED [active]'",
                                           where));
            return false;
        }
        return true;
    });
    if (failure)
        return *failure;
    if (!magic)
        return error_at(errc::key_syntax, fmt::format("{}: empty", origin));
    if (e.kms_key_id.empty() || e.wrapped_data_key.empty())
        return error_at(errc::key_syntax, fmt::format("{}: a KMS keyring needs kms-key-id and "
                                                      "kms-data-key lines",
                                                      origin));
    if (e.keys.empty())
        return error_at(errc::key_syntax, fmt::format("{}: no key", origin));
    if (active_lines.size() > 1)
        return error_at(errc::key_several_active,
                        fmt::format("{}: lines {} and {} are both marked active; keep 'active' on "
                                    "the one key that masks new values",
                                    origin, active_lines[0], active_lines[1]));
    if (active_lines.empty() && e.keys.size() > 1)
        return error_at(errc::key_no_active,
                        fmt::format("{}: {} keys and none marked active", origin, e.keys.size()));
    if (e.keys.size() == 1)
        e.keys[0].active = true;
    return e;
}

std::string format_envelope(const envelope& e) {
    std::string out = "# sqs2pg keyring, format 2: the keys below are sealed under an AWS KMS "
                      "data key.\n"
                      "# Opening it needs kms:Decrypt on the KMS key (sqs2pg with KMS support);\n"
                      "# add a key with: sqs2pg keygen --add --out THIS_FILE\n";
    out += envelope_magic;
    out += "\nkms-key-id " + e.kms_key_id + "\n";
    if (!e.context.empty()) {
        std::string ctx;
        for (const auto& [k, v] : e.context)
            ctx += (ctx.empty() ? "" : ",") + k + "=" + v;
        out += "kms-context " + ctx + "\n";
    }
    out += "kms-data-key " + base::to_base64(e.wrapped_data_key) + "\n";
    for (const auto& k : e.keys)
        out +=
            "key " + k.id + " " + base::to_base64url(k.sealed) + (k.active ? " active" : "") + "\n";
    return out;
}

sealed_key seal_key(std::string_view id, std::string_view material, std::string_view data_key,
                    bool active) {
    if (material.size() != key_bytes || data_key.size() != key_bytes)
        throw std::invalid_argument("seal_key: key material and data key must be 32 bytes");
    const std::string nonce = base::random_bytes(nonce_bytes);
    const std::string aad = aad_for(id);
    std::string out(sealed_bytes, '\0');
    std::copy(nonce.begin(), nonce.end(), out.begin());
    auto* ct = reinterpret_cast<unsigned char*>(out.data() + nonce_bytes);
    ctx_ptr ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    if (!ctx ||
        EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), bytes(data_key), bytes(nonce), nullptr) !=
            1 ||
        EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) !=
            1 ||
        EVP_EncryptUpdate(ctx.get(), ct, &len, bytes(material), static_cast<int>(key_bytes)) != 1 ||
        EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes),
                            out.data() + nonce_bytes + key_bytes) != 1)
        throw std::runtime_error("AES-256-GCM sealing failed");
    return {std::string(id), std::move(out), active};
}

boost::system::result<keyring, load_error>
open_envelope(const envelope& e, std::string_view data_key, std::string_view origin) {
    if (data_key.size() != key_bytes)
        return error_at(errc::key_invalid_material,
                        fmt::format("{}: KMS returned a data key of {} bytes, not 32", origin,
                                    data_key.size()));
    std::vector<master_key> keys;
    std::size_t active = 0;
    for (const auto& k : e.keys) {
        const std::string aad = aad_for(k.id);
        std::string material(key_bytes, '\0');
        const std::string_view nonce = std::string_view(k.sealed).substr(0, nonce_bytes);
        const std::string_view ct = std::string_view(k.sealed).substr(nonce_bytes, key_bytes);
        std::string tag(k.sealed.substr(nonce_bytes + key_bytes));
        ctx_ptr ctx(EVP_CIPHER_CTX_new());
        int len = 0;
        auto* out = reinterpret_cast<unsigned char*>(material.data());
        const bool ok =
            ctx &&
            EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), bytes(data_key), bytes(nonce),
                                nullptr) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) ==
                1 &&
            EVP_DecryptUpdate(ctx.get(), out, &len, bytes(ct), static_cast<int>(ct.size())) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes),
                                tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), out + len, &len) == 1;
        if (!ok) {
            base::cleanse(material);
            return error_at(errc::key_invalid_material,
                            fmt::format("{}: key '{}' does not open with the data key KMS "
                                        "returned (the file was changed, or its kms-data-key "
                                        "line belongs to another file)",
                                        origin, k.id));
        }
        if (k.active)
            active = keys.size();
        keys.emplace_back(k.id, std::move(material));
    }
    return keyring(std::move(keys), active);
}

} // namespace sqs2pg::mask
