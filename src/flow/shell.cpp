// The drivers' shared shell: wake-ups from the core to the stages' events, and the task
// list with one cancellation signal per task for the hard stop.
#include <sqs2pg/ops/log.hpp>

#include "stages.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <bit>

namespace sqs2pg::flow::detail {

namespace {

template <std::size_t... I>
std::array<event, sizeof...(I)> make_events(const asio::any_io_executor& ex,
                                            std::index_sequence<I...>) {
    return {{((void)I, event(ex))...}};
}

// Every task: a cancelled one sees its calls complete with errors rather than throw at
// its next co_await, so it can still report to the core.
asio::awaitable<void> non_throwing_on_cancel(asio::awaitable<void> task) {
    co_await asio::this_coro::throw_if_cancelled(false);
    co_await std::move(task);
}

} // namespace

sqs::error call_abandoned() {
    sqs::error e;
    e.kind = sqs::errc::cancelled;
    return e;
}

shell::shell(asio::any_io_executor e, flow::core& c, flow::queue& q, flow::sink& s,
             const mask::masker& m, const record::field_map& f, pipeline_metrics& pm)
    : ex(e)
    , core(c)
    , queue(q)
    , sink(s)
    , masker(m)
    , fields(f)
    , metrics(pm)
    , events_(make_events(e, std::make_index_sequence<8>{})) {}

void shell::dispatch() {
    const std::uint32_t w = core.take_wakeups();
    if (w == 0)
        return;
    if (!retries_stopped_ && core.state() != run_state::running) {
        retries_stopped_ = true;
        queue.stop_receive_retries();
    }
    if ((w & wake::cancel) != 0)
        for (auto& s : signals_)
            s.emit(asio::cancellation_type::terminal);
    for (std::uint32_t bits = w & wake::all_stages; bits != 0; bits &= bits - 1)
        events_[static_cast<std::size_t>(std::countr_zero(bits))].notify_all();
}

asio::awaitable<void> shell::wait(std::uint32_t stage, clock::time_point until) {
    co_await events_[static_cast<std::size_t>(std::countr_zero(stage))].async_wait_until(until);
}

void shell::spawn(const char* name, asio::awaitable<void> task) {
    auto it = signals_.emplace(signals_.end());
    ++tasks_running_;
    asio::co_spawn(
        ex, non_throwing_on_cancel(std::move(task)),
        asio::bind_cancellation_slot(it->slot(), [this, name, it](std::exception_ptr e) {
            if (e) {
                std::string what = "unknown exception";
                bool aborted = false;
                try {
                    std::rethrow_exception(e);
                } catch (const boost::system::system_error& x) {
                    aborted = x.code() == asio::error::operation_aborted;
                    what = x.what();
                } catch (const std::exception& x) {
                    what = x.what();
                } catch (...) {
                }
                // A task the hard stop cancelled has simply stopped.
                if (!(aborted && core.state() == run_state::hard_stop))
                    core.fail(errc::internal_error,
                              fmt::format("internal error in the {} task: {}", name, what),
                              clock::now());
            }
            --tasks_running_;
            // The signal's slot is still in use by the finishing operation; drop it once
            // the handler has returned.
            asio::post(ex, [this, it] { signals_.erase(it); });
            dispatch();
            events_[static_cast<std::size_t>(std::countr_zero(wake::shutdown))].notify_all();
        }));
}

} // namespace sqs2pg::flow::detail
