// ASCII text helpers: protocol names, hex digits and header names are ASCII, and
// locale-dependent functions (std::tolower) must not decide how they compare.
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace sqs2pg::base {

constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// `s` with A-Z turned into a-z; every other byte unchanged.
std::string ascii_lower(std::string_view s);

/// `s` with every control character (below 0x20, and DEL) as '?': server text, ids and
/// values on one line of a terminal or a message, where they could not move the cursor or
/// break the line.
std::string printable(std::string_view s);

/// Equal ignoring ASCII case (e.g. two hex digests, one in upper case).
bool iequals_ascii(std::string_view a, std::string_view b) noexcept;

/// The value of a hex digit (either case), or -1.
constexpr int hex_digit_value(char c) noexcept {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// What an exception says (std::exception::what(), else "unknown exception"): how a
/// task that ended with one is reported in a log line. `e` must not be null.
std::string exception_text(const std::exception_ptr& e);

} // namespace sqs2pg::base
