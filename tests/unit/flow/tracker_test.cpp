// The tracker accounts bytes exactly, keeps duplicate deliveries apart, never confuses a
// removed copy's ticket with a new one, extends visibility half way through the window in
// due order (without looking at copies that are not due), and never past SQS's 12 h cap.
#include <sqs2pg/flow/tracker.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace sqs2pg::flow {
namespace {

using namespace std::chrono_literals;

const auto t0 = clock::time_point{} + 1h;

held_copy copy_of(std::string id, std::string handle) {
    held_copy c;
    c.message_id = std::move(id);
    c.receipt_handle = std::move(handle);
    return c;
}

TEST(Tracker, CountsBytesUntilRemoved) {
    inflight_tracker tr(30s);
    const auto a = tr.add(copy_of("m1", "h1"), 100, t0);
    const auto b = tr.add(copy_of("m2", "h2"), 50, t0);
    EXPECT_EQ(tr.bytes(), 150u);
    EXPECT_EQ(tr.size(), 2u);
    tr.remove(a);
    EXPECT_EQ(tr.bytes(), 50u);
    tr.remove(a); // twice is harmless
    EXPECT_EQ(tr.bytes(), 50u);
    EXPECT_EQ(tr.find(a), nullptr);
    tr.remove(b);
    EXPECT_TRUE(tr.empty());
    EXPECT_EQ(tr.bytes(), 0u);
}

TEST(Tracker, DuplicateDeliveriesAreSeparateCopies) {
    inflight_tracker tr(30s);
    const auto a = tr.add(copy_of("m1", "old-handle"), 10, t0);
    const auto b = tr.add(copy_of("m1", "new-handle"), 10, t0 + 5s);
    EXPECT_NE(a, b);
    EXPECT_EQ(tr.find(a)->receipt_handle, "old-handle");
    EXPECT_EQ(tr.find(b)->receipt_handle, "new-handle");
}

TEST(Tracker, AReusedSlotGetsANewTicket) {
    inflight_tracker tr(30s);
    const auto a = tr.add(copy_of("m1", "h1"), 10, t0);
    tr.remove(a);
    const auto b = tr.add(copy_of("m2", "h2"), 10, t0);
    EXPECT_NE(a, b);
    EXPECT_EQ(tr.find(a), nullptr); // a late answer about `a` cannot touch `b`
    tr.extended(a, t0, 30s);
    tr.lease_lost(a);
    EXPECT_FALSE(tr.find(b)->lease_lost);
    EXPECT_EQ(tr.find(b)->message_id, "m2");
}

TEST(Tracker, RemovingWipesTheBody) {
    inflight_tracker tr(30s);
    held_copy c = copy_of("m1", "h1");
    c.body = "{\"ip\":\"203.0.113.7\"}";
    const auto a = tr.add(std::move(c), 20, t0);
    EXPECT_EQ(tr.find(a)->body, "{\"ip\":\"203.0.113.7\"}");
    tr.remove(a);
    EXPECT_EQ(tr.find(a), nullptr);
    EXPECT_TRUE(tr.tickets().empty());
}

TEST(Tracker, ExtendsHalfWayThroughTheWindow) {
    inflight_tracker tr(30s);
    const auto a = tr.add(copy_of("m1", "h1"), 10, t0);
    EXPECT_EQ(tr.next_extension_due(), t0 + 15s);
    EXPECT_TRUE(tr.due_extensions(t0 + 14s, 10).empty());
    auto due = tr.due_extensions(t0 + 15s, 10);
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].id, a);
    EXPECT_EQ(due[0].visibility, 30s);
    EXPECT_TRUE(tr.find(a)->extending);
    // While the call is under way it is not offered again.
    EXPECT_TRUE(tr.due_extensions(t0 + 16s, 10).empty());
    tr.extended(a, t0 + 15s, 30s);
    EXPECT_FALSE(tr.find(a)->extending);
    EXPECT_EQ(tr.find(a)->visible_at, t0 + 45s);
    EXPECT_EQ(tr.next_extension_due(), t0 + 30s);
}

TEST(Tracker, DueExtensionsComeInDueOrderAndAtMostMax) {
    inflight_tracker tr(30s);
    std::vector<ticket> t;
    for (int i = 0; i < 25; ++i)
        t.push_back(tr.add(copy_of("m" + std::to_string(i), "h"), 1, t0 + std::chrono::seconds(i)));
    auto first = tr.due_extensions(t0 + 1h, 10);
    ASSERT_EQ(first.size(), 10u);
    for (std::size_t i = 0; i < 10; ++i)
        EXPECT_EQ(first[i].id, t[i]);
    // Extending the first ten puts them behind the others.
    for (const auto& e : first)
        tr.extended(e.id, t0 + 1h, 30s);
    auto next = tr.due_extensions(t0 + 1h, 100);
    ASSERT_EQ(next.size(), 15u);
    EXPECT_EQ(next.front().id, t[10]);
    EXPECT_EQ(tr.next_extension_due(), t0 + 1h + 15s);
}

