// The pipeline's stages as coroutines on one thread. Invariants:
// - a held message (tracker entry) is deleted only after pg reported it committed (row,
//   duplicate or reject) or the dead-letter queue accepted it;
// - everything not committed when the run ends is handed back with visibility 0;
// - memory is bounded by the bytes held: receivers pause at max_in_flight_bytes, and
//   while Postgres is disconnected.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/flow/event.hpp>
#include <sqs2pg/flow/pipeline.hpp>
#include <sqs2pg/flow/tracker.hpp>
#include <sqs2pg/mask/row.hpp>
#include <sqs2pg/ops/latency.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/ops/progress.hpp>
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/record/create_date.hpp>
#include <sqs2pg/record/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <list>
#include <unordered_map>
#include <vector>

namespace sqs2pg::flow {

namespace asio = boost::asio;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// A received copy on its way to the mask stage.
struct inbound {
    ticket id;
    sqs::message msg;
    std::chrono::system_clock::time_point received_at; ///< create_date's fallback
};

/// A message after the record and mask stages: a row to write or a reject to keep.
struct work_item {
    ticket id = 0;
    std::string message_id;
    std::optional<record::login_row> row; ///< set: a row; empty: a reject
    std::string reason;                   ///< reject code when !row
    std::string body;   ///< raw body: kept for rows (sealed only if pg refuses the row)
                        ///< and for dead-letter rejects; empty otherwise
    std::string sealed; ///< sealed body of a reject bound for the rejects table
    std::int32_t receive_count = 1;
    std::optional<std::int64_t> sent_ms;
};

using received_channel =
    asio::experimental::channel<void(boost::system::error_code, std::vector<inbound>)>;
using masked_channel =
    asio::experimental::channel<void(boost::system::error_code, std::vector<work_item>)>;

double to_seconds(clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

} // namespace

struct pipeline::impl {
    impl(asio::any_io_executor executor, pipeline_config c, pipeline_parts p)
        : ex(executor)
        , cfg(std::move(c))
        , parts(p)
        , tracker(cfg.visibility_timeout)
        , received(executor, static_cast<std::size_t>(std::max(cfg.receivers, 1)) * 2)
        , masked(executor, 8)
        , wake(executor)
        , data_ready(executor)
        , ack_ready(executor)
        , dlq_ready(executor)
        , changed(executor)
        , stop_requested(executor) {}

    asio::any_io_executor ex;
    pipeline_config cfg;
    pipeline_parts parts;

    inflight_tracker tracker;
    ops::latency_recorder latency;
    run_summary totals;
    clock::time_point started{}, first_receive{}, last_delete{};

    // Shutdown state.
    bool stopping = false; // phase one: no more receiving
    bool hard = false;     // phase two: cancel everything
    std::string stop_reason;
    std::string fatal_error;

    // Stage state.
    bool sqs_ok = true;
    bool paused = false;
    bool empty_receive_seen = false;
    int receivers_running = 0;
    bool mask_done = false;
    bool batcher_done = false;
    bool dead_letters_done = false;
    bool acker_done = false;
    std::size_t writes_in_flight = 0;
    std::size_t ack_calls_in_flight = 0;
    std::size_t dlq_calls_in_flight = 0;
    std::size_t extend_calls_in_flight = 0;

    received_channel received; // receivers -> mask stage
    masked_channel masked;     // mask stage -> batcher
    event wake;                // backpressure released, state changed (receivers)
    event data_ready;          // the mask stage sent something (batcher)
    event ack_ready;           // tickets to delete (acker)
    event dlq_ready;           // rejects for the dead-letter queue
    event changed;             // a task finished or a counter dropped (joins)
    event stop_requested;      // stopping or hard was set (monitor, heartbeat)

    std::deque<ticket> to_delete;
    std::unordered_map<ticket, int> delete_attempts;
    std::deque<work_item> to_dead_letter;

    // Every task's cancellation signal, for the hard stop.
    std::list<asio::cancellation_signal> signals;
    std::size_t tasks_running = 0;

    // ---- task bookkeeping -------------------------------------------------------------

    asio::cancellation_signal& spawn(const char* name, asio::awaitable<void> task) {
        auto it = signals.emplace(signals.end());
        ++tasks_running;
        asio::co_spawn(
            ex, std::move(task),
            asio::bind_cancellation_slot(it->slot(), [this, name, it](std::exception_ptr e) {
                if (e) {
                    std::string what = "unknown exception";
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& x) {
                        what = x.what();
                    } catch (...) {
                    }
                    fail(fmt::format("internal error in the {} task: {}", name, what));
                }
                --tasks_running;
                // The signal's slot is still in use by the finishing
                // operation; drop it once the handler has returned.
                asio::post(ex, [this, it] { signals.erase(it); });
                changed.notify_all();
            }));
        return *it;
    }

    void fail(std::string why) {
        if (fatal_error.empty()) {
            fatal_error = std::move(why);
            ops::log(ops::level::error, "pipeline.fatal", {{"error", fatal_error}});
        }
        go_hard("fatal error");
    }

