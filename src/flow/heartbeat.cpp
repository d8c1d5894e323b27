// The visibility heartbeat: extends held messages past half their visibility window with
// ChangeMessageVisibilityBatch, at the times the core's schedule says they are due.
#include "stages.hpp"

namespace sqs2pg::flow::detail {

namespace {

asio::awaitable<void> extend_one(shell& s, sqs_call<sqs::visibility_entry> call) {
    std::exception_ptr error;
    const auto r = co_await result_or(s.queue.async_change_visibility(std::move(call.entries)),
                                      sqs::result<sqs::batch_result>(call_abandoned()), error);
    s.core.extended(call.id, r, clock::now());
    s.dispatch();
    if (error)
        std::rethrow_exception(error);
}

} // namespace

asio::awaitable<void> run_heartbeat(shell& s) {
    return call_loop(
        s, wake::extend, "extend", [&s](clock::time_point now) { return s.core.next_extend(now); },
        [&s](sqs_call<sqs::visibility_entry> call) { return extend_one(s, std::move(call)); });
}

} // namespace sqs2pg::flow::detail
