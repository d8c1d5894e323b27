// End to end: failures no retry can fix. A database that refuses every write (here a
// trigger that raises; in production a revoked permission or a dropped table) must stop
// the run with status 1 and hand every message back, instead of holding them for ever;
// a dead-letter queue that refuses a reject for good (too large for it, a FIFO queue)
// must not block the drain: the reject is kept, sealed, in the rejects table.
#include "harness.hpp"
#include "test_env.hpp"
#include <sys/resource.h>

#include <fmt/core.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sqs2pg::e2e {
namespace {

class failures : public e2e_test {};

TEST_F(failures, ADatabaseErrorNoRetryCanFixStopsTheRunAndHandsEverythingBack) {
    const auto logins = generated_logins(30, test::unique_name("user_"), 10);
    sqs().send(queue_url_, logins.bodies);
    // The target table exists (the take-home DDL) with a trigger that refuses every row
    // with SQLSTATE P0001 (raise_exception): a server error, not a refused value.
    db().exec("CREATE TABLE " + table() +
              " (user_id varchar(128), device_type varchar(32), masked_ip varchar(256),"
              " masked_device_id varchar(256), locale varchar(32), app_version integer,"
              " create_date date)");
    db().exec(fmt::format("CREATE FUNCTION {0}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
                          "BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
                          schema_));
    db().exec(fmt::format("CREATE TRIGGER refuse BEFORE INSERT ON {0} FOR EACH ROW "
                          "EXECUTE FUNCTION {1}.refuse()",
                          table(), schema_));

    auto r = run(run_args({"--drain", "--receivers", "1", "--visibility-timeout", "60"}), run_env(),
                 120s);
    ASSERT_FALSE(r.timed_out) << "sqs2pg kept retrying a write that can never succeed";
    EXPECT_TRUE(r.status.exited_with(1)) << r.status.describe() << "\n" << r.err;
    EXPECT_NE(r.err.find("P0001"), std::string::npos) << "the SQLSTATE is not named:\n" << r.err;
    EXPECT_EQ(r.err.find("refused by the test"), std::string::npos)
        << "server text (which can quote row values) reached the log";
    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(s->at("inserted"), 0) << s->line;
    EXPECT_EQ(s->at("deleted"), 0) << s->line;

    EXPECT_EQ(rows(), 0);
    EXPECT_EQ(rejects(), 0);
    // Nothing was deleted, and what was held is visible again at once (visibility 0),
    // long before the 60 s visibility timeout would have brought it back.
    const auto c = counts();
    EXPECT_EQ(c.total(), 30u) << c.describe();
    EXPECT_EQ(c.visible, 30u) << "held messages were not handed back: " << c.describe();
}

TEST_F(failures, ARejectTheDeadLetterQueueRefusesForGoodIsKeptInTheRejectsTable) {
    // The dead-letter queue takes at most 1 KiB: the one malformed body (2 KiB, no ip and
    // no device_id) can never go there, while the valid bodies are small.
    const auto dlq = extra_queue("e2e_small_dlq_",
                                 {{"VisibilityTimeout", "30"}, {"MaximumMessageSize", "1024"}});
    const auto logins = generated_logins(20, test::unique_name("user_"), 0);
    auto bodies = logins.bodies;
    bodies.push_back(R"({"user_id": "too-large", "device_type": "android", "app_version": "1.0",)"
                     R"( "padding": ")" +
                     std::string(2048, 'p') + R"("})");
    sqs().send(queue_url_, bodies);

    auto r = run(run_args({"--drain", "--receivers", "1", "--dead-letter-queue-url", dlq}),
                 run_env(), 120s);
    ASSERT_FALSE(r.timed_out) << "the drain never finished: the refused reject blocked it";
    ASSERT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(s->at("inserted"), 20) << s->line;
    EXPECT_EQ(s->at("rejected"), 1) << s->line;
    EXPECT_EQ(s->at("dead_lettered"), 0) << s->line;
    EXPECT_EQ(s->at("deleted"), 21) << s->line;
    EXPECT_NE(r.err.find("sqs.dead_letter_refused"), std::string::npos) << r.err;

    EXPECT_EQ(rows(), 20);
    const auto kept =
        db().rows("SELECT reason, sealed_body IS NOT NULL FROM " + schema_ + ".sqs2pg_rejects");
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept[0][0], "missing_field");
    EXPECT_EQ(kept[0][1], "t") << "the body must be kept, sealed";
    EXPECT_EQ(counts().total(), 0u) << counts().describe();
    EXPECT_EQ(sqs().counts(dlq).total(), 0u);
}

