// The latency recorder's quantiles stay within its stated relative error of the exact
// nearest-rank quantiles, for several sample shapes, in constant memory.
#include <sqs2pg/ops/latency.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace sqs2pg::ops {
namespace {

double exact_quantile_ms(std::vector<std::uint64_t> v, double q) {
    std::sort(v.begin(), v.end());
    const auto rank = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))));
    return static_cast<double>(v[rank - 1]) / 1000.0;
}

void expect_close_to_exact(const std::vector<std::uint64_t>& samples) {
    latency_recorder r;
    for (auto us : samples)
        r.record_us(us);
    ASSERT_EQ(r.count(), samples.size());
    for (double q : {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0}) {
        const double exact = exact_quantile_ms(samples, q);
        const double got = *r.quantile_ms(q);
        EXPECT_LE(std::abs(got - exact), exact * latency_recorder::relative_error + 1e-9)
            << "q=" << q << " exact=" << exact << " got=" << got;
    }
}

TEST(Latency, EmptyRecorderHasNoQuantiles) {
    latency_recorder r;
    EXPECT_FALSE(r.quantile_ms(0.5).has_value());
    EXPECT_FALSE(r.mean_ms().has_value());
    EXPECT_EQ(r.count(), 0u);
}

TEST(Latency, SmallValuesAreExact) {
    latency_recorder r;
    for (std::uint64_t us = 1; us <= 100; ++us)
        r.record_us(us);
    EXPECT_DOUBLE_EQ(*r.quantile_ms(0.5), 0.050);
    EXPECT_DOUBLE_EQ(*r.quantile_ms(0.99), 0.099);
    EXPECT_DOUBLE_EQ(*r.quantile_ms(1.0), 0.100);
    EXPECT_DOUBLE_EQ(*r.mean_ms(), 0.0505);
}

TEST(Latency, SingleValueIsReportedExactly) {
    latency_recorder r;
    for (int i = 0; i < 10; ++i)
        r.record(std::chrono::milliseconds(37));
    EXPECT_DOUBLE_EQ(*r.quantile_ms(0.5), 37.0);
    EXPECT_DOUBLE_EQ(*r.quantile_ms(0.99), 37.0);
}

TEST(Latency, UniformSamplesWithinError) {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::uint64_t> d(1, 2'000'000);
    std::vector<std::uint64_t> v(50'000);
    for (auto& x : v)
        x = d(rng);
    expect_close_to_exact(v);
}

TEST(Latency, LogNormalSamplesWithinError) {
    // Typical latency shape: most around a few ms, a long tail to seconds.
    std::mt19937_64 rng(7);
    std::lognormal_distribution<double> d(std::log(5000.0), 1.2);
    std::vector<std::uint64_t> v(100'000);
    for (auto& x : v)
        x = static_cast<std::uint64_t>(d(rng)) + 1;
    expect_close_to_exact(v);
}

TEST(Latency, BimodalSamplesWithinError) {
    std::vector<std::uint64_t> v;
    for (int i = 0; i < 980; ++i)
        v.push_back(2'000 + static_cast<std::uint64_t>(i)); // ~2 ms
    for (int i = 0; i < 20; ++i)
        v.push_back(900'000 + static_cast<std::uint64_t>(i) * 10'000); // ~1 s stragglers
    expect_close_to_exact(v);
    latency_recorder r;
    for (auto us : v)
        r.record_us(us);
    EXPECT_LT(*r.quantile_ms(0.5), 3.0);
    EXPECT_GT(*r.quantile_ms(0.99), 900.0);
}

TEST(Latency, BucketsTileTheRangeWithoutGaps) {
    EXPECT_EQ(latency_recorder::bucket_low(0), 0u);
    for (std::size_t i = 1; i < latency_recorder::bucket_count; ++i) {
        ASSERT_EQ(latency_recorder::bucket_low(i), latency_recorder::bucket_high(i - 1) + 1) << i;
        const auto lo = latency_recorder::bucket_low(i);
        const auto hi = latency_recorder::bucket_high(i);
        ASSERT_EQ(latency_recorder::index_of(lo), i);
        ASSERT_EQ(latency_recorder::index_of(hi), i);
        // The width stays within 1/128 of the values it holds.
        ASSERT_LE(static_cast<double>(hi - lo), static_cast<double>(lo) / 128.0) << i;
    }
    EXPECT_EQ(latency_recorder::bucket_high(latency_recorder::bucket_count - 1),
              latency_recorder::max_us);
}

TEST(Latency, ClampsNegativeAndHugeDurations) {
    latency_recorder r;
    r.record(std::chrono::nanoseconds(-5));
    r.record(std::chrono::hours(24 * 365));
    EXPECT_EQ(r.count(), 2u);
    EXPECT_DOUBLE_EQ(*r.quantile_ms(0.0), 0.0);
    EXPECT_DOUBLE_EQ(*r.quantile_ms(1.0), static_cast<double>(latency_recorder::max_us) / 1000);
}

TEST(Latency, NanosecondsRoundToTheNearestMicrosecond) {
    latency_recorder r;
    r.record(std::chrono::nanoseconds(999'600));
    EXPECT_DOUBLE_EQ(*r.quantile_ms(0.5), 1.0);
}

TEST(Latency, MemoryDoesNotGrowWithSamples) {
    // The recorder is a fixed array: its size is a compile-time constant and ten
    // million samples change nothing but the counts.
    static_assert(sizeof(latency_recorder) < 40 * 1024);
    latency_recorder r;
    for (std::uint64_t i = 0; i < 10'000'000; ++i)
        r.record_us(1000 + i % 5000);
    EXPECT_EQ(r.count(), 10'000'000u);
    EXPECT_NEAR(*r.quantile_ms(0.5), 3.5, 3.5 * latency_recorder::relative_error);
}

TEST(Latency, MergeEqualsRecordingEverythingInOne) {
    latency_recorder a;
    latency_recorder b;
    latency_recorder all;
    for (std::uint64_t us = 1; us < 100'000; us += 7) {
        (us % 2 ? a : b).record_us(us);
        all.record_us(us);
    }
    a.merge(b);
    EXPECT_EQ(a.count(), all.count());
    for (double q : {0.0, 0.5, 0.99, 1.0})
        EXPECT_DOUBLE_EQ(*a.quantile_ms(q), *all.quantile_ms(q));
    EXPECT_DOUBLE_EQ(*a.mean_ms(), *all.mean_ms());
}

} // namespace
} // namespace sqs2pg::ops
