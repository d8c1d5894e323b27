// JSON text written directly (json_writer.hpp).
#include "json_writer.hpp"

#include <cstdint>
#include <cstring>

namespace sqs2pg::sqs::detail {
namespace {

// Whether any of the eight bytes at `p` needs escaping in a JSON string: a control
// character (below 0x20), '"' or '\\'. Word-at-a-time tests (each exact about whether
// some byte matches): has_less(x, n) = (x - n*ones) & ~x & highs, and a byte equal to c
// is a zero byte of x ^ c*ones.
bool needs_escape_in(const char* p) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t highs = 0x8080808080808080ull;
    std::uint64_t x;
    std::memcpy(&x, p, sizeof x);
    const auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    return (((x - 0x20 * ones) & ~x & highs) | has_zero(x ^ ('"' * ones)) |
            has_zero(x ^ ('\\' * ones))) != 0;
}

} // namespace

void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t plain = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        // Eight bytes at a time while none needs escaping (receipt handles never do).
        while (s.size() - i >= 8 && !needs_escape_in(s.data() + i))
            i += 8;
        if (i >= s.size())
            break;
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out.append(s.data() + plain, i - plain);
        plain = i + 1;
        out += '\\';
        switch (c) {
        case '"':
            out += '"';
            break;
        case '\\':
            out += '\\';
            break;
        case '\n':
            out += 'n';
            break;
        case '\r':
            out += 'r';
            break;
        case '\t':
            out += 't';
            break;
        case '\b':
            out += 'b';
            break;
        case '\f':
            out += 'f';
            break;
        default:
            out += "u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    out.append(s.data() + plain, s.size() - plain);
    out += '"';
}

} // namespace sqs2pg::sqs::detail
