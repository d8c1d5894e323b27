// The Postgres side of `sqs2pg rejects list|show|replay`: list reject records, fetch one
// with its sealed body, lock a replay batch's rejects, and mark one replayed or delete it
// after a successful replay.
#pragma once

#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/names.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::pg {

using time_point = std::chrono::sys_time<std::chrono::microseconds>;

/// One row of sqs2pg_rejects.
struct reject_record {
    std::string message_id;
    std::string reason;
    std::int32_t receive_count = 0;
    std::optional<time_point> sent_at;
    time_point first_seen{};
    time_point last_seen{};
    std::string sealed_body; ///< empty in listings, and when none was stored
    std::optional<time_point> replayed_at;
    std::optional<std::string> replayed_message_id; ///< the MessageId the replay got
};

/// Which rejects to list: all conditions must hold.
struct reject_filter {
    std::optional<std::string> reason; ///< exact reason code
    std::optional<time_point> since;   ///< last_seen >= since
    std::optional<time_point> until;   ///< last_seen < until
    bool include_replayed = false;     ///< also those already replayed
    std::uint32_t limit = 100;
};

/// Rejects matching `filter`, most recently seen first, without their bodies. `conn`
/// must be connected and not in pipeline mode; it must outlive the operation.
boost::asio::awaitable<boost::system::result<std::vector<reject_record>>>
async_list_rejects(connection& conn, const table_names& tables, const reject_filter& filter);

/// The reject with this message id, sealed body included; nullopt if there is none.
boost::asio::awaitable<boost::system::result<std::optional<reject_record>>>
async_find_reject(connection& conn, const table_names& tables, std::string_view message_id);

/// The database's clock now (clock_timestamp()), to compare with the times it records.
boost::asio::awaitable<boost::system::result<time_point>> async_database_time(connection& conn);

/// BEGIN and COMMIT of the transaction a replay batch runs in. async_commit fails unless
/// the server committed (an aborted transaction answers COMMIT with ROLLBACK).
boost::asio::awaitable<boost::system::result<void>> async_begin(connection& conn);
boost::asio::awaitable<boost::system::result<void>> async_commit(connection& conn);

/// For a replay, inside the caller's open transaction: locks (FOR UPDATE) and returns,
/// with their sealed bodies, the rejects among `message_ids` that may be sent - not
/// replayed yet, or, when `replayed_before` is set (--force), replayed before that time.
/// Rows another transaction holds are skipped (SKIP LOCKED), never waited for: two replays
/// never hold the same reject, and a row another replay marked meanwhile no longer
/// qualifies. The locks last until the transaction ends, so a replay that dies releases
/// them with its session. Order: none in particular.
boost::asio::awaitable<boost::system::result<std::vector<reject_record>>>
async_lock_for_replay(connection& conn, const table_names& tables,
                      std::span<const std::string> message_ids,
                      const std::optional<time_point>& replayed_before);

/// Records that the reject was sent to the queue again as `new_message_id`, at the
/// database's clock_timestamp(). Returns false if no reject has this message id.
boost::asio::awaitable<boost::system::result<bool>>
async_mark_replayed(connection& conn, const table_names& tables, std::string_view message_id,
                    std::string_view new_message_id);

/// Deletes the reject (e.g. after its replay committed); false if there was none.
boost::asio::awaitable<boost::system::result<bool>>
async_delete_reject(connection& conn, const table_names& tables, std::string_view message_id);

} // namespace sqs2pg::pg
