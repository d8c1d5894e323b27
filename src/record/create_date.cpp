// create_date from SentTimestamp (epoch milliseconds), with the receive-time fallback.
#include <sqs2pg/record/create_date.hpp>

namespace sqs2pg::record {

std::chrono::sys_days utc_date(std::chrono::system_clock::time_point t) noexcept {
    return std::chrono::floor<std::chrono::days>(t);
}

std::chrono::sys_days utc_date_from_epoch_ms(std::int64_t epoch_ms) noexcept {
    return std::chrono::floor<std::chrono::days>(
        std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(epoch_ms)));
}

std::optional<std::int64_t> parse_sent_timestamp(std::string_view attribute) noexcept {
    if (attribute.empty() || attribute.size() > 15)
        return std::nullopt;
    std::int64_t ms = 0;
    for (char c : attribute) {
        if (c < '0' || c > '9')
            return std::nullopt;
        ms = ms * 10 + (c - '0');
    }
    if (ms > max_sent_timestamp_ms)
        return std::nullopt;
    return ms;
}

dated create_date(std::optional<std::string_view> sent_timestamp,
                  std::chrono::system_clock::time_point received_at) noexcept {
    if (!sent_timestamp)
        return {utc_date(received_at), date_source::receive_time_missing};
    if (const auto ms = parse_sent_timestamp(*sent_timestamp))
        return {utc_date_from_epoch_ms(*ms), date_source::sent_timestamp};
    return {utc_date(received_at), date_source::receive_time_invalid};
}

} // namespace sqs2pg::record
