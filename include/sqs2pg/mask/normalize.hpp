// Normalization of personal values before keyed masking: spellings of the same value
// mask to the same output (rules in docs/masking.md). Pure; no OpenSSL.
#pragma once

#include <string>
#include <string_view>

namespace sqs2pg::mask {

/// `s` without leading and trailing ASCII whitespace (space, \t, \n, \r, \f, \v).
std::string_view trim_ascii(std::string_view s) noexcept;

/// The canonical text of an IP address: IPv4 dotted quad, IPv6 in RFC 5952 form
/// (inet_ntop: lowercase, longest zero run compressed), IPv4-mapped IPv6 as plain IPv4.
/// Text that is not an address (after trimming) is returned trimmed, otherwise as is.
std::string normalize_ip(std::string_view ip);

/// A device id trimmed; lowercased when it consists only of hex digits and the
/// separators '-' and ':' (UUIDs, IDFA/IDFV, Android ids, MAC addresses), where case
/// carries no meaning. Other ids keep their case: they may be case-sensitive tokens.
std::string normalize_device_id(std::string_view id);

} // namespace sqs2pg::mask
