// Reconnect delays grow exponentially up to the cap, with jitter in [d/2, d].
#include <sqs2pg/pg/backoff.hpp>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using sqs2pg::pg::backoff;

TEST(Backoff, DoublesUpToTheCap) {
    backoff b({100ms, 1000ms});
    EXPECT_EQ(b.next(1.0), 100ms);
    EXPECT_EQ(b.next(1.0), 200ms);
    EXPECT_EQ(b.next(1.0), 400ms);
    EXPECT_EQ(b.next(1.0), 800ms);
    EXPECT_EQ(b.next(1.0), 1000ms);
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(b.next(1.0), 1000ms);
}

TEST(Backoff, JitterStaysWithinTheUpperHalf) {
    backoff b({100ms, 1000ms});
    EXPECT_EQ(b.next(0.0), 50ms);
    EXPECT_EQ(b.next(0.5), 150ms);
    for (int i = 0; i < 10; ++i)
        (void)b.next(0.0);
    EXPECT_EQ(b.next(0.0), 500ms);
}

TEST(Backoff, ResetStartsOver) {
    backoff b({100ms, 30000ms});
    for (int i = 0; i < 8; ++i)
        (void)b.next(1.0);
    EXPECT_EQ(b.attempts(), 8u);
    b.reset();
    EXPECT_EQ(b.next(1.0), 100ms);
}

} // namespace
