// Capped exponential backoff: the ceiling doubles per attempt up to the cap.
#include <sqs2pg/base/backoff.hpp>

#include <algorithm>

namespace sqs2pg::base {

using std::chrono::milliseconds;

milliseconds backoff_ceiling(const backoff_config& cfg, unsigned doublings) noexcept {
    const auto cap = std::max<milliseconds::rep>(cfg.max.count(), 1);
    auto value = std::max<milliseconds::rep>(cfg.initial.count(), 1);
    // Stop doubling once past the cap (also keeps the value from overflowing).
    for (unsigned i = 0; i < doublings && value < cap; ++i)
        value *= 2;
    return milliseconds(std::min(value, cap));
}

milliseconds backoff_delay(const backoff_config& cfg, unsigned doublings,
                           std::uint64_t random) noexcept {
    const auto ceiling = static_cast<std::uint64_t>(backoff_ceiling(cfg, doublings).count());
    switch (cfg.spread) {
    case jitter::none:
        return milliseconds(static_cast<milliseconds::rep>(ceiling));
    case jitter::full:
        return milliseconds(static_cast<milliseconds::rep>(random % (ceiling + 1)));
    case jitter::equal:
        break;
    }
    const std::uint64_t half = ceiling / 2;
    return milliseconds(static_cast<milliseconds::rep>(half + random % (ceiling - half + 1)));
}

milliseconds backoff::next(std::uint64_t random) noexcept {
    const auto d = backoff_delay(cfg_, attempts_, random);
    if (attempts_ < 64)
        ++attempts_;
    return d;
}

} // namespace sqs2pg::base