    /// A failure that makes every further write pointless, but leaves SQS usable: stop
    /// receiving (phase one, so outstanding long polls finish and their messages are
    /// handed back rather than left invisible) and end with status 1. Writes still
    /// queued fail at once and their messages are handed back too.
    void fail_soft(std::string why) {
        if (fatal_error.empty()) {
            fatal_error = std::move(why);
            ops::log(ops::level::error, "pipeline.fatal", {{"error", fatal_error}});
        }
        if (!stopping)
            request_stop("fatal error");
    }

    /// Stop receiving. Outstanding long polls are not cancelled: SQS completes a receive
    /// server-side even when the client goes away, so a cancelled poll would leave its
    /// messages invisible for a whole visibility timeout. They finish within the wait
    /// time (inside the grace period) and what they bring is processed with the rest.
    void request_stop(std::string_view reason) {
        if (!stopping) {
            stopping = true;
            stop_reason = reason;
            parts.metrics.draining.set(1);
            ops::log(ops::level::info, "pipeline.stopping",
                     {{"reason", reason},
                      {"held_messages", tracker.size()},
                      {"grace_seconds", static_cast<std::int64_t>(cfg.shutdown_grace.count())}});
            wake.notify_all();
            changed.notify_all();
            stop_requested.notify_all();
        } else if (!hard) {
            go_hard(reason);
        }
    }

    void go_hard(std::string_view reason) {
        if (hard)
            return;
        stopping = true;
        hard = true;
        ops::log(ops::level::warn, "pipeline.hard_stop",
                 {{"reason", reason}, {"held_messages", tracker.size()}});
        for (auto& s : signals)
            s.emit(asio::cancellation_type::terminal);
        wake.notify_all();
        data_ready.notify_all();
        ack_ready.notify_all();
        dlq_ready.notify_all();
        changed.notify_all();
        stop_requested.notify_all();
    }

    asio::awaitable<void> sleep(clock::duration d) {
        asio::steady_timer t(ex, d);
        co_await t.async_wait(use_tuple);
    }

    std::uint64_t client_retries_seen = 0;

    void update_gauges() {
        // The SQS client retries inside its calls; export its count as it grows.
        const std::uint64_t client_retries = parts.sqs.stats().retries;
        if (client_retries > client_retries_seen) {
            parts.metrics.sqs_retries.inc(client_retries - client_retries_seen);
            client_retries_seen = client_retries;
        }
        parts.metrics.in_flight_messages.set(static_cast<std::int64_t>(tracker.size()));
        parts.metrics.in_flight_bytes.set(static_cast<std::int64_t>(tracker.bytes()));
        parts.metrics.pg_connection.set(parts.writer.connected()
                                            ? ops::pipeline_metrics::connected
                                            : ops::pipeline_metrics::disconnected);
        parts.metrics.sqs_connection.set(sqs_ok ? ops::pipeline_metrics::connected
                                                : ops::pipeline_metrics::disconnected);
    }

    // ---- receivers --------------------------------------------------------------------

    bool must_pause() {
        const char* reason = nullptr;
        if (tracker.bytes() >= cfg.max_in_flight_bytes)
            reason = "max_in_flight_bytes";
        else if (!parts.writer.connected())
            reason = "postgres_disconnected";
        if ((reason != nullptr) != paused) {
            paused = reason != nullptr;
            if (paused)
                ops::log(ops::level::info, "pipeline.paused",
                         {{"reason", reason}, {"held_bytes", tracker.bytes()}});
            else
                ops::log(ops::level::info, "pipeline.resumed", {});
        }
        return paused;
    }

    asio::awaitable<void> receiver() {
        sqs::receive_options opts;
        opts.max_number_of_messages = sqs::max_receive_messages;
        opts.wait_time_seconds = static_cast<int>(cfg.wait_time.count());
        if (cfg.send_visibility_timeout)
            opts.visibility_timeout = static_cast<int>(cfg.visibility_timeout.count());
        opts.attribute_names.clear();
        opts.attribute_names.push_back("SentTimestamp");
        opts.attribute_names.push_back("ApproximateReceiveCount");
        opts.message_attribute_names.clear();
        const std::string url = cfg.queue_url;

        while (!stopping) {
            while (!stopping && must_pause())
                co_await wake.async_wait_for(milliseconds(250));
            if (stopping)
                break;
            auto r = co_await parts.sqs.async_receive_message(url, opts);
            if (!r) {
                if (stopping || r.error().kind == sqs::errc::cancelled)
                    break;
                sqs_ok = false;
                if (sqs::is_fatal(r.error().kind)) {
                    fail(parts.sqs.explain(r.error()));
                    break;
                }
                ops::log(ops::level::warn, "sqs.receive_failed",
                         {{"code", r.error().code},
                          {"status", r.error().http_status},
                          {"retry_in_ms", 1000}});
                parts.metrics.sqs_retries.inc();
                co_await sleep(seconds(1));
                continue;
            }
            sqs_ok = true;
            auto& messages = r->messages;
            const auto now = clock::now();
            const auto received_at = std::chrono::system_clock::now();
            totals.received += messages.size();
            parts.metrics.received.inc(messages.size());
            if (messages.empty()) {
                empty_receive_seen = true;
                continue;
            }
            empty_receive_seen = false;
            if (first_receive == clock::time_point{})
                first_receive = now;
            std::vector<inbound> batch;
            batch.reserve(messages.size());
            for (auto& m : messages) {
                const ticket t = tracker.add(m.message_id, m.receipt_handle, m.body.size(), now);
                batch.push_back(inbound{t, std::move(m), received_at});
            }
            update_gauges();
            boost::system::error_code ok;
            auto sent = co_await received.async_send(ok, std::move(batch), use_tuple);
            if (std::get<0>(sent))
                break; // hard stop: the copies stay held and are handed back at the end
        }
        if (--receivers_running == 0)
            received.close();
        changed.notify_all();
    }

