// The pipeline's state and every decision it makes, as plain code (sans-io): the stage
// drivers ask it what to do next, perform that (a receive, a write, a delete, ...) and
// report the result with the time. Nothing here suspends, sleeps or touches a socket,
// so every path - batching, retries, the heartbeat, dead letters, drain detection, the
// two-phase shutdown, fatal errors - can be stepped in a unit test with a clock in hand.
#pragma once

#include <sqs2pg/base/backoff.hpp>
#include <sqs2pg/flow/error.hpp>
#include <sqs2pg/flow/summary.hpp>
#include <sqs2pg/flow/tracker.hpp>
#include <sqs2pg/mask/seal.hpp>
#include <sqs2pg/ops/latency.hpp>
#include <sqs2pg/pg/batch.hpp>
#include <sqs2pg/record/error.hpp>
#include <sqs2pg/sqs/error.hpp>
#include <sqs2pg/sqs/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sqs2pg::flow {

/// Where a run is. Transitions only go down this list (stopping may be skipped).
enum class run_state : std::uint8_t {
    running,   ///< receiving, processing, writing, deleting
    stopping,  ///< phase one: no receive starts; receives under way finish, and everything
               ///< held is processed, committed and deleted. Entered on the first stop
               ///< request, when --drain finds the queue empty, or on a Postgres refusal
               ///< (then nothing more is written and what is not committed is handed back)
    hard_stop, ///< phase two: every call in flight is cancelled; what was committed is
               ///< deleted and the rest handed back (visibility 0). Entered on a second stop
               ///< request, when the grace period runs out, or on an error SQS cannot get past
    drained,   ///< final: --drain emptied the queue; exit 0
    stopped,   ///< final: stopped on request with everything received committed; exit 0
    failed,    ///< final: a fatal error, or a hard stop that handed back uncommitted work;
               ///< exit 1 (a hard stop that abandoned nothing ends as drained or stopped)
};

std::string_view state_name(run_state s) noexcept;

/// What a run counts, kept once: the metrics and the summary read these.
struct counters {
    std::uint64_t received = 0;           ///< copies received (redeliveries included)
    std::uint64_t inserted = 0;           ///< rows committed for the first time
    std::uint64_t duplicates_skipped = 0; ///< copies whose MessageId was committed before
    std::uint64_t rejected = 0;           ///< rejects kept (table or dead-letter queue)
    std::uint64_t dead_lettered = 0;      ///< of those, sent to the dead-letter queue
    std::uint64_t deleted = 0;            ///< deleted from SQS after commit
    std::uint64_t released = 0;           ///< handed back uncommitted (visibility 0)
    std::uint64_t delete_failures = 0;    ///< DeleteMessageBatch entries that failed
    std::uint64_t visibility_extended = 0;
    std::uint64_t create_date_fallbacks = 0; ///< dated by the receive time
    std::uint64_t dead_letter_refused = 0;   ///< rejects the DLQ refused for good (to the table)
    std::uint64_t integrity_failures = 0;    ///< received with a wrong MD5: never processed
    std::uint64_t receive_retries = 0;       ///< receives repeated after the client gave up
    std::uint64_t pg_retries = 0;            ///< items written again after a retryable failure
};

