// The Postgres writer: one connection in pipeline mode, several batches in flight, each
// batch one transaction of rows + ledger entries + rejects (exactly-once effect per SQS
// MessageId), reconnecting with backoff and pruning the ledger in the background.
#pragma once

#include <sqs2pg/base/backoff.hpp>
#include <sqs2pg/pg/batch.hpp>
#include <sqs2pg/pg/names.hpp>
#include <sqs2pg/pg/params.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sqs2pg::pg {

struct writer_config {
    /// libpq connection string or URI (--pg / DATABASE_URL); empty: the PG* variables.
    std::string conninfo;
    /// When set, called before every connect (the first and each reconnect) for the
    /// password to log in with, e.g. a fresh RDS IAM auth token (--pg-iam-auth). On failure
    /// it fills `detail` and returns the connect's error: connect_failed is retried like an
    /// unreachable server, invalid_conninfo is fatal.
    std::function<boost::asio::awaitable<boost::system::result<std::string>>(std::string& detail)>
        password;
    /// The target table, `table` or `schema.table` (SQL identifier rules, quotes
    /// allowed). sqs2pg_ledger and sqs2pg_rejects live in the same schema.
    std::string table = "user_logins";
    /// Create missing tables at start (the target with the take-home DDL exactly).
    bool create_tables = true;
    /// How long this writer's ledger entries are kept (stored per entry as keep_until,
    /// so deployments with other retentions can share the ledger): the queue's message
    /// retention (SQS allows at most 14 days), after which no redelivery can come.
    std::chrono::seconds ledger_retention{std::chrono::hours(24 * 14)};
    /// How often the ledger is pruned (0: never), and how many entries per (short)
    /// transaction; rounds follow each other while there is more to delete.
    std::chrono::seconds prune_interval{std::chrono::minutes(5)};
    std::uint32_t prune_batch = 1000;
    /// The session's statement_timeout (0: the server's or role's setting).
    std::chrono::milliseconds statement_timeout{std::chrono::seconds(30)};
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
    /// How long a pipelined batch may go unanswered (client side, whatever the cause: a
    /// frozen server, a proxy that stopped forwarding, a silent partition). Past it the
    /// session is dropped, and the batch is written again after the reconnect (the
    /// ledger makes that safe). Above statement_timeout, so the server's own timeout
    /// (which splits the batch) comes first.
    std::chrono::milliseconds batch_timeout{std::chrono::seconds(45)};
    /// Pacing of reconnects: capped exponential backoff with equal jitter.
    base::backoff_config reconnect{};
    param_format format = param_format::binary;
    /// Write batches with the fast rows statement first (sql::insert_rows_fast), falling
    /// back to the normal one for a batch that holds an id already in the ledger or a row
    /// the database refuses. Same outcomes either way; false: always the normal one.
    bool fast_path = true;
};

/// Counters for metrics; they only grow.
struct writer_stats {
    std::uint64_t connects = 0; ///< successful connections, the first included
    std::uint64_t connection_losses = 0;
    std::uint64_t transactions = 0; ///< attempts sent (a batch is one unless it is split)
    std::uint64_t rows_inserted = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t rejects_recorded = 0;
    std::uint64_t fast_fallbacks = 0; ///< fast attempts sent again with the normal statement
    std::uint64_t ledger_pruned = 0;
};

/// Owns one PostgreSQL connection. Use from the io_context's thread only; the writer
/// must outlive async_run and every async_write / async_prune_ledger it started.
///
///     writer w(ex, cfg);
///     if (auto r = co_await w.async_start(); !r) ... // connect, schema, prepare
///     co_spawn(ex, w.async_run(), handler);          // keeps the connection
///     batch_outcome o = co_await w.async_write(b); // from many coroutines
class writer {
public:
    writer(boost::asio::any_io_executor ex, writer_config cfg);
    ~writer();
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    /// Connects (one attempt), checks the target table's columns and creates missing
    /// tables, prepares the statements and enters pipeline mode. Errors: invalid table
    /// name, connection failures (retryable: call again), read_only (the server is a
    /// standby or the session is read-only: retryable, a session that cannot write is
    /// not a connection), schema_mismatch (fatal; error_detail() names every difference),
    /// other server errors.
    boost::asio::awaitable<boost::system::result<void>> async_start();

    /// Runs the connection until stop() or cancellation: reads pipeline results, flushes,
    /// prunes the ledger every prune_interval, and after a lost connection reconnects
    /// with capped exponential backoff and jitter (writes wait meanwhile). Requires a
    /// successful async_start. Returns operation_aborted when cancelled, errc::stopped
    /// after stop(). Groups in flight at the end complete as `retry`.
    boost::asio::awaitable<boost::system::error_code> async_run();

    /// Writes one batch atomically: rows, their ledger entries and reject records in one
    /// transaction, unless the database refuses some rows (then the batch is bisected
    /// into smaller transactions to find them) or a statement times out (then it is
    /// split once). Any number of calls may be outstanding: they are pipelined on the
    /// connection in call order, one round trip each. While disconnected, waits for
    /// async_run to reconnect. Never throws for database problems: the outcome says per
    /// item what happened. Cancellation (e.g. a caller's deadline) returns at once with
    /// every unsettled item `retry`; a batch already sent may still commit, which is
    /// harmless: writing it again finds its ids in the ledger.
    ///
    /// The batch is borrowed, not taken: it must stay alive and unchanged until the
    /// write completes (co_await the write where the batch lives). The writer only reads
    /// it while the write runs and keeps nothing of it afterwards, so the caller gets its
    /// rows back for the items it must write again, without copying them in the first
    /// place. A temporary would die before a spawned write runs: that overload is deleted.
    boost::asio::awaitable<batch_outcome> async_write(const batch& b);
    boost::asio::awaitable<batch_outcome> async_write(batch&& b) = delete;

    /// Deletes one round (at most prune_batch) of ledger entries older than the
    /// retention; returns how many. async_run calls this periodically.
    boost::asio::awaitable<boost::system::result<std::size_t>> async_prune_ledger();

    /// Makes async_run return and pending writes complete as `retry` with errc::stopped;
    /// closes the connection. Batches already committed stay committed.
    void stop();

    /// `f(connected)` is called (on the io_context's thread) whenever connected() changes;
    /// an empty function stops the calls.
    void on_connection_change(std::function<void(bool)> f);

    /// True while a connection is up and in pipeline mode (readiness, metrics).
    bool connected() const noexcept;
    /// Transactions (groups up to a sync) sent and not answered yet: one per batch, more
    /// while a batch is being bisected.
    std::size_t in_flight() const noexcept;
    /// The server process id of the current session, 0 when disconnected.
    int backend_pid() const noexcept;
    /// Details for the last startup or connection error (schema differences, libpq's
    /// connection message); never server text about rows.
    const std::string& error_detail() const noexcept;
    const table_names& tables() const noexcept;
    const writer_stats& stats() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace sqs2pg::pg