    // ---- record + mask ----------------------------------------------------------------

    work_item process(inbound in) {
        work_item w;
        w.id = in.id;
        w.message_id = std::move(in.msg.message_id);
        w.receive_count = static_cast<std::int32_t>(in.msg.approximate_receive_count().value_or(1));
        w.sent_ms = in.msg.sent_timestamp_ms();
        const auto dated = record::create_date(in.msg.attribute("SentTimestamp"), in.received_at);
        if (dated.source != record::date_source::sent_timestamp) {
            ++totals.create_date_fallbacks;
            parts.metrics.create_date_fallbacks.inc();
            ops::log(ops::level::info, "record.dated_by_receive_time",
                     {{"message_id", w.message_id},
                      {"reason", dated.source == record::date_source::receive_time_missing
                                     ? "sent_timestamp_missing"
                                     : "sent_timestamp_invalid"}});
        }

        std::string field;
        auto parsed = record::parse_login(in.msg.body, cfg.fields);
        if (parsed) {
            auto row = mask::to_row(std::move(*parsed), dated.date, parts.masker, cfg.fields);
            if (row) {
                w.row = std::move(*row);
            } else {
                w.reason = record::reject_code(row.error().reason);
                field = row.error().field;
            }
        } else {
            w.reason = record::reject_code(parsed.error().reason);
            field = parsed.error().field;
        }
        if (!w.row) {
            // Codes and key names only: never the value, which may be personal data.
            ops::log(ops::level::info, "record.rejected",
                     {{"message_id", w.message_id}, {"reason", w.reason}, {"field", field}});
            if (!cfg.dead_letter_queue_url) {
                if (parts.sealer)
                    w.sealed = parts.sealer->seal(in.msg.body, w.message_id);
                base::cleanse(in.msg.body); // bodies hold personal data: no stray copy
                return w;
            }
        }
        w.body = std::move(in.msg.body);
        return w;
    }

    asio::awaitable<void> mask_stage() {
        for (;;) {
            auto res = co_await received.async_receive(use_tuple);
            if (std::get<0>(res))
                break; // closed: every receiver has stopped and the channel is empty
            auto& in = std::get<1>(res);
            std::vector<work_item> out;
            out.reserve(in.size());
            for (auto& m : in)
                out.push_back(process(std::move(m)));
            boost::system::error_code ok;
            auto sent = co_await masked.async_send(ok, std::move(out), use_tuple);
            data_ready.notify_all();
            if (std::get<0>(sent))
                break;
        }
        mask_done = true;
        data_ready.notify_all();
        changed.notify_all();
    }

    // ---- batcher and writes -----------------------------------------------------------

    // The batcher never races a channel receive against its timer: a receive that
    // completes while the timer wins would lose its messages. It takes what is buffered
    // with try_receive and waits on a data-less event instead.
    asio::awaitable<void> batcher() {
        std::vector<work_item> current;
        clock::time_point deadline{};
        for (;;) {
            if (hard)
                break;
            const bool producer_done = mask_done;
            while (
                masked.try_receive([&](boost::system::error_code ec, std::vector<work_item> items) {
                    if (ec)
                        return;
                    for (auto& w : items) {
                        if (!w.row && cfg.dead_letter_queue_url) {
                            to_dead_letter.push_back(std::move(w));
                            dlq_ready.notify_all();
                            continue;
                        }
                        if (current.empty())
                            deadline = clock::now() + cfg.batch_max_delay;
                        current.push_back(std::move(w));
                    }
                })) {
            }
            if (current.size() >= cfg.batch_size) {
                std::vector<work_item> full(
                    std::make_move_iterator(current.begin()),
                    std::make_move_iterator(current.begin() +
                                            static_cast<std::ptrdiff_t>(cfg.batch_size)));
                current.erase(current.begin(),
                              current.begin() + static_cast<std::ptrdiff_t>(cfg.batch_size));
                if (!current.empty())
                    deadline = clock::now() + cfg.batch_max_delay;
                co_await flush(std::move(full));
                continue; // re-check the channel before waiting: no wake-up is lost
            }
            if (producer_done) {
                if (!current.empty())
                    co_await flush(std::move(current));
                break;
            }
            if (current.empty()) {
                co_await data_ready.async_wait();
                continue;
            }
            const auto now = clock::now();
            if (now >= deadline) {
                std::vector<work_item> due = std::move(current);
                current.clear();
                co_await flush(std::move(due));
                continue;
            }
            co_await data_ready.async_wait_for(deadline - now);
        }
        while (writes_in_flight > 0 && !hard)
            co_await changed.async_wait();
        batcher_done = true;
        changed.notify_all();
        ack_ready.notify_all();
        dlq_ready.notify_all();
    }

