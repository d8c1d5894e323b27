// Latency recorder for the run summary (p50/p99 receive-to-commit): log-linear buckets
// like HdrHistogram, constant memory for any run length, < 0.4% relative error.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace sqs2pg::ops {

/// Counts durations at microsecond resolution into 128 sub-buckets per power of two.
/// Values below 128 us are exact; above, a quantile is reported as the middle of its
/// bucket, at most 1/256 (0.39%) away from the true sample. Durations above about
/// 12.7 days (2^40 us) are counted as that maximum; negative ones as 0. Memory is the
/// fixed bucket array (about 34 KiB), whatever the number of samples.
class latency_recorder {
public:
    static constexpr unsigned sub_bits = 7;
    static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;
    static constexpr unsigned max_bits = 40;
    static constexpr std::uint64_t max_us = (std::uint64_t{1} << max_bits) - 1;
    static constexpr std::size_t bucket_count = (max_bits - sub_bits + 1) * sub_count;
    /// Upper bound of |reported - true| / true for any quantile of values >= 1 us.
    static constexpr double relative_error = 1.0 / (2 * sub_count);

    void record(std::chrono::nanoseconds d) noexcept;
    void record_us(std::uint64_t us) noexcept;

    std::uint64_t count() const noexcept { return count_; }
    /// Nearest-rank quantile `q` in [0, 1] (q = 0.5 is the median) in milliseconds; nullopt
    /// when nothing was recorded. q = 0 and q = 1 give the exact minimum and maximum.
    std::optional<double> quantile_ms(double q) const noexcept;
    /// Mean in milliseconds (of the clamped values, exact sum); nullopt when empty.
    std::optional<double> mean_ms() const noexcept;
    std::uint64_t min_us() const noexcept { return count_ ? min_ : 0; }
    std::uint64_t max_us_seen() const noexcept { return max_; }

    /// Adds the samples of `other` (e.g. per-stage recorders combined for the summary).
    void merge(const latency_recorder& other) noexcept;

    /// Bucket index of `us` (exposed for tests of the bucket layout).
    static std::size_t index_of(std::uint64_t us) noexcept;
    /// Smallest and largest value that fall into bucket `i`.
    static std::uint64_t bucket_low(std::size_t i) noexcept;
    static std::uint64_t bucket_high(std::size_t i) noexcept;

private:
    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t min_ = max_us;
    std::uint64_t max_ = 0;
    std::uint64_t sum_us_ = 0; // overflows only after 584,000 years of summed latency
};

} // namespace sqs2pg::ops
