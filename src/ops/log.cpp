// Line-oriented structured logger. Single-threaded by design (one io_context thread);
// each line is formatted into a buffer and written with one fwrite.
#include <sqs2pg/ops/log.hpp>

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <string>

namespace sqs2pg::ops {
namespace {

struct logger_state {
    level min_level = level::info;
    log_format format = log_format::json;
    std::FILE* sink = stderr;
    log_line_observer* observer = nullptr;
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

void configure_logging(level min_level, log_format format, std::FILE* sink) {
    auto& st = state();
    st.min_level = min_level;
    st.format = format;
    st.sink = sink;
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

void log(level l, std::string_view event, std::initializer_list<field> fields) {
    if (!log_enabled(l))
        return;
    const auto& st = state();
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
    if (st.observer)
        st.observer->before_log_line();
    std::fwrite(line.data(), 1, line.size(), st.sink);
    std::fflush(st.sink);
    if (st.observer)
        st.observer->after_log_line();
}

} // namespace sqs2pg::ops
