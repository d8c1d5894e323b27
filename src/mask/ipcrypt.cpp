// ipcrypt-deterministic and ipcrypt-pfx (draft-denis-ipcrypt-13, sections 3, 5, 6 and 9),
// the 16-byte address form and its text.
#include <sqs2pg/mask/ipcrypt.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sqs2pg::mask {
namespace {

constexpr std::size_t block = aes128::block_size;

// Bit `pos` of a 16-byte big-endian value: 0 is the low bit of byte 15, 127 the high bit of
// byte 0 (the draft's get_bit / set_bit numbering).
unsigned get_bit(const ip16& a, unsigned pos) noexcept {
    return (a[15 - pos / 8] >> (pos % 8)) & 1u;
}

void set_bit(ip16& a, unsigned pos, unsigned v) noexcept {
    a[15 - pos / 8] = static_cast<unsigned char>(a[15 - pos / 8] | ((v & 1u) << (pos % 8)));
}

void shift_left_one(ip16& a) noexcept {
    unsigned carry = 0;
    for (std::size_t i = a.size(); i-- > 0;) {
        const unsigned next = (a[i] >> 7) & 1u;
        a[i] = static_cast<unsigned char>((a[i] << 1) | carry);
        carry = next;
    }
}

// The padded prefix the first bit is encrypted with (the draft's pad_prefix): a lone 1 at
// bit 0 for IPv6 (an empty prefix); for IPv4 the 96 bits of ::ffff:0:0/96 behind a 1 at
// bit 96, the same for every IPv4 address, which separates IPv4 addresses from IPv6
// addresses that start with the same 32 bits.
ip16 first_padded_prefix(bool v4) noexcept {
    ip16 p{};
    if (v4) {
        p[3] = 0x01;
        p[14] = 0xff;
        p[15] = 0xff;
    } else {
        p[15] = 0x01;
    }
    return p;
}

ip16 output_base(bool v4) noexcept {
    ip16 out{};
    if (v4) {
        out[10] = 0xff;
        out[11] = 0xff;
    }
    return out;
}

std::string key_half(std::string_view key, std::size_t at) {
    if (key.size() != ipcrypt_pfx::key_size)
        throw std::invalid_argument("ipcrypt-pfx key must be 32 bytes");
    if (key.substr(0, 16) == key.substr(16))
        throw std::invalid_argument("ipcrypt-pfx key halves must differ");
    return std::string(key.substr(at, 16));
}

} // namespace

bool is_ipv4_mapped(const ip16& a) noexcept {
    static constexpr unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(a.data(), prefix, sizeof prefix) == 0;
}

std::optional<ip16> parse_ip16(std::string_view text) {
    char buf[INET6_ADDRSTRLEN];
    if (text.empty() || text.size() >= sizeof buf)
        return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    ip16 out{};
    if (text.find(':') == std::string_view::npos) {
        in_addr v4{};
        if (inet_pton(AF_INET, buf, &v4) != 1)
            return std::nullopt;
        out[10] = 0xff;
        out[11] = 0xff;
        std::memcpy(out.data() + 12, &v4, 4);
        return out;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, buf, &v6) != 1)
        return std::nullopt;
    std::memcpy(out.data(), v6.s6_addr, 16);
    return out;
}

std::string format_ip16(const ip16& a) {
    if (is_ipv4_mapped(a))
        return fmt::format("{}.{}.{}.{}", a[12], a[13], a[14], a[15]);
    unsigned words[8];
    for (std::size_t i = 0; i < 8; ++i)
        words[i] = (static_cast<unsigned>(a[2 * i]) << 8) | a[2 * i + 1];
    // The first longest run of zero words, compressed when it is two words or more.
    std::size_t best_start = 8, best_len = 0;
    for (std::size_t i = 0; i < 8;) {
        if (words[i] != 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < 8 && words[j] == 0)
            ++j;
        if (j - i > best_len) {
            best_start = i;
            best_len = j - i;
        }
        i = j;
    }
    if (best_len < 2)
        best_start = 8;
    std::string out;
    out.reserve(39);
    for (std::size_t i = 0; i < 8;) {
        if (i == best_start) {
            out += "::";
            i += best_len;
            continue;
        }
        if (!out.empty() && out.back() != ':')
            out += ':';
        out += fmt::format("{:x}", words[i]);
        ++i;
    }
    return out;
}

ipcrypt_deterministic::ipcrypt_deterministic(std::string_view key)
    : aes_(key) {}

ip16 ipcrypt_deterministic::encrypt(const ip16& ip) const {
    ip16 out;
    aes_.encrypt(ip, out);
    return out;
}

ip16 ipcrypt_deterministic::decrypt(const ip16& ip) const {
    ip16 out;
    aes_.decrypt(ip, out);
    return out;
}

ipcrypt_pfx::ipcrypt_pfx(std::string_view key)
    : k1_(key_half(key, 0))
    , k2_(key_half(key, 16)) {}

ip16 ipcrypt_pfx::encrypt(const ip16& ip) const {
    const bool v4 = is_ipv4_mapped(ip);
    const unsigned start = v4 ? 96 : 0;
    const std::size_t n = 128 - start;
    // Every padded prefix is known from the input: one block per bit, then one AES call per
    // key over all of them.
    std::array<unsigned char, 128 * block> prefixes;
    ip16 padded = first_padded_prefix(v4);
    for (std::size_t i = 0; i < n; ++i) {
        std::memcpy(prefixes.data() + i * block, padded.data(), block);
        shift_left_one(padded);
        padded[15] = static_cast<unsigned char>(padded[15] | get_bit(ip, 127 - start - i));
    }
    std::array<unsigned char, 128 * block> e1;
    std::array<unsigned char, 128 * block> e2;
    const std::span<const unsigned char> in(prefixes.data(), n * block);
    k1_.encrypt(in, std::span(e1.data(), n * block));
    k2_.encrypt(in, std::span(e2.data(), n * block));
    ip16 out = output_base(v4);
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned pos = 127 - start - static_cast<unsigned>(i);
        const unsigned cipher_bit = (e1[i * block + 15] ^ e2[i * block + 15]) & 1u;
        set_bit(out, pos, cipher_bit ^ get_bit(ip, pos));
    }
    return out;
}

ip16 ipcrypt_pfx::decrypt(const ip16& ip) const {
    const bool v4 = is_ipv4_mapped(ip);
    const unsigned start = v4 ? 96 : 0;
    ip16 out = output_base(v4);
    ip16 padded = first_padded_prefix(v4);
    ip16 e1;
    ip16 e2;
    for (unsigned len = start; len < 128; ++len) {
        k1_.encrypt(padded, e1);
        k2_.encrypt(padded, e2);
        const unsigned pos = 127 - len;
        const unsigned bit = ((e1[15] ^ e2[15]) & 1u) ^ get_bit(ip, pos);
        set_bit(out, pos, bit);
        shift_left_one(padded);
        padded[15] = static_cast<unsigned char>(padded[15] | bit);
    }
    return out;
}

} // namespace sqs2pg::mask
