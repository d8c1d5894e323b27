// Times as ISO 8601 / RFC 3339 text, always UTC on output: parsing the forms credential
// documents and operators write, and formatting the form sqs2pg's outputs use.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::base {

/// "2024-01-15T08:30:05Z", with optional fractional seconds and "Z" or a "+hh:mm" /
/// "-hh:mm" offset ('T' and 'Z' in either case). The zone is required: a time without
/// one names no instant. nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

/// A calendar date, "2024-03-01", as its UTC midnight; nullopt for anything else (an
/// impossible date such as 2024-02-30 included).
std::optional<std::chrono::sys_days> parse_iso8601_date(std::string_view text);

/// "2024-03-01T12:00:00Z", or with `micros` "2024-03-01T12:00:00.123456Z".
std::string format_iso8601(std::chrono::sys_time<std::chrono::microseconds> t, bool micros);

} // namespace sqs2pg::base
