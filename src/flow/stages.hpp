// What the stage drivers share (private to flow): the core, the two ports, a wake-up per
// stage, and the task list a hard stop cancels. Each driver is a coroutine in a file of
// its own that asks the core for its next step, performs it and reports the result.
#pragma once

#include <sqs2pg/flow/core.hpp>
#include <sqs2pg/flow/event.hpp>
#include <sqs2pg/flow/metrics.hpp>
#include <sqs2pg/flow/ports.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/record/login.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/this_coro.hpp>

#include <array>
#include <chrono>
#include <list>
#include <string>

namespace sqs2pg::flow::detail {

namespace asio = boost::asio;

/// The stage drivers' shared state. Single-threaded; outlives every task it spawned.
class shell {
public:
    shell(asio::any_io_executor ex, flow::core& c, flow::queue& q, flow::sink& s,
          const mask::masker& masker, const record::field_map& fields, pipeline_metrics& metrics);

    asio::any_io_executor ex;
    flow::core& core;
    flow::queue& queue;
    flow::sink& sink;
    const mask::masker& masker;
    const record::field_map& fields;
    pipeline_metrics& metrics;

    /// Wakes the stages the core asked for; on a hard stop cancels every task.
    void dispatch();

    /// Runs `task` as a tracked task: a hard stop cancels it, its end wakes the shutdown
    /// driver, and an exception in it stops the run as an internal error.
    void spawn(const char* name, asio::awaitable<void> task);

    /// Until a wake-up of `stage` (a wake:: bit) or the time `until`.
    asio::awaitable<void> wait(std::uint32_t stage,
                               clock::time_point until = clock::time_point::max());

    std::size_t tasks_running() const noexcept { return tasks_running_; }

private:
    std::array<event, 8> events_;
    std::list<asio::cancellation_signal> signals_;
    std::size_t tasks_running_ = 0;
    bool retries_stopped_ = false;
};

/// `op`'s result; if it throws, `failed`, with the exception kept in `error` so the caller
/// reports to the core first and rethrows after (the core must hear about every call it
/// handed out, or it would wait for it for ever).
template <class T>
asio::awaitable<T> result_or(asio::awaitable<T> op, T failed, std::exception_ptr& error) {
    try {
        co_return co_await std::move(op);
    } catch (...) {
        error = std::current_exception();
    }
    co_return failed;
}

/// The error an SQS call that threw is reported with: like a cancelled call.
sqs::error call_abandoned();

/// The loop of a stage whose calls run side by side (writes, deletes, extensions, dead
/// letters): ask the core, start the call it names as a task, wait when there is none.
template <class Next, class Perform>
asio::awaitable<void> call_loop(shell& s, std::uint32_t stage, const char* name, Next next,
                                Perform perform) {
    // The hard stop cancels this loop's waits; the core then says what is left to do.
    co_await asio::this_coro::throw_if_cancelled(false);
    for (;;) {
        auto step = next(clock::now());
        s.dispatch();
        if (step.kind == step_kind::finish)
            break;
        if (step.kind == step_kind::wait) {
            co_await s.wait(stage, step.until);
            continue;
        }
        s.spawn(name, perform(std::move(step.call)));
    }
}

// The drivers, one file each.
asio::awaitable<void> run_receiver(shell& s);
asio::awaitable<void> run_process(shell& s);
asio::awaitable<void> run_writes(shell& s);
asio::awaitable<void> run_acknowledger(shell& s);
asio::awaitable<void> run_heartbeat(shell& s);
asio::awaitable<void> run_dead_letters(shell& s);
asio::awaitable<void> run_drain_watch(shell& s, bool progress);
/// Waits for the run to stop and every task to end (ending the grace period when it is
/// over), then deletes what was committed and hands back the rest within
/// `settle_timeout`, and returns the result.
asio::awaitable<run_result> run_shutdown(shell& s, std::chrono::seconds settle_timeout);

/// The record + mask stage's work on one body (pure): the row, or the reject's reason
/// with the offending field's key in `field`.
process_result process_body(std::string_view body, std::chrono::sys_days create_date,
                            const mask::masker& masker, const record::field_map& fields,
                            std::string& field);

} // namespace sqs2pg::flow::detail