    asio::awaitable<void> flush(std::vector<work_item> items) {
        while (writes_in_flight >= cfg.max_batches_in_flight && !hard)
            co_await changed.async_wait();
        if (hard)
            co_return; // the copies stay held and are handed back
        ++writes_in_flight;
        spawn("write", write_batch(std::move(items)));
    }

    pg::reject_item reject_for(const work_item& w, std::string reason, std::string sealed) const {
        pg::reject_item r;
        r.message_id = w.message_id;
        r.reason = std::move(reason);
        r.receive_count = w.receive_count;
        r.sent_timestamp_ms = w.sent_ms;
        r.sealed_body = std::move(sealed);
        return r;
    }

    void committed(ticket t) {
        latency.record(duration_cast<std::chrono::nanoseconds>(tracker.mark_done(t, clock::now())));
        to_delete.push_back(t);
        ack_ready.notify_all();
    }

    /// Applies one outcome; returns false for items to write again.
    bool settle(work_item& w, const pg::item_outcome& o) {
        switch (o.status) {
        case pg::item_status::inserted:
            ++totals.inserted;
            parts.metrics.inserted.inc();
            committed(w.id);
            return true;
        case pg::item_status::duplicate:
            ++totals.duplicates_skipped;
            parts.metrics.duplicates_skipped.inc();
            committed(w.id);
            return true;
        case pg::item_status::rejected:
            ++totals.rejected;
            parts.metrics.rejected.inc();
            if (w.row)
                ops::log(ops::level::warn, "pg.row_refused",
                         {{"message_id", w.message_id}, {"sqlstate", o.sqlstate}});
            committed(w.id);
            return true;
        case pg::item_status::failed:
            // Its reject record was refused: no ack; SQS redelivers it after the
            // visibility timeout (and its redrive policy takes over).
            ops::log(ops::level::error, "pg.reject_refused",
                     {{"message_id", w.message_id}, {"sqlstate", o.sqlstate}});
            tracker.remove(w.id);
            wake.notify_all();
            return true;
        case pg::item_status::retry:
            return false;
        }
        return false;
    }

    asio::awaitable<void> write_batch(std::vector<work_item> pending) {
        int attempt = 0;
        while (!pending.empty()) {
            pg::batch b;
            std::vector<std::size_t> row_of, reject_of;
            for (std::size_t i = 0; i < pending.size(); ++i) {
                auto& w = pending[i];
                if (w.row) {
                    b.rows.push_back(pg::row_item{w.message_id, *w.row});
                    row_of.push_back(i);
                } else {
                    b.rejects.push_back(reject_for(w, w.reason, w.sealed));
                    reject_of.push_back(i);
                }
            }
            b.make_reject = [this, &pending, &row_of](std::size_t row_index,
                                                      std::string_view sqlstate) {
                const auto& w = pending[row_of[row_index]];
                std::string sealed =
                    parts.sealer ? parts.sealer->seal(w.body, w.message_id) : std::string();
                return reject_for(w, pg::refused_reason(sqlstate), std::move(sealed));
            };
            const auto t0 = clock::now();
            const auto rows = b.rows.size();
            auto outcome = co_await parts.writer.async_write(std::move(b));
            parts.metrics.batch_latency.observe(to_seconds(clock::now() - t0));
            parts.metrics.batch_rows.observe(static_cast<double>(rows));

            if (ops::log_enabled(ops::level::debug))
                ops::log(ops::level::debug, "pg.batch_written",
                         {{"rows", rows},
                          {"rejects", reject_of.size()},
                          {"inserted", outcome.inserted},
                          {"duplicates", outcome.duplicates},
                          {"retry", outcome.retry},
                          {"ms", duration_cast<milliseconds>(clock::now() - t0).count()}});
            std::vector<work_item> again;
            for (std::size_t k = 0; k < row_of.size() && k < outcome.rows.size(); ++k)
                if (!settle(pending[row_of[k]], outcome.rows[k]))
                    again.push_back(std::move(pending[row_of[k]]));
            for (std::size_t k = 0; k < reject_of.size() && k < outcome.rejects.size(); ++k)
                if (!settle(pending[reject_of[k]], outcome.rejects[k]))
                    again.push_back(std::move(pending[reject_of[k]]));
            if (again.empty() || hard)
                break; // on a hard stop what is left stays held and is handed back
            if (pg::is_fatal(outcome.error)) {
                // Permissions, a dropped table, a failing trigger: no retry can fix it,
                // so stop instead of holding messages for ever. What is left is handed
                // back; the SQLSTATE says what the database refused.
                std::string sqlstate;
                for (const auto& o : outcome.rows)
                    if (sqlstate.empty() && o.status == pg::item_status::retry)
                        sqlstate = o.sqlstate;
                for (const auto& o : outcome.rejects)
                    if (sqlstate.empty() && o.status == pg::item_status::retry)
                        sqlstate = o.sqlstate;
                // Codes only: the server's text may quote row values.
                fail_soft(fmt::format("postgres refused the batch: {}{}", outcome.error.message(),
                                      sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")"));
                break;
            }
            parts.metrics.pg_retries.inc(again.size());
            if (outcome.error)
                ops::log(ops::level::warn, "pg.batch_retry",
                         {{"items", again.size()}, {"error", outcome.error.message()}});
            pending = std::move(again);
            // The writer itself waits for a reconnect; this only spaces repeated
            // failures such as statement timeouts.
            co_await sleep(
                std::min<clock::duration>(milliseconds(100 << std::min(attempt, 6)), seconds(5)));
            ++attempt;
        }
        --writes_in_flight;
        changed.notify_all();
    }

