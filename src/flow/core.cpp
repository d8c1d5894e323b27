// The core's run state: stopping in two phases, fatal errors, readiness, the final settle
// (delete what was committed, hand back the rest) and the summary.
#include <sqs2pg/flow/core.hpp>
#include <sqs2pg/ops/log.hpp>

#include <fmt/format.h>

namespace sqs2pg::flow {

std::string_view state_name(run_state s) noexcept {
    switch (s) {
    case run_state::running:
        return "running";
    case run_state::stopping:
        return "stopping";
    case run_state::hard_stop:
        return "hard_stop";
    case run_state::drained:
        return "drained";
    case run_state::stopped:
        return "stopped";
    case run_state::failed:
        return "failed";
    }
    return "unknown";
}

reject_route route_reject(reject_origin origin, bool has_dead_letter_queue,
                          bool can_seal) noexcept {
    if (origin == reject_origin::invalid_record && has_dead_letter_queue)
        return reject_route::dead_letter_queue;
    return can_seal ? reject_route::table_sealed : reject_route::table_reason_only;
}

core::core(core_config cfg, const mask::sealer* sealer, clock::time_point now)
    : cfg_(cfg)
    , sealer_(sealer)
    , held_(cfg.visibility_timeout)
    , rng_(cfg.seed)
    , receive_backoff_(cfg.sqs_retry)
    , started_(now)
    , delete_backoff_(cfg.sqs_retry)
    , extend_backoff_(cfg.sqs_retry)
    , dead_letter_backoff_(cfg.sqs_retry) {
    write_progress_ = now;
    if (cfg_.batch_size == 0)
        cfg_.batch_size = 1;
    if (cfg_.max_batches_in_flight == 0)
        cfg_.max_batches_in_flight = 1;
    if (cfg_.max_ack_calls == 0)
        cfg_.max_ack_calls = 1;
    if (cfg_.max_dead_letter_calls == 0)
        cfg_.max_dead_letter_calls = 1;
}

std::uint64_t core::random() noexcept {
    // splitmix64: deterministic for a seed, good enough to spread retries.
    std::uint64_t z = (rng_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

clock::time_point core::retry_at(base::backoff& b, clock::time_point now) {
    return now + b.next(random());
}

// --- stopping ----------------------------------------------------------------------------

void core::enter_stopping(errc cause, std::string_view reason, clock::time_point now) {
    if (state_ != run_state::running)
        return;
    state_ = run_state::stopping;
    if (!cause_)
        cause_ = cause;
    stop_reason_ = reason;
    grace_end_ = now + cfg_.shutdown_grace;
    ops::log(ops::level::info, "pipeline.stopping",
             {{"reason", reason},
              {"held_messages", held_.size()},
              {"grace_seconds", static_cast<std::int64_t>(cfg_.shutdown_grace.count())}});
    wakeups_ |= wake::all_stages;
}

void core::enter_hard_stop(errc cause, std::string_view reason, clock::time_point) {
    if (state_ != run_state::running && state_ != run_state::stopping)
        return;
    if (!cause_)
        cause_ = cause;
    if (stop_reason_.empty())
        stop_reason_ = reason;
    state_ = run_state::hard_stop;
    ops::log(ops::level::warn, "pipeline.hard_stop",
             {{"reason", reason}, {"held_messages", held_.size()}});
    wakeups_ |= wake::all_stages | wake::cancel;
}

void core::fail_with(errc cause, std::string detail, clock::time_point now) {
    if (!fatal_) {
        fatal_ = cause;
        detail_ = std::move(detail);
        ops::log(ops::level::error, "pipeline.fatal",
                 {{"cause", cause_name(cause)}, {"error", detail_}});
    }
    if (is_hard(cause))
        enter_hard_stop(cause, "fatal error", now);
    else
        enter_stopping(cause, "fatal error", now);
}

void core::request_stop(std::string_view reason, clock::time_point now) {
    if (state_ == run_state::running)
        enter_stopping(errc::stop_requested, reason, now);
    else if (state_ == run_state::stopping)
        enter_hard_stop(errc::second_stop, reason, now);
}

void core::fail(errc cause, std::string detail, clock::time_point now) {
    fail_with(cause, std::move(detail), now);
}

void core::set_pg_connected(bool connected, clock::time_point now) {
    if (connected == pg_connected_)
        return;
    pg_connected_ = connected;
    check_pause(now);
    wakeups_ |= wake::receive;
}

void core::tick(clock::time_point now) {
    if (state_ == run_state::stopping && now >= grace_end_)
        enter_hard_stop(errc::grace_expired, "the shutdown grace period is over", now);
}

std::optional<std::string_view> core::not_ready_reason() const noexcept {
    if (stopping())
        return "stopping";
    if (!pg_connected_)
        return "postgres disconnected";
    if (stalled_)
        return "writes stalled";
    if (sqs_failing_)
        return "sqs calls failing";
    return std::nullopt;
}

// --- the end -----------------------------------------------------------------------------

settle_plan core::settle() {
    settle_plan plan;
    sqs_call<sqs::delete_entry> del;
    sqs_call<sqs::visibility_entry> rel;
    std::vector<ticket> del_tickets, rel_tickets;
    const auto flush_deletes = [&] {
        if (del.entries.empty())
            return;
        del.id = next_call_++;
        settling_[del.id] = std::move(del_tickets);
        plan.deletes.push_back(std::move(del));
        del = {};
        del_tickets.clear();
    };
    const auto flush_releases = [&] {
        if (rel.entries.empty())
            return;
        rel.id = next_call_++;
        settling_[rel.id] = std::move(rel_tickets);
        plan.releases.push_back(std::move(rel));
        rel = {};
        rel_tickets.clear();
    };
    for (ticket t : held_.tickets()) {
        const held_copy& c = *held_.find(t);
        if (c.state == copy_state::committed || c.state == copy_state::deleting) {
            del.entries.emplace_back(std::to_string(del.entries.size()), c.receipt_handle);
            del_tickets.push_back(t);
            if (del.entries.size() == sqs::max_batch_entries)
                flush_deletes();
        } else {
            rel.entries.emplace_back(std::to_string(rel.entries.size()), c.receipt_handle, 0);
            rel_tickets.push_back(t);
            ++not_committed_at_settle_;
            if (rel.entries.size() == sqs::max_batch_entries)
                flush_releases();
        }
    }
    flush_deletes();
    flush_releases();
    had_to_settle_ = !plan.deletes.empty() || !plan.releases.empty();
    return plan;
}

namespace {

bool succeeded(const std::vector<std::string>& successful, std::string_view id) {
    for (const auto& s : successful)
        if (s == id)
            return true;
    return false;
}

} // namespace

void core::settled(std::uint64_t call, const sqs::result<sqs::batch_result>& r,
                   std::uint64_t& counter) {
    const auto it = settling_.find(call);
    if (it == settling_.end() || !r)
        return;
    for (std::size_t i = 0; i < it->second.size(); ++i) {
        if (succeeded(r->successful, std::to_string(i)) && held_.find(it->second[i])) {
            ++counter;
            held_.remove(it->second[i]);
        }
    }
}

void core::settled_deletes(const sqs_call<sqs::delete_entry>& c,
                           const sqs::result<sqs::batch_result>& r) {
    settled(c.id, r, counts_.deleted);
}

void core::settled_releases(const sqs_call<sqs::visibility_entry>& c,
                            const sqs::result<sqs::batch_result>& r) {
    settled(c.id, r, counts_.released);
}

void core::settle_timed_out(std::chrono::seconds limit) {
    ops::log(ops::level::warn, "pipeline.settle_timeout",
             {{"seconds", static_cast<std::int64_t>(limit.count())}, {"still_held", held_.size()}});
}

run_result core::finish(clock::time_point now) {
    if (had_to_settle_) {
        std::size_t committed_not_deleted = 0;
        for (ticket t : held_.tickets())
            if (const auto* c = held_.find(t); c && c->state >= copy_state::committed)
                ++committed_not_deleted;
        ops::log(ops::level::info, "pipeline.released",
                 {{"handed_back", counts_.released},
                  {"not_committed", not_committed_at_settle_},
                  {"committed_not_deleted", committed_not_deleted}});
    }
    run_result result;
    run_summary& s = result.summary;
    s.received = counts_.received;
    s.inserted = counts_.inserted;
    s.duplicates_skipped = counts_.duplicates_skipped;
    s.rejected = counts_.rejected;
    s.dead_lettered = counts_.dead_lettered;
    s.deleted = counts_.deleted;
    s.released = counts_.released;
    s.create_date_fallbacks = counts_.create_date_fallbacks;
    s.integrity_failures = counts_.integrity_failures;
    s.seconds_total = std::chrono::duration<double>(now - started_).count();
    if (first_receive_ != clock::time_point{} && last_delete_ > first_receive_)
        s.seconds = std::chrono::duration<double>(last_delete_ - first_receive_).count();
    s.msgs_per_sec = s.seconds > 0 ? static_cast<double>(s.deleted) / s.seconds : 0;
    s.p50_ms = latency_.quantile_ms(0.50);
    s.p99_ms = latency_.quantile_ms(0.99);

    result.cause = fatal_ ? fatal_ : cause_;
    if (fatal_) {
        state_ = run_state::failed;
        result.exit_code = 1;
        result.error = detail_;
    } else if (state_ == run_state::hard_stop && not_committed_at_settle_ > 0) {
        state_ = run_state::failed;
        result.exit_code = 1;
        result.error = "stopped before all work was committed: " + stop_reason_;
    } else {
        // Finished, or stopped hard with nothing left uncommitted (e.g. a slow last long
        // poll outlived the grace period after a drain): nothing was abandoned.
        state_ = cause_ == errc::drained ? run_state::drained : run_state::stopped;
    }
    ops::log(ops::level::info, "pipeline.stopped",
             {{"reason", fatal_ ? std::string_view("fatal error") : std::string_view(stop_reason_)},
              {"state", state_name(state_)},
              {"exit_code", result.exit_code}});
    return result;
}

} // namespace sqs2pg::flow
