// The row sqs2pg writes to user_logins: what the record stage parses, after the mask
// stage has replaced the personal fields. Shared by record, mask, pg and flow.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace sqs2pg::record {

/// One user_logins row, ready to write. Column limits are those of the take-home DDL
/// (user_id 128, device_type 32, masked_ip 256, masked_device_id 256, locale 32
/// characters); the record and mask stages guarantee them before a row reaches pg.
struct login_row {
    std::string user_id;
    std::string device_type;
    std::string masked_ip;
    std::string masked_device_id;
    std::optional<std::string> locale;
    std::int32_t app_version = 0;        ///< encoded dotted version (docs/records.md)
    std::chrono::sys_days create_date{}; ///< UTC date of the message's SentTimestamp

    bool operator==(const login_row&) const = default;
};

} // namespace sqs2pg::record