    // ---- dead letters -----------------------------------------------------------------

    asio::awaitable<void> dead_letter_sender() {
        // SendMessageBatch caps the total payload of a call at 1 MiB.
        constexpr std::size_t max_payload = 900 * 1024;
        for (;;) {
            if (hard)
                break;
            if (to_dead_letter.empty()) {
                // writes_in_flight: rejects the dead-letter queue refused, on their way
                // to the rejects table.
                if (batcher_done && dlq_calls_in_flight == 0 && writes_in_flight == 0)
                    break;
                co_await dlq_ready.async_wait_for(seconds(1));
                continue;
            }
            if (dlq_calls_in_flight >= 2) {
                co_await changed.async_wait();
                continue;
            }
            std::vector<work_item> items;
            std::size_t bytes = 0;
            while (!to_dead_letter.empty() && items.size() < sqs::max_batch_entries &&
                   (items.empty() || bytes + to_dead_letter.front().body.size() <= max_payload)) {
                bytes += to_dead_letter.front().body.size();
                items.push_back(std::move(to_dead_letter.front()));
                to_dead_letter.pop_front();
            }
            ++dlq_calls_in_flight;
            spawn("dead-letter", send_dead_letters(std::move(items)));
        }
        dead_letters_done = true;
        changed.notify_all();
        ack_ready.notify_all();
    }

    asio::awaitable<void> send_dead_letters(std::vector<work_item> items) {
        std::vector<sqs::send_entry> entries;
        entries.reserve(items.size());
        for (const auto& w : items) {
            std::vector<sqs::message_attribute> attrs;
            attrs.emplace_back("sqs2pg-reject-reason", "String", w.reason);
            attrs.emplace_back("sqs2pg-original-message-id", "String", w.message_id);
            attrs.emplace_back("sqs2pg-receive-count", "Number", std::to_string(w.receive_count));
            entries.emplace_back(std::to_string(w.id), w.body, std::nullopt, std::move(attrs));
        }
        const std::string url = *cfg.dead_letter_queue_url;
        auto r = co_await parts.sqs.async_send_message_batch(url, std::move(entries));
        std::vector<work_item> again, refused;
        if (!r) {
            if (!hard && sqs::is_fatal(r.error().kind)) {
                fail("dead-letter queue: " + parts.sqs.explain(r.error()));
                again = std::move(items);
            } else if (!hard && refused_for_good(r.error().kind) && items.size() > 1) {
                // Which entry made the whole call fail is unknown: send each in a call of
                // its own, so only the one the queue will never take goes to the table.
                for (auto& w : items) {
                    std::vector<work_item> alone;
                    alone.push_back(std::move(w));
                    ++dlq_calls_in_flight;
                    spawn("dead-letter", send_dead_letters(std::move(alone)));
                }
            } else if (!hard && refused_for_good(r.error().kind)) {
                ops::log(ops::level::error, "sqs.dead_letter_refused",
                         {{"message_id", items.front().message_id}, {"code", r.error().code}});
                refused = std::move(items);
            } else {
                if (!hard)
                    ops::log(ops::level::warn, "sqs.dead_letter_failed",
                             {{"code", r.error().code}, {"items", items.size()}});
                again = std::move(items);
            }
        } else {
            for (auto& w : items) {
                const std::string id = std::to_string(w.id);
                if (const auto* f = r->failure(id)) {
                    const bool for_good = refused_for_good(sqs::classify(f->code, 400));
                    ops::log(for_good ? ops::level::error : ops::level::warn,
                             for_good ? "sqs.dead_letter_refused" : "sqs.dead_letter_failed",
                             {{"message_id", w.message_id}, {"code", f->code}});
                    (for_good ? refused : again).push_back(std::move(w));
                    continue;
                }
                ++totals.rejected;
                ++totals.dead_lettered;
                parts.metrics.rejected.inc();
                parts.metrics.dead_lettered.inc();
                committed(w.id);
            }
        }
        if (!refused.empty() && !hard) {
            // The dead-letter queue will never take these (too large with the reason
            // attributes, a FIFO queue, a refused parameter): keep them in the rejects
            // table instead, sealed, so they are neither lost nor retried for ever.
            for (auto& w : refused) {
                if (parts.sealer)
                    w.sealed = parts.sealer->seal(w.body, w.message_id);
                base::cleanse(w.body);
                w.body.clear();
            }
            parts.metrics.dead_letter_refused.inc(refused.size());
            ++writes_in_flight;
            spawn("write", write_batch(std::move(refused)));
        }
        if (!again.empty() && !hard) {
            co_await sleep(seconds(1));
            for (auto& w : again)
                to_dead_letter.push_back(std::move(w));
            dlq_ready.notify_all();
        }
        --dlq_calls_in_flight;
        changed.notify_all();
    }

