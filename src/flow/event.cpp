// The event: a never-expiring timer whose waits are cancelled to wake the waiters.
#include <sqs2pg/flow/event.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace sqs2pg::flow {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

event::event(asio::any_io_executor ex)
    : timer_(ex, asio::steady_timer::time_point::max()) {}

void event::notify_all() {
    timer_.cancel();
}

asio::awaitable<void> event::async_wait() {
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> event::async_wait_for(std::chrono::steady_clock::duration timeout) {
    asio::steady_timer deadline(timer_.get_executor(), timeout);
    co_await (timer_.async_wait(asio::as_tuple(asio::use_awaitable)) ||
              deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
}

asio::awaitable<void> event::async_wait_until(std::chrono::steady_clock::time_point until) {
    if (until == std::chrono::steady_clock::time_point::max()) {
        co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return;
    }
    asio::steady_timer deadline(timer_.get_executor(), until);
    co_await (timer_.async_wait(asio::as_tuple(asio::use_awaitable)) ||
              deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
}

} // namespace sqs2pg::flow
