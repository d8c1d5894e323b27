// Metrics registry: counters, gauges and fixed-bucket histograms, rendered in the
// Prometheus text exposition format 0.0.4. Sans-io; single-threaded like the io_context.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sqs2pg::ops {

/// A fixed label set given at registration, e.g. {{"state", "connected"}}.
using label_list = std::initializer_list<std::pair<std::string_view, std::string_view>>;

/// Monotonic count. Updating is one integer add: fit for the hot path.
class counter {
public:
    void inc(std::uint64_t n = 1) noexcept { value_ += n; }
    std::uint64_t value() const noexcept { return value_; }

private:
    std::uint64_t value_ = 0;
};

/// A value that goes up and down (messages in flight, connection state 0/1).
class gauge {
public:
    void set(std::int64_t v) noexcept { value_ = v; }
    void add(std::int64_t d) noexcept { value_ += d; }
    void sub(std::int64_t d) noexcept { value_ -= d; }
    std::int64_t value() const noexcept { return value_; }

private:
    std::int64_t value_ = 0;
};

/// Observations counted into fixed buckets (upper bounds, in the metric's unit, usually
/// seconds). Rendered cumulatively with the +Inf bucket, _sum and _count.
class histogram {
public:
    /// `upper_bounds` must be finite, strictly increasing and non-empty (std::invalid_argument
    /// otherwise); +Inf is implicit.
    explicit histogram(std::vector<double> upper_bounds);

    /// Counts `v` into the first bucket whose bound is >= v (Prometheus `le` semantics);
    /// NaN is ignored.
    void observe(double v) noexcept;

    std::span<const double> upper_bounds() const noexcept { return bounds_; }
    /// Non-cumulative count per bucket; one more entry than upper_bounds() (the +Inf bucket).
    std::span<const std::uint64_t> bucket_counts() const noexcept { return counts_; }
    std::uint64_t count() const noexcept { return count_; }
    double sum() const noexcept { return sum_; }

private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

/// `count` bounds start, start*factor, start*factor^2, ... (start > 0, factor > 1).
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

/// Bounds for batch latency in seconds: 1 ms to 10 s, 1-2.5-5 steps.
std::vector<double> latency_buckets_seconds();

/// One current value out of a fixed set of states, exported as one gauge per state
/// (`name{state="connected"} 1`, the others 0), the usual Prometheus "state set".
class state_set {
public:
    /// Sets the state with index `i` (in registration order) to 1 and the others to 0.
    void set(std::size_t i) noexcept;
    /// Index of the current state.
    std::size_t current() const noexcept { return current_; }
    std::size_t size() const noexcept { return gauges_.size(); }

private:
    friend class registry;
    std::vector<gauge*> gauges_;
    std::size_t current_ = 0;
};

/// Owns every metric of the process and renders them. Registration happens at startup
/// (it allocates and validates); the returned references stay valid as long as the
/// registry. Invalid names, label names or a conflicting re-registration throw
/// std::invalid_argument: they are programming errors.
class registry {
public:
    registry();
    ~registry();
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    /// A counter; `name` must start with "sqs2pg_" and should end with "_total".
    /// Several label sets may share one name (one family, one HELP/TYPE).
    counter& add_counter(std::string_view name, std::string_view help, label_list labels = {});
    gauge& add_gauge(std::string_view name, std::string_view help, label_list labels = {});
    histogram& add_histogram(std::string_view name, std::string_view help,
                             std::vector<double> upper_bounds, label_list labels = {});
    /// A counter whose value is kept elsewhere and read by `read` at each render (so a
    /// count is kept once, not mirrored). `read` must stay callable while rendering can
    /// happen.
    void add_counter_view(std::string_view name, std::string_view help,
                          std::function<std::uint64_t()> read, label_list labels = {});
    /// A gauge read at each render, as add_counter_view.
    void add_gauge_view(std::string_view name, std::string_view help,
                        std::function<std::int64_t()> read, label_list labels = {});
    /// A state set (as add_state_set) whose current state's index `read` gives at each
    /// render.
    void add_state_set_view(std::string_view name, std::string_view help, std::string_view label,
                            std::initializer_list<std::string_view> states,
                            std::function<std::size_t()> read, label_list labels = {});
    /// Gauges `name{labels..., label="<state>"}` for every entry of `states`; the first
    /// state is current initially.
    state_set& add_state_set(std::string_view name, std::string_view help, std::string_view label,
                             std::initializer_list<std::string_view> states,
                             label_list labels = {});

    /// The whole exposition (text format 0.0.4), families in registration order.
    std::string render() const;
    /// Appends the exposition to `out` (reuse one buffer across scrapes).
    void render(std::string& out) const;

private:
    struct family;
    family& family_for(std::string_view name, std::string_view help, int type);
    std::vector<std::unique_ptr<family>> families_;
    std::vector<std::unique_ptr<state_set>> state_sets_;
};

/// `sqs2pg_build_info{version="..."} 1`.
void add_build_info(registry& reg, std::string_view version);

} // namespace sqs2pg::ops
