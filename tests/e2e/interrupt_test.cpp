// End to end: a drain interrupted by SIGTERM or by kill -9, then run again. Nothing may
// be lost and nothing written twice: every valid message exactly once in user_logins,
// every malformed one a reject, the queue empty.
#include "harness.hpp"
#include "test_env.hpp"

#include <csignal>

namespace sqs2pg::e2e {
namespace {

constexpr int total_messages = 600;
constexpr int malformed_every = 50; // 12 malformed, 588 valid

class interrupted_drain : public e2e_test {
protected:
    // 600 logins with unique user ids and varied fields. The second half is sent with
    // DelaySeconds, so a drain cannot be over before the interruption: the signal always
    // lands mid-drain, whatever the machine's speed. 20 s keeps the delays from ending
    // while the test reads the queue's counts after the first run: moto computes them
    // one after the other and misses messages that become visible meanwhile.
    void SetUp() override {
        e2e_test::SetUp();
        if (HasFatalFailure())
            return;
        logins_ = generated_logins(total_messages, test::unique_name("user_"), malformed_every);
        ASSERT_EQ(logins_.valid_user_ids.size(), 588u);
        const auto half = logins_.bodies.size() / 2;
        sqs().send(queue_url_, {logins_.bodies.begin(), logins_.bodies.begin() + half});
        sqs().send(queue_url_, {logins_.bodies.begin() + half, logins_.bodies.end()}, 20);
    }

    // Starts a drain with small batches (commits spread over many transactions) and
    // waits until some rows are committed.
    process& start_and_wait_for_rows(const std::vector<std::string>& extra) {
        std::vector<std::string> flags{"--drain", "--batch-size", "10", "--batch-max-delay-ms",
                                       "20",      "--receivers",  "2"};
        flags.insert(flags.end(), extra.begin(), extra.end());
        auto& p = start(run_args(flags), run_env());
        const bool some =
            wait_until([&] { return rows_if_any() >= 40 || !p.running(); }, 120s, 50ms);
        EXPECT_TRUE(some) << "no rows committed within 120 s\n" << p.stderr_tail();
        EXPECT_TRUE(p.running()) << "sqs2pg ended before the interruption ("
                                 << p.wait_for(0ms)->describe() << ") while messages were "
                                 << "still delayed in the queue\n"
                                 << p.stderr_tail();
        return p;
    }

    // The rerun: drains the rest; afterwards every valid message is in the table exactly
    // once, every malformed one is a reject, the queue is empty. Returns its summary.
    std::optional<summary> rerun_and_expect_everything_exactly_once() {
        auto r = run(run_args({"--drain"}), run_env());
        EXPECT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
        auto s = parse_summary(r.out);
        EXPECT_TRUE(s) << s.error();
        EXPECT_EQ(rows(), 588);
        EXPECT_EQ(distinct_users(), 588);
        EXPECT_TRUE(same_elements(logins_.valid_user_ids, user_ids()));
        EXPECT_EQ(ledger(), 588);
        EXPECT_EQ(rejects(), 12);
        const auto left = counts();
        EXPECT_EQ(left.total(), 0u) << left.describe();
        if (!s)
            return std::nullopt;
        return *s;
    }

    // Everything a run committed is acknowledged before it exits. Every message it wrote
    // or rejected is deleted; a second copy of one (moto can hand a message to two
    // concurrent receives, and then `duplicates_skipped` counts it) is deleted too, or
    // its delete is refused as ReceiptHandleIsInvalid because the other copy's delete
    // already took the message: so the deletes lie between the two sums, and the queue
    // being empty at the end (rerun_and_expect_everything_exactly_once) shows that none
    // was missed.
    static void expect_every_commit_acknowledged(const summary& s) {
        EXPECT_GE(s.at("deleted"), s.at("inserted") + s.at("rejected"))
            << "everything committed is acknowledged before exit: " << s.line;
        EXPECT_LE(s.at("deleted"), s.at("inserted") + s.at("duplicates_skipped") + s.at("rejected"))
            << s.line;
    }

    login_set logins_;
};

// 3. SIGTERM mid-drain: sqs2pg stops receiving, commits and acknowledges what it holds,
// hands the rest back at once (visibility 0, although the receive asked for 60 s), exits
// 0 with a summary that counts exactly what it did; a second drain finishes the job.
TEST_F(interrupted_drain, SigtermMidDrainThenRerunLosesNothingAndDuplicatesNothing) {
    auto& p = start_and_wait_for_rows({"--visibility-timeout", "60"});
    if (HasFailure())
        return; // start_and_wait_for_rows said why
    p.send_signal(SIGTERM);
    auto f = finish(p, 60s);
    EXPECT_TRUE(f.status.exited_with(0)) << f.status.describe() << "\n" << f.err;
    auto s1 = parse_summary(f.out);
    ASSERT_TRUE(s1) << s1.error();

    const long rows_after_first = rows();
    const long rejects_after_first = rejects();
    EXPECT_LT(rows_after_first, 588) << "the run was interrupted before the delayed half";
    EXPECT_EQ(s1->at("inserted"), rows_after_first)
        << "the summary counts every row the run committed: " << s1->line;
    expect_every_commit_acknowledged(*s1);
    EXPECT_GE(s1->at("rejected"), rejects_after_first) << s1->line;

    // Nothing is left invisible: what was received but not committed was handed back.
    const auto after = counts();
    EXPECT_EQ(after.not_visible, 0u)
        << "unprocessed messages must be handed back with visibility 0: " << after.describe();
    EXPECT_EQ(after.total(),
              static_cast<std::uint64_t>(total_messages - rows_after_first - rejects_after_first))
        << "exactly the committed messages are gone: " << after.describe();

    auto s2 = rerun_and_expect_everything_exactly_once();
    ASSERT_TRUE(s2);
    EXPECT_EQ(s2->at("inserted"), 588 - rows_after_first) << s2->line;
    expect_every_commit_acknowledged(*s2);
}

// 4. kill -9 mid-drain: nothing is acknowledged that was not committed, so a rerun (which
// must wait for the killed run's in-flight messages to come back after their 5 s
// visibility timeout, and for the delayed ones) writes exactly the missing rows.
TEST_F(interrupted_drain, KillMinusNineMidDrainThenRerunLosesNothingAndDuplicatesNothing) {
    auto& p = start_and_wait_for_rows({"--visibility-timeout", "5"});
    if (HasFailure())
        return; // start_and_wait_for_rows said why
    p.send_signal(SIGKILL);
    const auto st = p.wait_for(10s);
    ASSERT_TRUE(st && st->signal == SIGKILL) << (st ? st->describe() : "still running");
    sleep_for(1s); // a COMMIT the server had already received still completes
    const long rows_after_kill = rows();
    EXPECT_GT(rows_after_kill, 0);
    EXPECT_LT(rows_after_kill, 588);

    auto s2 = rerun_and_expect_everything_exactly_once();
    ASSERT_TRUE(s2);
    EXPECT_EQ(s2->at("inserted"), 588 - rows_after_kill) << s2->line;
    EXPECT_EQ(s2->at("received"),
              s2->at("inserted") + s2->at("duplicates_skipped") + s2->at("rejected"))
        << s2->line;
    EXPECT_EQ(s2->at("deleted"), s2->at("received")) << s2->line;
}

} // namespace
} // namespace sqs2pg::e2e
