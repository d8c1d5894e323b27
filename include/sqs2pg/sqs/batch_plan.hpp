// Planning SendMessageBatch calls (sans-io): how many bytes an entry counts against the
// request's payload limit, how a list of entries splits into calls, what a FIFO queue
// needs on each entry, and whether a failed entry was refused by SQS for good. Used by
// the dead-letter path of the pipeline and by `sqs2pg rejects replay`.
#pragma once

#include <sqs2pg/sqs/error.hpp>
#include <sqs2pg/sqs/types.hpp>

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace sqs2pg::sqs {

/// The total payload of one SendMessageBatch the planner stays under: SQS counts every
/// entry's body and message attributes (names, types, values) against it. 256 KiB is
/// what SQS allowed until 2025 and what emulators still enforce; AWS now accepts 1 MiB,
/// so this is safe everywhere. An entry larger than this goes in a call of its own.
inline constexpr std::size_t max_send_batch_payload = std::size_t{256} * 1024;

/// Bytes `e` counts against the payload limit: body plus each attribute's name, data
/// type and value (the way SQS sizes a message).
std::size_t payload_bytes(const send_entry& e) noexcept;

/// Splits entries of these payload sizes, in order, into SendMessageBatch calls: at most
/// 10 entries and `max_payload` bytes each, except that an entry larger than
/// `max_payload` goes alone. Returns the number of entries of each call (empty for none).
std::vector<std::size_t> plan_send_batches(std::span<const std::size_t> payloads,
                                           std::size_t max_payload = max_send_batch_payload);

/// True for a FIFO queue's URL (its name ends in ".fifo").
bool is_fifo_queue(std::string_view queue_url) noexcept;

/// What a FIFO queue requires on each entry: a MessageGroupId (here `key`, so entries
/// do not block each other) and a MessageDeduplicationId (`key` too, so SQS drops a
/// repeat of the same entry within its 5-minute deduplication window).
void set_fifo_ids(send_entry& e, std::string_view key);

/// The kind of a failed batch entry. SQS's own refusals are classified by their code
/// (sender faults as client errors); failures this client made up because the answer
/// could not prove the entry was done (a missing result entry, an MD5 mismatch) are
/// `bad_response`: the outcome is unknown, never a refusal.
errc classify(const batch_failure& f) noexcept;

} // namespace sqs2pg::sqs
