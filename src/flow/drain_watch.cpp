// The drain watcher: asks SQS for the queue's depth when the core says the queue may be
// drained (an empty receive, nothing held) or the progress line wants a total, and keeps
// the progress line on a terminal up to date.
#include <sqs2pg/ops/progress.hpp>

#include "stages.hpp"

namespace sqs2pg::flow::detail {

namespace {
/// How often the progress line is redrawn while nothing else happens.
constexpr std::chrono::milliseconds redraw{250};
} // namespace

asio::awaitable<void> run_drain_watch(shell& s, bool progress) {
    co_await asio::this_coro::throw_if_cancelled(false);
    ops::progress_display display(stderr, progress);
    for (;;) {
        const auto now = clock::now();
        display.update(now, s.core.counts().deleted, s.core.approximate_total());
        const depth_step step = s.core.next_depth_check(now);
        s.dispatch();
        if (step.kind == step_kind::finish)
            break;
        if (step.kind == step_kind::wait) {
            co_await s.wait(wake::watch,
                            progress ? std::min(step.until, now + redraw) : step.until);
            continue;
        }
        std::exception_ptr error;
        const auto r = co_await result_or(
            s.queue.async_depth(), sqs::result<sqs::queue_attributes>(call_abandoned()), error);
        s.core.depth_checked(r, r ? std::string() : s.queue.explain(r.error()), clock::now());
        s.dispatch();
        if (error)
            std::rethrow_exception(error);
    }
    display.finish(clock::now(), s.core.counts().deleted, s.core.approximate_total());
}

} // namespace sqs2pg::flow::detail
