// The core's intake and writes: when receivers may poll, registering what came back,
// routing rejects, batching by size and delay, and settling each item of a written batch.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/flow/core.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/record/create_date.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace sqs2pg::flow {

// --- receivers ---------------------------------------------------------------------------

void core::check_pause(clock::time_point) {
    const char* reason = nullptr;
    if (held_.bytes() >= cfg_.max_in_flight_bytes)
        reason = "max_in_flight_bytes";
    else if (!pg_connected_)
        reason = "postgres_disconnected";
    else if (stalled_)
        reason = "writes_stalled";
    if ((reason == nullptr) == (pause_reason_ == nullptr))
        return;
    pause_reason_ = reason;
    if (reason != nullptr)
        ops::log(ops::level::info, "pipeline.paused",
                 {{"reason", reason}, {"held_bytes", held_.bytes()}});
    else
        ops::log(ops::level::info, "pipeline.resumed", {});
}

receive_step core::next_receive(clock::time_point now) {
    if (stopping())
        return make_step<receive_step>(step_kind::finish);
    check_pause(now);
    if (pause_reason_ != nullptr)
        return make_step<receive_step>(
            step_kind::wait); // a release or a reconnect wakes the receivers
    if (now < receive_not_before_)
        return make_step<receive_step>(step_kind::wait, receive_not_before_);
    // Backpressure, as bounded channels would give: with a full batch already waiting
    // for every write slot, or twice that many copies held (the deletes lag), receiving
    // more only grows memory and latency: the pipeline goes at its slowest stage's pace.
    // The writer and the acknowledger wake the receivers (not logged: the normal pace).
    if (write_backlog() >= cfg_.batch_size * cfg_.max_batches_in_flight ||
        held_.size() >= max_held())
        return make_step<receive_step>(step_kind::wait);
    ++receives_in_flight_;
    return make_step<receive_step>(step_kind::go);
}

void core::received(sqs::receive_result r, clock::time_point now,
                    std::chrono::system_clock::time_point wall_now) {
    if (receives_in_flight_ > 0)
        --receives_in_flight_;
    sqs_failing_ = false;
    receive_backoff_.reset();
    receive_not_before_ = {};
    counts_.integrity_failures += r.rejected.size();
    counts_.received += r.messages.size();
    if (stopping())
        wakeups_ |= wake::all_stages; // a receive under way was what some stage waited for
    if (r.messages.empty()) {
        empty_receive_seen_ = true;
        wakeups_ |= wake::watch;
        return;
    }
    empty_receive_seen_ = false;
    if (first_receive_ == clock::time_point{})
        first_receive_ = now;
    // A heartbeat with nothing scheduled waits for no time at all: tell it there is
    // something to extend now. (A new copy is due after every copy already scheduled.)
    if (held_.next_extension_due() == clock::time_point::max())
        wakeups_ |= wake::extend;
    for (auto& m : r.messages) {
        held_copy c;
        c.receive_count = static_cast<std::int32_t>(m.approximate_receive_count().value_or(1));
        c.sent_ms = m.sent_timestamp_ms();
        const auto dated = record::create_date(m.attribute("SentTimestamp"), wall_now);
        c.create_date = dated.date;
        if (dated.source != record::date_source::sent_timestamp) {
            ++counts_.create_date_fallbacks;
            ops::log(ops::level::info, "record.dated_by_receive_time",
                     {{"message_id", m.message_id},
                      {"reason", dated.source == record::date_source::receive_time_missing
                                     ? "sent_timestamp_missing"
                                     : "sent_timestamp_invalid"}});
        }
        c.message_id = std::move(m.message_id);
        c.receipt_handle = std::move(m.receipt_handle);
        c.body = std::move(m.body);
        const std::size_t bytes = c.body.size();
        unprocessed_.push_back(held_.add(std::move(c), bytes, now));
    }
    wakeups_ |= wake::process;
}

