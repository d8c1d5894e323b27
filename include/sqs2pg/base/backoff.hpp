// Capped exponential backoff with jitter, sans-io: the caller supplies the random numbers
// (tests are deterministic). The one pacing rule every retry loop in sqs2pg uses: the
// SQS client's retries, the Postgres reconnects, the pipeline's write, receive, delete
// and dead-letter retries, and the wait for Postgres at startup.
#pragma once

#include <chrono>
#include <cstdint>

namespace sqs2pg::base {

/// How a delay is drawn below its ceiling.
enum class jitter : std::uint8_t {
    none,  ///< the ceiling itself
    equal, ///< uniform in [ceiling/2, ceiling]: spread out, but never an immediate repeat
    full,  ///< uniform in [0, ceiling] (AWS's "full jitter": least contention)
};

struct backoff_config {
    std::chrono::milliseconds initial{100}; ///< the first ceiling
    std::chrono::milliseconds max{30'000};  ///< no ceiling grows beyond this
    jitter spread = jitter::equal;
};

/// min(max, initial * 2^doublings); never below 1 ms, never overflows.
std::chrono::milliseconds backoff_ceiling(const backoff_config& cfg, unsigned doublings) noexcept;

/// A delay under backoff_ceiling(cfg, doublings), drawn with `random` (uniform 64-bit).
std::chrono::milliseconds backoff_delay(const backoff_config& cfg, unsigned doublings,
                                        std::uint64_t random) noexcept;

/// The delays of one retry loop: the n-th call to next() (0-based) draws under
/// backoff_ceiling(cfg, n); reset() after a success starts over.
class backoff {
public:
    explicit backoff(backoff_config cfg = {}) noexcept
        : cfg_(cfg) {}

    /// The next delay; `random` is a uniformly distributed 64-bit number.
    std::chrono::milliseconds next(std::uint64_t random) noexcept;

    /// Back to the first delay.
    void reset() noexcept { attempts_ = 0; }

    /// Delays drawn since the last reset.
    unsigned attempts() const noexcept { return attempts_; }

    const backoff_config& config() const noexcept { return cfg_; }

private:
    backoff_config cfg_;
    unsigned attempts_ = 0;
};

} // namespace sqs2pg::base
