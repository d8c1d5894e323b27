// The child process runner of the end-to-end tests (posix_spawn, output files, signals,
// bounded waits).
#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sqs2pg::e2e {

namespace {

std::vector<char*> c_strings(const std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (const auto& s : v)
        out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// RAII for the posix_spawn attribute objects.
struct spawn_setup {
    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attr{};
    spawn_setup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attr);
    }
    ~spawn_setup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
    spawn_setup(const spawn_setup&) = delete;
    spawn_setup& operator=(const spawn_setup&) = delete;
};

} // namespace

std::string exit_status::describe() const {
    if (signal != 0)
        return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    return "exit " + std::to_string(code);
}

void sleep_for(std::chrono::milliseconds d) {
    std::this_thread::sleep_for(d);
}

process::process(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                 std::string output_prefix)
    : prefix_(std::move(output_prefix)) {
    if (argv.empty())
        throw std::invalid_argument("process: empty argv");
    spawn_setup s;
    const std::string out = prefix_ + ".stdout";
    const std::string err = prefix_ + ".stderr";
    posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&s.actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&s.actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    // The test runner may block or ignore signals; the child must see SIGTERM and SIGINT
    // exactly as a user's shell would deliver them.
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD})
        sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&s.attr, &none);
    posix_spawnattr_setsigdefault(&s.attr, &defaults);
    posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    auto args = c_strings(argv);
    auto envp = c_strings(env);
    const int rc =
        posix_spawn(&pid_, argv[0].c_str(), &s.actions, &s.attr, args.data(), envp.data());
    if (rc != 0)
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
}

process::~process() {
    if (!status_)
        kill();
}

bool process::try_reap(bool block) {
    if (status_)
        return true;
    int st = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0)
        return false;
    if (r < 0) { // not our child any more: nothing to wait for
        status_ = exit_status{-1, 0};
        return true;
    }
    if (WIFEXITED(st))
        status_ = exit_status{WEXITSTATUS(st), 0};
    else
        status_ = exit_status{-1, WIFSIGNALED(st) ? WTERMSIG(st) : 0};
    return true;
}

void process::send_signal(int sig) {
    if (!try_reap(false))
        ::kill(pid_, sig);
}

std::optional<exit_status> process::wait_for(std::chrono::milliseconds limit) {
    wait_until([this] { return try_reap(false); }, limit, std::chrono::milliseconds(20));
    return status_;
}

bool process::running() {
    return !try_reap(false);
}

exit_status process::kill() {
    if (!try_reap(false)) {
        ::kill(pid_, SIGKILL);
        try_reap(true);
    }
    return *status_;
}

std::string process::stdout_text() const {
    return slurp(prefix_ + ".stdout");
}
std::string process::stderr_text() const {
    return slurp(prefix_ + ".stderr");
}

std::string process::stderr_tail(std::size_t lines) const {
    const std::string text = stderr_text();
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n')
        --pos;
    for (std::size_t n = 0; n < lines && pos > 0; ++n) {
        const auto nl = text.rfind('\n', pos - 1);
        if (nl == std::string::npos) {
            pos = 0;
            break;
        }
        pos = nl;
    }
    return text.substr(pos == 0 ? 0 : pos + 1);
}

} // namespace sqs2pg::e2e
