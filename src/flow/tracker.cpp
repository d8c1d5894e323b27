// Held-message bookkeeping: bytes in flight and the visibility heartbeat schedule.
#include <sqs2pg/flow/tracker.hpp>

#include <algorithm>

namespace sqs2pg::flow {

inflight_tracker::inflight_tracker(std::chrono::seconds visibility)
    : visibility_(visibility) {}

ticket inflight_tracker::add(std::string message_id, std::string receipt_handle, std::size_t bytes,
                             clock::time_point now) {
    const ticket t = next_++;
    held_.emplace(t, held_message{std::move(message_id), std::move(receipt_handle), bytes, now,
                                  now + visibility_, false, false});
    bytes_ += bytes;
    return t;
}

clock::duration inflight_tracker::mark_done(ticket t, clock::time_point now) {
    auto it = held_.find(t);
    if (it == held_.end())
        return clock::duration::zero();
    it->second.done = true;
    return now - it->second.received_at;
}

void inflight_tracker::remove(ticket t) {
    auto it = held_.find(t);
    if (it == held_.end())
        return;
    bytes_ -= it->second.bytes;
    held_.erase(it);
}

const held_message* inflight_tracker::find(ticket t) const {
    auto it = held_.find(t);
    return it == held_.end() ? nullptr : &it->second;
}

clock::time_point inflight_tracker::due_at(const held_message& m) const {
    // Half way through the current window; a zero visibility never becomes due.
    return m.visible_at - visibility_ / 2;
}

std::vector<extension> inflight_tracker::due_extensions(clock::time_point now) {
    std::vector<extension> out;
    if (visibility_.count() == 0)
        return out;
    for (auto& [t, m] : held_) {
        if (m.extending || m.lease_lost || now < due_at(m))
            continue;
        const auto cap = m.received_at + max_visibility;
        // Seconds left until the 12 h cap, rounded down so SQS never sees a value past it.
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(cap - now);
        const auto want = std::min(visibility_, left);
        if (want.count() <= 0 || now + want <= m.visible_at)
            continue;
        m.extending = true;
        out.push_back({t, m.receipt_handle, want});
    }
    return out;
}

void inflight_tracker::extended(ticket t, clock::time_point sent_at,
                                std::chrono::seconds visibility) {
    auto it = held_.find(t);
    if (it == held_.end())
        return;
    it->second.extending = false;
    it->second.visible_at = std::max(it->second.visible_at, sent_at + visibility);
}

void inflight_tracker::extension_failed(ticket t) {
    auto it = held_.find(t);
    if (it != held_.end())
        it->second.extending = false;
}

void inflight_tracker::lease_lost(ticket t) {
    auto it = held_.find(t);
    if (it != held_.end()) {
        it->second.extending = false;
        it->second.lease_lost = true;
    }
}

clock::time_point inflight_tracker::next_extension_due() const {
    auto next = clock::time_point::max();
    if (visibility_.count() == 0)
        return next;
    for (const auto& [t, m] : held_) {
        if (!m.extending && !m.lease_lost && m.received_at + max_visibility > m.visible_at)
            next = std::min(next, due_at(m));
    }
    return next;
}

std::vector<ticket> inflight_tracker::done_tickets() const {
    std::vector<ticket> out;
    for (const auto& [t, m] : held_)
        if (m.done)
            out.push_back(t);
    return out;
}

std::vector<std::pair<ticket, std::string>> inflight_tracker::unfinished() const {
    std::vector<std::pair<ticket, std::string>> out;
    for (const auto& [t, m] : held_) {
        if (!m.done)
            out.emplace_back(t, m.receipt_handle);
    }
    return out;
}

} // namespace sqs2pg::flow
