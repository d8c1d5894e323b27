// app_version as a PostgreSQL integer: an order-preserving, decodable encoding of dotted
// versions (MAJOR[.MINOR[.PATCH]]); docs/records.md has the rule and the sample table.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::record {

/// A numeric version; missing components are zero ("2.3" is 2.3.0).
struct version {
    std::uint32_t major = 0;
    std::uint32_t minor = 0;
    std::uint32_t patch = 0;

    auto operator<=>(const version&) const = default;
};

inline constexpr std::uint32_t max_major = 2146; ///< 2146.999.999 = 2'146'999'999 < INT32_MAX
inline constexpr std::uint32_t max_minor = 999;
inline constexpr std::uint32_t max_patch = 999;

/// Parses 1 to 3 dot-separated decimal components (ASCII digits only, leading zeros
/// allowed and ignored: "6.02" is 6.2.0) within the limits above. No sign, spaces,
/// "v" prefix or suffix. nullopt for anything else.
std::optional<version> parse_version(std::string_view text) noexcept;

/// major * 1'000'000 + minor * 1'000 + patch; nullopt when a component is over its limit.
/// Equal versions give equal integers and a < b gives encode(a) < encode(b).
std::optional<std::int32_t> encode_version(version v) noexcept;

/// parse_version then encode_version: the value stored in user_logins.app_version.
std::optional<std::int32_t> encode_app_version(std::string_view text) noexcept;

/// The version an integer stands for; nullopt for negative or above-limit integers.
std::optional<version> decode_app_version(std::int32_t encoded) noexcept;

/// "MAJOR.MINOR.PATCH", the canonical text of a version ("2.00" comes back as "2.0.0").
std::string format_version(version v);

} // namespace sqs2pg::record
