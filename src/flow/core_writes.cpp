// The core's writes: batching by size and by delay, retries with backoff, settling each
// item of a written batch, and noticing when writes stop making progress (a stall).
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/flow/core.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/pg/error.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace sqs2pg::flow {

// --- writes ------------------------------------------------------------------------------

bool core::writes_finished() const noexcept {
    if (hard() || writes_pointless())
        return writing_.empty();
    return process_finished() && dead_letters_finished() && to_write_.empty() && retries_.empty() &&
           writing_.empty();
}

bool core::write_work_waiting() const noexcept {
    return !to_write_.empty() || !retries_.empty() || !writing_.empty();
}

clock::time_point core::watch_stall(clock::time_point now) {
    if (!write_work_waiting() || stopping()) {
        write_progress_ = now; // nothing waits: nothing can stall
        if (stalled_)
            write_progress(now);
        return clock::time_point::max();
    }
    const auto stall_at = write_progress_ + cfg_.stall_after;
    if (now < stall_at || stalled_)
        return stalled_ ? clock::time_point::max() : stall_at;
    stalled_ = true;
    ops::log(ops::level::warn, "pipeline.writes_stalled",
             {{"seconds",
               std::chrono::duration_cast<std::chrono::seconds>(now - write_progress_).count()},
              {"waiting", to_write_.size() + retry_items_},
              {"writing", writing_.size()},
              {"postgres_connected", pg_connected_},
              {"last_error", last_write_error_.empty() ? std::string_view("no answer")
                                                       : std::string_view(last_write_error_)}});
    check_pause(now);
    wakeups_ |= wake::receive;
    return clock::time_point::max();
}

void core::write_progress(clock::time_point now) {
    write_progress_ = now;
    last_write_error_.clear();
    if (!stalled_)
        return;
    stalled_ = false;
    ops::log(ops::level::info, "pipeline.writes_resumed", {});
    check_pause(now);
    wakeups_ |= wake::receive;
}

std::chrono::seconds core::write_stall(clock::time_point now) const noexcept {
    return stalled_ ? std::chrono::duration_cast<std::chrono::seconds>(now - write_progress_)
                    : std::chrono::seconds(0);
}

write_step core::next_write(clock::time_point now) {
    const auto stall_at = watch_stall(now);
    if (writes_finished())
        return make_step<write_step>(step_kind::finish);
    if (hard() || writes_pointless() || writing_.size() >= cfg_.max_batches_in_flight)
        return make_step<write_step>(step_kind::wait, stall_at); // or a write completes
    std::vector<ticket> items;
    auto until = stall_at;
    unsigned attempt = 0;
    for (auto it = retries_.begin(); it != retries_.end(); ++it) {
        if (it->not_before <= now) {
            items = std::move(it->items);
            attempt = it->attempt;
            retry_items_ -= items.size();
            wakeups_ |= wake::receive; // the backlog shrank
            retries_.erase(it);
            break;
        }
        until = std::min(until, it->not_before);
    }
    if (items.empty() && !to_write_.empty()) {
        // Nothing more is coming soon: the intake has stopped and drained into the queue.
        const bool intake_done = process_finished();
        const bool full = to_write_.size() >= cfg_.batch_size;
        const auto due = oldest_to_write_ + cfg_.batch_max_delay;
        if (full || write_now_ || intake_done || now >= due) {
            const std::size_t n = std::min(to_write_.size(), cfg_.batch_size);
            items.assign(to_write_.begin(), to_write_.begin() + static_cast<std::ptrdiff_t>(n));
            to_write_.erase(to_write_.begin(), to_write_.begin() + static_cast<std::ptrdiff_t>(n));
            wakeups_ |= wake::receive; // the backlog shrank
            write_now_ = false;
            oldest_to_write_ = now; // what is left has waited since now, at the latest
        } else {
            until = std::min(until, due);
        }
    }
    if (items.empty())
        return make_step<write_step>(step_kind::wait, until);

    write_step step;
    step.kind = step_kind::go;
    step.call.id = next_call_++;
    write_batch& wb = writing_[step.call.id];
    wb.attempt = attempt;
    pg::batch& b = step.call.batch;
    b.rows.reserve(items.size()); // rejects are rare: they grow as they come
    wb.rows.reserve(items.size());
    for (ticket t : items) {
        held_copy* c = held_.find(t);
        if (c == nullptr)
            continue;
        c->state = copy_state::writing;
        if (c->row) {
            // Moved, not copied, with its message id: written() gives both back (a retry
            // writes them again).
            b.rows.push_back(
                pg::row_item{std::move(c->message_id), std::move(*c->row), c->sent_ms});
            wb.rows.push_back(t);
        } else {
            pg::reject_item r;
            r.message_id = c->message_id;
            r.reason = c->reason;
            r.receive_count = c->receive_count;
            r.sent_timestamp_ms = c->sent_ms;
            r.sealed_body = c->sealed;
            b.rejects.push_back(std::move(r));
            wb.rejects.push_back(t);
        }
    }
    if (wb.rows.empty() && wb.rejects.empty()) { // every queued copy had left already
        writing_.erase(step.call.id);
        return make_step<write_step>(step_kind::wait);
    }
    return step;
}

void core::commit(ticket t, held_copy& c, clock::time_point now) {
    c.state = copy_state::committed;
    // Only the delete is left: the data goes now, the receipt handle stays.
    base::cleanse(c.body);
    c.body = {};
    c.row.reset();
    c.sealed = {};
    latency_.record(std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.received_at));
    to_delete_.push_back(t);
    wakeups_ |= wake::remove;
}

