// The pipelined writer's state (private to src/pg): what writer.cpp, writer_session.cpp
// and writer_batches.cpp share. writer.cpp holds the public methods and the reconnect
// loop; writer_session.cpp a session's life (open, end, the read/flush/prune loops, the
// groups in flight); writer_batches.cpp async_write, driving a batch_resolver over
// pipelined attempts. The decisions are not here: pipeline_tracker matches results to
// groups and batch_resolver settles items (both sans-io, stepped in unit tests).
#pragma once

#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/resolver.hpp>
#include <sqs2pg/pg/schema.hpp>
#include <sqs2pg/pg/sql.hpp>
#include <sqs2pg/pg/tracker.hpp>
#include <sqs2pg/pg/writer.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace sqs2pg::pg {
namespace detail {

namespace asio = boost::asio;
using boost::system::error_code;
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct query_result {
    result_kind kind = result_kind::ok;
    std::string sqlstate;
    result_ptr result;
};

// One group in flight (queries up to a sync) and the coroutine waiting for it.
struct group {
    explicit group(const asio::any_io_executor& ex, std::size_t queries)
        : wake(ex, asio::steady_timer::time_point::max())
        , results(queries) {}
    asio::steady_timer wake; // cancelled when the group is done or lost
    std::vector<query_result> results;
    std::optional<std::size_t> failed_query;
    bool done = false;
    error_code lost; // the connection went away before the sync arrived
};
using group_ptr = std::shared_ptr<group>;

// GCC 12 miscompiles some co_await expressions inside conditions and declarations;
// in this module every co_await is a statement of its own, its result named.
inline bool cancelled(const asio::cancellation_state& cs) {
    return cs.cancelled() != asio::cancellation_type::none;
}

} // namespace detail

using detail::error_code;
using detail::group;
using detail::group_ptr;
using detail::query_result;
namespace asio = boost::asio;

struct writer::impl {
    impl(asio::any_io_executor e, writer_config c)
        : ex(std::move(e))
        , cfg(std::move(c))
        , parsed(parse_qualified_name(cfg.table))
        , names(parsed ? *parsed : qualified_name{std::nullopt, "user_logins"})
        , rejects_sql(sql::upsert_rejects(names))
        , prune_sql(sql::prune_ledger(names))
        , write_wake(ex, asio::steady_timer::time_point::max())
        , ready_wake(ex, asio::steady_timer::time_point::max())
        , stop_wake(ex, asio::steady_timer::time_point::max())
        , rng(std::random_device{}())
        , fast_policy(cfg.fast_path) {}

    asio::any_io_executor ex;
    writer_config cfg;
    boost::system::result<qualified_name> parsed;
    table_names names;
    std::string rows_sql;      // built for the ledger's key when the schema is checked
    std::string rows_fast_sql; // the same
    std::string rejects_sql;
    std::string prune_sql;

    std::unique_ptr<connection> conn; // the current session (closed but kept until its loops end)
    bool ready = false;               // conn is up, prepared, in pipeline mode
    bool stopped = false;
    bool running = false;
    bool schema_checked = false;
    std::uint64_t session = 0;
    pipeline_tracker<group_ptr> tracker;
    bool want_write = false;
    asio::steady_timer write_wake;
    asio::steady_timer ready_wake;
    asio::steady_timer stop_wake;
    std::string detail;
    writer_stats stats;
    std::function<void(bool)> observer; // told when `ready` changes
    std::mt19937_64 rng;
    fast_path_policy fast_policy;

    bool alive(std::uint64_t s) const { return ready && session == s; }

    // --- session lifecycle (writer_session.cpp, as are pipeline I/O and groups) ---------

    asio::awaitable<boost::system::result<void>> open_session();

    // Ends the session: every group in flight is lost (its items will be written again;
    // the ledger makes that safe even if the server committed them after all).
    void end_session(error_code why, bool unexpected);

    // --- pipeline I/O --------------------------------------------------------------------

    // Sends libpq's buffered output; then handles whatever input libpq read meanwhile
    // (PQflush reads when the socket is full, and that data raises no readiness event).
    void flush_now();

    // Takes every result libpq can give without blocking and matches it to its group.
    void drain();

    asio::awaitable<void> read_loop(std::uint64_t s);

    asio::awaitable<void> write_loop(std::uint64_t s);

    asio::awaitable<void> prune_loop(std::uint64_t s);

    // --- groups ------------------------------------------------------------------------

    // Queues one group (its queries, then a sync) on the connection, which must be ready.
    // `send` issues the queries; nothing suspends in between, so concurrent writers'
    // groups never interleave.
    template <class Send>
    group_ptr send_group(std::size_t queries, Send&& send) {
        auto g = std::make_shared<group>(ex, queries);
        if (!ready) { // an earlier send of the same round found the connection gone
            g->lost = errc::connection_lost;
            return g;
        }
        PGconn* pg = conn->native_handle();
        if (!send(pg) || PQpipelineSync(pg) != 1) {
            end_session(errc::connection_lost, true);
            g->lost = errc::connection_lost;
            return g;
        }
        tracker.push(g, queries);
        ++stats.transactions;
        flush_now();
        return g;
    }

    // Returns when the group is done or lost; false if the waiting coroutine was cancelled.
    asio::awaitable<bool> wait_group(group& g);

    // As wait_group, but a group still unanswered at `deadline` ends the session: the
    // server (or the network to it) is frozen. Every group in flight is then lost, and
    // their items are written again after the reconnect.
    asio::awaitable<bool> wait_group_until(group& g, asio::steady_timer& deadline);

    asio::awaitable<error_code> wait_ready();

    asio::awaitable<boost::system::result<std::size_t>> prune_once();

    // --- batches (writer_batches.cpp) -----------------------------------------------------

    struct batch_state {
        const batch& b; ///< borrowed from the caller of async_write for the write's life
        dedupe_result rows;
        dedupe_result rejects;
    };

    group_ptr send_attempt(const attempt& a, const batch_state& st);

    void settle_attempt(const attempt& a, const group& g, const batch_state& st,
                        batch_resolver& res);

    asio::awaitable<batch_outcome> write(const batch& b);
};

} // namespace sqs2pg::pg
