// Capped exponential backoff with equal jitter.
#include <sqs2pg/pg/backoff.hpp>

#include <algorithm>

namespace sqs2pg::pg {

std::chrono::milliseconds backoff::next(double unit) noexcept {
    using std::chrono::milliseconds;
    const auto cap = std::max<milliseconds::rep>(cfg_.max.count(), 1);
    milliseconds::rep d = std::max<milliseconds::rep>(cfg_.initial.count(), 1);
    for (unsigned i = 0; i < attempt_ && d < cap; ++i)
        d *= 2;
    d = std::min(d, cap);
    if (attempt_ < 64)
        ++attempt_;
    unit = std::clamp(unit, 0.0, 1.0);
    const auto half = d / 2;
    return milliseconds(half +
                        static_cast<milliseconds::rep>(unit * static_cast<double>(d - half)));
}

} // namespace sqs2pg::pg
