// Errors of the mask module: keyring loading, unmasking and opening sealed bodies.
#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>

#include <string>
#include <type_traits>

namespace sqs2pg::mask {

enum class errc {
    no_key = 1,            ///< a keyed mode was chosen (or defaulted) and no key was given
    key_file_unreadable,   ///< the key file cannot be opened or read, or is not a file
    key_syntax,            ///< a keyring line is not `KEY_ID KEY [active]`
    key_invalid_id,        ///< a key id is empty, too long or has characters outside [A-Za-z0-9_-]
    key_invalid_material,  ///< a key is not 32 bytes in hex or base64, or is a placeholder
    key_duplicate_id,      ///< two keys share an id
    key_no_active,         ///< several keys and none marked active
    key_several_active,    ///< more than one key marked active
    key_unknown_id,        ///< a masked value or sealed body names a key not in the keyring
    not_reversible,        ///< an hmac-sha256 / sha256 value: one-way by design
    malformed,             ///< not a masked value / sealed body of a known format
    authentication_failed, ///< wrong key, wrong context, or the data was altered
    unknown_mode,          ///< a mode name that is not one of mask::mode's names
    key_file_permissions,  ///< group or others may read, write or execute the key file
    mode_not_for_field,    ///< an ipcrypt mode for device_id: they encrypt IP addresses only
    wrong_field,           ///< rekey: the value was masked with the other field's key
    too_long,              ///< rekey: under the active key id the value would not fit
};

const boost::system::error_category& mask_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), mask_category()};
}

/// Nothing here is transient: retrying with the same key and input fails the same way.
constexpr bool is_retryable(errc) noexcept {
    return false;
}

/// Keyring and setup errors stop the program before it starts work; the others concern
/// one value or one sealed body.
constexpr bool is_fatal(errc e) noexcept {
    return e != errc::key_unknown_id && e != errc::not_reversible && e != errc::malformed &&
           e != errc::authentication_failed && e != errc::wrong_field && e != errc::too_long;
}

/// An error with the sentence to show the user (which line, what to do). Never holds
/// key material or a personal value.
struct load_error {
    errc code = errc::no_key;
    std::string message;
};

/// For result<T, load_error>::value(): throws std::runtime_error(message).
[[noreturn]] void throw_exception_from_error(const load_error& e, const boost::source_location&);

} // namespace sqs2pg::mask

template <>
struct boost::system::is_error_code_enum<sqs2pg::mask::errc> : std::true_type {};
