// End to end: PostgreSQL stopped in the middle of a drain and started again a few
// seconds later. The run must ride it out and finish (exit 0) with every row exactly
// once, and never delete a message whose row was not committed. Stops the shared
// server: this binary runs alone (is_parallel: false).
#include "harness.hpp"
#include "test_env.hpp"

#include <csignal>

namespace sqs2pg::e2e {
namespace {

// Starts PostgreSQL again whatever the test did, so the next tests find it running.
struct pg_restarter {
    bool stopped = false;
    ~pg_restarter() {
        if (!stopped)
            return;
        try {
            services_command("pg-start");
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
        }
    }
};

class pg_outage : public e2e_test {};

TEST_F(pg_outage, DrainSurvivesAPostgresOutageWithEveryRowOnceAndNoEarlyDelete) {
    constexpr int total = 600;
    const auto logins = generated_logins(total, test::unique_name("user_"), 50);
    ASSERT_EQ(logins.valid_user_ids.size(), 588u);
    const auto half = logins.bodies.size() / 2;
    // The delayed half keeps the drain going across the outage on any machine; its delay
    // ends after the outage, so the queue counts read during it are not disturbed by
    // messages becoming visible (moto computes the counts one after the other).
    sqs().send(queue_url_, {logins.bodies.begin(), logins.bodies.begin() + half});
    sqs().send(queue_url_, {logins.bodies.begin() + half, logins.bodies.end()}, 20);

    const auto port = free_port();
    // A 10 s visibility timeout: the outage plus reconnecting lasts longer than half of
    // it, so the messages held meanwhile stay invisible only if the heartbeat extends them.
    // One receiver: moto can give one message to two concurrent receives, and this test
    // counts receptions exactly.
    // One receiver: moto can give one message to two concurrent receives, and this test
    // counts receptions exactly.
    auto& p = start(
        run_args({"--drain", "--batch-size", "10", "--batch-max-delay-ms", "20", "--receivers", "1",
                  "--visibility-timeout", "10", "--listen", "127.0.0.1:" + std::to_string(port)}),
        run_env());
    ASSERT_TRUE(wait_until([&] { return rows_if_any() >= 40 || !p.running(); }, 120s, 50ms))
        << "no rows committed within 120 s\n"
        << p.stderr_tail();
    ASSERT_TRUE(p.running()) << "ended before the outage\n" << p.stderr_tail();

    pg_restarter restart;
    restart.stopped = true;
    services_command("pg-stop");

    // While the database is down readiness says so, and no message may be deleted beyond
    // those committed before the stop. Deletes are final, so the queue at the end of the
    // outage shows them all; the committed count read after the restart can only be
    // larger than at the stop.
    int ready_status = 0;
    const auto outage_end = std::chrono::steady_clock::now() + 6s;
    while (std::chrono::steady_clock::now() < outage_end) {
        if (ready_status != 503)
            ready_status = http_get(port, "/readyz").status;
        sleep_for(250ms);
    }
    const auto at_outage_end = counts();
    // Messages held through more than half their 10 s visibility timeout must have been
    // extended by the heartbeat by now (6 s of outage, plus the time to notice it).
    const auto metrics = http_get(port, "/metrics").body;
    const auto held = metric_value(metrics, "sqs2pg_in_flight_messages").value_or(-1);
    if (held > 0) {
        EXPECT_GE(metric_value(metrics, "sqs2pg_visibility_extended_total").value_or(0), held)
            << "held messages were not extended during the outage:\n"
            << metrics;
    }
    EXPECT_TRUE(p.running()) << "sqs2pg gave up while PostgreSQL was down\n" << p.stderr_tail();
    EXPECT_EQ(ready_status, 503) << "/readyz while PostgreSQL was down";

    services_command("pg-start");
    restart.stopped = false;
    const long deleted_in_outage = total - static_cast<long>(at_outage_end.total());
    const long committed_after_restart = rows() + rejects();
    EXPECT_LE(deleted_in_outage, committed_after_restart)
        << "messages were deleted from SQS while their rows could not have been committed ("
        << at_outage_end.describe() << ")";

    auto r = finish(p, 180s);
    ASSERT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();

    EXPECT_EQ(rows(), 588);
    EXPECT_EQ(distinct_users(), 588);
    EXPECT_TRUE(same_elements(logins.valid_user_ids, user_ids()));
    EXPECT_EQ(ledger(), 588);
    EXPECT_EQ(rejects(), 12);
    const auto left = counts();
    EXPECT_EQ(left.total(), 0u) << left.describe();

    EXPECT_EQ(s->at("inserted"), 588) << s->line;
    EXPECT_EQ(s->at("received"), total)
        << "a message came back from SQS during the run (the visibility heartbeat did not "
           "hold it): "
        << s->line;
    EXPECT_EQ(s->at("deleted"), total) << s->line;
    // A batch whose commit was cut off may be written again after the reconnect and then
    // counts as duplicates; rows stay exactly once (checked above).
    EXPECT_GE(s->at("rejected"), 12) << s->line;
}

// The two-phase stop, made deterministic by the outage: the first SIGTERM waits for the
// held messages to commit (which cannot happen while PostgreSQL is down), the second one
// stops at once with status 1, hands every held message back (visibility 0, although the
// receives asked for 60 s) and deletes nothing uncommitted; a rerun after the restart
// writes everything exactly once.
TEST_F(pg_outage, SecondSignalDuringAnOutageStopsAtOnceAndHandsEverythingBack) {
    constexpr int total = 300;
    const auto logins = generated_logins(total, test::unique_name("user_"), 50);
    ASSERT_EQ(logins.valid_user_ids.size(), 294u);
    sqs().send(queue_url_, logins.bodies);

    const auto port = free_port();
    // Batches close after 10 s (or 1000 rows): what is received first stays held, unwritten.
    auto& p = start(run_args({"--drain", "--receivers", "1", "--batch-size", "1000",
                              "--batch-max-delay-ms", "10000", "--visibility-timeout", "60",
                              "--listen", "127.0.0.1:" + std::to_string(port)}),
                    run_env());
    const auto metric = [&](std::string_view name) {
        return metric_value(http_get(port, "/metrics").body, name).value_or(-1);
    };
    ASSERT_TRUE(
        wait_until([&] { return metric("sqs2pg_in_flight_messages") >= 20 || !p.running(); }, 60s))
        << "nothing held within 60 s\n"
        << p.stderr_tail();
    ASSERT_TRUE(p.running()) << p.stderr_tail();

    pg_restarter restart;
    restart.stopped = true;
    services_command("pg-stop");
    // The receivers pause once the writer has seen the connection go.
    EXPECT_TRUE(wait_until(
        [&] { return metric(R"(sqs2pg_connection_state{target="pg",state="connected"})") == 0; },
        30s))
        << "the lost connection was not noticed";
    sleep_for(1s);
    const auto held = metric("sqs2pg_in_flight_messages");
    EXPECT_GT(held, 0);

    p.send_signal(SIGTERM);
    EXPECT_FALSE(p.wait_for(3s)) << "the first signal must wait for the held messages to "
                                    "commit (the grace period), not drop them\n"
                                 << p.stderr_tail();
    p.send_signal(SIGTERM);
    auto r = finish(p, 15s);
    EXPECT_TRUE(r.status.exited_with(1))
        << "the second signal cancels hard: " << r.status.describe() << "\n"
        << r.err;
    auto s = parse_summary(r.out);
    EXPECT_TRUE(s) << s.error();

    const auto after = counts();
    services_command("pg-start");
    restart.stopped = false;
    const long committed = rows() + rejects();
    EXPECT_EQ(after.not_visible, 0u)
        << "the held messages must be handed back with visibility 0: " << after.describe();
    EXPECT_EQ(after.total(), static_cast<std::uint64_t>(total - committed))
        << "exactly the committed messages are gone: " << after.describe();
    if (s) {
        EXPECT_EQ(s->at("inserted"), rows()) << s->line;
        EXPECT_GE(s->at("released"), static_cast<std::int64_t>(held)) << s->line;
    }

    auto again = run(run_args({"--drain"}), run_env());
    EXPECT_TRUE(again.status.exited_with(0)) << again.status.describe() << "\n" << again.err;
    EXPECT_EQ(rows(), 294);
    EXPECT_EQ(distinct_users(), 294);
    EXPECT_TRUE(same_elements(logins.valid_user_ids, user_ids()));
    EXPECT_EQ(rejects(), 6);
    EXPECT_EQ(counts().total(), 0u) << counts().describe();
}

} // namespace
} // namespace sqs2pg::e2e
