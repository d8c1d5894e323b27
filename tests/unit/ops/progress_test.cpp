// The progress line: counts, rate units, ETA (unknown without a total or a rate),
// growing totals; the writer redraws in place on a terminal and stays silent otherwise.
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/ops/progress.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace sqs2pg::ops {
namespace {

using namespace std::chrono_literals;

TEST(Progress, CountsGetThousandsSeparators) {
    EXPECT_EQ(format_count(0), "0");
    EXPECT_EQ(format_count(999), "999");
    EXPECT_EQ(format_count(1000), "1,000");
    EXPECT_EQ(format_count(1234567), "1,234,567");
    EXPECT_EQ(format_count(100000), "100,000");
}

TEST(Progress, RatesUseCompactUnits) {
    EXPECT_EQ(format_rate(0), "0 msgs/s");
    EXPECT_EQ(format_rate(-3), "0 msgs/s");
    EXPECT_EQ(format_rate(3.46), "3.5 msgs/s");
    EXPECT_EQ(format_rate(850.2), "850 msgs/s");
    EXPECT_EQ(format_rate(999.4), "999 msgs/s");
    EXPECT_EQ(format_rate(999.6), "1.0k msgs/s");
    EXPECT_EQ(format_rate(12'345), "12.3k msgs/s");
    EXPECT_EQ(format_rate(123'456), "123k msgs/s");
    EXPECT_EQ(format_rate(1'234'567), "1.2M msgs/s");
}

TEST(Progress, DurationsReadLikeAClock) {
    EXPECT_EQ(format_duration(0s), "0s");
    EXPECT_EQ(format_duration(42s), "42s");
    EXPECT_EQ(format_duration(185s), "3m05s");
    EXPECT_EQ(format_duration(3720s), "1h02m");
    EXPECT_EQ(format_duration(100h), ">99h");
}

TEST(Progress, EtaNeedsATotalAndARate) {
    EXPECT_FALSE(estimate_remaining(10, std::nullopt, 100).has_value());
    EXPECT_FALSE(estimate_remaining(10, 100, 0).has_value());
    EXPECT_EQ(estimate_remaining(10, 100, 30), 3s); // 90 / 30
    EXPECT_EQ(estimate_remaining(10, 101, 30), 4s); // rounded up
    EXPECT_EQ(estimate_remaining(150, 100, 0), 0s); // past the total: done
}

TEST(Progress, LineWithTotal) {
    EXPECT_EQ(format_progress(1234, 9000, 2345, 12s),
              "1,234 / ~9,000 msgs (13%)  2.3k msgs/s  elapsed 12s  ETA 4s");
}

TEST(Progress, LineWithUnknownTotalOrRate) {
    EXPECT_EQ(format_progress(50, std::nullopt, 25, 2s),
              "50 / ? msgs  25 msgs/s  elapsed 2s  ETA --");
    EXPECT_EQ(format_progress(0, 100, 0, 0s), "0 / ~100 msgs (0%)  0 msgs/s  elapsed 0s  ETA --");
}

TEST(Progress, TotalBelowDoneShowsDone) {
    // The queue's counts are approximate: done can pass the first estimate.
    EXPECT_EQ(format_progress(120, 100, 10, 12s),
              "120 / ~120 msgs (100%)  10 msgs/s  elapsed 12s  ETA 0s");
    EXPECT_EQ(format_progress(0, 0, 0, 0s), "0 / ~0 msgs (100%)  0 msgs/s  elapsed 0s  ETA 0s");
}

TEST(Progress, RateFollowsTheRecentWindow) {
    rate_meter m(5s);
    const auto t0 = progress_clock::time_point{};
    EXPECT_EQ(m.rate(), 0);
    m.sample(t0, 0);
    EXPECT_EQ(m.rate(), 0); // one point: no rate yet
    for (int s = 1; s <= 10; ++s)
        m.sample(t0 + std::chrono::seconds(s), static_cast<std::uint64_t>(s) * 100);
    EXPECT_DOUBLE_EQ(m.rate(), 100);
    // The speed doubles: after a window the rate shows the new speed, not the average.
    for (int s = 11; s <= 20; ++s)
        m.sample(t0 + std::chrono::seconds(s), 1000 + static_cast<std::uint64_t>(s - 10) * 200);
    EXPECT_DOUBLE_EQ(m.rate(), 200);
}

TEST(Progress, RateMeterMemoryIsBounded) {
    rate_meter m(std::chrono::hours(1));
    const auto t0 = progress_clock::time_point{};
    for (std::uint64_t i = 0; i < 100'000; ++i)
        m.sample(t0 + std::chrono::milliseconds(i), i);
    EXPECT_NEAR(m.rate(), 1000, 1e-6);
}

struct captured_file {
    char* buf = nullptr;
    std::size_t len = 0;
    std::FILE* f = open_memstream(&buf, &len);
    std::string text() {
        std::fflush(f);
        return std::string(buf, len);
    }
    ~captured_file() {
        std::fclose(f);
        std::free(buf);
    }
};

TEST(ProgressDisplay, SilentWhenNotATerminal) {
    captured_file out;
    progress_display d(out.f); // a memstream is no TTY
    EXPECT_FALSE(d.enabled());
    const auto t0 = progress_clock::now();
    d.update(t0, 1, 10);
    d.finish(t0 + 1s, 10, 10);
    EXPECT_EQ(out.text(), "");
}

TEST(ProgressDisplay, RedrawsInPlaceAndEndsWithNewline) {
    captured_file out;
    progress_display d(out.f, true);
    const auto t0 = progress_clock::time_point{} + 1h;
    d.update(t0, 0, 200);
    d.update(t0 + 50ms, 5, 200); // throttled: within 200 ms of the last draw
    d.update(t0 + 1s, 100, 200);
    d.finish(t0 + 2s, 200, 200);
    d.update(t0 + 3s, 300, 300); // after finish: ignored
    const auto text = out.text();
    EXPECT_EQ(text, "\r0 / ~200 msgs (0%)  0 msgs/s  elapsed 0s  ETA --"
                    "\r100 / ~200 msgs (50%)  100 msgs/s  elapsed 1s  ETA 1s"
                    "\r200 / ~200 msgs (100%)  100 msgs/s  elapsed 2s  ETA 0s\n");
}

TEST(ProgressDisplay, ShorterLinePadsOverTheLongerOne) {
    captured_file out;
    progress_display d(out.f, true);
    const auto t0 = progress_clock::time_point{} + 1h;
    d.update(t0, 1000, 100'000);
    d.update(t0 + 1s, 1001, std::nullopt);
    const auto text = out.text();
    const auto second = text.substr(text.rfind('\r') + 1);
    const auto first = text.substr(1, text.rfind('\r') - 1);
    EXPECT_EQ(second.size(), first.size());
    EXPECT_TRUE(second.starts_with("1,001 / ? msgs"));
    EXPECT_EQ(second.find_last_not_of(' ') + 1, std::string("1,001 / ? msgs  1.0 msgs/s  "
                                                            "elapsed 1s  ETA --")
                                                    .size());
}

TEST(ProgressDisplay, LogLinesClearTheProgressLineAndItComesBack) {
    captured_file out;
    {
        progress_display d(out.f, true);
        configure_logging(level::info, log_format::text, out.f);
        const auto t0 = progress_clock::time_point{} + 1h;
        d.update(t0, 1, 10);
        const auto drawn = out.text();
        log(level::info, "sqs.retry");
        const auto after = out.text().substr(drawn.size());
        const std::string blank = "\r" + std::string(drawn.size() - 1, ' ') + "\r";
        ASSERT_TRUE(after.starts_with(blank)) << after;
        EXPECT_NE(after.find("sqs.retry\n"), std::string::npos);
        EXPECT_TRUE(after.ends_with(drawn)) << after; // redrawn below the log line
    }
    // The display is gone: logging no longer touches its line.
    const auto before = out.text().size();
    log(level::info, "later");
    EXPECT_EQ(out.text().substr(before).find('\r'), std::string::npos);
    configure_logging(level::info, log_format::json, stderr);
}

} // namespace
} // namespace sqs2pg::ops
