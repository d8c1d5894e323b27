// What the pipeline holds: every received copy of a message from receipt until it is
// deleted or handed back. It bounds memory by bytes and schedules visibility extensions.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace sqs2pg::flow {

using clock = std::chrono::steady_clock;

/// One received copy of a message. SQS may deliver a message twice while the first copy
/// is still held (standard queues are at-least-once), so copies are keyed by a ticket,
/// not by MessageId.
using ticket = std::uint64_t;

/// SQS ends a message's invisibility at most 12 hours after it was received.
inline constexpr std::chrono::seconds max_visibility{43'200};

struct held_message {
    std::string message_id;
    std::string receipt_handle;
    std::size_t bytes = 0;
    clock::time_point received_at;
    clock::time_point visible_at; ///< when SQS makes it visible again unless extended
    bool done = false;            ///< committed (row or reject): only the delete is left
    bool extending = false;       ///< a ChangeMessageVisibility for it is under way
    bool lease_lost = false;      ///< SQS refused the receipt handle: never extend again
};

/// A visibility extension to send: ChangeMessageVisibility(receipt_handle, seconds).
struct extension {
    ticket id;
    std::string receipt_handle;
    std::chrono::seconds visibility;
};

/// Bookkeeping of held messages. Pure: time is passed in. Single-threaded.
class inflight_tracker {
public:
    /// `visibility` is the timeout the messages were received with (the queue's or ours).
    explicit inflight_tracker(std::chrono::seconds visibility);

    /// Registers a received copy; returns its ticket.
    ticket add(std::string message_id, std::string receipt_handle, std::size_t bytes,
               clock::time_point now);

    /// The copy is committed (its row or its reject record): it only waits for its delete.
    /// Returns the time from receipt to now, for the latency figures.
    clock::duration mark_done(ticket t, clock::time_point now);

    /// The copy was deleted or handed back: forget it and release its bytes.
    void remove(ticket t);

    const held_message* find(ticket t) const;

    std::size_t bytes() const { return bytes_; }
    std::size_t size() const { return held_.size(); }
    bool empty() const { return held_.empty(); }

    /// Copies more than half way through their visibility window, not already being
    /// extended: extend each to `visibility` from now, capped at 12 h after receipt.
    /// Copies at the cap cannot be extended any more and are left out. Marks the
    /// returned ones as extending until extended() or extension_failed().
    std::vector<extension> due_extensions(clock::time_point now);

    /// SQS accepted the extension sent at `sent_at`.
    void extended(ticket t, clock::time_point sent_at, std::chrono::seconds visibility);

    /// The extension failed; the copy becomes due again at the next check.
    void extension_failed(ticket t);

    /// SQS no longer knows this receipt (it expired and the message may be delivered
    /// again): stop extending it; it stays held until committed or handed back.
    void lease_lost(ticket t);

    /// The earliest time at which some copy becomes due for an extension (or max()).
    clock::time_point next_extension_due() const;

    /// Every copy not yet done, to hand back (visibility 0) on shutdown.
    std::vector<std::pair<ticket, std::string>> unfinished() const;

    /// Every copy committed but not yet deleted.
    std::vector<ticket> done_tickets() const;

private:
    clock::time_point due_at(const held_message& m) const;

    std::chrono::seconds visibility_;
    std::unordered_map<ticket, held_message> held_;
    ticket next_ = 1;
    std::size_t bytes_ = 0;
};

} // namespace sqs2pg::flow
