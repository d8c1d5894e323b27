// End to end: PostgreSQL stopped in the middle of a drain and started again a few
// seconds later. The run must ride it out and finish (exit 0) with every row exactly
// once, and never delete a message whose row was not committed. Stops the shared
// server: this binary runs alone (is_parallel: false).
#include "harness.hpp"
#include "test_env.hpp"

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
    // The delayed half keeps the drain going across the outage on any machine.
    sqs().send(queue_url_, {logins.bodies.begin(), logins.bodies.begin() + half});
    sqs().send(queue_url_, {logins.bodies.begin() + half, logins.bodies.end()}, 6);

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
    // outage shows them all (one reading then: moto's counts taken while the delayed
    // messages become visible can miss a few). The committed count read after the
    // restart can only be larger than at the stop.
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

} // namespace
} // namespace sqs2pg::e2e
