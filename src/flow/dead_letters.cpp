// Dead letters: sends rejects to the dead-letter queue with SendMessageBatch as the core
// plans the calls; the core decides what a refusal means.
#include "stages.hpp"

namespace sqs2pg::flow::detail {

namespace {

asio::awaitable<void> send_one(shell& s, sqs_call<sqs::send_entry> call) {
    std::exception_ptr error;
    const auto r = co_await result_or(s.queue.async_send_dead_letters(std::move(call.entries)),
                                      sqs::result<sqs::send_batch_result>(call_abandoned()), error);
    s.core.dead_lettered(call.id, r, r ? std::string() : s.queue.explain(r.error()), clock::now());
    s.dispatch();
    if (error)
        std::rethrow_exception(error);
}

} // namespace

asio::awaitable<void> run_dead_letters(shell& s) {
    return call_loop(
        s, wake::dead_letter, "dead-letter",
        [&s](clock::time_point now) { return s.core.next_dead_letter(now); },
        [&s](sqs_call<sqs::send_entry> call) { return send_one(s, std::move(call)); });
}

} // namespace sqs2pg::flow::detail
