// Line-oriented structured logger. Single-threaded by design (one io_context thread);
// each line is formatted into a buffer and written without ever blocking the loop: a
// stderr that is a pipe or a terminal gets a non-blocking file description of its own
// (a socket is written with MSG_DONTWAIT), lines it cannot take yet wait in a bounded
// buffer, and beyond that are dropped and counted.
#include <sqs2pg/ops/log.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <string>

namespace sqs2pg::ops {
namespace {

/// Lines waiting for a sink that cannot take them now, at most this many bytes.
constexpr std::size_t max_pending = std::size_t{1} << 20;

struct logger_state {
    level min_level = level::info;
    log_format format = log_format::json;
    std::FILE* sink = stderr;
    log_line_observer* observer = nullptr;
    // The non-blocking path (fd >= 0); otherwise lines go through `sink` with fwrite (a
    // regular file, or a stream without a descriptor such as a memory stream in tests).
    int fd = -1;
    bool own_fd = false; ///< fd is a description opened here (close it on reconfigure)
    bool socket = false; ///< fd is a socket: send with MSG_DONTWAIT
    bool broken = false; ///< the reader went away (EPIPE): lines are dropped
    std::string pending;
    std::uint64_t dropped = 0;
    std::uint64_t dropped_reported = 0;
};

logger_state& state() {
    static logger_state s;
    return s;
}

constexpr std::string_view level_name(level l) {
    switch (l) {
    case level::debug:
        return "debug";
    case level::info:
        return "info";
    case level::warn:
        return "warn";
    case level::error:
        return "error";
    }
    return "info";
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20)
                fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
            else
                out += static_cast<char>(c);
        }
    }
    out += '"';
}

void append_text_string(std::string& out, std::string_view s) {
    const bool plain = !s.empty() && s.find_first_of(" \t\n\r\"=") == std::string_view::npos;
    if (plain)
        out += s;
    else
        append_json_string(out, s);
}

void append_timestamp(std::string& out) {
    const auto now = std::chrono::system_clock::now();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   static_cast<int>(ms % 1000));
}

} // namespace

namespace {

std::string format_line(const logger_state& st, level l, std::string_view event,
                        std::initializer_list<field> fields);

// Writes as much of `st.pending` as the sink takes now; once it took everything, says
// what it missed before (once). False when the sink is gone.
bool flush_pending(logger_state& st) {
    for (;;) {
        if (st.pending.empty()) {
            if (st.dropped == st.dropped_reported)
                return true;
            const auto missed = static_cast<std::int64_t>(st.dropped - st.dropped_reported);
            st.pending = format_line(st, level::warn, "log.lines_dropped", {{"lines", missed}});
            st.dropped_reported = st.dropped;
        }
        const ssize_t n = st.socket ? ::send(st.fd, st.pending.data(), st.pending.size(),
                                             MSG_DONTWAIT | MSG_NOSIGNAL)
                                    : ::write(st.fd, st.pending.data(), st.pending.size());
        if (n > 0) {
            st.pending.erase(0, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true; // later
        // EPIPE and the like: nobody reads any more (SIGPIPE is ignored by main).
        st.broken = true;
        st.dropped += 1; // at least the lines pending; they are not counted one by one
        st.pending.clear();
        return false;
    }
    return true;
}

void close_own(logger_state& st) {
    if (st.own_fd && st.fd >= 0)
        ::close(st.fd);
    st.fd = -1;
    st.own_fd = false;
    st.socket = false;
    st.broken = false;
    st.pending.clear();
}

} // namespace

void configure_logging(level min_level, log_format format, std::FILE* sink) {
    auto& st = state();
    flush_logs(std::chrono::milliseconds(0));
    close_own(st);
    st.min_level = min_level;
    st.format = format;
    st.sink = sink;
    const int fd = sink != nullptr ? ::fileno(sink) : -1;
    struct stat info {};
    if (fd < 0 || ::fstat(fd, &info) != 0)
        return;
    if (S_ISSOCK(info.st_mode)) {
        st.fd = fd; // journald and the like: send never blocks with MSG_DONTWAIT
        st.socket = true;
    } else if (S_ISFIFO(info.st_mode) || S_ISCHR(info.st_mode)) {
        // A pipe whose reader stalls, or a terminal on hold (Ctrl-S), would block a write.
        // O_NONBLOCK on fd 2 itself would change the description the parent shares, so
        // open a description of our own for the same pipe or terminal.
        const std::string path = "/proc/self/fd/" + std::to_string(fd);
        const int own = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (own >= 0) {
            std::fflush(sink);
            st.fd = own;
            st.own_fd = true;
        }
    }
}

void flush_logs(std::chrono::milliseconds limit) {
    auto& st = state();
    if (st.fd < 0)
        return;
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!st.broken) {
        if (!flush_pending(st) || st.pending.empty())
            break;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            break;
        pollfd p{st.fd, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            break;
    }
}

std::uint64_t log_lines_dropped() noexcept {
    return state().dropped;
}

void set_log_line_observer(log_line_observer* o) {
    state().observer = o;
}

bool parse_level(std::string_view text, level& out) {
    for (level l : {level::debug, level::info, level::warn, level::error}) {
        if (text == level_name(l)) {
            out = l;
            return true;
        }
    }
    return false;
}

bool log_enabled(level l) {
    return l >= state().min_level;
}

namespace {

void write_line(logger_state& st, const std::string& line) {
    if (st.broken) {
        ++st.dropped;
        return;
    }
    if (!flush_pending(st)) {
        ++st.dropped;
        return;
    }
    if (st.pending.size() + line.size() > max_pending) {
        ++st.dropped; // a sink that takes nothing for a megabyte of lines: drop, never block
        return;
    }
    st.pending += line;
    flush_pending(st);
}

std::string format_line(const logger_state& st, level l, std::string_view event,
                        std::initializer_list<field> fields) {
    std::string line;
    line.reserve(128);
    if (st.format == log_format::json) {
        line += "{\"ts\":\"";
        append_timestamp(line);
        line += "\",\"level\":\"";
        line += level_name(l);
        line += "\",\"event\":";
        append_json_string(line, event);
        for (const auto& f : fields) {
            line += ',';
            append_json_string(line, f.key);
            line += ':';
            std::visit(
                [&](const auto& v) {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, std::string_view>)
                        append_json_string(line, v);
                    else if constexpr (std::is_same_v<T, bool>)
                        line += v ? "true" : "false";
                    else
                        fmt::format_to(std::back_inserter(line), "{}", v);
                },
                f.value);
        }
        line += "}\n";
    } else {
        append_timestamp(line);
        fmt::format_to(std::back_inserter(line), " {:<5} ", level_name(l));
        line += event;
        for (const auto& f : fields) {
            line += ' ';
            line += f.key;
            line += '=';
            std::visit(
                [&](const auto& v) {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, std::string_view>)
                        append_text_string(line, v);
                    else
                        fmt::format_to(std::back_inserter(line), "{}", v);
                },
                f.value);
        }
        line += '\n';
    }
    return line;
}

} // namespace

void log(level l, std::string_view event, std::initializer_list<field> fields) {
    if (!log_enabled(l))
        return;
    auto& st = state();
    const std::string line = format_line(st, l, event, fields);
    if (st.observer)
        st.observer->before_log_line();
    if (st.fd < 0) {
        std::fwrite(line.data(), 1, line.size(), st.sink);
        std::fflush(st.sink);
    } else {
        write_line(st, line);
    }
    if (st.observer)
        st.observer->after_log_line();
}

} // namespace sqs2pg::ops
