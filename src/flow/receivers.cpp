// A receiver: one long poll at a time, when the core allows it (not paused, not backing
// off, not stopping); what comes back is handed to the core.
#include "stages.hpp"

namespace sqs2pg::flow::detail {

asio::awaitable<void> run_receiver(shell& s) {
    co_await asio::this_coro::throw_if_cancelled(false);
    for (;;) {
        const receive_step step = s.core.next_receive(clock::now());
        s.dispatch();
        if (step.kind == step_kind::finish)
            break;
        if (step.kind == step_kind::wait) {
            co_await s.wait(wake::receive, step.until);
            continue;
        }
        std::exception_ptr error;
        auto r = co_await result_or(s.queue.async_receive(),
                                    sqs::result<sqs::receive_result>(call_abandoned()), error);
        const auto now = clock::now();
        if (r)
            s.core.received(std::move(*r), now, std::chrono::system_clock::now());
        else if (r.error().kind == sqs::errc::cancelled)
            s.core.receive_cancelled(now);
        else
            s.core.receive_failed(r.error(), s.queue.explain(r.error()), now);
        s.dispatch();
        if (error)
            std::rethrow_exception(error);
    }
}

} // namespace sqs2pg::flow::detail
