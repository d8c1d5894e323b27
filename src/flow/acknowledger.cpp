// The acknowledger: deletes committed messages with DeleteMessageBatch, up to the core's
// limit of calls at once; the core decides what a failed entry means.
#include <sqs2pg/ops/log.hpp>

#include "stages.hpp"

namespace sqs2pg::flow::detail {

namespace {

asio::awaitable<void> delete_one(shell& s, sqs_call<sqs::delete_entry> call) {
    std::exception_ptr error;
    const auto r = co_await result_or(s.queue.async_delete(std::move(call.entries)),
                                      sqs::result<sqs::batch_result>(call_abandoned()), error);
    if (r && ops::log_enabled(ops::level::debug))
        ops::log(ops::level::debug, "sqs.deleted",
                 {{"deleted", r->successful.size()}, {"failed", r->failed.size()}});
    s.core.deleted(call.id, r, r ? std::string() : s.queue.explain(r.error()), clock::now());
    s.dispatch();
    if (error)
        std::rethrow_exception(error);
}

} // namespace

asio::awaitable<void> run_acknowledger(shell& s) {
    return call_loop(
        s, wake::remove, "delete", [&s](clock::time_point now) { return s.core.next_delete(now); },
        [&s](sqs_call<sqs::delete_entry> call) { return delete_one(s, std::move(call)); });
}

} // namespace sqs2pg::flow::detail