    /// A dead-letter send that no retry can make succeed.
    static bool refused_for_good(sqs::errc kind) {
        return kind == sqs::errc::invalid_request || kind == sqs::errc::invalid_argument;
    }

    // ---- acknowledgements -------------------------------------------------------------

    asio::awaitable<void> acker() {
        for (;;) {
            if (hard)
                break;
            if (to_delete.empty()) {
                if (batcher_done && (dead_letters_done || !cfg.dead_letter_queue_url) &&
                    ack_calls_in_flight == 0)
                    break;
                co_await ack_ready.async_wait_for(seconds(1));
                continue;
            }
            if (ack_calls_in_flight >= cfg.max_ack_calls) {
                co_await changed.async_wait();
                continue;
            }
            std::vector<ticket> batch;
            while (!to_delete.empty() && batch.size() < sqs::max_batch_entries) {
                batch.push_back(to_delete.front());
                to_delete.pop_front();
            }
            ++ack_calls_in_flight;
            spawn("delete", delete_batch(std::move(batch)));
        }
        acker_done = true;
        changed.notify_all();
        stop_requested.notify_all(); // the heartbeat's cue: nothing is left to extend
    }

    asio::awaitable<void> delete_batch(std::vector<ticket> tickets) {
        std::vector<sqs::delete_entry> entries;
        for (ticket t : tickets)
            if (const auto* m = tracker.find(t))
                entries.emplace_back(std::to_string(t), m->receipt_handle);
        std::vector<ticket> again;
        if (!entries.empty()) {
            const std::string url = cfg.queue_url;
            auto r = co_await parts.sqs.async_delete_message_batch(url, std::move(entries));
            if (!r) {
                if (!hard && sqs::is_fatal(r.error().kind))
                    fail(parts.sqs.explain(r.error()));
                else if (!hard)
                    ops::log(ops::level::warn, "sqs.delete_failed",
                             {{"code", r.error().code}, {"items", tickets.size()}});
                again = tickets; // committed but not deleted: stay held (final flush)
            } else {
                if (ops::log_enabled(ops::level::debug))
                    ops::log(ops::level::debug, "sqs.deleted",
                             {{"deleted", r->successful.size()}, {"failed", r->failed.size()}});
                const auto now = clock::now();
                for (ticket t : tickets) {
                    const auto* m = tracker.find(t);
                    if (m == nullptr)
                        continue;
                    const auto* f = r->failure(std::to_string(t));
                    if (f == nullptr) {
                        ++totals.deleted;
                        parts.metrics.deleted.inc();
                        last_delete = now;
                        delete_attempts.erase(t);
                        tracker.remove(t);
                        continue;
                    }
                    parts.metrics.delete_failures.inc();
                    const bool gone = sqs::classify(f->code, 400) == sqs::errc::receipt_invalid;
                    if (gone || ++delete_attempts[t] >= 5) {
                        // The handle expired (the message may be delivered again: its
                        // MessageId is in the ledger, so that copy is only deleted).
                        ops::log(ops::level::warn, "sqs.delete_rejected",
                                 {{"message_id", m->message_id}, {"code", f->code}});
                        delete_attempts.erase(t);
                        tracker.remove(t);
                        continue;
                    }
                    again.push_back(t);
                }
            }
        }
        if (!again.empty() && !hard) {
            co_await sleep(seconds(1));
            for (ticket t : again)
                to_delete.push_back(t);
            ack_ready.notify_all();
        }
        update_gauges();
        --ack_calls_in_flight;
        wake.notify_all(); // bytes were released: receivers may go on
        changed.notify_all();
    }

    // ---- visibility heartbeat ---------------------------------------------------------

    asio::awaitable<void> heartbeat() {
        // Extensions are due half way through the window; checking six times per window
        // leaves at least a third of it for the call, even with short timeouts.
        const auto tick =
            std::clamp<clock::duration>(cfg.visibility_timeout / 6, milliseconds(100), seconds(1));
        while (!acker_done && !hard) {
            co_await stop_requested.async_wait_for(tick);
            update_gauges();
            auto due = tracker.due_extensions(clock::now());
            for (std::size_t i = 0; i < due.size() && !hard; i += sqs::max_batch_entries) {
                while (extend_calls_in_flight >= cfg.max_ack_calls && !hard)
                    co_await changed.async_wait();
                std::vector<extension> chunk(
                    due.begin() + static_cast<std::ptrdiff_t>(i),
                    due.begin() + static_cast<std::ptrdiff_t>(
                                      std::min(due.size(), i + sqs::max_batch_entries)));
                ++extend_calls_in_flight;
                spawn("extend", extend_visibility(std::move(chunk)));
            }
        }
    }

