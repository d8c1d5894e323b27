// The core's intake: when receivers may poll (pauses, backoff, backpressure), registering
// what came back, and where each processed message goes (a row, or a reject routed once).
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
        if (cfg_.empty_poll_pause.count() > 0)
            receive_not_before_ = std::max(receive_not_before_, now + cfg_.empty_poll_pause);
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
    if (stopping()) {
        // A long poll that ended badly after the stop (not retried: nothing more is
        // received) is the normal end of a slow receive, not a problem to warn about.
        ops::log(ops::level::debug, "sqs.receive_ended_after_stop",
                 {{"code", e.code}, {"kind", sqs::kind_name(e.kind)}});
        if (sqs::is_fatal(e))
            fail_with(errc::sqs_unusable, std::move(explain), now);
        return;
    }
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

} // namespace sqs2pg::flow