/// The settings of the core (a subset of pipeline_config: what decisions depend on).
struct core_config {
    bool drain = false;
    bool dead_letter_queue = false; ///< rejects go to a dead-letter queue
    bool dead_letter_fifo = false;  ///< ... which is a FIFO queue
    std::size_t batch_size = 250;
    std::chrono::milliseconds batch_max_delay{50};
    std::chrono::seconds visibility_timeout{30};
    std::uint64_t max_in_flight_bytes = 64ull << 20;
    std::size_t max_batches_in_flight = 4;
    std::size_t max_ack_calls = 8;         ///< deletes, and extensions, in flight at once
    std::size_t max_dead_letter_calls = 2; ///< SendMessageBatch calls in flight at once
    std::chrono::seconds shutdown_grace{30};
    /// How often an empty queue is confirmed with GetQueueAttributes while it may be
    /// drained, and how often the progress display asks for the queue's depth.
    std::chrono::milliseconds drain_check_interval{250};
    std::chrono::milliseconds depth_poll_interval{2000};
    bool poll_depth = false; ///< ask for the depth every depth_poll_interval (progress)
    /// With short polls (a receive wait of 0), the pause of every receiver after an empty
    /// answer: an empty queue is asked about this often, not in a tight loop. Zero: no
    /// pause (long polls wait on the server instead).
    std::chrono::milliseconds empty_poll_pause{0};
    /// Work waiting for Postgres with nothing committed for this long (whatever the
    /// cause: a frozen server, a lock, a read-only session, reconnecting) is a stall:
    /// not ready, receivers paused, a log line and the stall metric say so.
    std::chrono::seconds stall_after{15};
    base::backoff_config write_retry{std::chrono::milliseconds(100), std::chrono::seconds(5)};
    base::backoff_config sqs_retry{std::chrono::seconds(1), std::chrono::seconds(20)};
    std::uint64_t seed = 0x5eed; ///< jitter of the retries
};

/// What a stage driver should do now.
enum class step_kind : std::uint8_t {
    go,     ///< perform the call described with the step
    wait,   ///< nothing to do: wait for a wake-up of this stage, or until `until`
    finish, ///< the stage is done for this run: its driver returns
};

struct receive_step {
    step_kind kind = step_kind::wait;
    clock::time_point until = clock::time_point::max();
};

/// A batch for the Postgres writer: `batch.rows[k]` is tickets[rows[k]], and so on.
/// The rows are moved out of the held copies, not copied: the call goes back to the
/// core with written(), which returns them to the copies that are written again.
struct write_call {
    std::uint64_t id = 0;
    pg::batch batch;
};

struct write_step {
    step_kind kind = step_kind::wait;
    clock::time_point until = clock::time_point::max();
    write_call call;
};

/// An SQS batch call (DeleteMessageBatch, ChangeMessageVisibilityBatch or
/// SendMessageBatch); entry ids are "0".."9", the index in the call.
template <class Entry>
struct sqs_call {
    std::uint64_t id = 0;
    std::vector<Entry> entries;
};

template <class Entry>
struct sqs_step {
    step_kind kind = step_kind::wait;
    clock::time_point until = clock::time_point::max();
    sqs_call<Entry> call;
};

/// A step of kind `k` with nothing to perform (wait, finish).
template <class Step>
Step make_step(step_kind k, clock::time_point until = clock::time_point::max()) {
    Step s;
    s.kind = k;
    s.until = until;
    return s;
}

using delete_step = sqs_step<sqs::delete_entry>;
using extend_step = sqs_step<sqs::visibility_entry>;
using dead_letter_step = sqs_step<sqs::send_entry>;

struct depth_step {
    step_kind kind = step_kind::wait;
    clock::time_point until = clock::time_point::max();
};

/// The calls that end a run: delete what was committed, hand back (visibility 0) the rest.
struct settle_plan {
    std::vector<sqs_call<sqs::delete_entry>> deletes;
    std::vector<sqs_call<sqs::visibility_entry>> releases;
};

/// The result of parsing and masking one body (the process stage's report).
struct process_result {
    std::optional<record::login_row> row; ///< set: a row; empty: a reject
    record::reject_reason reason = record::reject_reason::not_json;
};

/// Where a reject is kept. Decided in one place, route_reject.
enum class reject_route : std::uint8_t {
    dead_letter_queue, ///< sent to the dead-letter queue, raw body and reason attributes
    table_sealed,      ///< a record in sqs2pg_rejects with the body sealed under the key
    table_reason_only, ///< a record without the body: no key to seal it with (sha256 mode)
};

/// Why a message is a reject.
enum class reject_origin : std::uint8_t {
    invalid_record,        ///< the record or mask stage refused the body
    refused_by_database,   ///< Postgres refused the row (class 22/23)
    refused_by_dead_letter ///< the dead-letter queue refused it for good
};