TEST(Tracker, ScheduleStaysOrderedUnderRandomOperations) {
    // Whatever happens to copies, due_extensions never misses a due copy: compare with
    // a brute-force scan over every copy.
    inflight_tracker tr(40s);
    std::mt19937 rng(7);
    std::vector<ticket> live;
    auto now = t0;
    for (int step = 0; step < 5000; ++step) {
        now += std::chrono::milliseconds(rng() % 3000);
        const int op = static_cast<int>(rng() % 4);
        if (op == 0 || live.empty()) {
            live.push_back(tr.add(copy_of("m", "h"), 1, now));
        } else if (op == 1) {
            const auto i = rng() % live.size();
            tr.remove(live[i]);
            live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
            std::size_t expected = 0;
            for (ticket t : live) {
                const auto* c = tr.find(t);
                if (!c->extending && !c->lease_lost && now >= c->visible_at - 20s &&
                    now + 40s > c->visible_at && c->received_at + max_visibility > now)
                    ++expected;
            }
            const auto due = tr.due_extensions(now, live.size() + 1);
            EXPECT_EQ(due.size(), expected) << step;
            for (const auto& e : due) {
                if (rng() % 3 == 0)
                    tr.extension_failed(e.id);
                else
                    tr.extended(e.id, now, e.visibility);
            }
        }
    }
}

TEST(Tracker, FailedExtensionIsDueAgainAtOnce) {
    inflight_tracker tr(30s);
    const auto a = tr.add(copy_of("m1", "h1"), 10, t0);
    ASSERT_EQ(tr.due_extensions(t0 + 20s, 10).size(), 1u);
    tr.extension_failed(a);
    EXPECT_EQ(tr.next_extension_due(), t0 + 15s);
    EXPECT_EQ(tr.due_extensions(t0 + 21s, 10).size(), 1u);
}

TEST(Tracker, ALostLeaseIsNeverExtendedAgain) {
    inflight_tracker tr(30s);
    const auto a = tr.add(copy_of("m1", "h1"), 10, t0);
    ASSERT_EQ(tr.due_extensions(t0 + 20s, 10).size(), 1u);
    tr.lease_lost(a);
    EXPECT_TRUE(tr.due_extensions(t0 + 1h, 10).empty());
    EXPECT_EQ(tr.next_extension_due(), clock::time_point::max());
    EXPECT_NE(tr.find(a), nullptr); // still held until committed or handed back
}

TEST(Tracker, NeverExtendsPastTwelveHoursAfterReceipt) {
    inflight_tracker tr(5h);
    const auto a = tr.add(copy_of("m1", "h1"), 10, t0);
    auto now = t0;
    std::chrono::seconds last{};
    for (int i = 0; i < 20; ++i) {
        now = tr.find(a)->visible_at - 150min; // half way through each 5 h window
        auto due = tr.due_extensions(now, 10);
        if (due.empty())
            break;
        last = due[0].visibility;
        EXPECT_LE(now + due[0].visibility, t0 + max_visibility);
        tr.extended(a, now, due[0].visibility);
    }
    EXPECT_EQ(tr.find(a)->visible_at, t0 + max_visibility);
    EXPECT_EQ(last, 270min); // the final extension was shortened to the cap (12 h - 7.5 h)
    EXPECT_TRUE(tr.due_extensions(t0 + max_visibility - 1min, 10).empty());
    EXPECT_EQ(tr.next_extension_due(), clock::time_point::max());
}

TEST(Tracker, ZeroVisibilityNeverSchedulesExtensions) {
    inflight_tracker tr(0s);
    tr.add(copy_of("m1", "h1"), 10, t0);
    EXPECT_TRUE(tr.due_extensions(t0 + 1h, 10).empty());
    EXPECT_EQ(tr.next_extension_due(), clock::time_point::max());
}

TEST(Tracker, TicketsListsEveryHeldCopy) {
    inflight_tracker tr(30s);
    const auto a = tr.add(copy_of("m1", "h1"), 10, t0);
    const auto b = tr.add(copy_of("m2", "h2"), 10, t0);
    const auto c = tr.add(copy_of("m3", "h3"), 10, t0);
    tr.remove(b);
    auto all = tr.tickets();
    std::sort(all.begin(), all.end());
    std::vector<ticket> want{a, c};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(all, want);
}

} // namespace
} // namespace sqs2pg::flow
