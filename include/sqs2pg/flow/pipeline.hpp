// The running pipeline: N long-poll receivers -> record+mask stage -> batcher ->
// pipelined Postgres writes -> DeleteMessageBatch, with a visibility heartbeat, dead
// letters, drain detection and two-phase shutdown. All of it on one io_context thread:
// the decisions live in flow::core (core.hpp), each stage is a thin driver around it.
#pragma once

#include <sqs2pg/flow/error.hpp>
#include <sqs2pg/flow/ports.hpp>
#include <sqs2pg/flow/summary.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/mask/seal.hpp>
#include <sqs2pg/ops/endpoint.hpp>
#include <sqs2pg/ops/metrics.hpp>
#include <sqs2pg/record/login.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::flow {

struct pipeline_config {
    std::string queue_url;
    /// Rejects go to this queue (raw body, reason in message attributes) instead of the
    /// rejects table.
    std::optional<std::string> dead_letter_queue_url;
    /// Stop with a clean exit once the queue is empty and nothing is held locally.
    bool drain = false;
    int receivers = 4;
    std::size_t batch_size = 250;
    std::chrono::milliseconds batch_max_delay{50};
    std::chrono::seconds wait_time{20};
    /// The visibility timeout messages are received with: the flag's value, else the
    /// queue's VisibilityTimeout attribute. The heartbeat extends held messages by it.
    std::chrono::seconds visibility_timeout{30};
    /// Send visibility_timeout with each ReceiveMessage (it came from a flag).
    bool send_visibility_timeout = false;
    /// Receivers pause while this many body bytes are held (received, not yet deleted or
    /// handed back). The bound can be passed by at most one receive per receiver.
    std::uint64_t max_in_flight_bytes = 64ull << 20;
    /// Batches written at once on the pipelined Postgres connection.
    std::size_t max_batches_in_flight = 4;
    /// DeleteMessageBatch / ChangeMessageVisibilityBatch calls in flight at once.
    std::size_t max_ack_calls = 8;
    /// After the first stop request: how long in-flight work may take to commit and be
    /// acknowledged before everything is cancelled.
    std::chrono::seconds shutdown_grace{30};
    /// At the very end: how long deleting what was committed and handing back the rest
    /// (visibility 0) may take. Past it the process exits anyway; SQS then redelivers
    /// what was not handed back after its visibility timeout (the ledger dedups it).
    std::chrono::seconds settle_timeout{15};
    record::field_map fields = record::field_map::defaults();
    /// Show a progress line on stderr (drain mode on a TTY).
    bool progress = false;
};

/// What the pipeline works with; all must outlive the pipeline.
struct pipeline_parts {
    /// The source queue (and the dead-letter queue, when configured).
    flow::queue& queue;
    /// Where rows go: a started writer whose async_run is running.
    flow::sink& sink;
    const mask::masker& masker;
    /// Seals reject bodies for the rejects table; null when there is no key (unkeyed
    /// sha256 mode): then only the reason is kept.
    const mask::sealer* sealer = nullptr;
    /// The pipeline registers its metrics here; it must not be rendered after the
    /// pipeline is gone.
    ops::registry& registry;
};

/// What ReceiveMessage asks for, from the pipeline's settings (for an sqs_queue).
receive_settings receive_settings_of(const pipeline_config& c);

class core;

class pipeline {
public:
    pipeline(boost::asio::any_io_executor ex, pipeline_config cfg, pipeline_parts parts);
    ~pipeline();
    pipeline(const pipeline&) = delete;
    pipeline& operator=(const pipeline&) = delete;

    /// Runs until the queue is drained (drain mode), a stop request, or a fatal error.
    /// Everything it started has finished when it returns; held messages that could not
    /// be committed are handed back (visibility 0) before it returns.
    boost::asio::awaitable<run_result> async_run();

    /// First call: stop receiving, let in-flight work commit and be acknowledged (for at
    /// most shutdown_grace). Second call: cancel everything now. Safe to call any time
    /// from the io_context's thread (e.g. a signal handler's completion). `reason` is
    /// logged.
    void request_stop(std::string_view reason);

    /// Stops with exit status 1 and `detail` as the error (e.g. errc::pg_gave_up when the
    /// Postgres writer ended on a fatal error): what is committed is deleted, the rest
    /// handed back.
    void fail(errc cause, std::string detail);

    /// For /readyz: not ready while stopping, while Postgres is disconnected, or while
    /// SQS calls fail.
    ops::readiness readiness() const;

    /// The core: counts, state, held copies (for metrics and tests).
    const core& state() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace sqs2pg::flow
