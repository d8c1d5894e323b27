// The pipeline's metrics as views of the core's counters.
#include <sqs2pg/flow/core.hpp>
#include <sqs2pg/flow/metrics.hpp>

namespace sqs2pg::flow {

namespace {
// sqs2pg_connection_state's states, in this order.
constexpr std::size_t disconnected = 0;
constexpr std::size_t connected = 2;
} // namespace

pipeline_metrics::pipeline_metrics(ops::registry& reg, const core& c,
                                   std::function<std::uint64_t()> sqs_client_retries)
    : batch_latency(
          reg.add_histogram("sqs2pg_batch_latency_seconds",
                            "Time from a batch being sent to PostgreSQL until its commit.",
                            ops::latency_buckets_seconds()))
    , batch_rows(reg.add_histogram("sqs2pg_batch_rows", "Messages per PostgreSQL batch.",
                                   {1, 10, 50, 100, 250, 500, 1000})) {
    const auto& n = c.counts();
    const auto count = [&](std::string_view name, std::string_view help,
                           const std::uint64_t& value) {
        reg.add_counter_view(name, help, [&value] { return value; });
    };
    count("sqs2pg_received_total", "Messages received from SQS, redeliveries included.",
          n.received);
    count("sqs2pg_inserted_total", "Rows committed to PostgreSQL for the first time.", n.inserted);
    count("sqs2pg_duplicates_skipped_total",
          "Messages whose row was already committed (a redelivery); acknowledged, not written.",
          n.duplicates_skipped);
    count("sqs2pg_rejected_total",
          "Messages that failed validation and went to the rejects table or the dead-letter "
          "queue.",
          n.rejected);
    count("sqs2pg_dead_lettered_total", "Rejected messages sent to the dead-letter queue.",
          n.dead_lettered);
    count("sqs2pg_deleted_total", "Messages deleted from SQS after their row or reject committed.",
          n.deleted);
    count("sqs2pg_delete_failures_total",
          "DeleteMessageBatch entries that failed for good (the message will be redelivered "
          "and skipped as a duplicate).",
          n.delete_failures);
    count("sqs2pg_visibility_extended_total",
          "Messages whose visibility timeout the heartbeat extended.", n.visibility_extended);
    count("sqs2pg_create_date_fallbacks_total",
          "Rows dated by their receive time: the message had no usable SentTimestamp.",
          n.create_date_fallbacks);
    count("sqs2pg_dead_letter_refused_total",
          "Rejects the dead-letter queue refused for good (kept in the rejects table instead).",
          n.dead_letter_refused);
    constexpr std::string_view retries_help = "Operations retried after a retryable error.";
    reg.add_counter_view(
        "sqs2pg_retries_total", retries_help,
        [&n, f = std::move(sqs_client_retries)] { return f() + n.receive_retries; },
        {{"target", "sqs"}});
    reg.add_counter_view("sqs2pg_retries_total", retries_help, [&n] { return n.pg_retries; },
                         {{"target", "pg"}});
    reg.add_gauge_view("sqs2pg_in_flight_messages", "Messages received and not yet acknowledged.",
                       [&c] { return static_cast<std::int64_t>(c.held().size()); });
    reg.add_gauge_view("sqs2pg_in_flight_bytes",
                       "Body bytes of the messages in flight (bounded by "
                       "--max-in-flight-bytes).",
                       [&c] { return static_cast<std::int64_t>(c.held().bytes()); });
    reg.add_gauge_view("sqs2pg_draining", "1 once shutdown or --drain stopped receiving, else 0.",
                       [&c] { return c.state() == run_state::running ? 0 : 1; });
    reg.add_gauge_view(
        "sqs2pg_write_stall_seconds",
        "Seconds since Postgres last committed while work waits for it, once "
        "that passes the stall threshold (15 s); 0 while writes flow.",
        [&c] { return static_cast<std::int64_t>(c.write_stall(clock::now()).count()); });
    constexpr std::string_view state_help =
        "Connection state per peer: 1 for the current state, 0 for the others.";
    reg.add_state_set_view(
        "sqs2pg_connection_state", state_help, "state", {"disconnected", "connecting", "connected"},
        [&c] { return c.sqs_failing() ? disconnected : connected; }, {{"target", "sqs"}});
    reg.add_state_set_view(
        "sqs2pg_connection_state", state_help, "state", {"disconnected", "connecting", "connected"},
        [&c] { return c.pg_connected() ? connected : disconnected; }, {{"target", "pg"}});
}

} // namespace sqs2pg::flow
