// The drivers around the core, on a real io_context with in-memory ports: a drain writes
// every message exactly once; a hard stop during a write that never answers hands
// everything back and is reported as the stop it is; Postgres being down stops the
// receives; a stage that throws stops the run as an internal error.
#include <sqs2pg/flow/pipeline.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/ops/log.hpp>

#include "core_stepper.hpp"
#include "fake_ports.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <functional>

namespace sqs2pg::flow {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

std::string login(int i, bool valid = true) {
    return std::string("{") + (valid ? "\"user_id\":\"u" + std::to_string(i) + "\"," : "") +
           "\"device_type\":\"ios\",\"ip\":\"10.0.0." + std::to_string(i % 250) +
           "\",\"device_id\":\"d-" + std::to_string(i) +
           "\",\"locale\":\"RU\",\"app_version\":\"2.3.0\"}";
}

struct harness {
    asio::io_context ioc{1};
    testing::fake_queue queue{ioc.get_executor()};
    testing::fake_sink sink{ioc.get_executor()};
    mask::keyring keys = testing::test_keys();
    mask::masker masker = mask::make_masker(mask::mode::hmac_sha256, &keys).value();
    mask::sealer sealer{keys};
    ops::registry registry;
    pipeline_config cfg;
    std::optional<pipeline> p;
    std::optional<run_result> result;

    harness() {
        ops::configure_logging(ops::level::error, ops::log_format::json);
        cfg.queue_url = "fake";
        cfg.drain = true;
        cfg.receivers = 3;
        cfg.batch_size = 50;
        cfg.batch_max_delay = 5ms;
        cfg.shutdown_grace = 5s;
        cfg.settle_timeout = 2s;
    }