/// Where a reject of `origin` goes. Only an invalid record goes to the dead-letter queue:
/// a row the database refused is recorded in the table, where `sqs2pg rejects replay`
/// can send it back after the fix, and one the dead-letter queue refused can go nowhere
/// else. Without a key (`can_seal` false) the table keeps the reason only.
reject_route route_reject(reject_origin origin, bool has_dead_letter_queue, bool can_seal) noexcept;

/// Bits of core::take_wakeups(): the stages that may have something new to do.
namespace wake {
inline constexpr std::uint32_t receive = 1u << 0;
inline constexpr std::uint32_t process = 1u << 1;
inline constexpr std::uint32_t write = 1u << 2;
inline constexpr std::uint32_t remove = 1u << 3; ///< the acknowledger (deletes)
inline constexpr std::uint32_t extend = 1u << 4;
inline constexpr std::uint32_t dead_letter = 1u << 5;
inline constexpr std::uint32_t watch = 1u << 6;
inline constexpr std::uint32_t shutdown = 1u << 7;
inline constexpr std::uint32_t cancel = 1u << 8; ///< hard stop: cancel every call in flight
inline constexpr std::uint32_t all_stages = (1u << 8) - 1;
} // namespace wake

/// The pipeline core. Every method is a step: it takes an event (with the time) or asks
/// for the next action of one stage, updates the state and never blocks. After each
/// step, take_wakeups() says which stages to wake. Single-threaded.
class core {
public:
    /// `sealer` seals reject bodies for the rejects table (nullptr: no key, the reason
    /// only); it must outlive the core.
    core(core_config cfg, const mask::sealer* sealer, clock::time_point now);

    // --- receivers ---------------------------------------------------------------------

    /// go: start one ReceiveMessage (report it with received/receive_failed/
    /// receive_cancelled); wait: paused (memory bound, Postgres down, a retry pause);
    /// finish: no receive starts any more (stopping).
    receive_step next_receive(clock::time_point now);

    /// A receive came back. `wall_now` dates rows whose message has no SentTimestamp.
    void received(sqs::receive_result r, clock::time_point now,
                  std::chrono::system_clock::time_point wall_now);
    /// A receive failed after the client's own retries; `explain` is the line to show if
    /// the error is fatal (no server text).
    void receive_failed(const sqs::error& e, std::string explain, clock::time_point now);
    /// A receive was cancelled (hard stop): SQS may have handed its messages out; they
    /// come back after their visibility timeout.
    void receive_cancelled(clock::time_point now);

    // --- record + mask -------------------------------------------------------------------

    /// Copies waiting to be parsed and masked, oldest first (at most `max`); the process
    /// driver reads each body with copy() and reports it with processed().
    std::vector<ticket> take_unprocessed(std::size_t max);
    /// The held copy `t` (nullptr once it left the pipeline).
    const held_copy* copy(ticket t) const noexcept;
    /// The body of `t` was parsed and masked into `p`.
    void processed(ticket t, process_result p, clock::time_point now);
    /// True once nothing more will reach the process stage (it may return).
    bool process_finished() const noexcept;

    // --- batcher / writer ----------------------------------------------------------------

    /// go: write step.call.batch and report the outcome with written(); wait: lingering
    /// for a fuller batch, backing off, or at the in-flight limit.
    write_step next_write(clock::time_point now);
    /// The call comes back with its outcome: its rows return to the copies they came from.
    void written(write_call&& call, const pg::batch_outcome& outcome, clock::time_point now);

    // --- acknowledger, heartbeat, dead letters ----------------------------------------

    delete_step next_delete(clock::time_point now);
    void deleted(std::uint64_t call, const sqs::result<sqs::batch_result>& r, std::string explain,
                 clock::time_point now);

    extend_step next_extend(clock::time_point now);
    void extended(std::uint64_t call, const sqs::result<sqs::batch_result>& r,
                  clock::time_point now);

    dead_letter_step next_dead_letter(clock::time_point now);
    void dead_lettered(std::uint64_t call, const sqs::result<sqs::send_batch_result>& r,
                       std::string explain, clock::time_point now);

