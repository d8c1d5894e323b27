// Structured logging to stderr: one JSON object per line (or readable text on a TTY).
// Callers pass event names and fields; never a message body or an unmasked field.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string_view>
#include <variant>

namespace sqs2pg::ops {

enum class level { debug, info, warn, error };
enum class log_format { json, text };

/// One key/value of a log line. Views must stay valid for the duration of the call.
struct field {
    std::string_view key;
    std::variant<std::string_view, std::int64_t, double, bool> value;

    field(std::string_view k, std::string_view v)
        : key(k)
        , value(v) {}
    field(std::string_view k, const char* v)
        : key(k)
        , value(std::string_view(v)) {}
    template <class Int>
    requires(std::is_integral_v<Int> && !std::is_same_v<Int, bool>) field(std::string_view k, Int v)
        : key(k)
        , value(static_cast<std::int64_t>(v)) {}
    field(std::string_view k, double v)
        : key(k)
        , value(v) {}
    field(std::string_view k, bool v)
        : key(k)
        , value(v) {}
};

/// Sets the minimum level, the format and the sink (default: info, json, stderr).
/// Call once at startup, before the io_context runs. Writing never blocks the caller for
/// long: a sink that is a pipe or a terminal is written through a non-blocking file
/// description of its own, a socket with MSG_DONTWAIT; lines the sink cannot take yet
/// wait (up to 1 MiB), beyond that they are dropped and counted, and a
/// `log.lines_dropped` line says how many once the sink takes lines again. A regular
/// file (or a stream without a descriptor) is written with fwrite.
void configure_logging(level min_level, log_format format, std::FILE* sink = stderr);

/// Writes the lines still waiting, for at most `limit` (at exit).
void flush_logs(std::chrono::milliseconds limit);

/// Lines dropped so far because the sink could not take them (or had gone).
std::uint64_t log_lines_dropped() noexcept;

/// Parses "debug" | "info" | "warn" | "error"; false if `text` is none of them.
bool parse_level(std::string_view text, level& out);

bool log_enabled(level l);

/// Writes one line: timestamp (UTC, ms), level, event, then the fields in order.
/// Strings are JSON-escaped (json) or quoted when they contain spaces (text).
void log(level l, std::string_view event, std::initializer_list<field> fields = {});

/// Something drawn on the log sink's terminal that log lines must not run into (the
/// progress line): told right before and right after each log line is written.
class log_line_observer {
public:
    virtual void before_log_line() = 0;
    virtual void after_log_line() = 0;

protected:
    ~log_line_observer() = default;
};

/// Installs `o` (nullptr removes it); it must stay alive until removed.
void set_log_line_observer(log_line_observer* o);

} // namespace sqs2pg::ops
