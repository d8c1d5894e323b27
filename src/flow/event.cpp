// The event: a never-expiring timer whose waits are cancelled to wake the waiters, and
// one timer per wait with a time limit, cancelled the same way.
#include <sqs2pg/flow/event.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace sqs2pg::flow {

namespace asio = boost::asio;

event::event(asio::any_io_executor ex)
    : timer_(ex, asio::steady_timer::time_point::max()) {}

void event::notify_all() {
    timer_.cancel();
    for (auto* t : timed_)
        t->cancel();
}

asio::awaitable<void> event::async_wait() {
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> event::async_wait_for(std::chrono::steady_clock::duration timeout) {
    co_await async_wait_until(std::chrono::steady_clock::now() + timeout);
}

asio::awaitable<void> event::async_wait_until(std::chrono::steady_clock::time_point until) {
    if (until == std::chrono::steady_clock::time_point::max()) {
        co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return;
    }
    asio::steady_timer limit(timer_.get_executor(), until);
    // Registered for exactly as long as the wait: also when the frame is destroyed while
    // suspended (the io_context going away).
    struct registration {
        std::vector<asio::steady_timer*>& list;
        asio::steady_timer* timer;
        ~registration() { std::erase(list, timer); }
    };
    timed_.push_back(&limit);
    registration r{timed_, &limit};
    co_await limit.async_wait(asio::as_tuple(asio::use_awaitable));
}

} // namespace sqs2pg::flow
