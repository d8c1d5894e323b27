// async_write: a batch_resolver decides the attempts (the fast statement, bisection of
// refused rows, the split after a timeout); this sends each round's attempts back to
// back as groups and settles every attempt from its group's results.
#include <sqs2pg/ops/log.hpp>

#include "writer_impl.hpp"

#include <algorithm>

namespace sqs2pg::pg {

group_ptr writer::impl::send_attempt(const attempt& a, const batch_state& st) {
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

void writer::impl::settle_attempt(const attempt& a, const group& g, const batch_state& st,
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
                ops::log(
                    ops::level::warn, "pg.reject_record_refused",
                    {{"message_id", st.b.rejects[st.rejects.first[a.rejects.front()]].message_id},
                     {"sqlstate", code}});
        }
        res.failed(a, code, cause);
        return;
    }
    std::vector<std::uint32_t> skipped;
    if (!a.rows.empty() && !a.fast) { // a fast attempt that committed skipped nothing
        const PGresult* r = g.results[0].result.get();
        if (r == nullptr || PQntuples(r) != 1 || !parse_int_array(PQgetvalue(r, 0, 0), skipped)) {
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

asio::awaitable<batch_outcome> writer::impl::write(const batch& b) {
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

} // namespace sqs2pg::pg