    asio::awaitable<void> extend_visibility(std::vector<extension> due) {
        std::vector<sqs::visibility_entry> entries;
        for (const auto& e : due)
            entries.emplace_back(std::to_string(e.id), e.receipt_handle,
                                 static_cast<int>(e.visibility.count()));
        const auto sent_at = clock::now();
        const std::string url = cfg.queue_url;
        auto r = co_await parts.sqs.async_change_message_visibility_batch(url, std::move(entries));
        for (const auto& e : due) {
            if (!r) {
                tracker.extension_failed(e.id);
                continue;
            }
            const auto* f = r->failure(std::to_string(e.id));
            if (f == nullptr) {
                tracker.extended(e.id, sent_at, e.visibility);
                parts.metrics.visibility_extended.inc();
            } else if (sqs::classify(f->code, 400) == sqs::errc::receipt_invalid) {
                tracker.lease_lost(e.id); // redelivered elsewhere: the ledger dedups it
            } else {
                tracker.extension_failed(e.id);
            }
        }
        if (!r && !hard)
            ops::log(ops::level::warn, "sqs.extend_failed", {{"code", r.error().code}});
        --extend_calls_in_flight;
        changed.notify_all();
    }

    // ---- drain detection and progress -------------------------------------------------

    bool locally_idle() const {
        return tracker.empty() && writes_in_flight == 0 && to_delete.empty() &&
               to_dead_letter.empty();
    }

    asio::awaitable<void> monitor() {
        ops::progress_display display(stderr, cfg.progress);
        std::optional<std::uint64_t> total;
        auto next_poll = clock::time_point{};
        std::vector<std::string> names;
        names.push_back("ApproximateNumberOfMessages");
        names.push_back("ApproximateNumberOfMessagesNotVisible");
        names.push_back("ApproximateNumberOfMessagesDelayed");
        const std::string url = cfg.queue_url;
        while (!stopping) {
            co_await stop_requested.async_wait_for(milliseconds(250));
            if (stopping)
                break;
            const bool may_be_drained = cfg.drain && empty_receive_seen && locally_idle();
            if (may_be_drained || (cfg.progress && clock::now() >= next_poll)) {
                next_poll = clock::now() + seconds(2);
                auto attrs = co_await parts.sqs.async_get_queue_attributes(url, names);
                if (stopping)
                    break;
                if (attrs) {
                    const auto visible = sqs::attribute_as_number(*attrs, names[0]).value_or(1);
                    const auto hidden = sqs::attribute_as_number(*attrs, names[1]).value_or(1);
                    const auto delayed = sqs::attribute_as_number(*attrs, names[2]).value_or(1);
                    total = totals.deleted + visible + hidden + delayed;
                    if (cfg.drain && visible == 0 && hidden == 0 && delayed == 0 &&
                        empty_receive_seen && locally_idle()) {
                        ops::log(ops::level::info, "drain.complete",
                                 {{"deleted", totals.deleted}, {"received", totals.received}});
                        request_stop("drained");
                        break;
                    }
                } else if (sqs::is_fatal(attrs.error().kind)) {
                    fail(parts.sqs.explain(attrs.error()));
                    break;
                }
            }
            display.update(clock::now(), totals.deleted, total);
        }
        display.finish(clock::now(), totals.deleted, total);
    }

    // ---- the end ----------------------------------------------------------------------

    /// Deletes what was committed and hands back (visibility 0) what was not, within
    /// cfg.settle_timeout: called after every task has finished. SQS redelivers what
    /// could not be handed back once its visibility timeout passes.
    asio::awaitable<void> settle_held() {
        if (tracker.empty())
            co_return;
        using namespace asio::experimental::awaitable_operators;
        const std::size_t not_committed = tracker.unfinished().size();
        asio::steady_timer limit(ex, cfg.settle_timeout);
        const auto r = co_await (settle_held_calls() || limit.async_wait(use_tuple));
        if (r.index() == 1)
            ops::log(ops::level::warn, "pipeline.settle_timeout",
                     {{"seconds", static_cast<std::int64_t>(cfg.settle_timeout.count())},
                      {"still_held", tracker.size()}});
        totals.released += settled_back;
        ops::log(ops::level::info, "pipeline.released",
                 {{"handed_back", settled_back},
                  {"not_committed", not_committed},
                  {"committed_not_deleted", tracker.done_tickets().size()}});
    }

    std::size_t settled_back = 0; // handed back by settle_held_calls so far

