// The core's calls back to SQS: deleting what was committed, extending what is held past
// half its visibility window, sending rejects to the dead-letter queue, and confirming
// that a drained queue is empty.
#include <sqs2pg/flow/core.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/sqs/batch_plan.hpp>

#include <algorithm>

namespace sqs2pg::flow {
namespace {

/// Delete attempts per copy before it is given up (its redelivery is then only deleted:
/// its MessageId is in the ledger).
constexpr std::uint8_t max_delete_attempts = 5;

bool succeeded(const std::vector<std::string>& successful, std::string_view id) {
    return std::find(successful.begin(), successful.end(), id) != successful.end();
}

bool succeeded(const std::vector<sqs::sent_message>& successful, std::string_view id) {
    return std::any_of(successful.begin(), successful.end(),
                       [&](const sqs::sent_message& m) { return m.id == id; });
}

/// A dead-letter send that no retry can make succeed.
bool refused_for_good(sqs::errc kind) {
    return kind == sqs::errc::invalid_request || kind == sqs::errc::invalid_argument;
}

} // namespace

bool core::locally_idle() const noexcept {
    return held_.empty();
}

// --- deletes -----------------------------------------------------------------------------

bool core::deletes_finished() const noexcept {
    if (hard())
        return deleting_.empty();
    return writes_finished() && dead_letters_finished() && to_delete_.empty() && deleting_.empty();
}

delete_step core::next_delete(clock::time_point now) {
    if (deletes_finished())
        return make_step<delete_step>(step_kind::finish);
    if (hard() || deleting_.size() >= cfg_.max_ack_calls || to_delete_.empty())
        return make_step<delete_step>(step_kind::wait);
    if (now < delete_not_before_)
        return make_step<delete_step>(step_kind::wait, delete_not_before_);
    delete_step step;
    step.kind = step_kind::go;
    step.call.id = next_call_++;
    auto& tickets = deleting_[step.call.id];
    const auto most = std::min<std::size_t>(to_delete_.size(), sqs::max_batch_entries);
    step.call.entries.reserve(most);
    tickets.reserve(most);
    while (!to_delete_.empty() && tickets.size() < sqs::max_batch_entries) {
        const ticket t = to_delete_.front();
        to_delete_.pop_front();
        held_copy* c = held_.find(t);
        if (c == nullptr)
            continue;
        c->state = copy_state::deleting;
        step.call.entries.emplace_back(std::to_string(tickets.size()), c->receipt_handle);
        tickets.push_back(t);
    }
    if (tickets.empty()) { // every queued copy had left already
        deleting_.erase(step.call.id);
        return make_step<delete_step>(step_kind::wait);
    }
    return step;
}

void core::deleted(std::uint64_t call, const sqs::result<sqs::batch_result>& r, std::string explain,
                   clock::time_point now) {
    const auto it = deleting_.find(call);
    if (it == deleting_.end())
        return;
    const std::vector<ticket> tickets = std::move(it->second);
    deleting_.erase(it);
    wakeups_ |= wake::remove | wake::receive | wake::watch;
    if (stopping())
        wakeups_ |= wake::all_stages;

    const auto again = [&](ticket t) {
        if (held_copy* c = held_.find(t)) {
            c->state = copy_state::committed; // the final settle deletes it if nothing else does
            if (!hard())
                to_delete_.push_back(t);
        }
    };
    if (!r) {
        for (ticket t : tickets)
            again(t);
        if (hard() || r.error().kind == sqs::errc::cancelled)
            return;
        if (sqs::is_fatal(r.error())) {
            fail_with(errc::sqs_unusable, std::move(explain), now);
            return;
        }
        ops::log(ops::level::warn, "sqs.delete_failed",
                 {{"code", r.error().code}, {"items", tickets.size()}});
        delete_not_before_ = retry_at(delete_backoff_, now);
        return;
    }
    bool retry = false;
    for (std::size_t i = 0; i < tickets.size(); ++i) {
        held_copy* c = held_.find(tickets[i]);
        if (c == nullptr)
            continue;
        const std::string id = std::to_string(i);
        if (succeeded(r->successful, id)) {
            ++counts_.deleted;
            last_delete_ = now;
            held_.remove(tickets[i]);
            continue;
        }
        const auto* f = r->failure(id);
        const bool gone = f != nullptr && sqs::classify(*f) == sqs::errc::receipt_invalid;
        if (f != nullptr && (gone || ++c->delete_attempts >= max_delete_attempts)) {
            // The handle expired (the message may be delivered again: its MessageId is in
            // the ledger, so that copy is only deleted), or SQS keeps refusing it.
            ++counts_.delete_failures;
            ops::log(ops::level::warn, "sqs.delete_rejected",
                     {{"message_id", c->message_id}, {"code", f->code}});
            held_.remove(tickets[i]);
            continue;
        }
        // Failed for now, or the answer did not mention it: only a success deletes.
        again(tickets[i]);
        retry = true;
    }
    if (retry)
        delete_not_before_ = retry_at(delete_backoff_, now);
    else
        delete_backoff_.reset();
}

// --- visibility heartbeat ----------------------------------------------------------------

extend_step core::next_extend(clock::time_point now) {
    if (hard() || deletes_finished())
        return extending_.empty() ? make_step<extend_step>(step_kind::finish)
                                  : make_step<extend_step>(step_kind::wait);
    if (extending_.size() >= cfg_.max_ack_calls)
        return make_step<extend_step>(step_kind::wait);
    if (now < extend_not_before_)
        return make_step<extend_step>(step_kind::wait, extend_not_before_);
    auto due = held_.due_extensions(now, sqs::max_batch_entries);
    if (due.empty())
        return make_step<extend_step>(step_kind::wait, held_.next_extension_due());
    extend_step step;
    step.kind = step_kind::go;
    step.call.id = next_call_++;
    for (std::size_t i = 0; i < due.size(); ++i)
        step.call.entries.emplace_back(std::to_string(i), held_.find(due[i].id)->receipt_handle,
                                       static_cast<int>(due[i].visibility.count()));
    extending_[step.call.id] = extend_call{std::move(due), now};
    return step;
}

void core::extended(std::uint64_t call, const sqs::result<sqs::batch_result>& r,
                    clock::time_point now) {
    const auto it = extending_.find(call);
    if (it == extending_.end())
        return;
    const extend_call x = std::move(it->second);
    extending_.erase(it);
    wakeups_ |= wake::extend;
    if (stopping())
        wakeups_ |= wake::all_stages;
    bool failed = !r;
    for (std::size_t i = 0; i < x.items.size(); ++i) {
        const extension& e = x.items[i];
        if (!r) {
            held_.extension_failed(e.id);
            continue;
        }
        const std::string id = std::to_string(i);
        if (succeeded(r->successful, id)) {
            held_.extended(e.id, x.sent_at, e.visibility);
            ++counts_.visibility_extended;
        } else if (const auto* f = r->failure(id);
                   f != nullptr && sqs::classify(*f) == sqs::errc::receipt_invalid) {
            held_.lease_lost(e.id); // redelivered elsewhere: the ledger dedups it
        } else {
            held_.extension_failed(e.id);
            failed = true;
        }
    }
    if (!failed) {
        extend_backoff_.reset();
        return;
    }
    extend_not_before_ = retry_at(extend_backoff_, now);
    if (!r && !hard() && r.error().kind != sqs::errc::cancelled)
        ops::log(ops::level::warn, "sqs.extend_failed", {{"code", r.error().code}});
}

// --- dead letters --------------------------------------------------------------------------

bool core::dead_letters_finished() const noexcept {
    if (hard())
        return dead_lettering_.empty();
    return process_finished() && to_dead_letter_.empty() && dead_letter_alone_.empty() &&
           dead_lettering_.empty();
}

dead_letter_step core::next_dead_letter(clock::time_point now) {
    if (dead_letters_finished())
        return make_step<dead_letter_step>(step_kind::finish);
    if (hard() || dead_lettering_.size() >= cfg_.max_dead_letter_calls)
        return make_step<dead_letter_step>(step_kind::wait);
    if (to_dead_letter_.empty() && dead_letter_alone_.empty())
        return make_step<dead_letter_step>(step_kind::wait);
    if (now < dead_letter_not_before_)
        return make_step<dead_letter_step>(step_kind::wait, dead_letter_not_before_);

    dead_letter_step step;
    step.kind = step_kind::go;
    step.call.id = next_call_++;
    auto& tickets = dead_lettering_[step.call.id];
    auto& from = dead_letter_alone_.empty() ? to_dead_letter_ : dead_letter_alone_;
    const std::size_t most = dead_letter_alone_.empty() ? sqs::max_batch_entries : 1;
    std::vector<std::size_t> payloads;
    while (!from.empty() && tickets.size() < most) {
        held_copy* c = held_.find(from.front());
        if (c == nullptr) {
            from.pop_front();
            continue;
        }
        sqs::send_entry e(std::to_string(tickets.size()), c->body);
        e.message_attributes.emplace_back("sqs2pg-reject-reason", "String", c->reason);
        e.message_attributes.emplace_back("sqs2pg-original-message-id", "String", c->message_id);
        e.message_attributes.emplace_back("sqs2pg-receive-count", "Number",
                                          std::to_string(c->receive_count));
        if (cfg_.dead_letter_fifo)
            sqs::set_fifo_ids(e, c->message_id);
        // One call carries what the planner lets fit; the first entry always goes.
        payloads.push_back(sqs::payload_bytes(e));
        if (sqs::plan_send_batches(payloads).front() < payloads.size())
            break;
        c->state = copy_state::dead_lettering;
        step.call.entries.push_back(std::move(e));
        tickets.push_back(from.front());
        from.pop_front();
    }
    if (tickets.empty()) { // every queued copy had left already
        dead_lettering_.erase(step.call.id);
        return make_step<dead_letter_step>(step_kind::wait);
    }
    return step;
}

void core::dead_lettered(std::uint64_t call, const sqs::result<sqs::send_batch_result>& r,
                         std::string explain, clock::time_point now) {
    const auto it = dead_lettering_.find(call);
    if (it == dead_lettering_.end())
        return;
    const std::vector<ticket> tickets = std::move(it->second);
    dead_lettering_.erase(it);
    wakeups_ |= wake::dead_letter;
    if (stopping())
        wakeups_ |= wake::all_stages;

    const auto again = [&](ticket t, std::deque<ticket>& queue) {
        if (held_copy* c = held_.find(t)) {
            c->state = copy_state::dead_letter;
            if (!hard())
                queue.push_back(t);
        }
    };
    const auto refused = [&](ticket t, std::string_view code) {
        held_copy* c = held_.find(t);
        if (c == nullptr)
            return;
        // The dead-letter queue will never take it (too large with the reason attributes,
        // a refused parameter): kept in the rejects table instead, neither lost nor
        // retried for ever.
        ops::log(ops::level::error, "sqs.dead_letter_refused",
                 {{"message_id", c->message_id}, {"code", code}});
        ++counts_.dead_letter_refused;
        to_reject(t, *c, reject_origin::refused_by_dead_letter, c->reason, now);
    };
    if (!r) {
        const auto& e = r.error();
        if (hard() || e.kind == sqs::errc::cancelled) {
            for (ticket t : tickets)
                again(t, to_dead_letter_);
            return;
        }
        if (sqs::is_fatal(e)) {
            for (ticket t : tickets)
                again(t, to_dead_letter_);
            fail_with(errc::dead_letter_unusable, "dead-letter queue: " + explain, now);
            return;
        }
        if (refused_for_good(e.kind) && tickets.size() > 1) {
            // Which entry made the whole call fail is unknown: send each in a call of its
            // own, so only the one the queue will never take goes to the table.
            for (ticket t : tickets)
                again(t, dead_letter_alone_);
            return;
        }
        if (refused_for_good(e.kind)) {
            refused(tickets.front(), e.code);
            return;
        }
        ops::log(ops::level::warn, "sqs.dead_letter_failed",
                 {{"code", e.code}, {"items", tickets.size()}});
        for (ticket t : tickets)
            again(t, to_dead_letter_);
        dead_letter_not_before_ = retry_at(dead_letter_backoff_, now);
        return;
    }
    bool retry = false;
    for (std::size_t i = 0; i < tickets.size(); ++i) {
        held_copy* c = held_.find(tickets[i]);
        if (c == nullptr)
            continue;
        const std::string id = std::to_string(i);
        if (succeeded(r->successful, id)) {
            ++counts_.rejected;
            ++counts_.dead_lettered;
            commit(tickets[i], *c, now);
            continue;
        }
        const auto* f = r->failure(id);
        if (f != nullptr && refused_for_good(sqs::classify(*f))) {
            refused(tickets[i], f->code);
            continue;
        }
        // Failed for now, or the answer did not mention it: only an explicit refusal is
        // final, anything else is sent again.
        if (f != nullptr)
            ops::log(ops::level::warn, "sqs.dead_letter_failed",
                     {{"message_id", c->message_id}, {"code", f->code}});
        again(tickets[i], to_dead_letter_);
        retry = true;
    }
    if (retry)
        dead_letter_not_before_ = retry_at(dead_letter_backoff_, now);
    else
        dead_letter_backoff_.reset();
}

// --- drain watcher -------------------------------------------------------------------------

depth_step core::next_depth_check(clock::time_point now) {
    if (stopping())
        return make_step<depth_step>(step_kind::finish);
    if (depth_check_in_flight_)
        return make_step<depth_step>(step_kind::wait);
    auto until = clock::time_point::max();
    bool go = false;
    if (cfg_.drain && empty_receive_seen_ && locally_idle()) {
        go = now >= next_drain_check_;
        until = next_drain_check_;
    }
    if (cfg_.poll_depth) {
        go = go || now >= next_depth_poll_;
        until = std::min(until, next_depth_poll_);
    }
    if (!go)
        return make_step<depth_step>(step_kind::wait, until);
    depth_check_in_flight_ = true;
    return make_step<depth_step>(step_kind::go);
}

void core::depth_checked(const sqs::result<sqs::queue_attributes>& r, std::string explain,
                         clock::time_point now) {
    depth_check_in_flight_ = false;
    next_depth_poll_ = now + cfg_.depth_poll_interval;
    next_drain_check_ = now + cfg_.drain_check_interval;
    wakeups_ |= wake::watch;
    if (stopping())
        return;
    if (!r) {
        if (sqs::is_fatal(r.error()))
            fail_with(errc::sqs_unusable, std::move(explain), now);
        return;
    }
    const auto visible = sqs::attribute_as_number(*r, "ApproximateNumberOfMessages").value_or(1);
    const auto hidden =
        sqs::attribute_as_number(*r, "ApproximateNumberOfMessagesNotVisible").value_or(1);
    const auto delayed =
        sqs::attribute_as_number(*r, "ApproximateNumberOfMessagesDelayed").value_or(1);
    total_ = counts_.deleted + visible + hidden + delayed;
    if (cfg_.drain && visible == 0 && hidden == 0 && delayed == 0 && empty_receive_seen_ &&
        locally_idle()) {
        ops::log(ops::level::info, "drain.complete",
                 {{"deleted", counts_.deleted}, {"received", counts_.received}});
        enter_stopping(errc::drained, "drained", now);
    }
}

} // namespace sqs2pg::flow
