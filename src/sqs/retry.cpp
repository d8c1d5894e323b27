// Retry decisions of the SQS client: which errors are retried, paced by base::backoff
// with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").
#include <sqs2pg/sqs/retry.hpp>

#include <algorithm>

namespace sqs2pg::sqs {
retry_policy::retry_policy(retry_options options) noexcept
    : options_(options) {
    options_.max_attempts = std::max(options_.max_attempts, 1u);
    options_.base_delay = std::max(options_.base_delay, std::chrono::milliseconds(1));
    options_.max_delay = std::max(options_.max_delay, options_.base_delay);
}

base::backoff_config retry_policy::pacing() const noexcept {
    return {options_.base_delay, options_.max_delay, base::jitter::full};
}

std::chrono::milliseconds retry_policy::ceiling(unsigned attempts) const noexcept {
    return base::backoff_ceiling(pacing(), attempts == 0 ? 0 : attempts - 1);
}

std::optional<std::chrono::milliseconds>
retry_policy::next_delay(const error& e, unsigned attempts, bool idempotent,
                         std::uint64_t random) const noexcept {
    if (attempts >= options_.max_attempts)
        return std::nullopt;
    // The client marks the credentials expired and fetches them for every attempt: one
    // immediate retry picks up a refreshed session token.
    if (e.kind == errc::auth && is_expired_token(e.code) && attempts == 1)
        return std::chrono::milliseconds(0);
    if (!is_retryable(e))
        return std::nullopt;
    const bool may_have_run =
        e.kind == errc::transport || e.kind == errc::timeout ||
        (e.kind == errc::server && e.http_status != 503 && e.code != "ServiceUnavailable");
    if (may_have_run && !idempotent && e.request_sent)
        return std::nullopt;
    return base::backoff_delay(pacing(), attempts == 0 ? 0 : attempts - 1, random);
}

} // namespace sqs2pg::sqs
