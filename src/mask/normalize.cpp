// IP and device id normalization: inet_pton/inet_ntop for addresses, case folding for
// hex-only device ids.
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/mask/normalize.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace sqs2pg::mask {
namespace {

constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

constexpr bool is_hex_or_separator(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-' ||
           c == ':';
}

// Dotted decimal without inet_ntop, which goes through the printf machinery: this runs
// for every message.
std::string format_ipv4(const in_addr& a) {
    const auto* b = reinterpret_cast<const unsigned char*>(&a.s_addr); // network order
    char out[16];
    std::size_t n = 0;
    for (int i = 0; i < 4; ++i) {
        if (i > 0)
            out[n++] = '.';
        const unsigned v = b[i];
        if (v >= 100)
            out[n++] = static_cast<char>('0' + v / 100);
        if (v >= 10)
            out[n++] = static_cast<char>('0' + v / 10 % 10);
        out[n++] = static_cast<char>('0' + v % 10);
    }
    return std::string(out, n);
}

} // namespace

std::string_view trim_ascii(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

std::string normalize_ip(std::string_view ip) {
    const std::string_view t = trim_ascii(ip);
    // INET6_ADDRSTRLEN (46) covers the longest address text, including the NUL.
    char text[INET6_ADDRSTRLEN];
    if (t.empty() || t.size() >= sizeof text)
        return std::string(t);
    std::memcpy(text, t.data(), t.size());
    text[t.size()] = '\0';

    char out[INET6_ADDRSTRLEN];
    in_addr v4{};
    // inet_pton is strict: four decimal parts, no leading zeros, no octal or hex forms.
    if (t.find(':') == std::string_view::npos) {
        if (inet_pton(AF_INET, text, &v4) == 1)
            return format_ipv4(v4);
        return std::string(t);
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, text, &v6) != 1)
        return std::string(t);
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        std::memcpy(&v4, &v6.s6_addr[12], sizeof v4);
        return format_ipv4(v4);
    } else if (inet_ntop(AF_INET6, &v6, out, sizeof out)) {
        return out;
    }
    return std::string(t);
}

std::string normalize_device_id(std::string_view id) {
    const std::string_view t = trim_ascii(id);
    for (char c : t)
        if (!is_hex_or_separator(c))
            return std::string(t);
    return base::ascii_lower(t);
}

} // namespace sqs2pg::mask