    // --- drain watcher ---------------------------------------------------------------------

    /// go: ask for the queue's depth (visible, in flight, delayed) and report it.
    depth_step next_depth_check(clock::time_point now);
    void depth_checked(const sqs::result<sqs::queue_attributes>& r, std::string explain,
                       clock::time_point now);
    /// deleted + what the queue last said it holds (for the progress display).
    std::optional<std::uint64_t> approximate_total() const noexcept { return total_; }

    // --- stopping ------------------------------------------------------------------------

    /// First call: stop receiving and finish (phase one). Later calls: hard stop.
    void request_stop(std::string_view reason, clock::time_point now);
    /// A fatal error from outside the stages (the writer gave up, a stage threw).
    void fail(errc cause, std::string detail, clock::time_point now);
    /// Postgres connected (a session up) or not: receivers pause while it is not.
    void set_pg_connected(bool connected, clock::time_point now);
    /// Time passed: ends the grace period when it is over. The shutdown driver calls it
    /// at grace_deadline().
    void tick(clock::time_point now);
    clock::time_point grace_deadline() const noexcept { return grace_end_; }

    /// Every call is finished; what to delete and hand back (call once, after every
    /// driver has returned).
    settle_plan settle();
    void settled_deletes(const sqs_call<sqs::delete_entry>& c,
                         const sqs::result<sqs::batch_result>& r);
    void settled_releases(const sqs_call<sqs::visibility_entry>& c,
                          const sqs::result<sqs::batch_result>& r);
    /// The settle calls ran out of time (`still_held` copies were not settled).
    void settle_timed_out(std::chrono::seconds limit);
    /// Ends the run: the final state, the summary (peak_rss_kb left to the caller) and
    /// the exit status.
    run_result finish(clock::time_point now);

    // --- reading ---------------------------------------------------------------------------

    run_state state() const noexcept { return state_; }
    /// The first cause that stopped the run (nullopt while running).
    std::optional<errc> cause() const noexcept { return cause_; }
    const counters& counts() const noexcept { return counts_; }
    const inflight_tracker& held() const noexcept { return held_; }
    bool pg_connected() const noexcept { return pg_connected_; }
    bool sqs_failing() const noexcept { return sqs_failing_; }
    /// Not ready while stopping, while Postgres is disconnected, while writes are stalled
    /// (see core_config::stall_after) or SQS calls fail; the reason in words.
    std::optional<std::string_view> not_ready_reason() const noexcept;
    /// How long writes have been stalled (0 when they are not).
    std::chrono::seconds write_stall(clock::time_point now) const noexcept;
    const ops::latency_recorder& latency() const noexcept { return latency_; }

    /// The stages to wake (wake:: bits) since the last call; clears them.
    std::uint32_t take_wakeups() noexcept {
        const auto w = wakeups_;
        wakeups_ = 0;
        return w;
    }

private:
    struct write_batch { // a batch being written: which ticket each outcome is for
        std::vector<ticket> rows, rejects;
        unsigned attempt = 0;
    };
    struct write_retry_batch { // items to write again, not before a time
        std::vector<ticket> items;
        unsigned attempt = 0;
        clock::time_point not_before{};
    };
    struct extend_call {
        std::vector<extension> items;
        clock::time_point sent_at;
    };

