// The end of a run: wait until the core stops the run and every task has ended (ending
// the grace period on time), then settle - delete what was committed, hand back the rest
// (visibility 0) - within a deadline, and take the result.
#include "stages.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sqs2pg::flow::detail {

namespace {

asio::awaitable<void> settle_calls(shell& s, const settle_plan& plan) {
    for (const auto& call : plan.deletes) {
        auto entries = call.entries;
        const auto r = co_await s.queue.async_delete(std::move(entries));
        s.core.settled_deletes(call, r);
    }
    for (const auto& call : plan.releases) {
        auto entries = call.entries;
        const auto r = co_await s.queue.async_change_visibility(std::move(entries));
        s.core.settled_releases(call, r);
    }
}

} // namespace

asio::awaitable<run_result> run_shutdown(shell& s, std::chrono::seconds settle_timeout) {
    while (s.core.state() == run_state::running)
        co_await s.wait(wake::shutdown);
    while (s.tasks_running() > 0) {
        s.core.tick(clock::now()); // the grace period may be over
        s.dispatch();
        const auto until = s.core.state() == run_state::hard_stop ? clock::time_point::max()
                                                                  : s.core.grace_deadline();
        co_await s.wait(wake::shutdown, until);
    }
    const settle_plan plan = s.core.settle();
    if (!plan.deletes.empty() || !plan.releases.empty()) {
        // With SQS unreachable the process still ends; what could not be handed back
        // returns after its visibility timeout (the ledger makes the redelivery harmless).
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer limit(s.ex, settle_timeout);
        const auto r = co_await (settle_calls(s, plan) ||
                                 limit.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (r.index() == 1)
            s.core.settle_timed_out(settle_timeout);
    }
    run_result result = s.core.finish(clock::now());
    result.summary.peak_rss_kb = peak_rss_kb();
    co_return result;
}

} // namespace sqs2pg::flow::detail
