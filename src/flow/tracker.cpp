// Held copies in a slot table, with the heartbeat's schedule as a list ordered by due
// time: a received copy is due last, an extended one moves behind the others.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/flow/tracker.hpp>

#include <algorithm>

namespace sqs2pg::flow {

inflight_tracker::inflight_tracker(std::chrono::seconds visibility)
    : visibility_(visibility) {}

ticket inflight_tracker::add(held_copy copy, std::size_t bytes, clock::time_point now) {
    std::uint32_t i;
    if (!free_.empty()) {
        i = free_.back();
        free_.pop_back();
    } else {
        i = slots_.emplace_back();
    }
    slot& s = slots_[i];
    s.copy = std::move(copy);
    s.copy.bytes = bytes;
    s.copy.received_at = now;
    s.copy.visible_at = now + visibility_;
    s.used = true;
    ++s.generation; // a ticket of an earlier occupant no longer matches
    ++size_;
    bytes_ += bytes;
    // Due later than (or as late as) every copy already scheduled: it was received now.
    if (visibility_.count() > 0)
        link_sorted_from_back(i);
    return (static_cast<ticket>(s.generation) << 32) | i;
}

inflight_tracker::slot* inflight_tracker::slot_of(ticket t) noexcept {
    const auto i = static_cast<std::uint32_t>(t & 0xffff'ffffu);
    const auto gen = static_cast<std::uint32_t>(t >> 32);
    if (i >= slots_.size() || !slots_[i].used || slots_[i].generation != gen)
        return nullptr;
    return &slots_[i];
}

const inflight_tracker::slot* inflight_tracker::slot_of(ticket t) const noexcept {
    return const_cast<inflight_tracker*>(this)->slot_of(t);
}

held_copy* inflight_tracker::find(ticket t) noexcept {
    slot* s = slot_of(t);
    return s ? &s->copy : nullptr;
}

const held_copy* inflight_tracker::find(ticket t) const noexcept {
    const slot* s = slot_of(t);
    return s ? &s->copy : nullptr;
}

void inflight_tracker::remove(ticket t) {
    slot* s = slot_of(t);
    if (s == nullptr)
        return;
    const auto i = static_cast<std::uint32_t>(t & 0xffff'ffffu);
    if (s->scheduled)
        unlink(i);
    bytes_ -= s->copy.bytes;
    --size_;
    base::cleanse(s->copy.body); // bodies hold personal data: no stray copy in freed memory
    s->copy = held_copy{};
    s->used = false;
    free_.push_back(i);
}

clock::time_point inflight_tracker::due_at(const held_copy& c) const noexcept {
    return c.visible_at - visibility_ / 2; // half way through the current window
}

void inflight_tracker::unlink(std::uint32_t i) noexcept {
    slot& s = slots_[i];
    if (s.prev != none)
        slots_[s.prev].next = s.next;
    else
        head_ = s.next;
    if (s.next != none)
        slots_[s.next].prev = s.prev;
    else
        tail_ = s.prev;
    s.prev = s.next = none;
    s.scheduled = false;
}

void inflight_tracker::link_front(std::uint32_t i) noexcept {
    slot& s = slots_[i];
    s.prev = none;
    s.next = head_;
    if (head_ != none)
        slots_[head_].prev = i;
    else
        tail_ = i;
    head_ = i;
    s.scheduled = true;
}

void inflight_tracker::link_sorted_from_back(std::uint32_t i) noexcept {
    slot& s = slots_[i];
    const auto due = due_at(s.copy);
    std::uint32_t after = tail_; // usually the tail itself: copies are due in receipt order
    while (after != none && due_at(slots_[after].copy) > due)
        after = slots_[after].prev;
    if (after == none) {
        link_front(i);
        return;
    }
    s.prev = after;
    s.next = slots_[after].next;
    if (s.next != none)
        slots_[s.next].prev = i;
    else
        tail_ = i;
    slots_[after].next = i;
    s.scheduled = true;
}

std::vector<extension> inflight_tracker::due_extensions(clock::time_point now, std::size_t max) {
    std::vector<extension> out;
    while (head_ != none && out.size() < max) {
        const std::uint32_t i = head_;
        slot& s = slots_[i];
        held_copy& c = s.copy;
        if (now < due_at(c))
            break; // everything behind it is due later
        unlink(i);
        const auto cap = c.received_at + max_visibility;
        // Seconds left until the 12 h cap, rounded down so SQS never sees a value past it.
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(cap - now);
        const auto want = std::min(visibility_, left);
        if (want.count() <= 0 || now + want <= c.visible_at)
            continue; // at the cap: it cannot be extended any more
        c.extending = true;
        out.push_back({(static_cast<ticket>(s.generation) << 32) | i, want});
    }
    return out;
}

void inflight_tracker::extended(ticket t, clock::time_point sent_at,
                                std::chrono::seconds visibility) {
    slot* s = slot_of(t);
    if (s == nullptr || !s->copy.extending)
        return;
    held_copy& c = s->copy;
    c.extending = false;
    c.visible_at = std::max(c.visible_at, sent_at + visibility);
    if (!c.lease_lost && c.received_at + max_visibility > c.visible_at)
        link_sorted_from_back(static_cast<std::uint32_t>(t & 0xffff'ffffu));
}

void inflight_tracker::extension_failed(ticket t) {
    slot* s = slot_of(t);
    if (s == nullptr || !s->copy.extending)
        return;
    s->copy.extending = false;
    if (!s->copy.lease_lost)
        link_front(static_cast<std::uint32_t>(t & 0xffff'ffffu)); // overdue: first in line
}

void inflight_tracker::lease_lost(ticket t) {
    slot* s = slot_of(t);
    if (s == nullptr)
        return;
    s->copy.extending = false;
    s->copy.lease_lost = true;
    if (s->scheduled)
        unlink(static_cast<std::uint32_t>(t & 0xffff'ffffu));
}

clock::time_point inflight_tracker::next_extension_due() const noexcept {
    return head_ == none ? clock::time_point::max() : due_at(slots_[head_].copy);
}

std::vector<ticket> inflight_tracker::tickets() const {
    std::vector<ticket> out;
    out.reserve(size_);
    for (std::uint32_t i = 0; i < slots_.size(); ++i)
        if (slots_[i].used)
            out.push_back((static_cast<ticket>(slots_[i].generation) << 32) | i);
    return out;
}

} // namespace sqs2pg::flow
