// Reconnect pacing: capped exponential backoff with jitter, sans-io (the caller supplies
// the random numbers, so tests are deterministic).
#pragma once

#include <chrono>

namespace sqs2pg::pg {

struct backoff_config {
    std::chrono::milliseconds initial{100}; ///< the first delay's upper bound
    std::chrono::milliseconds max{30000};   ///< no delay is longer than this
};

/// Delay n (0-based) is drawn from [d/2, d] with d = min(max, initial * 2^n): "equal
/// jitter", so reconnecting clients spread out but none retries immediately in a loop.
class backoff {
public:
    explicit backoff(backoff_config cfg) noexcept
        : cfg_(cfg) {}

    /// The next delay; `unit` is a random number in [0, 1).
    std::chrono::milliseconds next(double unit) noexcept;

    /// Back to the first delay (after a successful connection).
    void reset() noexcept { attempt_ = 0; }

    unsigned attempts() const noexcept { return attempt_; }

private:
    backoff_config cfg_;
    unsigned attempt_ = 0;
};

} // namespace sqs2pg::pg