    /// Runs the pipeline; `during` runs on the loop after `after`. Gives up after `limit`;
    /// false when the run did not end by then.
    [[nodiscard]] bool run(std::chrono::milliseconds limit = 20s,
                           std::function<void()> during = nullptr,
                           std::chrono::milliseconds after = 0ms) {
        p.emplace(ioc.get_executor(), cfg, pipeline_parts{queue, sink, masker, &sealer, registry});
        asio::co_spawn(ioc, p->async_run(), [&](std::exception_ptr e, run_result r) {
            if (!e)
                result = std::move(r);
        });
        asio::steady_timer t(ioc, after);
        if (during)
            t.async_wait([&](boost::system::error_code) { during(); });
        ioc.run_for(limit);
        return result.has_value();
    }
};

TEST(Pipeline, DrainsEveryMessageExactlyOnce) {
    harness h;
    for (int i = 0; i < 1000; ++i)
        h.queue.send("m" + std::to_string(i), login(i, i % 100 != 7));
    ASSERT_TRUE(h.run()) << "the run did not end";
    EXPECT_EQ(h.result->exit_code, 0) << h.result->error;
    EXPECT_EQ(h.result->cause, std::optional<errc>(errc::drained));
    EXPECT_EQ(h.queue.size(), 0u);
    EXPECT_EQ(h.sink.rows.size(), 990u);
    for (const auto& [user, n] : h.sink.rows)
        EXPECT_EQ(n, 1) << user;
    EXPECT_EQ(h.sink.rejects.size(), 10u);
    EXPECT_EQ(h.sink.rejects.begin()->second, "missing_field");
    EXPECT_TRUE(h.queue.retries_stopped); // once stopping, no receive is retried
    const auto& s = h.result->summary;
    EXPECT_EQ(s.inserted, 990u);
    EXPECT_EQ(s.rejected, 10u);
    EXPECT_EQ(s.deleted, 1000u);
    EXPECT_EQ(s.received, 1000u);
    EXPECT_EQ(s.released, 0u);
    EXPECT_TRUE(s.p50_ms.has_value());
    // The metrics read the same counts.
    EXPECT_NE(h.registry.render().find("sqs2pg_inserted_total 990"), std::string::npos);
}

TEST(Pipeline, RejectsGoToTheDeadLetterQueueWhenOneIsSet) {
    harness h;
    h.cfg.dead_letter_queue_url = "fake-dlq";
    for (int i = 0; i < 30; ++i)
        h.queue.send("m" + std::to_string(i), login(i, i >= 3));
    ASSERT_TRUE(h.run()) << "the run did not end";
    EXPECT_EQ(h.result->exit_code, 0) << h.result->error;
    EXPECT_EQ(h.queue.dead_letters.size(), 3u);
    EXPECT_TRUE(h.sink.rejects.empty());
    EXPECT_EQ(h.result->summary.dead_lettered, 3u);
    EXPECT_EQ(h.queue.size(), 0u);
}

TEST(Pipeline, AHardStopDuringAWriteThatNeverAnswersHandsEverythingBack) {
    harness h;
    h.cfg.drain = false;
    h.sink.frozen = true;
    for (int i = 0; i < 40; ++i)
        h.queue.send("m" + std::to_string(i), login(i));
    ASSERT_TRUE(h.run(
        20s,
        [&] {
            h.p->request_stop("SIGTERM");
            h.p->request_stop("SIGINT");
        },
        300ms))
        << "the run did not end";
    EXPECT_EQ(h.result->exit_code, 1);
    // The stop it is, not an internal error of a cancelled task.
    EXPECT_EQ(h.result->error, "stopped before all work was committed: SIGTERM");
    EXPECT_EQ(h.result->cause, std::optional<errc>(errc::stop_requested));
    EXPECT_EQ(h.result->summary.deleted, 0u);
    EXPECT_EQ(h.result->summary.released, 40u);
    EXPECT_EQ(h.queue.size(), 40u);
    EXPECT_EQ(h.queue.visible(), 40u); // handed back at once, not after the timeout
    EXPECT_TRUE(h.sink.ledger.empty());
}

TEST(Pipeline, TheGracePeriodEndsAStopThatCannotFinish) {
    harness h;
    h.cfg.drain = false;
    h.cfg.shutdown_grace = 1s;
    h.sink.frozen = true;
    for (int i = 0; i < 5; ++i)
        h.queue.send("m" + std::to_string(i), login(i));
    ASSERT_TRUE(h.run(
        20s, [&] { h.p->request_stop("SIGTERM"); }, 200ms))
        << "the run did not end";
    EXPECT_EQ(h.result->exit_code, 1);
    EXPECT_EQ(h.result->summary.released, 5u);
    EXPECT_EQ(h.queue.visible(), 5u);
}

TEST(Pipeline, PostgresDownStopsTheReceivesUntilItIsBack) {
    harness h;
    for (int i = 0; i < 100; ++i)
        h.queue.send("m" + std::to_string(i), login(i));
    h.sink.set_connected(false);
    std::size_t receives_while_down = 0;
    std::string readiness;
    ASSERT_TRUE(h.run(
        20s,
        [&] {
            receives_while_down = h.queue.receive_calls;
            readiness = h.p->readiness().reason;
            h.sink.set_connected(true);
        },
        300ms))
        << "the run did not end";
    EXPECT_EQ(receives_while_down, 0u);
    EXPECT_EQ(readiness, "postgres disconnected");
    EXPECT_EQ(h.result->exit_code, 0) << h.result->error;
    EXPECT_EQ(h.sink.rows.size(), 100u);
}

TEST(Pipeline, AStageThatThrowsStopsTheRunAsAnInternalError) {
    harness h;
    h.sink.throws = true;
    for (int i = 0; i < 10; ++i)
        h.queue.send("m" + std::to_string(i), login(i));
    ASSERT_TRUE(h.run()) << "the run did not end";
    EXPECT_EQ(h.result->exit_code, 1);
    EXPECT_EQ(h.result->cause, std::optional<errc>(errc::internal_error));
    EXPECT_NE(h.result->error.find("internal error in the write task"), std::string::npos)
        << h.result->error;
    EXPECT_EQ(h.result->summary.deleted, 0u);
    EXPECT_EQ(h.queue.visible(), 10u); // everything handed back
}

} // namespace
} // namespace sqs2pg::flow