    asio::awaitable<void> settle_held_calls() {
        std::vector<sqs::delete_entry> deletes;
        std::vector<sqs::visibility_entry> releases;
        std::vector<ticket> delete_ids, release_ids;
        for (const auto& [t, receipt] : tracker.unfinished()) {
            releases.emplace_back(std::to_string(t), receipt, 0);
            release_ids.push_back(t);
        }
        for (ticket t : tracker.done_tickets()) {
            deletes.emplace_back(std::to_string(t), tracker.find(t)->receipt_handle);
            delete_ids.push_back(t);
        }
        const std::string url = cfg.queue_url;
        for (std::size_t i = 0; i < deletes.size(); i += sqs::max_batch_entries) {
            std::vector<sqs::delete_entry> chunk(
                deletes.begin() + static_cast<std::ptrdiff_t>(i),
                deletes.begin() + static_cast<std::ptrdiff_t>(
                                      std::min(deletes.size(), i + sqs::max_batch_entries)));
            auto r = co_await parts.sqs.async_delete_message_batch(url, std::move(chunk));
            if (r)
                for (const auto& id : r->successful) {
                    ++totals.deleted;
                    parts.metrics.deleted.inc();
                    tracker.remove(std::stoull(id));
                }
        }
        for (std::size_t i = 0; i < releases.size(); i += sqs::max_batch_entries) {
            std::vector<sqs::visibility_entry> chunk(
                releases.begin() + static_cast<std::ptrdiff_t>(i),
                releases.begin() + static_cast<std::ptrdiff_t>(
                                       std::min(releases.size(), i + sqs::max_batch_entries)));
            auto r =
                co_await parts.sqs.async_change_message_visibility_batch(url, std::move(chunk));
            if (r)
                settled_back += r->successful.size();
        }
    }

    asio::awaitable<run_result> run() {
        started = clock::now();
        ops::log(ops::level::info, "pipeline.started",
                 {{"queue_url", cfg.queue_url},
                  {"receivers", cfg.receivers},
                  {"batch_size", cfg.batch_size},
                  {"batches_in_flight", cfg.max_batches_in_flight},
                  {"wait_time_seconds", static_cast<std::int64_t>(cfg.wait_time.count())},
                  {"visibility_timeout", static_cast<std::int64_t>(cfg.visibility_timeout.count())},
                  {"drain", cfg.drain}});
        receivers_running = cfg.receivers;
        for (int i = 0; i < cfg.receivers; ++i)
            spawn("receiver", receiver());
        spawn("mask", mask_stage());
        spawn("batcher", batcher());
        if (cfg.dead_letter_queue_url)
            spawn("dead-letter", dead_letter_sender());
        spawn("acker", acker());
        spawn("heartbeat", heartbeat());
        if (cfg.drain || cfg.progress)
            spawn("monitor", monitor());

        while (!stopping)
            co_await changed.async_wait();
        const auto grace_end = clock::now() + cfg.shutdown_grace;
        while (tasks_running > 0) {
            const auto now = clock::now();
            if (now >= grace_end && !hard)
                go_hard("the shutdown grace period is over");
            co_await changed.async_wait_for(hard ? seconds(1) : grace_end - now);
        }
        co_await settle_held();

        const auto end = clock::now();
        totals.seconds_total = to_seconds(end - started);
        if (first_receive != clock::time_point{} && last_delete > first_receive)
            totals.seconds = to_seconds(last_delete - first_receive);
        totals.msgs_per_sec =
            totals.seconds > 0 ? static_cast<double>(totals.deleted) / totals.seconds : 0;
        totals.p50_ms = latency.quantile_ms(0.50);
        totals.p99_ms = latency.quantile_ms(0.99);
        totals.peak_rss_kb = peak_rss_kb();
        totals.integrity_failures = parts.sqs.stats().rejected_messages;
        run_result result;
        result.summary = totals;
        if (!fatal_error.empty()) {
            result.exit_code = 1;
            result.error = fatal_error;
        } else if (hard) {
            result.exit_code = 1;
            result.error = "stopped before all work was committed: " + stop_reason;
        }
        ops::log(ops::level::info, "pipeline.stopped",
                 {{"reason", fatal_error.empty() ? stop_reason : std::string("fatal error")},
                  {"exit_code", result.exit_code}});
        co_return result;
    }
};

pipeline::pipeline(asio::any_io_executor ex, pipeline_config cfg, pipeline_parts parts)
    : impl_(std::make_unique<impl>(ex, std::move(cfg), parts)) {}

pipeline::~pipeline() = default;

asio::awaitable<run_result> pipeline::async_run() {
    return impl_->run();
}

void pipeline::request_stop(std::string_view reason) {
    impl_->request_stop(reason);
}

void pipeline::fail(std::string why) {
    impl_->fail(std::move(why));
}

ops::readiness pipeline::readiness() const {
    if (impl_->stopping)
        return {false, "stopping"};
    if (!impl_->parts.writer.connected())
        return {false, "postgres disconnected"};
    if (!impl_->sqs_ok)
        return {false, "sqs calls failing"};
    return {true, ""};
}

} // namespace sqs2pg::flow