TEST_F(failures, ARefusedDeadLetterCallStillDeadLettersTheEntriesTheQueueTakes) {
    // Two rejects received together, one too large for the 1 KiB dead-letter queue: the
    // refused call is split, the small one still goes to the queue, only the large one to
    // the rejects table.
    const auto dlq = extra_queue("e2e_small_dlq_",
                                 {{"VisibilityTimeout", "30"}, {"MaximumMessageSize", "1024"}});
    const std::vector<std::string> bodies{
        R"({"user_id": "small", "device_type": "android"})",
        R"({"user_id": "large", "device_type": "android", "padding": ")" + std::string(2048, 'p') +
            R"("})"};
    sqs().send(queue_url_, bodies);

    auto r = run(run_args({"--drain", "--receivers", "1", "--dead-letter-queue-url", dlq}),
                 run_env(), 120s);
    ASSERT_FALSE(r.timed_out) << r.err;
    ASSERT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(s->at("rejected"), 2) << s->line;
    EXPECT_EQ(s->at("dead_lettered"), 1) << s->line;
    EXPECT_EQ(s->at("deleted"), 2) << s->line;
    EXPECT_EQ(rejects(), 1);
    const auto dead = sqs().receive(dlq, 2);
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].body, bodies[0]);
    EXPECT_EQ(counts().total(), 0u) << counts().describe();
}

TEST_F(failures, ASignalWhileWaitingForPostgresAtStartupIsACleanStop) {
    // The database is not there yet (a sidecar starting before it): sqs2pg waits for it;
    // SIGTERM meanwhile is an ordinary stop - status 0 and an all-zero summary - not a
    // --pg error.
    auto args = run_args({"--drain"});
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--pg")
            args[i + 1] = fmt::format("postgresql://sqs2pg@127.0.0.1:{}/sqs2pg", free_port());
    auto& p = start(args, run_env());
    ASSERT_TRUE(wait_until(
        [&] {
            return p.stderr_text().find("pg.startup_retry") != std::string::npos || !p.running();
        },
        30s, 50ms))
        << p.stderr_tail();
    ASSERT_TRUE(p.running()) << p.stderr_tail();
    p.send_signal(SIGTERM);
    const auto r = finish(p, 30s);
    EXPECT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
    EXPECT_EQ(r.err.find("sqs2pg: --pg"), std::string::npos) << r.err;
    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(s->at("received"), 0) << s->line;
    EXPECT_EQ(counts().total(), 0u);
}

TEST_F(failures, AFrozenPostgresMakesTheRunNotReadyWithinFifteenSecondsAndLosesNothing) {
    const auto logins = generated_logins(300, test::unique_name("user_"), 0);
    sqs().send(queue_url_, logins.bodies);
    const auto port = free_port();
    auto& p = start(
        run_args({"--drain", "--batch-size", "10", "--batch-max-delay-ms", "20", "--receivers", "1",
                  "--visibility-timeout", "60", "--listen", "127.0.0.1:" + std::to_string(port)}),
        run_env());
    ASSERT_TRUE(wait_until([&] { return rows_if_any() >= 30 || !p.running(); }, 120s, 20ms))
        << p.stderr_tail();
    ASSERT_TRUE(p.running()) << p.stderr_tail();

    // This run's session: the one whose statements name this test's schema. SIGSTOP
    // freezes it: it neither answers nor closes (a hung backend, a proxy that stopped
    // forwarding).
    database admin(test::require_env("SQS2PG_TEST_PG_ADMIN"));
    const auto pid = std::stoi(
        admin.value(fmt::format("SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE "
                                "application_name = 'sqs2pg' AND query LIKE '%{}%'",
                                schema_)));
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    struct resume {
        int pid;
        ~resume() { ::kill(pid, SIGCONT); }
    } guard{pid};
    const auto frozen_at = std::chrono::steady_clock::now();

    http_answer ready;
    while (std::chrono::steady_clock::now() - frozen_at < 30s) {
        ready = http_get(port, "/readyz");
        if (ready.status == 503)
            break;
        sleep_for(250ms);
    }
    const auto noticed = std::chrono::steady_clock::now() - frozen_at;
    EXPECT_EQ(ready.status, 503) << "/readyz said ready while no write could complete";
    EXPECT_LE(noticed, 17s) << "the stall was noticed late";
    EXPECT_NE(ready.body.find("writes stalled"), std::string::npos) << ready.body;
    const auto metrics = http_get(port, "/metrics").body;
    EXPECT_GE(metric_value(metrics, "sqs2pg_write_stall_seconds").value_or(0), 15) << metrics;

    ::kill(pid, SIGCONT);
    auto r = finish(p, 180s);
    ASSERT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
    EXPECT_EQ(rows(), 300);
    EXPECT_EQ(distinct_users(), 300);
    EXPECT_EQ(counts().total(), 0u);
    const auto stalls = [&](std::string_view event) {
        std::size_t n = 0;
        for (auto at = r.err.find(event); at != std::string::npos; at = r.err.find(event, at + 1))
            ++n;
        return n;
    };
    EXPECT_EQ(stalls("\"pipeline.writes_stalled\""), 1u) << r.err; // one line says why
    EXPECT_EQ(stalls("\"pipeline.writes_resumed\""), 1u) << r.err;
}

