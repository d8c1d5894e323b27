// The pipeline: a core, the shell its drivers share, and the drivers started as tasks.
// Invariants (kept by the core): a held message is deleted only after its row, reject
// record or dead letter is committed; everything not committed when the run ends is
// handed back with visibility 0; memory is bounded by the bytes held.
#include <sqs2pg/flow/pipeline.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/sqs/batch_plan.hpp>

#include "stages.hpp"

namespace sqs2pg::flow {

namespace {

core_config core_config_of(const pipeline_config& c) {
    core_config k;
    k.drain = c.drain;
    k.dead_letter_queue = c.dead_letter_queue_url.has_value();
    k.dead_letter_fifo = c.dead_letter_queue_url && sqs::is_fifo_queue(*c.dead_letter_queue_url);
    k.batch_size = c.batch_size;
    k.batch_max_delay = c.batch_max_delay;
    k.visibility_timeout = c.visibility_timeout;
    k.max_in_flight_bytes = c.max_in_flight_bytes;
    k.max_batches_in_flight = c.max_batches_in_flight;
    k.max_ack_calls = c.max_ack_calls;
    k.shutdown_grace = c.shutdown_grace;
    k.poll_depth = c.progress;
    // Short polls come back at once when the queue is empty: pace them.
    if (c.wait_time.count() == 0)
        k.empty_poll_pause = std::chrono::milliseconds(25);
    return k;
}

} // namespace

receive_settings receive_settings_of(const pipeline_config& c) {
    receive_settings r;
    r.queue_url = c.queue_url;
    r.dead_letter_queue_url = c.dead_letter_queue_url;
    r.wait_time_seconds = static_cast<int>(c.wait_time.count());
    if (c.send_visibility_timeout)
        r.visibility_timeout = static_cast<int>(c.visibility_timeout.count());
    return r;
}

struct pipeline::impl {
    impl(boost::asio::any_io_executor ex, pipeline_config c, pipeline_parts p)
        : cfg(std::move(c))
        , parts(p)
        , core(core_config_of(cfg), p.sealer, clock::now())
        , metrics(p.registry, core, [&q = p.queue] { return q.client_retries(); })
        , shell(ex, core, p.queue, p.sink, p.masker, cfg.fields, metrics) {}

    pipeline_config cfg;
    pipeline_parts parts;
    flow::core core;
    pipeline_metrics metrics;
    detail::shell shell;
};

pipeline::pipeline(boost::asio::any_io_executor ex, pipeline_config cfg, pipeline_parts parts)
    : impl_(std::make_unique<impl>(std::move(ex), std::move(cfg), parts)) {}

pipeline::~pipeline() {
    impl_->parts.sink.on_connection_change({});
}

boost::asio::awaitable<run_result> pipeline::async_run() {
    impl& m = *impl_;
    const auto& cfg = m.cfg;
    ops::log(ops::level::info, "pipeline.started",
             {{"queue_url", cfg.queue_url},
              {"receivers", cfg.receivers},
              {"batch_size", cfg.batch_size},
              {"batches_in_flight", cfg.max_batches_in_flight},
              {"wait_time_seconds", static_cast<std::int64_t>(cfg.wait_time.count())},
              {"visibility_timeout", static_cast<std::int64_t>(cfg.visibility_timeout.count())},
              {"drain", cfg.drain}});
    m.parts.sink.on_connection_change([&m](bool up) {
        m.core.set_pg_connected(up, clock::now());
        m.shell.dispatch();
    });
    m.core.set_pg_connected(m.parts.sink.connected(), clock::now());
    m.core.take_wakeups();

    auto& s = m.shell;
    for (int i = 0; i < cfg.receivers; ++i)
        s.spawn("receiver", detail::run_receiver(s));
    s.spawn("process", detail::run_process(s));
    s.spawn("batcher", detail::run_writes(s));
    if (cfg.dead_letter_queue_url)
        s.spawn("dead-letter", detail::run_dead_letters(s));
    s.spawn("acker", detail::run_acknowledger(s));
    s.spawn("heartbeat", detail::run_heartbeat(s));
    if (cfg.drain || cfg.progress)
        s.spawn("monitor", detail::run_drain_watch(s, cfg.progress));

    run_result result = co_await detail::run_shutdown(s, cfg.settle_timeout);
    m.parts.sink.on_connection_change({});
    co_return result;
}

void pipeline::request_stop(std::string_view reason) {
    impl_->core.request_stop(reason, clock::now());
    impl_->shell.dispatch();
}

void pipeline::fail(errc cause, std::string detail) {
    impl_->core.fail(cause, std::move(detail), clock::now());
    impl_->shell.dispatch();
}

ops::readiness pipeline::readiness() const {
    if (const auto why = impl_->core.not_ready_reason())
        return {false, std::string(*why)};
    return {true, ""};
}

const core& pipeline::state() const noexcept {
    return impl_->core;
}

} // namespace sqs2pg::flow
