// What the writer is given (a batch of rows and rejects, each keyed by its SQS MessageId)
// and what it answers (per message: committed, rejected, or to be written again).
#pragma once

#include <sqs2pg/record/row.hpp>

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::pg {

/// One masked row to write, with the SQS MessageId that makes it idempotent.
struct row_item {
    std::string message_id;
    record::login_row row;
    /// SQS SentTimestamp, ms since the epoch: with the MessageId, the ledger entry's key.
    /// Missing (or outside years 1970..9999) it is 0, the same on every delivery.
    std::optional<std::int64_t> sent_timestamp_ms;
};

/// One message that is not written as a row but kept in sqs2pg_rejects.
struct reject_item {
    std::string message_id;
    std::string reason;                            ///< a code, e.g. "invalid_json"; never free text
    std::int32_t receive_count = 0;                ///< SQS ApproximateReceiveCount
    std::optional<std::int64_t> sent_timestamp_ms; ///< SQS SentTimestamp, ms since the epoch
    std::string sealed_body; ///< the message body as the mask module's sealer produced it;
                             ///< stored as bytea, never opened here (empty: stored as NULL)
};

/// A batch for one atomic write: rows, ledger entries and rejects commit together
/// (unless the database refuses some rows: see item_status::refused).
struct batch {
    std::vector<row_item> rows;
    std::vector<reject_item> rejects;
};

/// The reason recorded for a row the database refused: "db_refused:" + the SQLSTATE.
std::string refused_reason(std::string_view sqlstate);

enum class item_status : std::uint8_t {
    inserted,  ///< the row and its ledger entry committed now
    duplicate, ///< the MessageId was already committed (redelivery, or twice in the batch)
    rejected,  ///< its reject record committed
    retry,     ///< nothing committed for it (or unknown after a lost connection): write again
    failed,    ///< its reject record itself was refused: do not acknowledge, do not write
               ///< again; SQS redelivers it and its redrive policy moves it to the DLQ
    refused,   ///< the database refused the row's values (class 22/23, `sqlstate` says
               ///< which): nothing was committed for it; the caller keeps it as a reject
               ///< (reason refused_reason(sqlstate)) in a later write. The batch's other
               ///< rows committed without it.
};

/// True for the statuses after which the SQS message may be deleted.
constexpr bool acknowledge(item_status s) noexcept {
    return s == item_status::inserted || s == item_status::duplicate || s == item_status::rejected;
}

struct item_outcome {
    item_status status = item_status::retry;
    std::string sqlstate; ///< the server's code for refused, failed or retry
};

/// The answer to one async_write, item for item.
struct batch_outcome {
    std::vector<item_outcome> rows;    ///< one per batch::rows, same order
    std::vector<item_outcome> rejects; ///< one per batch::rejects, same order
    /// Why some items are `retry` or `failed` (the most severe cause); clear when none are.
    /// is_fatal(error): stop sqs2pg; is_retryable(error): write the retry items again.
    boost::system::error_code error;
    std::size_t inserted = 0;
    std::size_t duplicates = 0;
    std::size_t rejected = 0; ///< reject records committed
    std::size_t refused = 0;  ///< rows the database refused
    std::size_t retry = 0;
    std::size_t failed = 0;
};

} // namespace sqs2pg::pg
