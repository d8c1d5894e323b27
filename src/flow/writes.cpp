// The batcher and writer: the core forms the batches (by size and by delay, retries with
// backoff); each batch is written by a task of its own, up to the in-flight limit.
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/pg/error.hpp>

#include "stages.hpp"

namespace sqs2pg::flow::detail {

namespace {

asio::awaitable<void> write_one(shell& s, write_call call) {
    const auto t0 = clock::now();
    const std::size_t items = call.batch.rows.size() + call.batch.rejects.size();
    pg::batch_outcome failed; // nothing known to be committed: every item to retry
    failed.rows.assign(call.batch.rows.size(), {pg::item_status::retry, ""});
    failed.rejects.assign(call.batch.rejects.size(), {pg::item_status::retry, ""});
    failed.error = pg::errc::stopped;
    std::exception_ptr error;
    const auto outcome =
        co_await result_or(s.sink.async_write(call.batch), std::move(failed), error);
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
    s.core.written(std::move(call), outcome, now); // the batch's rows go back
    s.dispatch();
    if (error)
        std::rethrow_exception(error);
}

} // namespace

asio::awaitable<void> run_writes(shell& s) {
    return call_loop(
        s, wake::write, "write", [&s](clock::time_point now) { return s.core.next_write(now); },
        [&s](write_call call) { return write_one(s, std::move(call)); });
}

} // namespace sqs2pg::flow::detail
