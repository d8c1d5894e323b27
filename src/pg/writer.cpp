// The pipelined writer: session setup, the read/flush/prune loops of a session, reconnect
// with backoff, and async_write driving a batch_resolver over pipelined attempts.
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/resolver.hpp>
#include <sqs2pg/pg/schema.hpp>
#include <sqs2pg/pg/sql.hpp>
#include <sqs2pg/pg/tracker.hpp>
#include <sqs2pg/pg/writer.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <optional>
#include <random>
#include <vector>

namespace sqs2pg::pg {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

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
bool cancelled(const asio::cancellation_state& cs) {
    return cs.cancelled() != asio::cancellation_type::none;
}

} // namespace

struct writer::impl {
    impl(asio::any_io_executor e, writer_config c)
        : ex(std::move(e))
        , cfg(std::move(c))
        , parsed(parse_qualified_name(cfg.table))
        , names(parsed ? *parsed : qualified_name{std::nullopt, "user_logins"})
        , rows_sql(sql::insert_rows(names, cfg.ledger_retention))
        , rows_fast_sql(sql::insert_rows_fast(names, cfg.ledger_retention))
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
    std::string rows_sql;
    std::string rows_fast_sql;
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

    // --- session lifecycle -------------------------------------------------------------

    asio::awaitable<boost::system::result<void>> open_session() {
        auto c = std::make_unique<connection>(ex);
        // Named, not a braced temporary: GCC 12 destroys temporaries in a co_await
        // expression twice.
        connect_options opts;
        opts.conninfo = cfg.conninfo;
        opts.timeout = cfg.connect_timeout;
        if (cfg.password) {
            std::string why;
            auto password = co_await cfg.password(why);
            if (!password) {
                detail = why;
                co_return password.error();
            }
            opts.password = std::move(*password);
        }
        auto connected = co_await c->async_connect(std::move(opts));
        if (!connected) {
            detail = c->error_detail();
            co_return connected.error();
        }
        // A session that cannot write (a failover landed on a standby, or
        // default_transaction_read_only on the role) is not a connection: every batch would
        // fail with 25006 while readiness said "connected". Try again later instead.
        const std::string read_only_query = "SHOW transaction_read_only";
        auto ro = co_await c->async_query(read_only_query);
        if (!ro)
            co_return ro.error();
        if (PQntuples(ro->get()) == 1 && std::string_view(PQgetvalue(ro->get(), 0, 0)) == "on") {
            detail = "the server accepts no writes (transaction_read_only is on: a standby, "
                     "or default_transaction_read_only)";
            co_return errc::read_only;
        }
        if (!schema_checked) {
            auto schema = co_await async_ensure_schema(*c, names, cfg.create_tables, detail);
            if (!schema)
                co_return schema.error();
            schema_checked = true;
        }
        if (cfg.statement_timeout.count() > 0) {
            const std::string set_timeout =
                fmt::format("SET statement_timeout = {}", cfg.statement_timeout.count());
            auto r = co_await c->async_query(set_timeout);
            if (!r)
                co_return r.error();
        }
        const auto row_types = sql::insert_rows_types();
        auto prepared = co_await c->async_prepare(sql::rows_statement, rows_sql, row_types);
        if (!prepared) {
            detail = "preparing the rows statement failed with SQLSTATE " + c->last_sqlstate();
            co_return prepared.error();
        }
        prepared = co_await c->async_prepare(sql::rows_fast_statement, rows_fast_sql, row_types);
        if (!prepared) {
            detail = "preparing the fast rows statement failed with SQLSTATE " + c->last_sqlstate();
            co_return prepared.error();
        }
        const auto reject_types = sql::upsert_rejects_types();
        prepared = co_await c->async_prepare(sql::rejects_statement, rejects_sql, reject_types);
        if (!prepared) {
            detail = "preparing the rejects statement failed with SQLSTATE " + c->last_sqlstate();
            co_return prepared.error();
        }
        if (PQenterPipelineMode(c->native_handle()) != 1)
            co_return errc::protocol;
        if (stopped)
            co_return errc::stopped;
        conn = std::move(c);
        ready = true;
        ++session;
        ++stats.connects;
        want_write = false;
        ops::log(ops::level::info, "pg.connected",
                 {{"backend_pid", conn->backend_pid()}, {"session", session}});
        ready_wake.cancel();
        if (observer)
            observer(true);
        co_return boost::system::result<void>{};
    }

