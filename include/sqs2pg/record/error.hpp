// Why a message cannot become a row: the stable reject reasons, their snake_case codes
// (stored in the rejects table and shown to users) and their error_code category.
#pragma once

#include <boost/system/error_code.hpp>

#include <optional>
#include <string_view>
#include <type_traits>

namespace sqs2pg::record {

/// Reject reasons. The numeric values and the codes from reject_code() are part of the
/// stored data: never renumber or rename one; add new ones at the end.
enum class reject_reason {
    not_json = 1,        ///< body is not JSON text (syntax, invalid UTF-8, nesting deeper than 32)
    not_object,          ///< body is JSON but its top level is not an object
    missing_field,       ///< a required field is absent
    null_field,          ///< a required field is JSON null
    wrong_type,          ///< a field has a JSON type its column cannot take
    too_long,            ///< a value (or its masked form) is longer than its column
    invalid_app_version, ///< app_version is not a version the encoding can hold
    invalid_text,        ///< a text value contains U+0000, which PostgreSQL cannot store
    empty_field,         ///< a required text field is empty or only whitespace
    ambiguous_field,     ///< two keys flatten to the same mapped dotted key
    invalid_ip,          ///< ip is not an IPv4/IPv6 address, and its mode (ipcrypt) needs one
};

/// The stable snake_case code ("missing_field"); "unknown" for a value outside the enum.
std::string_view reject_code(reject_reason r) noexcept;

/// The reason named by `code`; nullopt for an unknown code.
std::optional<reject_reason> parse_reject_code(std::string_view code) noexcept;

/// The error category "sqs2pg.record"; message() gives a short English sentence.
const boost::system::error_category& reject_category() noexcept;

inline boost::system::error_code make_error_code(reject_reason r) noexcept {
    return {static_cast<int>(r), reject_category()};
}

/// A reject never gets better by retrying: the same body gives the same reason.
constexpr bool is_retryable(reject_reason) noexcept {
    return false;
}

/// A reject concerns one message only; the pipeline goes on.
constexpr bool is_fatal(reject_reason) noexcept {
    return false;
}

} // namespace sqs2pg::record

template <>
struct boost::system::is_error_code_enum<sqs2pg::record::reject_reason> : std::true_type {};
