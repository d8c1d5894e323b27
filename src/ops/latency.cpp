// Log-linear latency buckets: exact below 128 us, then 128 buckets per power of two.
#include <sqs2pg/ops/latency.hpp>

#include <algorithm>
#include <bit>
#include <cmath>

namespace sqs2pg::ops {

std::size_t latency_recorder::index_of(std::uint64_t us) noexcept {
    us = std::min(us, max_us);
    if (us < sub_count)
        return static_cast<std::size_t>(us);
    // Octave [2^m, 2^(m+1)) splits into sub_count buckets of width 2^(m - sub_bits).
    const unsigned m = static_cast<unsigned>(std::bit_width(us)) - 1;
    const unsigned shift = m - sub_bits;
    return static_cast<std::size_t>(std::uint64_t{shift} * sub_count + (us >> shift));
}

std::uint64_t latency_recorder::bucket_low(std::size_t i) noexcept {
    if (i < 2 * sub_count)
        return i;
    const std::uint64_t octave = i / sub_count; // >= 2
    const std::uint64_t top = i % sub_count + sub_count;
    return top << (octave - 1);
}

std::uint64_t latency_recorder::bucket_high(std::size_t i) noexcept {
    if (i < 2 * sub_count)
        return i;
    const std::uint64_t octave = i / sub_count;
    return bucket_low(i) + (std::uint64_t{1} << (octave - 1)) - 1;
}

void latency_recorder::record(std::chrono::nanoseconds d) noexcept {
    const auto ns = d.count();
    // Round to the nearest microsecond rather than truncating, so 999.6 us reads as 1 ms.
    record_us(ns <= 0 ? 0 : static_cast<std::uint64_t>((ns + 500) / 1000));
}

void latency_recorder::record_us(std::uint64_t us) noexcept {
    us = std::min(us, max_us);
    ++counts_[index_of(us)];
    ++count_;
    sum_us_ += us;
    min_ = std::min(min_, us);
    max_ = std::max(max_, us);
}

std::optional<double> latency_recorder::quantile_ms(double q) const noexcept {
    if (count_ == 0 || std::isnan(q))
        return std::nullopt;
    if (q <= 0)
        return static_cast<double>(min_) / 1000.0;
    if (q >= 1)
        return static_cast<double>(max_) / 1000.0;
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            const auto lo = static_cast<double>(std::max(bucket_low(i), min_));
            const auto hi = static_cast<double>(std::min(bucket_high(i), max_));
            return (lo + (hi - lo) / 2) / 1000.0;
        }
    }
    return static_cast<double>(max_) / 1000.0; // unreachable: counts_ adds up to count_
}

std::optional<double> latency_recorder::mean_ms() const noexcept {
    if (count_ == 0)
        return std::nullopt;
    return static_cast<double>(sum_us_) / static_cast<double>(count_) / 1000.0;
}

void latency_recorder::merge(const latency_recorder& other) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i)
        counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_us_ += other.sum_us_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
}

} // namespace sqs2pg::ops
