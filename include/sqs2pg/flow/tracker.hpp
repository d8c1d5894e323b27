// What the pipeline holds: every received copy of a message from receipt until it is
// deleted or handed back - its data while a stage still needs it, where it is in the
// pipeline, the bytes it counts against the memory bound, and when its visibility must
// be extended. Pure: time is passed in. Single-threaded.
#pragma once

#include <sqs2pg/record/row.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sqs2pg::flow {

using clock = std::chrono::steady_clock;

/// One received copy. SQS may deliver a message twice while the first copy is still
/// held (standard queues are at-least-once), so copies are named by a ticket, not by
/// MessageId. A ticket is never reused within a run.
using ticket = std::uint64_t;

/// SQS ends a message's invisibility at most 12 hours after it was received.
inline constexpr std::chrono::seconds max_visibility{43'200};

/// Where a held copy is. Every copy is in exactly one state until it leaves the table.
enum class copy_state : std::uint8_t {
    unprocessed,    ///< received; not parsed and masked yet
    queued,         ///< a row or a reject record waiting for the next batch
    writing,        ///< in a batch being written to Postgres
    dead_letter,    ///< a reject waiting for a SendMessageBatch to the dead-letter queue
    dead_lettering, ///< in a SendMessageBatch
    committed,      ///< its row, reject record or dead letter is safe: only the delete is left
    deleting,       ///< in a DeleteMessageBatch
};

/// A held copy and what the stages still need of it.
struct held_copy {
    /// Lent to the Postgres batch with `row` while its row is being written (empty then);
    /// core::written() gives both back.
    std::string message_id;
    std::string receipt_handle;
    /// The raw body: until it is masked, and after that only while a reject may still
    /// need it (a row the database may refuse, a dead letter); wiped when released.
    std::string body;
    std::optional<record::login_row> row; ///< set: a row to write
    std::string reason;                   ///< a reject's code (row empty)
    std::string sealed;                   ///< a reject's sealed body for the rejects table
    std::chrono::sys_days create_date{};
    std::int32_t receive_count = 1;
    std::optional<std::int64_t> sent_ms;
    std::size_t bytes = 0; ///< the body's size at receipt: what counts against the bound
    clock::time_point received_at;
    clock::time_point visible_at; ///< when SQS makes it visible again unless extended
    copy_state state = copy_state::unprocessed;
    std::uint8_t delete_attempts = 0;
    bool extending = false;  ///< a ChangeMessageVisibility for it is under way
    bool lease_lost = false; ///< SQS refused the receipt handle: never extend again
};

/// A visibility extension to send: ChangeMessageVisibility(receipt_handle, visibility).
struct extension {
    ticket id;
    std::chrono::seconds visibility;
};

/// The held copies. Lookups are O(1) (a slot table); the heartbeat keeps copies in the
/// order they become due, so finding due extensions never scans the copies that are not.
class inflight_tracker {
public:
    /// `visibility` is the timeout the messages were received with (the queue's or ours).
    explicit inflight_tracker(std::chrono::seconds visibility);

    /// Registers a received copy (its bytes, received_at and visible_at are set here);
    /// returns its ticket.
    ticket add(held_copy copy, std::size_t bytes, clock::time_point now);

    /// The copy, or nullptr when it was removed (or never existed).
    held_copy* find(ticket t) noexcept;
    const held_copy* find(ticket t) const noexcept;

    /// The copy was deleted or handed back: forget it, release its bytes, wipe its body.
    void remove(ticket t);

    std::size_t bytes() const noexcept { return bytes_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    /// Up to `max` copies more than half way through their visibility window, not already
    /// being extended: extend each to `visibility` from now, capped at 12 h after receipt.
    /// Copies at the cap cannot be extended any more and are dropped from the schedule.
    /// The returned ones count as extending until extended() or extension_failed().
    std::vector<extension> due_extensions(clock::time_point now, std::size_t max);

    /// SQS accepted the extension sent at `sent_at`.
    void extended(ticket t, clock::time_point sent_at, std::chrono::seconds visibility);

    /// The extension failed; the copy is due again at once.
    void extension_failed(ticket t);

    /// SQS no longer knows this receipt (it expired and the message may be delivered
    /// again): stop extending it; it stays held until committed or handed back.
    void lease_lost(ticket t);

    /// The earliest time some copy becomes due for an extension (max() when none will).
    clock::time_point next_extension_due() const noexcept;

    /// Every held ticket, in no particular order.
    std::vector<ticket> tickets() const;

private:
    static constexpr std::uint32_t none = 0xffff'ffffu;
    struct slot {
        held_copy copy;
        std::uint32_t generation = 0;
        bool used = false;
        bool scheduled = false; // linked into the heartbeat order
        std::uint32_t prev = none, next = none;
    };

    slot* slot_of(ticket t) noexcept;
    const slot* slot_of(ticket t) const noexcept;
    clock::time_point due_at(const held_copy& c) const noexcept;
    void unlink(std::uint32_t i) noexcept;
    void link_front(std::uint32_t i) noexcept;
    void link_sorted_from_back(std::uint32_t i) noexcept;

    /// Slots in fixed chunks: the table grows a chunk at a time and never moves a slot,
    /// so growing neither copies every held copy nor holds the old and the new array at
    /// once (a vector's doubling did both: 1.8 MB of a 4.6 MB peak heap at 2,000 held).
    class slot_table {
    public:
        static constexpr std::uint32_t chunk = 128;
        std::uint32_t size() const noexcept { return size_; }
        slot& operator[](std::uint32_t i) noexcept { return chunks_[i / chunk][i % chunk]; }
        const slot& operator[](std::uint32_t i) const noexcept {
            return chunks_[i / chunk][i % chunk];
        }
        std::uint32_t emplace_back() {
            if (size_ % chunk == 0)
                chunks_.push_back(std::make_unique<slot[]>(chunk));
            return size_++;
        }

    private:
        std::vector<std::unique_ptr<slot[]>> chunks_;
        std::uint32_t size_ = 0;
    };

    std::chrono::seconds visibility_;
    slot_table slots_;
    std::vector<std::uint32_t> free_;
    std::uint32_t head_ = none, tail_ = none; // heartbeat order: earliest due first
    std::size_t size_ = 0;
    std::size_t bytes_ = 0;
};

} // namespace sqs2pg::flow