TEST_F(failures, AStderrWhoseReaderQuitsNeitherKillsNorStallsTheRun) {
    // `sqs2pg ... 2>&1 | head`: the reader takes a few lines and exits; every later log
    // line meets a closed pipe. SIGPIPE used to kill the run (status 141) with messages
    // held.
    const auto logins = generated_logins(200, test::unique_name("user_"), 0);
    sqs().send(queue_url_, logins.bodies);
    const char* bin = std::getenv("SQS2PG_E2E_BINARY");
    ASSERT_NE(bin, nullptr);
    std::vector<std::string> args{"/bin/bash", "-c",
                                  "exec 2> >(head -c 300 > /dev/null); exec \"$0\" \"$@\"", bin};
    for (auto& a : run_args({"--drain", "--log-level", "debug", "--batch-size", "10"}))
        args.push_back(a);
    process p(args, run_env(), dir_ + "/closed_stderr");
    const auto status = p.wait_for(120s);
    ASSERT_TRUE(status) << "the run did not end (a blocked stderr?)";
    EXPECT_TRUE(status->exited_with(0)) << status->describe();
    EXPECT_EQ(rows(), 200);
    EXPECT_EQ(counts().total(), 0u);
}

TEST_F(failures, ARunWritesNoCoreDumpUnlessAskedTo) {
    sqs().send(queue_url_, generated_logins(1, test::unique_name("user_"), 0).bodies);
    // The soft limit (the first number) of "Max core file size" in /proc/PID/limits.
    const auto core_limit = [](pid_t pid) {
        std::ifstream f("/proc/" + std::to_string(pid) + "/limits");
        for (std::string line; std::getline(f, line);)
            if (line.starts_with("Max core file size")) {
                std::istringstream words(line.substr(18));
                std::string soft;
                words >> soft;
                return soft;
            }
        return std::string();
    };
    // The children start with a soft limit of 1 MiB (inherited from this test).
    rlimit old{};
    ASSERT_EQ(getrlimit(RLIMIT_CORE, &old), 0);
    rlimit some{1 << 20, old.rlim_max};
    ASSERT_EQ(setrlimit(RLIMIT_CORE, &some), 0);
    struct restore {
        rlimit r;
        ~restore() { setrlimit(RLIMIT_CORE, &r); }
    } guard{old};
    auto& plain = start(run_args({"--wait-time-seconds", "1"}), run_env());
    ASSERT_TRUE(wait_until([&] { return rows_if_any() >= 1 || !plain.running(); }, 60s, 50ms));
    EXPECT_EQ(core_limit(plain.pid()), "0");
    plain.send_signal(SIGTERM);
    EXPECT_TRUE(finish(plain, 60s).status.exited_with(0));

    auto& asked = start(run_args({"--wait-time-seconds", "1", "--allow-core-dumps"}), run_env());
    ASSERT_TRUE(wait_until([&] { return !core_limit(asked.pid()).empty(); }, 10s, 20ms));
    sleep_for(200ms);
    EXPECT_EQ(core_limit(asked.pid()), "1048576"); // as it was started with
    asked.send_signal(SIGTERM);
    EXPECT_TRUE(finish(asked, 60s).status.exited_with(0));
}

} // namespace
} // namespace sqs2pg::e2e