void core::drop(ticket t) {
    held_.remove(t);
    wakeups_ |= wake::receive | wake::watch;
    if (stopping())
        wakeups_ |= wake::all_stages;
}

void core::settle_write_item(ticket t, const pg::item_outcome& o, std::vector<ticket>& again,
                             clock::time_point now) {
    held_copy* c = held_.find(t);
    if (c == nullptr)
        return;
    switch (o.status) {
    case pg::item_status::inserted:
        ++counts_.inserted;
        commit(t, *c, now);
        return;
    case pg::item_status::duplicate:
        ++counts_.duplicates_skipped;
        commit(t, *c, now);
        return;
    case pg::item_status::rejected:
        ++counts_.rejected;
        commit(t, *c, now);
        return;
    case pg::item_status::refused:
        // The database refused the row's values (class 22/23): kept as a reject instead,
        // in the next write. Codes only: the server's text may quote the values.
        ops::log(ops::level::warn, "pg.row_refused",
                 {{"message_id", c->message_id}, {"sqlstate", o.sqlstate}});
        to_reject(t, *c, reject_origin::refused_by_database, pg::refused_reason(o.sqlstate), now);
        return;
    case pg::item_status::failed:
        // Its reject record itself was refused: not acknowledged; SQS redelivers it after
        // its visibility timeout and the queue's redrive policy takes over.
        ops::log(ops::level::error, "pg.reject_refused",
                 {{"message_id", c->message_id}, {"sqlstate", o.sqlstate}});
        drop(t);
        return;
    case pg::item_status::retry:
        c->state = copy_state::queued;
        again.push_back(t);
        return;
    }
}

void core::written(write_call&& call, const pg::batch_outcome& outcome, clock::time_point now) {
    const auto it = writing_.find(call.id);
    if (it == writing_.end())
        return;
    write_batch wb = std::move(it->second);
    writing_.erase(it);
    // The rows go back where they came from first: whatever is settled below finds each
    // copy as next_write left it (a row that is written again needs it; a committed one
    // releases it).
    for (std::size_t k = 0; k < wb.rows.size() && k < call.batch.rows.size(); ++k)
        if (held_copy* c = held_.find(wb.rows[k]); c != nullptr && c->row) {
            *c->row = std::move(call.batch.rows[k].row);
            c->message_id = std::move(call.batch.rows[k].message_id);
        }
    wakeups_ |= wake::write;
    if (stopping())
        wakeups_ |= wake::all_stages;

    std::vector<ticket> again;
    static const pg::item_outcome unknown{};
    const auto committed_before = counts_.inserted + counts_.duplicates_skipped + counts_.rejected;
    for (std::size_t k = 0; k < wb.rows.size(); ++k)
        settle_write_item(wb.rows[k], k < outcome.rows.size() ? outcome.rows[k] : unknown, again,
                          now);
    for (std::size_t k = 0; k < wb.rejects.size(); ++k)
        settle_write_item(wb.rejects[k], k < outcome.rejects.size() ? outcome.rejects[k] : unknown,
                          again, now);
    if (counts_.inserted + counts_.duplicates_skipped + counts_.rejected > committed_before)
        write_progress(now);
    else if (outcome.error)
        last_write_error_ = outcome.error.message();
    if (again.empty() || hard())
        return; // on a hard stop what is left stays held and is handed back
    if (pg::is_fatal(outcome.error)) {
        // Permissions, a dropped table, a failing trigger: no retry can fix it, so stop
        // instead of holding messages for ever; what is left is handed back. The SQLSTATE
        // says what the database refused (codes only: the text may quote row values).
        std::string sqlstate;
        for (const auto& o : outcome.rows)
            if (sqlstate.empty() && o.status == pg::item_status::retry)
                sqlstate = o.sqlstate;
        for (const auto& o : outcome.rejects)
            if (sqlstate.empty() && o.status == pg::item_status::retry)
                sqlstate = o.sqlstate;
        fail_with(errc::pg_refused,
                  fmt::format("postgres refused the batch: {}{}", outcome.error.message(),
                              sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")"),
                  now);
        return;
    }
    counts_.pg_retries += again.size();
    const auto delay = base::backoff_delay(cfg_.write_retry, wb.attempt, random());
    ops::log(ops::level::warn, "pg.batch_retry",
             {{"items", again.size()},
              {"error", outcome.error ? outcome.error.message() : std::string("unknown")},
              {"attempt", wb.attempt + 1},
              {"retry_in_ms", delay.count()}});
    retry_items_ += again.size();
    retries_.push_back(write_retry_batch{std::move(again), wb.attempt + 1, now + delay});
}

} // namespace sqs2pg::flow
