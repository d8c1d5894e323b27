// The process runner the end-to-end tests rely on, checked with /bin/sh children: exact
// environment, separate stdout and stderr, signals reach a child with default handlers,
// bounded waits, and kill-on-destruction.
#include "process.hpp"
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

namespace sqs2pg::e2e {
namespace {

using namespace std::chrono_literals;

class process_runner : public ::testing::Test {
protected:
    void SetUp() override {
        std::string templ = "/tmp/sqs2pg-e2e-process.XXXXXX";
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::unique_ptr<process> sh(const std::string& script, std::vector<std::string> env = {}) {
        return std::make_unique<process>(std::vector<std::string>{"/bin/sh", "-c", script}, env,
                                         dir_ + "/p" + std::to_string(++n_));
    }

    std::string dir_;
    int n_ = 0;
};

TEST_F(process_runner, CapturesStdoutAndStderrSeparatelyAndTheExitCode) {
    auto p = sh("echo out; echo err >&2; exit 3");
    const auto st = p->wait_for(10s);
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->exited_with(3)) << st->describe();
    EXPECT_EQ(p->stdout_text(), "out\n");
    EXPECT_EQ(p->stderr_text(), "err\n");
}

TEST_F(process_runner, TheChildGetsExactlyTheGivenEnvironment) {
    ::setenv("SQS2PG_E2E_SHOULD_NOT_LEAK", "1", 1);
    auto p =
        std::make_unique<process>(std::vector<std::string>{"/usr/bin/env"},
                                  std::vector<std::string>{"A=1", "B=two words"}, dir_ + "/env");
    ASSERT_TRUE(p->wait_for(10s));
    EXPECT_EQ(p->stdout_text(), "A=1\nB=two words\n");
}

TEST_F(process_runner, SigtermReachesAChildThatHandlesIt) {
    auto p = sh("trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done");
    ASSERT_TRUE(wait_until([&] { return p->stdout_text() == "ready\n"; }, 10s, 20ms));
    EXPECT_FALSE(p->wait_for(200ms)) << "the child should still run";
    p->send_signal(SIGTERM);
    const auto st = p->wait_for(10s);
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->exited_with(7)) << st->describe();
    EXPECT_EQ(p->stdout_text(), "ready\ngot-term\n");
}

TEST_F(process_runner, KillEndsAChildThatIgnoresSigterm) {
    auto p = sh("trap '' TERM; echo ready; while :; do sleep 0.05; done");
    ASSERT_TRUE(wait_until([&] { return p->stdout_text() == "ready\n"; }, 10s, 20ms));
    p->send_signal(SIGTERM);
    EXPECT_FALSE(p->wait_for(300ms));
    EXPECT_TRUE(p->running());
    const auto st = p->kill();
    EXPECT_EQ(st.signal, SIGKILL) << st.describe();
    EXPECT_FALSE(p->running());
    p->send_signal(SIGTERM); // after reaping: a no-op, never another process
}

TEST_F(process_runner, DestroyingTheHandleKillsTheChild) {
    auto p = sh("echo $$; exec sleep 60");
    ASSERT_TRUE(wait_until([&] { return !p->stdout_text().empty(); }, 10s, 20ms));
    const pid_t pid = p->pid();
    p.reset();
    EXPECT_NE(::kill(pid, 0), 0) << "the child still exists after the handle went";
}

TEST_F(process_runner, StderrTailGivesTheLastLines) {
    auto p = sh("for i in 1 2 3 4 5; do echo line$i >&2; done");
    ASSERT_TRUE(p->wait_for(10s));
    EXPECT_EQ(p->stderr_tail(2), "line4\nline5\n");
    EXPECT_EQ(p->stderr_tail(10), "line1\nline2\nline3\nline4\nline5\n");
}

TEST_F(process_runner, AMissingProgramThrows) {
    EXPECT_THROW(process({dir_ + "/no-such-program"}, {}, dir_ + "/missing"), std::runtime_error);
}

} // namespace
} // namespace sqs2pg::e2e
