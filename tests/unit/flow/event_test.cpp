// flow::event on a real io_context: waits end at their time limit, on notify_all() (which
// wakes only the waits under way) or on the caller's cancellation, and a cancelled wait
// leaves nothing behind for a later notify_all() to touch.
#include <sqs2pg/flow/event.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace sqs2pg::flow {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Spawns `n` timed waits that record when they ended (as an offset from `start`).
void spawn_waits(asio::io_context& ioc, event& e, clock_type::time_point start,
                 std::vector<clock_type::duration> limits,
                 std::vector<clock_type::duration>& ended) {
    ended.assign(limits.size(), clock_type::duration::max());
    for (std::size_t i = 0; i < limits.size(); ++i)
        asio::co_spawn(
            ioc,
            [&e, &ended, start, limit = limits[i], i]() -> asio::awaitable<void> {
                co_await e.async_wait_until(start + limit);
                ended[i] = clock_type::now() - start;
            },
            asio::detached);
}

TEST(Event, ATimedWaitEndsAtItsLimit) {
    asio::io_context ioc;
    event e(ioc.get_executor());
    std::vector<clock_type::duration> ended;
    const auto start = clock_type::now();
    spawn_waits(ioc, e, start, {50ms, 150ms}, ended);
    ioc.run_for(2s);
    EXPECT_GE(ended[0], 50ms);
    EXPECT_LT(ended[0], 150ms);
    EXPECT_GE(ended[1], 150ms);
    EXPECT_LT(ended[1], 1s);
}

TEST(Event, NotifyAllWakesTimedAndUntimedWaitsUnderWayOnly) {
    asio::io_context ioc;
    event e(ioc.get_executor());
    std::vector<clock_type::duration> ended;
    const auto start = clock_type::now();
    spawn_waits(ioc, e, start, {10s, 20s, 30s}, ended);
    bool untimed_woke = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            co_await e.async_wait();
            untimed_woke = true;
        },
        asio::detached);
    bool late_woke = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            asio::steady_timer t(ioc, 100ms);
            co_await t.async_wait(asio::use_awaitable);
            e.notify_all();
            // A wait started after the notification is not woken by it.
            co_await e.async_wait_until(clock_type::now() + 300ms);
            late_woke = true;
        },
        asio::detached);
    ioc.run_for(200ms);
    for (const auto& d : ended) {
        EXPECT_GE(d, 100ms);
        EXPECT_LT(d, 200ms);
    }
    EXPECT_TRUE(untimed_woke);
    EXPECT_FALSE(late_woke);
    ioc.run_for(1s);
    EXPECT_TRUE(late_woke); // at its own limit
}

TEST(Event, ACancelledWaitLeavesNothingForTheNextNotification) {
    asio::io_context ioc;
    event e(ioc.get_executor());
    bool cancelled_returned = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            using namespace asio::experimental::awaitable_operators;
            asio::steady_timer t(ioc, 50ms);
            // The caller's own limit wins and cancels the event wait.
            co_await (e.async_wait_until(clock_type::now() + 10s) ||
                      t.async_wait(asio::as_tuple(asio::use_awaitable)));
            cancelled_returned = true;
            e.notify_all(); // the cancelled wait's timer is gone: nothing may touch it
        },
        asio::detached);
    ioc.run_for(1s);
    EXPECT_TRUE(cancelled_returned);
    // And a wait after all this still works.
    std::vector<clock_type::duration> ended;
    ioc.restart();
    const auto start = clock_type::now();
    spawn_waits(ioc, e, start, {20ms}, ended);
    ioc.run_for(1s);
    EXPECT_GE(ended[0], 20ms);
    EXPECT_LT(ended[0], 500ms);
}

} // namespace
} // namespace sqs2pg::flow
