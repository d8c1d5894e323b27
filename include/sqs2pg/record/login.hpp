// JSON message body -> parsed login (sans-io): flattening of nested objects to dotted
// keys, the configurable mapping of dotted keys to fields, and validation.
#pragma once

#include <sqs2pg/record/error.hpp>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::record {

/// The fields a login message carries, in the order they are validated.
enum class field : std::uint8_t { user_id, device_type, ip, device_id, app_version, locale };
inline constexpr std::size_t field_count = 6;

/// The field's name as the take-home data spells it ("device_id"): the default key.
std::string_view field_name(field f) noexcept;

/// Column limits in characters (varchar(n) in a UTF8 database).
inline constexpr std::size_t max_user_id_chars = 128;
inline constexpr std::size_t max_device_type_chars = 32;
inline constexpr std::size_t max_locale_chars = 32;
inline constexpr std::size_t max_masked_chars = 256;

/// Which dotted key of the flattened body feeds each field. Default: the flat
/// take-home names. Keys are compared byte for byte (case-sensitive).
class field_map {
public:
    field_map();

    const std::string& key(field f) const noexcept { return keys_[static_cast<std::size_t>(f)]; }
    void set(field f, std::string key) { keys_[static_cast<std::size_t>(f)] = std::move(key); }

    /// The shared default map (lives for the whole program).
    static const field_map& defaults();

    bool operator==(const field_map&) const = default;

private:
    std::array<std::string, field_count> keys_;
};

/// Parses a mapping spec: comma-separated `field=dotted.key` pairs, e.g.
/// "device_id=device.id,ip=client.ip"; unnamed fields keep their default key. Spaces
/// around names are ignored. Throws std::invalid_argument with a message naming the
/// bad part (unknown field, empty key, field given twice, two fields on one key):
/// this is configuration loading, where exceptions are the house rule.
field_map parse_field_map(std::string_view spec);

/// The spec that parse_field_map() turns back into `map` (only non-default fields).
std::string format_field_map(const field_map& map);

/// A parsed, validated login. ip and device_id are the raw personal values: never log
/// them; the mask stage replaces them.
struct login {
    std::string user_id;
    std::string device_type;
    std::string ip;
    std::string device_id;
    std::optional<std::string> locale;
    std::int32_t app_version = 0; ///< encode_app_version() of the sent version

    bool operator==(const login&) const = default;
};

/// Why a body was rejected: the reason and the key of the failing field as configured
/// in the field_map (e.g. "device.id"; empty for not_json and not_object). Never the
/// value: values are personal data.
struct reject {
    reject_reason reason = reject_reason::not_json;
    std::string field;

    bool operator==(const reject&) const = default;
};

/// For result<T, reject>::value(): throws std::runtime_error naming code and field.
[[noreturn]] void throw_exception_from_error(const reject& r, const boost::source_location& loc);

/// Parses one SQS message body (any size; SQS allows up to 1 MiB) into a login, or says
/// why not. Pure and allocation-light: the JSON document lives in a stack-backed
/// monotonic buffer for the duration of the call. `map` is only read during the call.
boost::system::result<login, reject> parse_login(std::string_view body,
                                                 const field_map& map = field_map::defaults());

/// Number of characters (code points) in valid UTF-8 `text`.
std::size_t utf8_length(std::string_view text) noexcept;

} // namespace sqs2pg::record
