// A condition-variable-like wake-up for coroutines on one thread: waiters re-check their
// condition after each wake. It carries no data, so racing it against a timer loses nothing.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <vector>

namespace sqs2pg::flow {

class event {
public:
    explicit event(boost::asio::any_io_executor ex);

    /// Wakes every coroutine waiting now (not later ones: check the condition first).
    void notify_all();

    /// Until the next notify_all() or the caller's cancellation.
    boost::asio::awaitable<void> async_wait();

    /// Until the next notify_all(), `timeout`, or the caller's cancellation.
    boost::asio::awaitable<void> async_wait_for(std::chrono::steady_clock::duration timeout);

    /// Until the next notify_all(), the time `until` (max(): no time limit), or the
    /// caller's cancellation.
    boost::asio::awaitable<void> async_wait_until(std::chrono::steady_clock::time_point until);

private:
    boost::asio::steady_timer timer_; // never expires; notify_all() cancels its waits
    // The timers of the waits with a time limit: each wait is one timer, set to its
    // limit, that notify_all() cancels too. (A race of two timers through `||` cost a
    // parallel group and two coroutine frames per wait.)
    std::vector<boost::asio::steady_timer*> timed_;
};

} // namespace sqs2pg::flow
