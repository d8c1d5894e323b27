// The app_version encoding: major * 10^6 + minor * 10^3 + patch.
#include <sqs2pg/record/app_version.hpp>

#include <array>
#include <string>

namespace sqs2pg::record {

std::optional<version> parse_version(std::string_view text) noexcept {
    std::array<std::uint32_t, 3> parts{};
    std::size_t count = 0;
    std::size_t i = 0;
    while (true) {
        if (count == parts.size())
            return std::nullopt;
        std::uint32_t value = 0;
        std::size_t digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            value = value * 10 + static_cast<std::uint32_t>(text[i] - '0');
            // Any limit is below 10^7; stopping early keeps value from overflowing.
            if (value > max_major)
                return std::nullopt;
            ++i;
            ++digits;
        }
        if (digits == 0)
            return std::nullopt;
        parts[count++] = value;
        if (i == text.size())
            break;
        if (text[i] != '.')
            return std::nullopt;
        ++i; // a trailing '.' leaves no digits for the next part: rejected above
    }
    version v{parts[0], parts[1], parts[2]};
    if (v.major > max_major || v.minor > max_minor || v.patch > max_patch)
        return std::nullopt;
    return v;
}

std::optional<std::int32_t> encode_version(version v) noexcept {
    if (v.major > max_major || v.minor > max_minor || v.patch > max_patch)
        return std::nullopt;
    return static_cast<std::int32_t>(v.major * 1'000'000 + v.minor * 1'000 + v.patch);
}

std::optional<std::int32_t> encode_app_version(std::string_view text) noexcept {
    const auto v = parse_version(text);
    if (!v)
        return std::nullopt;
    return encode_version(*v);
}

std::optional<version> decode_app_version(std::int32_t encoded) noexcept {
    if (encoded < 0)
        return std::nullopt;
    const auto u = static_cast<std::uint32_t>(encoded);
    version v{u / 1'000'000, u / 1'000 % 1'000, u % 1'000};
    if (v.major > max_major)
        return std::nullopt;
    return v;
}

std::string format_version(version v) {
    return std::to_string(v.major) + '.' + std::to_string(v.minor) + '.' + std::to_string(v.patch);
}

} // namespace sqs2pg::record
