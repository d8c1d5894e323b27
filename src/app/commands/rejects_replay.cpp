// `sqs2pg rejects replay`: opens the chosen rejects' bodies and sends them back to the
// queue in SendMessageBatch calls the sqs planner sizes, marking each one SQS accepted.
// Each batch holds its rows locked from before the send until the mark commits, so two
// replays at once never send the same reject.
#include <sqs2pg/app/sqs_settings.hpp>
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/sqs/batch_plan.hpp>
#include <sqs2pg/sqs/client.hpp>

#include "rejects_detail.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <span>

namespace sqs2pg::app::rejects_detail {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

struct replay_counts {
    std::size_t replayed = 0;
    std::size_t skipped = 0; ///< already replayed
    std::size_t busy = 0;    ///< held by another replay running at the same time
    std::size_t failed = 0;
};

// One reject ready to send: the original id and the opened body (wiped after use).
struct ready_entry {
    std::string message_id;
    std::string body;
};

// A reject SQS accepted, and the MessageId it got.
struct accepted_entry {
    std::string message_id;
    std::string new_message_id;
};

void report(context& c, std::string_view id, std::string_view status, std::string_view new_id = {},
            std::string_view error = {}) {
    if (c.req.format != rejects_format::json) {
        if (status == "replayed")
            c.out << "replayed " << base::printable(id) << " as " << base::printable(new_id)
                  << '\n';
        else if (status == "would_replay")
            c.out << "would replay " << base::printable(id) << '\n';
        return;
    }
    json::object o;
    o["message_id"] = id;
    o["status"] = status;
    if (!new_id.empty())
        o["new_message_id"] = new_id;
    if (!error.empty())
        o["error"] = error;
    c.out << json_for_terminal(json::serialize(o)) << '\n';
}

std::string mark_by_hand(const pg::table_names& tables, std::string_view id,
                         std::string_view new_id) {
    return fmt::format("UPDATE {} SET replayed_at = now(), replayed_message_id = '{}' WHERE "
                       "message_id = '{}'",
                       tables.rejects.quoted(), base::printable(new_id), base::printable(id));
}

// The SQS client for --queue-url/--queue-name, resolved as run resolves it.
struct sqs_session {
    std::unique_ptr<aws::credentials_provider> credentials;
    std::unique_ptr<sqs::client> client;
    std::string queue_url;
};

// 0 and a session, or the exit status (2: configuration, 1: SQS said no).
asio::awaitable<int> async_open_sqs(context& c, sqs_session& s) {
    const sqs_target& t = c.req.target.value();
    auto settings = resolve_sqs_settings(t, c.env);
    if (!settings) {
        std::string_view m = settings.error().message;
        if (m.starts_with("sqs2pg: "))
            m.remove_prefix(8); // say() adds its own "sqs2pg rejects ACTION: "
        c.say(m);
        co_return 2;
    }
    if (!settings->warning.empty())
        c.say(settings->warning);
    auto ex = co_await asio::this_coro::executor;
    s.credentials = aws::make_default_chain(ex, settings->env);
    s.client = std::make_unique<sqs::client>(ex, settings->endpoint, *s.credentials,
                                             sqs_client_options(t, *settings));
    s.queue_url = t.queue_url;
    if (s.queue_url.empty()) {
        auto url = co_await s.client->async_get_queue_url(t.queue_name);
        if (!url) {
            c.say(fmt::format("cannot find queue '{}': {}", t.queue_name,
                              s.client->explain(url.error())));
            co_return 1;
        }
        s.queue_url = std::move(*url);
    }
    co_return 0;
}

// The SendMessageBatch entry of a reject (its id is set per call): the body and the
// attribute naming the original message. A FIFO queue needs a group; one per message
// keeps replays from blocking each other, and the original id as deduplication id drops
// a repeat within 5 minutes (sqs::set_fifo_ids).
sqs::send_entry replay_entry(const ready_entry& r, bool fifo) {
    std::vector<sqs::message_attribute> attrs;
    attrs.emplace_back(std::string(replay_attribute), "String", r.message_id);
    sqs::send_entry e(std::string(), r.body, std::nullopt, std::move(attrs));
    if (fifo)
        sqs::set_fifo_ids(e, r.message_id);
    return e;
}

// Sends `entries` (those of `batch`, in order) in one call; what SQS accepted goes to
// `accepted`, to be marked. Returns false when the run must stop (a fatal SQS error).
asio::awaitable<bool> async_send(context& c, sqs_session& s, std::span<const ready_entry> batch,
                                 std::vector<sqs::send_entry> entries, replay_counts& n,
                                 std::vector<accepted_entry>& accepted) {
    for (std::size_t i = 0; i < entries.size(); ++i)
        entries[i].id = fmt::format("r{}", i);
    std::string url = s.queue_url;
    auto sent = co_await s.client->async_send_message_batch(std::move(url), std::move(entries));
    if (!sent) {
        const auto& e = sent.error();
        const bool maybe_sent =
            e.request_sent && (e.kind == sqs::errc::transport || e.kind == sqs::errc::timeout ||
                               e.kind == sqs::errc::cancelled);
        const std::string why = e.code.empty() ? std::string(sqs::kind_name(e.kind)) : e.code;
        for (const auto& b : batch) {
            ++n.failed;
            if (maybe_sent) {
                c.say(fmt::format("{}: the answer to SendMessageBatch was lost ({}): it may have "
                                  "been sent; it is not marked replayed, so check the queue "
                                  "before replaying it again",
                                  base::printable(b.message_id), sqs::kind_name(e.kind)));
                report(c, b.message_id, "unknown", {}, sqs::kind_name(e.kind));
            } else {
                c.say(fmt::format("{}: not sent: {}", base::printable(b.message_id),
                                  base::printable(why)));
                report(c, b.message_id, "failed", {}, why);
            }
        }
        c.say(s.client->explain(e));
        c.out << std::flush;
        co_return !sqs::is_fatal(e);
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const std::string entry_id = fmt::format("r{}", i);
        const std::string& id = batch[i].message_id;
        const auto* failure = sent->failure(entry_id);
        if (failure != nullptr) {
            // The server's text can quote the body: the code only.
            ++n.failed;
            c.say(fmt::format("{}: not sent: {}", base::printable(id),
                              base::printable(failure->code)));
            report(c, id, "failed", {}, failure->code);
            continue;
        }
        const auto it = std::find_if(sent->successful.begin(), sent->successful.end(),
                                     [&](const sqs::sent_message& m) { return m.id == entry_id; });
        if (it == sent->successful.end())
            continue; // the client reports every entry in one of the lists
        accepted.push_back(accepted_entry{id, it->message_id});
    }
    c.out << std::flush;
    co_return true;
}

// Marks what SQS accepted and commits the batch's transaction, which also releases its
// rows. Each is reported replayed once that committed; otherwise as sent but not marked,
// with the UPDATE that marks it by hand. Returns false when PostgreSQL failed (the run
// stops: the connection's state is unknown).
asio::awaitable<bool> async_mark_and_commit(context& c, pg::connection& conn,
                                            const pg::table_names& tables,
                                            const std::vector<accepted_entry>& accepted,
                                            replay_counts& n) {
    bool pg_ok = true;
    std::vector<bool> marked(accepted.size(), false);
    for (std::size_t i = 0; i < accepted.size() && pg_ok; ++i) {
        auto m = co_await pg::async_mark_replayed(conn, tables, accepted[i].message_id,
                                                  accepted[i].new_message_id);
        if (!m)
            c.say(pg_failure(conn, tables, m.error()));
        pg_ok = m.has_value();
        marked[i] = m && *m;
    }
    if (pg_ok) {
        auto committed = co_await pg::async_commit(conn);
        if (!committed)
            c.say(pg_failure(conn, tables, committed.error()));
        pg_ok = committed.has_value();
    }
    for (std::size_t i = 0; i < accepted.size(); ++i) {
        const auto& [id, new_id] = accepted[i];
        if (pg_ok && marked[i]) {
            ++n.replayed;
            report(c, id, "replayed", new_id);
            continue;
        }
        ++n.failed;
        c.say(fmt::format("{}: sent as {} but not marked replayed, so a later replay would send "
                          "it again; mark it by hand: {}",
                          base::printable(id), base::printable(new_id),
                          mark_by_hand(tables, id, new_id)));
        report(c, id, "sent_not_marked", new_id, "mark_failed");
    }
    c.out << std::flush;
    co_return pg_ok;
}

} // namespace

