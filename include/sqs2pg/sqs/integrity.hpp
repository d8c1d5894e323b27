// Integrity checks of received messages: MD5OfBody and MD5OfMessageAttributes, computed
// as SQS computes them.
#pragma once

#include <sqs2pg/sqs/types.hpp>

#include <span>
#include <string>
#include <string_view>

namespace sqs2pg::sqs {

/// Lowercase hex MD5 over message attributes as SQS computes MD5OfMessageAttributes:
/// attributes sorted by name (bytewise); for each, 4-byte big-endian length + name,
/// length + data type, one transport byte (1 String/Number, 2 Binary), length + value
/// (the raw bytes for Binary). Empty input gives the MD5 of nothing.
std::string md5_of_message_attributes(std::span<const message_attribute> attributes);

/// Why `m` must not be processed ("missing MessageId", "missing ReceiptHandle", "missing
/// Body", "missing MD5OfBody", "MD5OfBody mismatch", "MD5OfMessageAttributes mismatch")
/// or an empty view if it passes. Body and MD5OfBody must both have been sent (SQS always
/// sends them; an absent body is unknown, not empty), and a present MD5OfBody is always
/// compared, even when empty. MD5OfMessageAttributes is checked when SQS sent it with
/// attributes. Digests compare case-insensitively. The view has static storage.
std::string_view integrity_problem(const message& m);

} // namespace sqs2pg::sqs
