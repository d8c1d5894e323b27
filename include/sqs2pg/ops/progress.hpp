// Progress display for drain mode: "done / ~total msgs (pct)  rate  elapsed  ETA" on one
// line redrawn with \r on a terminal. The formatting and rate are sans-io; the writer is thin.
#pragma once

#include <sqs2pg/ops/log.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <optional>
#include <string>

namespace sqs2pg::ops {

using progress_clock = std::chrono::steady_clock;

/// 1234567 -> "1,234,567".
std::string format_count(std::uint64_t n);
/// Messages per second, compact: "0 msgs/s", "3.5 msgs/s", "850 msgs/s", "12.3k msgs/s",
/// "123k msgs/s", "1.2M msgs/s".
std::string format_rate(double per_second);
/// "42s", "3m05s", "1h02m"; longer than 99 hours is ">99h".
std::string format_duration(std::chrono::seconds d);

/// Seconds left at `rate` msgs/s, rounded up; nullopt when the total is unknown or the
/// rate is not positive. A total below `done` counts as reached.
std::optional<std::chrono::seconds>
estimate_remaining(std::uint64_t done, std::optional<std::uint64_t> total, double rate);

/// The progress line without newline or \r, e.g.
/// "1,234 / ~9,000 msgs (13%)  2.3k msgs/s  elapsed 12s  ETA 3s". An unknown total shows as
/// "?", an unknown ETA as "--"; a total below `done` is shown as `done`.
std::string format_progress(std::uint64_t done, std::optional<std::uint64_t> total, double rate,
                            std::chrono::seconds elapsed);

/// Messages per second over a sliding window of recent samples (bounded memory), so the
/// rate and ETA follow the current speed rather than the run's average.
class rate_meter {
public:
    explicit rate_meter(progress_clock::duration window = std::chrono::seconds(5));
    /// Records that `done` messages were finished by `now` (monotonic, non-decreasing).
    void sample(progress_clock::time_point now, std::uint64_t done);
    /// Rate over the window; 0 until two samples lie apart in time.
    double rate() const;

private:
    struct point {
        progress_clock::time_point at{};
        std::uint64_t done = 0;
    };
    progress_clock::duration window_;
    std::deque<point> points_;
};

/// Draws the progress line on a terminal. When disabled (the default when `out` is not
/// a TTY) every call does nothing. While it is drawn, log lines clear it first and it is
/// redrawn below them. Lives as long as the run; `out` must outlive it.
class progress_display final : private log_line_observer {
public:
    explicit progress_display(std::FILE* out = stderr);
    progress_display(std::FILE* out, bool enabled);
    ~progress_display();
    progress_display(const progress_display&) = delete;
    progress_display& operator=(const progress_display&) = delete;

    bool enabled() const noexcept { return enabled_; }

    /// Samples the rate and redraws, at most every 200 ms (call it as often as convenient).
    /// `total` is the approximate total (done + the queue's visible, in-flight and delayed
    /// counts); it may grow between calls.
    void update(progress_clock::time_point now, std::uint64_t done,
                std::optional<std::uint64_t> total);
    /// Draws the final line and ends it with a newline; later updates are ignored.
    void finish(progress_clock::time_point now, std::uint64_t done,
                std::optional<std::uint64_t> total);

private:
    void before_log_line() override;
    void after_log_line() override;
    void draw(bool with_newline);

    std::FILE* out_;
    bool enabled_;
    bool finished_ = false;
    std::optional<progress_clock::time_point> started_;
    std::optional<progress_clock::time_point> last_draw_;
    rate_meter rate_;
    std::string line_;
    std::size_t drawn_len_ = 0;
};

} // namespace sqs2pg::ops