asio::awaitable<int> async_replay(context& c) {
    sqs_session s;
    if (!c.req.dry_run) {
        if (const int status = co_await async_open_sqs(c, s); status != 0)
            co_return status;
    }
    pg::connection conn(co_await asio::this_coro::executor);
    if (!co_await async_open_pg(c, conn))
        co_return 1;
    const auto tables = tables_of(c.req.table);

    std::vector<std::string> ids = c.req.message_ids;
    bool more = false;
    if (ids.empty()) {
        pg::reject_filter filter = c.req.filter;
        filter.limit = c.req.filter.limit + 1;
        auto rows = co_await pg::async_list_rejects(conn, tables, filter);
        if (!rows) {
            c.say(pg_failure(conn, tables, rows.error()));
            co_return 1;
        }
        more = rows->size() > c.req.filter.limit;
        if (more)
            rows->pop_back();
        for (auto& r : *rows)
            ids.push_back(std::move(r.message_id));
        if (ids.empty()) {
            c.say(c.req.force ? "no rejects match" : "no rejects match that are not replayed yet");
            co_return 0;
        }
    }

    // --force sends again what was replayed before this run started, not what another
    // replay running now sends (database time: the clock replayed_at is set by).
    std::optional<pg::time_point> replayed_before;
    if (c.req.force && !c.req.dry_run) {
        auto now = co_await pg::async_database_time(conn);
        if (!now) {
            c.say(pg_failure(conn, tables, now.error()));
            co_return 1;
        }
        replayed_before = *now;
    }

    replay_counts n;
    std::size_t next = 0;          // ids[next..] have not been looked at
    std::size_t not_attempted = 0; // looked at and ready, but not sent after a stop
    bool stopped = false;
    while (next < ids.size() && !stopped && !c.stop_requested) {
        // Up to 10 rejects: fetch, check, open; then send what opened. Except for a dry
        // run, in one transaction that holds their rows from before they are sent until
        // they are marked, so that a replay running at the same time skips them.
        std::vector<ready_entry> ready;
        const std::size_t end = std::min(ids.size(), next + sqs::max_batch_entries);
        std::vector<pg::reject_record> locked;
        if (!c.req.dry_run) {
            auto begun = co_await pg::async_begin(conn);
            if (!begun) {
                c.say(pg_failure(conn, tables, begun.error()));
                stopped = true;
                break; // nothing of this batch was looked at
            }
            const std::span<const std::string> these(ids.data() + next, end - next);
            auto rows = co_await pg::async_lock_for_replay(conn, tables, these, replayed_before);
            if (!rows) {
                c.say(pg_failure(conn, tables, rows.error()));
                stopped = true;
                break;
            }
            locked = std::move(*rows);
        }
        for (; next < end; ++next) {
            const std::string& id = ids[next];
            std::optional<pg::reject_record> record;
            if (!c.req.dry_run) {
                const auto it = std::find_if(locked.begin(), locked.end(),
                                             [&](const auto& r) { return r.message_id == id; });
                if (it != locked.end())
                    record = std::move(*it);
            }
            if (!record) {
                // Not locked for this run (or a dry run): look at it to say why.
                auto found = co_await pg::async_find_reject(conn, tables, id);
                if (!found) {
                    c.say(pg_failure(conn, tables, found.error()));
                    stopped = true;
                    break;
                }
                if (!*found) {
                    ++n.failed;
                    c.say(fmt::format("{}: no such reject", base::printable(id)));
                    report(c, id, "failed", {}, "not_found");
                    continue;
                }
                const pg::reject_record& r = **found;
                const bool sendable =
                    !r.replayed_at ||
                    (c.req.force &&
                     (c.req.dry_run || (replayed_before && *r.replayed_at < *replayed_before)));
                if (r.replayed_at && !sendable) {
                    ++n.skipped;
                    c.say(fmt::format("{}: already replayed {}; skipped{}", base::printable(id),
                                      replayed_text(r),
                                      c.req.force ? " (by another replay, after this one started)"
                                                  : " (--force sends it again)"));
                    report(c, id, "skipped", r.replayed_message_id.value_or(""),
                           "already_replayed");
                    continue;
                }
                if (!c.req.dry_run) {
                    // Sendable, yet not locked for this run: another transaction holds its
                    // row, i.e. another replay is sending it right now.
                    ++n.busy;
                    c.say(fmt::format("{}: being replayed by another run right now (its row is "
                                      "locked); skipped",
                                      base::printable(id)));
                    report(c, id, "skipped", {}, "being_replayed");
                    continue;
                }
                record = std::move(**found);
            }
            auto body = open_body(*c.sealer, *record);
            if (!body) {
                ++n.failed;
                c.say(fmt::format("{}: {}", base::printable(id), body.error().text));
                report(c, id, "failed", {}, body.error().code);
                continue;
            }
            ready.push_back(ready_entry{id, std::move(*body)});
        }
        if (c.req.dry_run && !stopped) {
            for (const auto& e : ready) {
                ++n.replayed;
                if (c.req.format == rejects_format::json)
                    report(c, e.message_id, "would_replay");
                else
                    c.out << "would replay " << base::printable(e.message_id) << " ("
                          << e.body.size() << " bytes)\n";
            }
            c.out << std::flush;
        } else if (!stopped) {
            // The planner sizes the entries as sent, attributes included.
            const bool fifo = sqs::is_fifo_queue(s.queue_url);
            std::vector<sqs::send_entry> entries;
            std::vector<std::size_t> payloads;
            entries.reserve(ready.size());
            payloads.reserve(ready.size());
            for (const auto& e : ready) {
                entries.push_back(replay_entry(e, fifo));
                payloads.push_back(sqs::payload_bytes(entries.back()));
            }
            std::vector<accepted_entry> accepted;
            std::size_t at = 0;
            for (const std::size_t count : sqs::plan_send_batches(payloads)) {
                const std::span<const ready_entry> batch(ready.data() + at, count);
                std::vector<sqs::send_entry> call(
                    std::make_move_iterator(entries.begin() + static_cast<std::ptrdiff_t>(at)),
                    std::make_move_iterator(entries.begin() +
                                            static_cast<std::ptrdiff_t>(at + count)));
                at += count;
                if (stopped)
                    not_attempted += count;
                else if (!co_await async_send(c, s, batch, std::move(call), n, accepted))
                    stopped = true;
                for (auto& e : call) // still ours when not sent
                    base::cleanse(e.body);
            }
            // What was sent is marked even when the run stops now.
            if (!co_await async_mark_and_commit(c, conn, tables, accepted, n))
                stopped = true;
        } else {
            not_attempted += ready.size();
        }
        for (auto& e : ready)
            base::cleanse(e.body);
    }
    not_attempted += ids.size() - next;
    if (not_attempted > 0) {
        n.failed += not_attempted;
        c.say(fmt::format("stopped{}: {} reject(s) not attempted",
                          c.stop_requested && !stopped ? " on request" : "", not_attempted));
    }

    std::string summary = c.req.dry_run ? fmt::format("dry run: {} would be replayed", n.replayed)
                                        : fmt::format("{} replayed to {}", n.replayed, s.queue_url);
    if (n.skipped > 0)
        summary += fmt::format(", {} skipped (already replayed)", n.skipped);
    if (n.busy > 0)
        summary += fmt::format(", {} skipped (being replayed by another run)", n.busy);
    if (n.failed > 0)
        summary += fmt::format(", {} failed", n.failed);
    if (more)
        summary += fmt::format("; more match than --limit {}: run again", c.req.filter.limit);
    c.say(summary);
    co_return n.failed == 0 ? 0 : 1;
}

} // namespace sqs2pg::app::rejects_detail
