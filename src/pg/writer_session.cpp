// A session of the pipelined writer: opening it (connect, schema, prepare, pipeline
// mode), ending it (every group in flight lost), the read/flush/prune loops that run
// while it lives, and the groups of queries queued on it.
#include <sqs2pg/ops/log.hpp>

#include "writer_impl.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include <cstdlib>

namespace sqs2pg::pg {

using detail::cancelled;
using detail::use_tuple;
using namespace asio::experimental::awaitable_operators;

asio::awaitable<boost::system::result<void>> writer::impl::open_session() {
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
        rows_sql = sql::insert_rows(names, cfg.ledger_retention, *schema);
        rows_fast_sql = sql::insert_rows_fast(names, cfg.ledger_retention, *schema);
        if (*schema == sql::ledger_key::message_id)
            ops::log(ops::level::info, "pg.ledger_keyed_by_message_id",
                     {{"table", names.ledger.quoted()},
                      {"note", "a ledger an earlier sqs2pg created; written as it is "
                               "(docs/postgres.md: the ledger's key)"}});
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

void writer::impl::end_session(error_code why, bool unexpected) {
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

void writer::impl::flush_now() {
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

void writer::impl::drain() {
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

asio::awaitable<void> writer::impl::read_loop(std::uint64_t s) {
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

asio::awaitable<void> writer::impl::write_loop(std::uint64_t s) {
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

asio::awaitable<void> writer::impl::prune_loop(std::uint64_t s) {
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

asio::awaitable<bool> writer::impl::wait_group(group& g) {
    if (!g.done && !g.lost)
        co_await g.wake.async_wait(use_tuple);
    co_return g.done || static_cast<bool>(g.lost);
}

asio::awaitable<bool> writer::impl::wait_group_until(group& g, asio::steady_timer& deadline) {
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

asio::awaitable<error_code> writer::impl::wait_ready() {
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

asio::awaitable<boost::system::result<std::size_t>> writer::impl::prune_once() {
    const error_code not_ready = co_await wait_ready();
    if (not_ready)
        co_return not_ready;
    const std::string limit = std::to_string(cfg.prune_batch);
    const char* values[] = {limit.c_str()};
    auto g = send_group(1, [&](PGconn* pg) {
        return PQsendQueryParams(pg, prune_sql.c_str(), 1, nullptr, values, nullptr, nullptr, 0) ==
               1;
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

} // namespace sqs2pg::pg
