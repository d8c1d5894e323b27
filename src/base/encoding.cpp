// Hex and base64 codecs (RFC 4648), strict on input so that one text has one meaning.
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/base/text.hpp>

#include <array>
#include <cstdint>

namespace sqs2pg::base {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Both digits of every byte value, for append_hex.
constexpr std::array<char, 512> make_hex_pairs() {
    std::array<char, 512> t{};
    for (int b = 0; b < 256; ++b) {
        t[2 * b] = hex_digits[b >> 4];
        t[2 * b + 1] = hex_digits[b & 15];
    }
    return t;
}
constexpr auto hex_pairs = make_hex_pairs();
constexpr char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Both alphabets decode through one table: '+' and '-' are 62, '/' and '_' are 63.
constexpr std::array<std::int8_t, 256> make_b64_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t)
        v = -1;
    for (int i = 0; i < 64; ++i) {
        t[static_cast<unsigned char>(b64_std[i])] = static_cast<std::int8_t>(i);
        t[static_cast<unsigned char>(b64_url[i])] = static_cast<std::int8_t>(i);
    }
    return t;
}
constexpr auto b64_table = make_b64_table();

std::string encode_base64(std::string_view bytes, const char* alphabet, bool pad) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        std::uint32_t v = byte(i) << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        if (pad)
            out += "==";
    } else if (rest == 2) {
        std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        if (pad)
            out += '=';
    }
    return out;
}

} // namespace

std::string to_hex(std::string_view bytes) {
    std::string out;
    append_hex(out, bytes);
    return out;
}

void append_hex(std::string& out, std::string_view bytes) {
    const std::size_t at = out.size();
    out.resize(at + bytes.size() * 2);
    // Through a local pointer: stores through out[] may alias the string itself, which
    // made the compiler reload its data pointer for every digit.
    char* p = out.data() + at;
    for (const char c : bytes) {
        const char* pair = &hex_pairs[2 * static_cast<unsigned char>(c)];
        p[0] = pair[0];
        p[1] = pair[1];
        p += 2;
    }
}

std::optional<std::string> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0)
        return std::nullopt;
    std::string out;
    out.resize(hex.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = hex_digit_value(hex[2 * i]);
        const int lo = hex_digit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out[i] = static_cast<char>((hi << 4) | lo);
    }
    return out;
}

std::string to_base64(std::string_view bytes) {
    return encode_base64(bytes, b64_std, true);
}

std::string to_base64url(std::string_view bytes) {
    return encode_base64(bytes, b64_url, false);
}

std::optional<std::string> from_base64(std::string_view text) {
    std::size_t padding = 0;
    while (!text.empty() && text.back() == '=' && padding < 2) {
        text.remove_suffix(1);
        ++padding;
    }
    // With padding the total length must be a multiple of four.
    if (padding > 0 && (text.size() + padding) % 4 != 0)
        return std::nullopt;
    if (text.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        const int v = b64_table[static_cast<unsigned char>(c)];
        if (v < 0)
            return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    // Leftover bits must be zero, or two texts would decode to the same bytes.
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return std::nullopt;
    return out;
}

char* encode_utf8(std::uint32_t cp, char* out) noexcept {
    if (cp < 0x80) {
        *out++ = static_cast<char>(cp);
    } else if (cp < 0x800) {
        *out++ = static_cast<char>(0xc0 | (cp >> 6));
        *out++ = static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *out++ = static_cast<char>(0xe0 | (cp >> 12));
        *out++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        *out++ = static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        *out++ = static_cast<char>(0xf0 | (cp >> 18));
        *out++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        *out++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        *out++ = static_cast<char>(0x80 | (cp & 0x3f));
    }
    return out;
}

} // namespace sqs2pg::base
