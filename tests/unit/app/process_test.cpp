// The process hardening: no core dumps (not dumpable, RLIMIT_CORE 0) unless asked for,
// and SIGPIPE ignored. Each case runs in a child process: the changes are process-wide.
#include <sqs2pg/app/process.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <functional>

namespace sqs2pg::app {
namespace {

// Runs `body` in a child; its exit code (0..255), or -1 when it did not exit normally.
int in_child(const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0)
        ::_exit(body());
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

TEST(Process, NoCoreDumpsByDefault) {
    EXPECT_EQ(in_child([] {
                  const rlimit some{1 << 20, RLIM_INFINITY};
                  (void)setrlimit(RLIMIT_CORE, &some);
                  harden_process();
                  const auto s = current_dump_state();
                  return (s.dumpable ? 1 : 0) + (s.core_limit == 0 ? 0 : 2);
              }),
              0);
}

TEST(Process, CoreDumpsComeBackWhenAskedFor) {
    EXPECT_EQ(in_child([] {
                  const rlimit some{1 << 20, RLIM_INFINITY};
                  (void)setrlimit(RLIMIT_CORE, &some);
                  harden_process();
                  allow_core_dumps();
                  const auto s = current_dump_state();
                  return (s.dumpable ? 0 : 1) + (s.core_limit == (1u << 20) ? 0 : 2);
              }),
              0);
}

TEST(Process, AWriteToAClosedPipeIsAnErrorNotADeath) {
    EXPECT_EQ(in_child([] {
                  harden_process();
                  int fds[2];
                  if (::pipe(fds) != 0)
                      return 3;
                  ::close(fds[0]);
                  const ssize_t n = ::write(fds[1], "x", 1);
                  return n < 0 && errno == EPIPE ? 0 : 4;
              }),
              0);
}

} // namespace
} // namespace sqs2pg::app
