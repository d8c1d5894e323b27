// The batcher and writer: the core forms the batches (by size and by delay, retries with
// backoff); each batch is written by a task of its own, up to the in-flight limit.
#include <sqs2pg/ops/log.hpp>

#include "stages.hpp"

namespace sqs2pg::flow::detail {

namespace {

asio::awaitable<void> write_one(shell& s, write_call call) {
    const auto t0 = clock::now();
    const std::size_t items = call.batch.rows.size() + call.batch.rejects.size();
    const auto outcome = co_await s.sink.async_write(std::move(call.batch));
    const auto now = clock::now();
    s.metrics.batch_latency.observe(std::chrono::duration<double>(now - t0).count());
    s.metrics.batch_rows.observe(static_cast<double>(items));
    if (ops::log_enabled(ops::level::debug))
        ops::log(ops::level::debug, "pg.batch_written",
                 {{"items", items},
                  {"inserted", outcome.inserted},
                  {"duplicates", outcome.duplicates},
                  {"rejected", outcome.rejected},
                  {"refused", outcome.refused},
                  {"retry", outcome.retry},
                  {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(now - t0).count()}});
    s.core.written(call.id, outcome, now);
    s.dispatch();
}

} // namespace

asio::awaitable<void> run_writes(shell& s) {
    return call_loop(
        s, wake::write, "write", [&s](clock::time_point now) { return s.core.next_write(now); },
        [&s](write_call call) { return write_one(s, std::move(call)); });
}

} // namespace sqs2pg::flow::detail
