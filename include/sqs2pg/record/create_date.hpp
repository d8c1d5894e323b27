// create_date: the UTC calendar date of the login, taken from the message's SQS
// SentTimestamp attribute, with the receive time as a counted fallback.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sqs2pg::record {

/// Largest SentTimestamp accepted: 9999-12-31T23:59:59.999Z in epoch milliseconds.
inline constexpr std::int64_t max_sent_timestamp_ms = 253'402'300'799'999;

/// The UTC date containing `t` (floor, so instants before 1970 work too).
std::chrono::sys_days utc_date(std::chrono::system_clock::time_point t) noexcept;

/// The UTC date containing the instant `epoch_ms` milliseconds after 1970-01-01T00:00Z.
std::chrono::sys_days utc_date_from_epoch_ms(std::int64_t epoch_ms) noexcept;

/// The SentTimestamp attribute's value (decimal epoch milliseconds, 1 to 15 ASCII
/// digits) as a number; nullopt if it is not that or above max_sent_timestamp_ms.
std::optional<std::int64_t> parse_sent_timestamp(std::string_view attribute) noexcept;

/// Where a create_date came from; anything but sent_timestamp is a fallback the
/// pipeline counts (metric) and may log (without the body).
enum class date_source {
    sent_timestamp,       ///< the SentTimestamp attribute
    receive_time_missing, ///< the attribute was absent
    receive_time_invalid, ///< the attribute was present but unusable
};

struct dated {
    std::chrono::sys_days date;
    date_source source;
};

/// create_date of a message: utc date of `sent_timestamp` (the raw attribute, nullopt
/// when the message has none), else of `received_at` with the reason in `source`.
dated create_date(std::optional<std::string_view> sent_timestamp,
                  std::chrono::system_clock::time_point received_at) noexcept;

} // namespace sqs2pg::record
