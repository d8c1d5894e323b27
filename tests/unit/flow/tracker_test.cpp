// The tracker accounts bytes exactly, keeps duplicate deliveries apart, extends
// visibility half way through the window and never past SQS's 12 hour cap.
#include <sqs2pg/flow/tracker.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::flow {
namespace {

using namespace std::chrono_literals;

TEST(Tracker, CountsBytesUntilRemoved) {
    inflight_tracker tr(30s);
    const auto t0 = clock::time_point{} + 1h;
    const auto a = tr.add("m1", "h1", 100, t0);
    const auto b = tr.add("m2", "h2", 50, t0);
    EXPECT_EQ(tr.bytes(), 150u);
    EXPECT_EQ(tr.size(), 2u);
    tr.remove(a);
    EXPECT_EQ(tr.bytes(), 50u);
    tr.remove(a); // twice is harmless
    EXPECT_EQ(tr.bytes(), 50u);
    tr.remove(b);
    EXPECT_TRUE(tr.empty());
    EXPECT_EQ(tr.bytes(), 0u);
}

TEST(Tracker, DuplicateDeliveriesAreSeparateCopies) {
    inflight_tracker tr(30s);
    const auto t0 = clock::time_point{} + 1h;
    const auto a = tr.add("m1", "old-handle", 10, t0);
    const auto b = tr.add("m1", "new-handle", 10, t0 + 5s);
    EXPECT_NE(a, b);
    EXPECT_EQ(tr.find(a)->receipt_handle, "old-handle");
    EXPECT_EQ(tr.find(b)->receipt_handle, "new-handle");
}

TEST(Tracker, MarkDoneReportsReceiptToCommitLatency) {
    inflight_tracker tr(30s);
    const auto t0 = clock::time_point{} + 1h;
    const auto a = tr.add("m1", "h1", 10, t0);
    EXPECT_EQ(tr.mark_done(a, t0 + 250ms), 250ms);
    EXPECT_TRUE(tr.find(a)->done);
    EXPECT_TRUE(tr.unfinished().empty());
}

TEST(Tracker, ExtendsHalfWayThroughTheWindow) {
    inflight_tracker tr(30s);
    const auto t0 = clock::time_point{} + 1h;
    const auto a = tr.add("m1", "h1", 10, t0);
    EXPECT_EQ(tr.next_extension_due(), t0 + 15s);
    EXPECT_TRUE(tr.due_extensions(t0 + 14s).empty());
    auto due = tr.due_extensions(t0 + 15s);
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].id, a);
    EXPECT_EQ(due[0].receipt_handle, "h1");
    EXPECT_EQ(due[0].visibility, 30s);
    // While the call is under way it is not offered again.
    EXPECT_TRUE(tr.due_extensions(t0 + 16s).empty());
    tr.extended(a, t0 + 15s, 30s);
    EXPECT_EQ(tr.find(a)->visible_at, t0 + 45s);
    EXPECT_EQ(tr.next_extension_due(), t0 + 30s);
}

TEST(Tracker, FailedExtensionIsRetried) {
    inflight_tracker tr(30s);
    const auto t0 = clock::time_point{} + 1h;
    tr.add("m1", "h1", 10, t0);
    ASSERT_EQ(tr.due_extensions(t0 + 20s).size(), 1u);
    tr.extension_failed(1);
    EXPECT_EQ(tr.due_extensions(t0 + 21s).size(), 1u);
}

TEST(Tracker, NeverExtendsPastTwelveHoursAfterReceipt) {
    inflight_tracker tr(5h);
    const auto t0 = clock::time_point{} + 1h;
    const auto a = tr.add("m1", "h1", 10, t0);
    auto now = t0;
    std::chrono::seconds last{};
    for (int i = 0; i < 20; ++i) {
        now = tr.find(a)->visible_at - 150min; // half way through each 5 h window
        auto due = tr.due_extensions(now);
        if (due.empty())
            break;
        last = due[0].visibility;
        EXPECT_LE(now + due[0].visibility, t0 + max_visibility);
        tr.extended(a, now, due[0].visibility);
    }
    EXPECT_EQ(tr.find(a)->visible_at, t0 + max_visibility);
    EXPECT_EQ(last, 270min); // the final extension was shortened to the cap (12 h - 7.5 h)
    EXPECT_TRUE(tr.due_extensions(t0 + max_visibility - 1min).empty());
    EXPECT_EQ(tr.next_extension_due(), clock::time_point::max());
}

TEST(Tracker, ZeroVisibilityNeverSchedulesExtensions) {
    inflight_tracker tr(0s);
    const auto t0 = clock::time_point{} + 1h;
    tr.add("m1", "h1", 10, t0);
    EXPECT_TRUE(tr.due_extensions(t0 + 1h).empty());
    EXPECT_EQ(tr.next_extension_due(), clock::time_point::max());
}

TEST(Tracker, UnfinishedListsWhatMustBeHandedBack) {
    inflight_tracker tr(30s);
    const auto t0 = clock::time_point{} + 1h;
    const auto a = tr.add("m1", "h1", 10, t0);
    const auto b = tr.add("m2", "h2", 10, t0);
    tr.mark_done(a, t0 + 1s);
    const auto left = tr.unfinished();
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].first, b);
    EXPECT_EQ(left[0].second, "h2");
}

} // namespace
} // namespace sqs2pg::flow