void core::receive_failed(const sqs::error& e, std::string explain, clock::time_point now) {
    if (receives_in_flight_ > 0)
        --receives_in_flight_;
    wakeups_ |= wake::shutdown;
    if (stopping())
        wakeups_ |= wake::all_stages;
    if (e.kind == sqs::errc::cancelled || hard())
        return;
    sqs_failing_ = true;
    if (sqs::is_fatal(e)) {
        fail_with(errc::sqs_unusable, std::move(explain), now);
        return;
    }
    ++counts_.receive_retries;
    const auto at = retry_at(receive_backoff_, now);
    receive_not_before_ = std::max(receive_not_before_, at);
    ops::log(
        ops::level::warn, "sqs.receive_failed",
        {{"code", e.code},
         {"status", e.http_status},
         {"retry_in_ms", std::chrono::duration_cast<std::chrono::milliseconds>(at - now).count()}});
    wakeups_ |= wake::receive;
}

void core::receive_cancelled(clock::time_point) {
    if (receives_in_flight_ > 0)
        --receives_in_flight_;
    wakeups_ |= wake::all_stages;
}

std::size_t core::max_held() const noexcept {
    return 2 * cfg_.batch_size * cfg_.max_batches_in_flight + sqs::max_receive_messages;
}

std::size_t core::write_backlog() const noexcept {
    return unprocessed_.size() + to_write_.size() + retry_items_;
}

bool core::receiving_finished() const noexcept {
    return stopping() && receives_in_flight_ == 0;
}

// --- record + mask -----------------------------------------------------------------------

std::vector<ticket> core::take_unprocessed(std::size_t max) {
    std::vector<ticket> out;
    if (hard())
        return out; // what is left is handed back
    const std::size_t n = std::min(max, unprocessed_.size());
    out.assign(unprocessed_.begin(), unprocessed_.begin() + static_cast<std::ptrdiff_t>(n));
    unprocessed_.erase(unprocessed_.begin(), unprocessed_.begin() + static_cast<std::ptrdiff_t>(n));
    return out;
}

const held_copy* core::copy(ticket t) const noexcept {
    return held_.find(t);
}

bool core::process_finished() const noexcept {
    return hard() || (receiving_finished() && unprocessed_.empty());
}

void core::processed(ticket t, process_result p, clock::time_point now) {
    held_copy* c = held_.find(t);
    if (c == nullptr || c->state != copy_state::unprocessed)
        return;
    if (p.row) {
        c->row = std::move(*p.row);
        c->state = copy_state::queued;
        if (!write_work_waiting())
            write_progress_ = now; // the stall clock starts when work starts to wait
        if (to_write_.empty())
            oldest_to_write_ = now;
        to_write_.push_back(t);
        wakeups_ |= wake::write;
    } else {
        to_reject(t, *c, reject_origin::invalid_record, std::string(record::reject_code(p.reason)),
                  now);
    }
    if (stopping())
        wakeups_ |= wake::all_stages;
}

void core::to_reject(ticket t, held_copy& c, reject_origin origin, std::string reason,
                     clock::time_point now) {
    c.row.reset();
    c.reason = std::move(reason);
    const auto route = route_reject(origin, cfg_.dead_letter_queue, sealer_ != nullptr);
    if (route == reject_route::dead_letter_queue) {
        c.state = copy_state::dead_letter; // the raw body goes with it
        to_dead_letter_.push_back(t);
        wakeups_ |= wake::dead_letter;
        return;
    }
    if (route == reject_route::table_sealed)
        c.sealed = sealer_->seal(c.body, c.message_id);
    base::cleanse(c.body); // sealed or not kept: the plaintext goes now
    c.body.clear();
    c.body.shrink_to_fit();
    c.state = copy_state::queued;
    if (!write_work_waiting())
        write_progress_ = now;
    if (to_write_.empty())
        oldest_to_write_ = now;
    if (origin == reject_origin::invalid_record) {
        to_write_.push_back(t);
    } else {
        // It waited for a write already: it goes in the next one, without lingering.
        to_write_.push_front(t);
        write_now_ = true;
    }
    wakeups_ |= wake::write;
}

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
    for (ticket t : items) {
        held_copy* c = held_.find(t);
        if (c == nullptr)
            continue;
        c->state = copy_state::writing;
        if (c->row) {
            b.rows.push_back(pg::row_item{c->message_id, *c->row});
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

void core::written(std::uint64_t call, const pg::batch_outcome& outcome, clock::time_point now) {
    const auto it = writing_.find(call);
    if (it == writing_.end())
        return;
    write_batch wb = std::move(it->second);
    writing_.erase(it);
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