    // Ends the session: every group in flight is lost (its items will be written again;
    // the ledger makes that safe even if the server committed them after all).
    void end_session(error_code why, bool unexpected) {
        const bool was_ready = ready;
        const std::size_t lost_groups = tracker.in_flight();
        ready = false;
        want_write = false;
        for (auto& g : tracker.abandon_all()) {
            g->lost = why;
            g->wake.cancel();
        }
        if (conn)
            conn->close();
        write_wake.cancel();
        if (was_ready && unexpected) {
            ++stats.connection_losses;
            ops::log(ops::level::warn, "pg.connection_lost",
                     {{"error", why.message()}, {"in_flight", lost_groups}});
        }
        if (was_ready && observer)
            observer(false);
    }

    // --- pipeline I/O --------------------------------------------------------------------

    // Sends libpq's buffered output; then handles whatever input libpq read meanwhile
    // (PQflush reads when the socket is full, and that data raises no readiness event).
    void flush_now() {
        if (!ready)
            return;
        const int r = PQflush(conn->native_handle());
        if (r < 0) {
            end_session(errc::connection_lost, true);
            return;
        }
        const bool was = want_write;
        want_write = r == 1;
        if (want_write && !was)
            write_wake.cancel();
        drain();
    }

    // Takes every result libpq can give without blocking and matches it to its group.
    void drain() {
        while (ready && tracker.awaiting()) {
            PGconn* pg = conn->native_handle();
            if (PQstatus(pg) == CONNECTION_BAD) {
                end_session(errc::connection_lost, true);
                return;
            }
            if (PQisBusy(pg) != 0)
                return;
            result_ptr r(PQgetResult(pg));
            if (!r) {
                if (!tracker.expects_query_end())
                    return; // nothing ready yet
                if (!tracker.on_query_end()) {
                    end_session(errc::protocol, true);
                    return;
                }
                continue;
            }
            const ExecStatusType status = PQresultStatus(r.get());
            if (status == PGRES_PIPELINE_SYNC) {
                auto done = tracker.on_sync();
                if (!done) {
                    end_session(errc::protocol, true);
                    return;
                }
                done->group->failed_query = done->failed_query;
                done->group->done = true;
                done->group->wake.cancel();
                continue;
            }
            result_kind kind = result_kind::ok;
            if (status == PGRES_PIPELINE_ABORTED)
                kind = result_kind::aborted;
            else if (status == PGRES_FATAL_ERROR)
                kind = result_kind::error;
            else if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
                end_session(errc::protocol, true);
                return;
            }
            auto placed = tracker.on_result(kind);
            if (!placed) {
                end_session(errc::protocol, true);
                return;
            }
            query_result& q = (*placed->group)->results[placed->query];
            q.kind = kind;
            q.sqlstate = std::string(result_sqlstate(r.get()));
            q.result = std::move(r);
        }
    }

    asio::awaitable<void> read_loop(std::uint64_t s) {
        const auto cs = co_await asio::this_coro::cancellation_state;
        while (alive(s)) {
            const error_code ec = co_await conn->async_wait_readable();
            if (!alive(s) || cancelled(cs))
                co_return;
            if (ec) {
                end_session(errc::connection_lost, true);
                co_return;
            }
            if (PQconsumeInput(conn->native_handle()) == 0) {
                end_session(errc::connection_lost, true);
                co_return;
            }
            if (want_write)
                flush_now(); // the server may have been waiting for us to read
            drain();
        }
    }

    asio::awaitable<void> write_loop(std::uint64_t s) {
        const auto cs = co_await asio::this_coro::cancellation_state;
        while (alive(s)) {
            if (!want_write) {
                co_await write_wake.async_wait(use_tuple); // flush_now() or end_session() wakes it
                if (cancelled(cs))
                    co_return;
                continue;
            }
            const error_code ec = co_await conn->async_wait_writable();
            if (!alive(s) || cancelled(cs))
                co_return;
            if (ec) {
                end_session(errc::connection_lost, true);
                co_return;
            }
            flush_now();
        }
    }

    asio::awaitable<void> prune_loop(std::uint64_t s) {
        const auto cs = co_await asio::this_coro::cancellation_state;
        asio::steady_timer t(ex);
        while (alive(s)) {
            if (cfg.prune_interval.count() > 0)
                t.expires_after(cfg.prune_interval);
            else
                t.expires_at(asio::steady_timer::time_point::max()); // pruning switched off
            const auto [ec] = co_await t.async_wait(use_tuple);
            if (ec || !alive(s) || cancelled(cs))
                co_return;
            // Small transactions one after another, so no lock is held for long and row
            // batches queue behind at most one of them.
            while (alive(s)) {
                auto n = co_await prune_once();
                if (cancelled(cs))
                    co_return;
                if (!n) {
                    ops::log(ops::level::warn, "pg.prune_failed", {{"error", n.error().message()}});
                    break;
                }
                if (*n < cfg.prune_batch)
                    break;
            }
        }
    }

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
    asio::awaitable<bool> wait_group(group& g) {
        if (!g.done && !g.lost)
            co_await g.wake.async_wait(use_tuple);
        co_return g.done || static_cast<bool>(g.lost);
    }

    // As wait_group, but a group still unanswered at `deadline` ends the session: the
    // server (or the network to it) is frozen. Every group in flight is then lost, and
    // their items are written again after the reconnect.
    asio::awaitable<bool> wait_group_until(group& g, asio::steady_timer& deadline) {
        if (g.done || g.lost)
            co_return true;
        const std::uint64_t s = session;
        const auto r = co_await (g.wake.async_wait(use_tuple) || deadline.async_wait(use_tuple));
        if (r.index() == 1 && !std::get<0>(std::get<1>(r)) && !g.done && !g.lost) {
            ops::log(ops::level::warn, "pg.no_answer",
                     {{"seconds",
                       std::chrono::duration_cast<std::chrono::seconds>(cfg.batch_timeout).count()},
                      {"in_flight", tracker.in_flight()}});
            if (alive(s))
                end_session(errc::no_answer, true);
        }
        co_return g.done || static_cast<bool>(g.lost);
    }

    asio::awaitable<error_code> wait_ready() {
        const auto cs = co_await asio::this_coro::cancellation_state;
        while (!ready) {
            if (stopped)
                co_return error_code(errc::stopped);
            co_await ready_wake.async_wait(use_tuple);
            if (cancelled(cs))
                co_return error_code(asio::error::operation_aborted);
        }
        co_return error_code{};
    }

    asio::awaitable<boost::system::result<std::size_t>> prune_once() {
        const error_code not_ready = co_await wait_ready();
        if (not_ready)
            co_return not_ready;
        const std::string limit = std::to_string(cfg.prune_batch);
        const char* values[] = {limit.c_str()};
        auto g = send_group(1, [&](PGconn* pg) {
            return PQsendQueryParams(pg, prune_sql.c_str(), 1, nullptr, values, nullptr, nullptr,
                                     0) == 1;
        });
        const bool finished = co_await wait_group(*g);
        if (!finished)
            co_return error_code(asio::error::operation_aborted);
        if (g->lost)
            co_return g->lost;
        if (g->failed_query)
            co_return errc_from_sqlstate(g->results[0].sqlstate);
        const char* n = PQcmdTuples(g->results[0].result.get());
        const std::size_t deleted = std::strtoull(n, nullptr, 10);
        stats.ledger_pruned += deleted;
        if (deleted > 0)
            ops::log(ops::level::debug, "pg.ledger_pruned", {{"entries", deleted}});
        co_return deleted;
    }

    // --- batches -------------------------------------------------------------------------

    struct batch_state {
        const batch& b; ///< borrowed from the caller of async_write for the write's life
        dedupe_result rows;
        dedupe_result rejects;
    };

    group_ptr send_attempt(const attempt& a, const batch_state& st) {
        const bool has_rows = !a.rows.empty();
        const bool has_rejects = !a.rejects.empty();
        std::optional<param_set> row_params;
        std::optional<param_set> reject_params;
        if (has_rows) {
            std::vector<std::uint32_t> which;
            which.reserve(a.rows.size());
            for (std::uint32_t u : a.rows)
                which.push_back(st.rows.first[u]);
            row_params = encode_rows(st.b.rows, which, cfg.format);
        }
        if (has_rejects) {
            std::vector<const reject_item*> items;
            items.reserve(a.rejects.size());
            for (std::uint32_t u : a.rejects)
                items.push_back(&st.b.rejects[st.rejects.first[u]]);
            reject_params = encode_rejects(items, cfg.format);
        }
        const auto send = [&](PGconn* pg, const char* stmt, const param_set& p) {
            return PQsendQueryPrepared(pg, stmt, p.size(), p.values.data(), p.lengths.data(),
                                       p.formats.data(), 0) == 1;
        };
        return send_group((has_rows ? 1 : 0) + (has_rejects ? 1 : 0), [&](PGconn* pg) {
            const char* rows_stmt = a.fast ? sql::rows_fast_statement : sql::rows_statement;
            return (!has_rows || send(pg, rows_stmt, *row_params)) &&
                   (!has_rejects || send(pg, sql::rejects_statement, *reject_params));
        });
    }

    void settle_attempt(const attempt& a, const group& g, const batch_state& st,
                        batch_resolver& res) {
        if (g.lost) {
            res.failed(a, {}, g.lost);
            return;
        }
        if (g.failed_query) {
            const std::string& code = g.results[*g.failed_query].sqlstate;
            const error_code cause = errc_from_sqlstate(code);
            if (classify_sqlstate(code) == sqlstate_action::reconnect && ready) {
                // 25006 (read-only: a failover landed on a standby), class 08, 57P01-03:
                // this session will keep failing. End it; the reconnect checks that the
                // next one can write.
                ops::log(ops::level::warn, "pg.session_unusable",
                         {{"sqlstate", code}, {"error", cause.message()}});
                end_session(cause, true);
            }
            // Bisection steps are expected on the way to a refused row: only the row itself
            // is worth a warning.
            const bool data = classify_sqlstate(code) == sqlstate_action::reject;
            if (data && a.fast)
                ++stats.fast_fallbacks; // the resolver sends it again with the normal statement
            ops::log(data ? ops::level::debug : ops::level::warn, "pg.transaction_failed",
                     {{"sqlstate", code}, {"items", a.size()}, {"error", cause.message()}});
            if (data && a.size() == 1) {
                // A refused row is the caller's to keep as a reject (it logs it); a refused
                // reject record cannot be kept: SQS's redrive policy takes over.
                if (!a.rejects.empty())
                    ops::log(ops::level::warn, "pg.reject_record_refused",
                             {{"message_id",
                               st.b.rejects[st.rejects.first[a.rejects.front()]].message_id},
                              {"sqlstate", code}});
            }
            res.failed(a, code, cause);
            return;
        }
        std::vector<std::uint32_t> skipped;
        if (!a.rows.empty() && !a.fast) { // a fast attempt that committed skipped nothing
            const PGresult* r = g.results[0].result.get();
            if (r == nullptr || PQntuples(r) != 1 ||
                !parse_int_array(PQgetvalue(r, 0, 0), skipped)) {
                // Committed, but the answer is unreadable: every id is in the ledger now,
                // so acknowledging them all as duplicates is still exact-once.
                ops::log(ops::level::error, "pg.unexpected_result", {{"items", a.rows.size()}});
                skipped.clear();
                for (std::uint32_t p = 1; p <= a.rows.size(); ++p)
                    skipped.push_back(p);
            }
            for (auto& p : skipped)
                p -= 1; // the statement reports 1-based positions
        }
        stats.rows_inserted += a.rows.size() - skipped.size();
        stats.duplicates += skipped.size();
        stats.rejects_recorded += a.rejects.size();
        res.committed(a, skipped);
    }

    asio::awaitable<batch_outcome> write(const batch& b) {
        batch_state st{b, {}, {}};
        {
            std::vector<std::string_view> ids;
            ids.reserve(st.b.rows.size());
            for (const auto& r : st.b.rows)
                ids.push_back(r.message_id);
            st.rows = dedupe_ids(ids);
            ids.clear();
            for (const auto& r : st.b.rejects)
                ids.push_back(r.message_id);
            st.rejects = dedupe_ids(ids);
        }
        batch_resolver res(st.rows.first.size(), st.rejects.first.size(), fast_policy.next());
        bool aborted = false;
        while (!res.done() && !aborted) {
            std::vector<attempt> attempts = res.next_attempts();
            const error_code not_ready = co_await wait_ready();
            if (not_ready) {
                for (const auto& a : attempts)
                    res.failed(a, {}, not_ready);
                aborted = not_ready == asio::error::operation_aborted;
                continue;
            }
            // All attempts of a round go out back to back: independent transactions,
            // one round trip for all of them.
            std::vector<group_ptr> groups;
            groups.reserve(attempts.size());
            for (const auto& a : attempts)
                groups.push_back(send_attempt(a, st));
            asio::steady_timer deadline(ex, cfg.batch_timeout);
            for (std::size_t i = 0; i < attempts.size(); ++i) {
                if (!aborted) {
                    const bool finished = co_await wait_group_until(*groups[i], deadline);
                    aborted = !finished;
                }
                if (aborted)
                    res.failed(attempts[i], {}, asio::error::operation_aborted);
                else
                    settle_attempt(attempts[i], *groups[i], st, res);
            }
        }
        const auto rows = res.rows();
        fast_policy.finished(res.fell_back() ||
                             std::any_of(rows.begin(), rows.end(), [](const auto& i) {
                                 return i.status == item_status::duplicate;
                             }));
        co_return make_outcome(res, st.rows, st.rejects);
    }
};

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
