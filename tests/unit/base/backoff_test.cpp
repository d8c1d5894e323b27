// The one backoff: ceilings double up to the cap, each jitter stays in its range, and a
// reset starts over.
#include <sqs2pg/base/backoff.hpp>

#include <gtest/gtest.h>

#include <limits>

namespace sqs2pg::base {
namespace {

using namespace std::chrono_literals;
constexpr auto top = std::numeric_limits<std::uint64_t>::max();

TEST(Backoff, CeilingsDoubleUpToTheCapWithoutOverflow) {
    const backoff_config c{100ms, 1000ms, jitter::none};
    const long expected[] = {100, 200, 400, 800, 1000, 1000};
    for (unsigned i = 0; i < std::size(expected); ++i)
        EXPECT_EQ(backoff_ceiling(c, i).count(), expected[i]) << i;
    EXPECT_EQ(backoff_ceiling(c, 100'000), 1000ms);
    EXPECT_EQ(backoff_ceiling({0ms, 0ms}, 3), 1ms); // never a zero ceiling
}

TEST(Backoff, EqualJitterStaysInTheUpperHalf) {
    backoff b({100ms, 1000ms, jitter::equal});
    EXPECT_EQ(b.next(0), 50ms);   // [50, 100]
    EXPECT_EQ(b.next(50), 150ms); // [100, 200]: 100 + 50 % 101
    for (std::uint64_t r : {std::uint64_t{1}, std::uint64_t{12345}, top}) {
        for (unsigned n = 0; n < 8; ++n) {
            const auto d = backoff_delay(b.config(), n, r);
            EXPECT_GE(d, backoff_ceiling(b.config(), n) / 2);
            EXPECT_LE(d, backoff_ceiling(b.config(), n));
        }
    }
}

TEST(Backoff, FullJitterSpansZeroToTheCeiling) {
    const backoff_config c{100ms, 1000ms, jitter::full};
    EXPECT_EQ(backoff_delay(c, 0, 0), 0ms);
    EXPECT_EQ(backoff_delay(c, 0, 100), 100ms);
    EXPECT_EQ(backoff_delay(c, 0, 101), 0ms);
    EXPECT_EQ(backoff_delay(c, 2, 399), 399ms);
    EXPECT_LE(backoff_delay(c, 7, top), 1000ms);
}

TEST(Backoff, NoJitterIsTheCeiling) {
    backoff b({500ms, 5000ms, jitter::none});
    EXPECT_EQ(b.next(top), 500ms);
    EXPECT_EQ(b.next(0), 1000ms);
    EXPECT_EQ(b.next(7), 2000ms);
}

TEST(Backoff, ResetStartsOver) {
    backoff b({100ms, 30000ms, jitter::none});
    for (int i = 0; i < 8; ++i)
        (void)b.next(0);
    EXPECT_EQ(b.attempts(), 8u);
    b.reset();
    EXPECT_EQ(b.attempts(), 0u);
    EXPECT_EQ(b.next(0), 100ms);
}

} // namespace
} // namespace sqs2pg::base