    void enter_stopping(errc cause, std::string_view reason, clock::time_point now);
    void enter_hard_stop(errc cause, std::string_view reason, clock::time_point now);
    void fail_with(errc cause, std::string detail, clock::time_point now);
    bool stopping() const noexcept { return state_ != run_state::running; }
    bool hard() const noexcept { return state_ == run_state::hard_stop; }
    /// Postgres refused a write for good: nothing more is written; what is not committed
    /// is handed back at the end.
    bool writes_pointless() const noexcept { return fatal_ == errc::pg_refused; }
    bool receiving_finished() const noexcept;
    /// Copies received and not yet in a write: waiting for record+mask, for a batch, or
    /// for a retry.
    std::size_t write_backlog() const noexcept;
    /// Copies held at most (receivers wait beyond it): twice what the writer can take at
    /// once, so memory does not grow with the queue when a later stage is slower.
    std::size_t max_held() const noexcept;
    bool dead_letters_finished() const noexcept;
    bool writes_finished() const noexcept;
    bool deletes_finished() const noexcept;
    bool locally_idle() const noexcept;
    void check_pause(clock::time_point now);
    bool write_work_waiting() const noexcept;
    /// Stall bookkeeping at each write step; the time the stall begins if it has not.
    clock::time_point watch_stall(clock::time_point now);
    void write_progress(clock::time_point now);
    void to_reject(ticket t, held_copy& c, reject_origin origin, std::string reason,
                   clock::time_point now);
    void commit(ticket t, held_copy& c, clock::time_point now);
    void drop(ticket t); ///< forget a copy that is neither deleted nor handed back
    /// A settle call's answer: the entries it lists as done leave, counted in `counter`.
    void settled(std::uint64_t call, const sqs::result<sqs::batch_result>& r,
                 std::uint64_t& counter);
    void settle_write_item(ticket t, const pg::item_outcome& o, std::vector<ticket>& again,
                           clock::time_point now);
    std::uint64_t random() noexcept;
    clock::time_point retry_at(base::backoff& b, clock::time_point now);

    core_config cfg_;
    const mask::sealer* sealer_;
    inflight_tracker held_;
    counters counts_;
    ops::latency_recorder latency_;
    std::uint64_t rng_;

    run_state state_ = run_state::running;
    std::optional<errc> cause_; ///< why the run began to stop
    std::optional<errc> fatal_; ///< the first fatal error
    std::string detail_;        ///< what to print with the fatal error
    std::string stop_reason_;   ///< the first stop's reason, for logs
    clock::time_point grace_end_ = clock::time_point::max();
    std::uint32_t wakeups_ = 0;
    std::uint64_t next_call_ = 1;

    // receivers
    std::size_t receives_in_flight_ = 0;
    bool pg_connected_ = true;
    bool sqs_failing_ = false;
    const char* pause_reason_ = nullptr;
    base::backoff receive_backoff_;
    clock::time_point receive_not_before_{};
    bool empty_receive_seen_ = false;
    clock::time_point started_;
    clock::time_point first_receive_{}, last_delete_{};

    // process
    std::deque<ticket> unprocessed_;

    // writes
    std::deque<ticket> to_write_;
    clock::time_point oldest_to_write_{};
    bool write_now_ = false; ///< a refused row's reject record waits: no lingering
    std::deque<write_retry_batch> retries_;
    std::size_t retry_items_ = 0;        ///< items in retries_
    clock::time_point write_progress_{}; ///< the last commit, or when write work appeared
    bool stalled_ = false;
    std::string last_write_error_; ///< why the last write did not commit (for the stall log)
    std::unordered_map<std::uint64_t, write_batch> writing_;

    // deletes
    std::deque<ticket> to_delete_;
    std::unordered_map<std::uint64_t, std::vector<ticket>> deleting_;
    base::backoff delete_backoff_;
    clock::time_point delete_not_before_{};

    // extensions
    std::unordered_map<std::uint64_t, extend_call> extending_;
    base::backoff extend_backoff_;
    clock::time_point extend_not_before_{};

    // dead letters
    std::deque<ticket> to_dead_letter_;
    std::deque<ticket> dead_letter_alone_; ///< entries of a refused call, one per call
    std::unordered_map<std::uint64_t, std::vector<ticket>> dead_lettering_;
    base::backoff dead_letter_backoff_;
    clock::time_point dead_letter_not_before_{};

    // drain watcher
    bool depth_check_in_flight_ = false;
    clock::time_point next_drain_check_{}, next_depth_poll_{};
    std::optional<std::uint64_t> total_;

    // settle
    std::unordered_map<std::uint64_t, std::vector<ticket>> settling_;
    std::size_t not_committed_at_settle_ = 0;
    bool had_to_settle_ = false;
};

} // namespace sqs2pg::flow
