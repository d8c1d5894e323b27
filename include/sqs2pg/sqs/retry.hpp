// Sans-io retry policy of the SQS client: which errors are tried again and how long to
// wait (capped exponential backoff with full jitter).
#pragma once

#include <sqs2pg/base/backoff.hpp>
#include <sqs2pg/sqs/error.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

namespace sqs2pg::sqs {

struct retry_options {
    unsigned max_attempts = 8;                   ///< including the first; 1 = never retry
    std::chrono::milliseconds base_delay{200};   ///< ceiling of the first pause
    std::chrono::milliseconds max_delay{20'000}; ///< no ceiling grows beyond this
};

/// Decides, after a failed attempt, whether and when to try again. Pure and copyable.
class retry_policy {
public:
    explicit retry_policy(retry_options options = {}) noexcept;

    /// Upper bound of the pause after `attempts` failed attempts (>= 1):
    /// min(max_delay, base_delay * 2^(attempts - 1)).
    std::chrono::milliseconds ceiling(unsigned attempts) const noexcept;

    /// The pause before attempt `attempts + 1`, or nullopt to give up and return `e`.
    /// Full jitter: uniform in [0, ceiling(attempts)], drawn from `random` (a uniformly
    /// distributed 64-bit number). Retried: throttling, 5xx, OverLimit; transport errors
    /// and timeouts only when `idempotent` (or when the request provably never left, e.g.
    /// connection refused); an expired session token once, at once (fresh credentials
    /// are fetched for every attempt). Never: cancellation, auth, invalid requests.
    std::optional<std::chrono::milliseconds> next_delay(const error& e, unsigned attempts,
                                                        bool idempotent,
                                                        std::uint64_t random) const noexcept;

    const retry_options& options() const noexcept { return options_; }

private:
    base::backoff_config pacing() const noexcept;

    retry_options options_;
};

} // namespace sqs2pg::sqs
