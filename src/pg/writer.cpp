// The pipelined writer's public face: construction, async_start, the reconnect loop of
// async_run (with capped, jittered backoff), and the accessors. The rest of it is in
// writer_session.cpp (a session's life) and writer_batches.cpp (async_write).
#include <sqs2pg/ops/log.hpp>

#include "writer_impl.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

namespace sqs2pg::pg {

using detail::cancelled;
using detail::use_tuple;
using namespace asio::experimental::awaitable_operators;

writer::writer(asio::any_io_executor ex, writer_config cfg)
    : impl_(std::make_unique<impl>(std::move(ex), std::move(cfg))) {}

writer::~writer() {
    if (impl_) {
        impl_->observer = nullptr; // whoever listened may be gone already
        impl_->end_session(errc::stopped, false);
    }
}

asio::awaitable<boost::system::result<void>> writer::async_start() {
    impl& m = *impl_;
    if (!m.parsed) {
        m.detail = "invalid table name: " + m.cfg.table;
        co_return errc::invalid_table_name;
    }
    if (m.ready)
        co_return boost::system::result<void>{};
    if (m.stopped)
        co_return errc::stopped;
    co_return co_await m.open_session();
}

asio::awaitable<error_code> writer::async_run() {
    impl& m = *impl_;
    if (!m.parsed)
        co_return errc::invalid_table_name;
    if (m.running)
        co_return asio::error::already_started;
    m.running = true;
    struct running_guard {
        bool& flag;
        ~running_guard() { flag = false; }
    } guard{m.running};

    const auto cs = co_await asio::this_coro::cancellation_state;
    base::backoff delays(m.cfg.reconnect);
    while (true) {
        if (m.stopped)
            co_return errc::stopped;
        if (cancelled(cs)) {
            m.end_session(asio::error::operation_aborted, false);
            co_return asio::error::operation_aborted;
        }
        if (!m.ready) {
            m.conn.reset();
            const auto delay = delays.next(m.rng());
            ops::log(ops::level::info, "pg.reconnecting",
                     {{"attempt", delays.attempts()}, {"delay_ms", delay.count()}});
            asio::steady_timer t(m.ex, delay);
            co_await (t.async_wait(use_tuple) || m.stop_wake.async_wait(use_tuple));
            if (m.stopped || cancelled(cs))
                continue;
            auto r = co_await m.open_session();
            if (!r) {
                if (is_fatal(r.error())) {
                    ops::log(ops::level::error, "pg.reconnect_fatal",
                             {{"error", r.error().message()}, {"detail", m.detail}});
                    co_return r.error();
                }
                ops::log(ops::level::warn, "pg.reconnect_failed",
                         {{"error", r.error().message()}, {"detail", m.detail}});
                continue;
            }
            delays.reset();
            continue;
        }
        const std::uint64_t s = m.session;
        co_await (m.read_loop(s) || m.write_loop(s) || m.prune_loop(s));
        // The session ended: lost (end_session ran), stopped, or we were cancelled.
    }
}

asio::awaitable<batch_outcome> writer::async_write(const batch& b) {
    return impl_->write(b);
}

asio::awaitable<boost::system::result<std::size_t>> writer::async_prune_ledger() {
    return impl_->prune_once();
}

void writer::stop() {
    impl& m = *impl_;
    if (m.stopped)
        return;
    m.stopped = true;
    m.end_session(errc::stopped, false);
    m.ready_wake.cancel();
    m.stop_wake.cancel();
}

void writer::on_connection_change(std::function<void(bool)> f) {
    impl_->observer = std::move(f);
}

bool writer::connected() const noexcept {
    return impl_->ready;
}
std::size_t writer::in_flight() const noexcept {
    return impl_->tracker.in_flight();
}
int writer::backend_pid() const noexcept {
    return impl_->ready ? impl_->conn->backend_pid() : 0;
}
const std::string& writer::error_detail() const noexcept {
    return impl_->detail;
}
const table_names& writer::tables() const noexcept {
    return impl_->names;
}
const writer_stats& writer::stats() const noexcept {
    return impl_->stats;
}

} // namespace sqs2pg::pg
