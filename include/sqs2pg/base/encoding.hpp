// Hex and base64 codecs shared by the signer (hex digests), masking (key files,
// sealed values) and the SQS codec (binary message attributes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::base {

/// Lowercase hex of the bytes in `bytes` (two characters per byte).
std::string to_hex(std::string_view bytes);
/// Appends the lower-case hex of `bytes` to `out` (no temporary string).
void append_hex(std::string& out, std::string_view bytes);

/// The bytes spelled by `hex` (either case); nullopt if the length is odd or a
/// character is not a hex digit.
std::optional<std::string> from_hex(std::string_view hex);

/// Writes the code point `cp` (at most U+10FFFF, not a surrogate: the caller checks) in
/// UTF-8 at `out`, which has room for 4 bytes; returns the end of what it wrote.
char* encode_utf8(std::uint32_t cp, char* out) noexcept;

/// RFC 4648 base64, standard alphabet, padded with '='.
std::string to_base64(std::string_view bytes);

/// RFC 4648 base64url, unpadded: safe in URLs, file names and SQL literals.
std::string to_base64url(std::string_view bytes);

/// Decodes base64 in either alphabet (standard or url), padding optional.
/// Returns nullopt on any character outside the alphabet, misplaced padding,
/// an impossible length or non-zero trailing bits (so each text has one meaning).
std::optional<std::string> from_base64(std::string_view text);

} // namespace sqs2pg::base
