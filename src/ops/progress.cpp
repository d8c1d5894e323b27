// Progress line formatting, the windowed rate, and the terminal writer.
#include <sqs2pg/ops/progress.hpp>

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sqs2pg::ops {

std::string format_count(std::uint64_t n) {
    std::string digits = fmt::format("{}", n);
    std::string out;
    out.reserve(digits.size() + digits.size() / 3);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

std::string format_rate(double r) {
    if (!(r > 0) || !std::isfinite(r))
        return "0 msgs/s";
    if (r < 9.95)
        return fmt::format("{:.1f} msgs/s", r);
    if (r < 999.5)
        return fmt::format("{:.0f} msgs/s", r);
    if (r < 99'950)
        return fmt::format("{:.1f}k msgs/s", r / 1e3);
    if (r < 999'500)
        return fmt::format("{:.0f}k msgs/s", r / 1e3);
    return fmt::format("{:.1f}M msgs/s", r / 1e6);
}

std::string format_duration(std::chrono::seconds d) {
    const auto s = std::max<std::int64_t>(0, d.count());
    if (s < 60)
        return fmt::format("{}s", s);
    if (s < 3600)
        return fmt::format("{}m{:02}s", s / 60, s % 60);
    if (s < std::int64_t{100} * 3600)
        return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
    return ">99h";
}

std::optional<std::chrono::seconds>
estimate_remaining(std::uint64_t done, std::optional<std::uint64_t> total, double rate) {
    if (!total)
        return std::nullopt;
    if (*total <= done)
        return std::chrono::seconds(0);
    if (!(rate > 0) || !std::isfinite(rate))
        return std::nullopt;
    const double secs = std::ceil(static_cast<double>(*total - done) / rate);
    // Beyond a year the estimate means nothing; clamp so the cast cannot overflow.
    return std::chrono::seconds(static_cast<std::int64_t>(std::min(secs, 366.0 * 86400)));
}

std::string format_progress(std::uint64_t done, std::optional<std::uint64_t> total, double rate,
                            std::chrono::seconds elapsed) {
    std::string out = format_count(done);
    if (total) {
        const std::uint64_t shown = std::max(*total, done);
        const auto pct = shown == 0 ? 100 : static_cast<unsigned>(done * 100 / shown);
        out += fmt::format(" / ~{} msgs ({}%)", format_count(shown), pct);
    } else {
        out += " / ? msgs";
    }
    out += "  ";
    out += format_rate(rate);
    out += "  elapsed ";
    out += format_duration(elapsed);
    out += "  ETA ";
    const auto eta = estimate_remaining(done, total, rate);
    out += eta ? format_duration(*eta) : "--";
    return out;
}

rate_meter::rate_meter(progress_clock::duration window)
    : window_(window) {}

void rate_meter::sample(progress_clock::time_point now, std::uint64_t done) {
    points_.push_back({now, done});
    // Keep one point at or beyond the window's start so the rate spans the whole window;
    // the hard cap bounds memory however often sample() is called.
    while (points_.size() > 2 && now - points_[1].at >= window_)
        points_.pop_front();
    while (points_.size() > 256)
        points_.pop_front();
}

double rate_meter::rate() const {
    if (points_.size() < 2)
        return 0;
    const auto& a = points_.front();
    const auto& b = points_.back();
    const double secs = std::chrono::duration<double>(b.at - a.at).count();
    if (!(secs > 0) || b.done < a.done)
        return 0;
    return static_cast<double>(b.done - a.done) / secs;
}

progress_display::progress_display(std::FILE* out)
    : progress_display(out, out != nullptr && ::isatty(::fileno(out)) == 1) {}

progress_display::progress_display(std::FILE* out, bool enabled)
    : out_(out)
    , enabled_(enabled && out != nullptr) {
    if (enabled_)
        set_log_line_observer(this);
}

progress_display::~progress_display() {
    if (enabled_)
        set_log_line_observer(nullptr);
}

void progress_display::update(progress_clock::time_point now, std::uint64_t done,
                              std::optional<std::uint64_t> total) {
    if (!enabled_ || finished_)
        return;
    if (!started_)
        started_ = now;
    rate_.sample(now, done);
    if (last_draw_ && now - *last_draw_ < std::chrono::milliseconds(200))
        return;
    last_draw_ = now;
    line_ = format_progress(done, total, rate_.rate(),
                            std::chrono::duration_cast<std::chrono::seconds>(now - *started_));
    draw(false);
}

void progress_display::finish(progress_clock::time_point now, std::uint64_t done,
                              std::optional<std::uint64_t> total) {
    if (!enabled_ || finished_)
        return;
    if (!started_)
        started_ = now;
    rate_.sample(now, done);
    finished_ = true;
    line_ = format_progress(done, total, rate_.rate(),
                            std::chrono::duration_cast<std::chrono::seconds>(now - *started_));
    draw(true);
    set_log_line_observer(nullptr);
}

void progress_display::draw(bool with_newline) {
    // Pad over the rest of a longer previous line instead of using terminal escapes.
    std::string buf = "\r" + line_;
    if (drawn_len_ > line_.size())
        buf.append(drawn_len_ - line_.size(), ' ');
    if (with_newline)
        buf += '\n';
    drawn_len_ = with_newline ? 0 : line_.size();
    // A terminal that cannot take the progress line is no reason to stop the run.
    (void)std::fwrite(buf.data(), 1, buf.size(), out_);
    (void)std::fflush(out_);
}

void progress_display::before_log_line() {
    if (drawn_len_ == 0)
        return;
    std::string buf = "\r";
    buf.append(drawn_len_, ' ');
    buf += '\r';
    (void)std::fwrite(buf.data(), 1, buf.size(), out_);
    drawn_len_ = 0;
}

void progress_display::after_log_line() {
    if (!finished_ && !line_.empty())
        draw(false);
}

} // namespace sqs2pg::ops
