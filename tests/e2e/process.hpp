// A child process for end-to-end tests: started with posix_spawn with exactly the
// environment given, stdout and stderr captured in files, signalled, waited for with a
// limit, and killed when the handle goes (so no test leaves a process behind).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sqs2pg::e2e {

/// How a child ended: an exit code, or the signal that killed it.
struct exit_status {
    int code = -1;  ///< exit code; -1 when a signal ended it
    int signal = 0; ///< the terminating signal; 0 when it exited

    bool exited_with(int c) const noexcept { return signal == 0 && code == c; }
    /// "exit 0", "exit 2", "killed by signal 9 (Killed)".
    std::string describe() const;
};

/// One running child. stdin is /dev/null; stdout and stderr go to `<output_prefix>.stdout`
/// and `<output_prefix>.stderr` (truncated), readable while the child runs.
class process {
public:
    /// Starts `argv[0]` (a path, not searched in PATH) with `argv` and exactly `env`
    /// ("NAME=value" entries; nothing is inherited). Signal dispositions and the signal mask
    /// are reset to the defaults in the child. Throws std::runtime_error if it cannot start.
    process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            std::string output_prefix);
    /// Kills the child with SIGKILL (if it still runs) and reaps it.
    ~process();
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    pid_t pid() const noexcept { return pid_; }

    /// Sends `sig` unless the child has already been reaped.
    void send_signal(int sig);

    /// Waits until the child ends or `limit` passes; its status, or nullopt if it still runs.
    std::optional<exit_status> wait_for(std::chrono::milliseconds limit);

    /// True until the child has ended (reaps it if it just did).
    bool running();

    /// SIGKILL (if still running), reap, and return how it ended.
    exit_status kill();

    /// What the child has written so far.
    std::string stdout_text() const;
    std::string stderr_text() const;
    /// The last `lines` lines of stderr, for failure messages.
    std::string stderr_tail(std::size_t lines = 30) const;

private:
    bool try_reap(bool block);

    pid_t pid_ = -1;
    std::string prefix_;
    std::optional<exit_status> status_;
};

/// Blocks until `pred()` holds (checked every `step`) or `limit` passes; returns pred().
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit,
                std::chrono::milliseconds step = std::chrono::milliseconds(100));

/// Sleeps for `d` (used between polls).
void sleep_for(std::chrono::milliseconds d);

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit, std::chrono::milliseconds step) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return pred();
        sleep_for(step);
    }
    return true;
}

} // namespace sqs2pg::e2e
