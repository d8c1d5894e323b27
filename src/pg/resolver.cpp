// Attempt planning for one batch: bisecting refused rows, splitting after a statement
// timeout, and the final per-item outcome.
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/resolver.hpp>

#include <algorithm>

namespace sqs2pg::pg {

dedupe_result dedupe_ids(std::span<const std::string_view> ids) {
    // Equal ids are found by sorting their positions (by id, then position), not with a
    // hash map: a map allocated a node per id, one more allocation per message written.
    const auto n = static_cast<std::uint32_t>(ids.size());
    std::vector<std::uint32_t> sorted(n);
    for (std::uint32_t i = 0; i < n; ++i)
        sorted[i] = i;
    std::sort(sorted.begin(), sorted.end(), [&](std::uint32_t a, std::uint32_t b) {
        const int c = ids[a].compare(ids[b]);
        return c < 0 || (c == 0 && a < b);
    });
    dedupe_result d;
    // First pass: unique_of[i] = the first position holding the id at position i.
    d.unique_of.resize(n);
    for (std::uint32_t k = 0; k < n;) {
        std::uint32_t end = k + 1;
        while (end < n && ids[sorted[end]] == ids[sorted[k]])
            ++end;
        for (std::uint32_t j = k; j < end; ++j)
            d.unique_of[sorted[j]] = sorted[k]; // the run's smallest position
        k = end;
    }
    // Second pass, in position order: a first position opens the next distinct index; a
    // later copy takes its first position's, already numbered (it comes earlier).
    d.first.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::uint32_t first = d.unique_of[i];
        if (first == i) {
            d.unique_of[i] = static_cast<std::uint32_t>(d.first.size());
            d.first.push_back(i);
        } else {
            d.unique_of[i] = d.unique_of[first];
        }
    }
    return d;
}

batch_resolver::batch_resolver(std::size_t rows, std::size_t rejects, bool fast)
    : rows_(rows)
    , rejects_(rejects) {
    if (rows + rejects == 0)
        return;
    attempt all;
    all.fast = fast && rows > 0;
    all.rows.resize(rows);
    all.rejects.resize(rejects);
    for (std::uint32_t i = 0; i < rows; ++i)
        all.rows[i] = i;
    for (std::uint32_t i = 0; i < rejects; ++i)
        all.rejects[i] = i;
    pending_.push_back(std::move(all));
}

std::vector<attempt> batch_resolver::next_attempts() {
    outstanding_ += pending_.size();
    std::vector<attempt> out = std::move(pending_);
    pending_.clear();
    return out;
}

void batch_resolver::settle(std::vector<item>& v, std::uint32_t i, item_status s,
                            std::string_view sqlstate) {
    v[i].status = s;
    v[i].sqlstate = std::string(sqlstate);
    v[i].settled = true;
}

void batch_resolver::note_error(boost::system::error_code ec) {
    if (!ec)
        return;
    if (!error_ || (is_fatal(ec) && !is_fatal(error_)))
        error_ = ec;
}

void batch_resolver::committed(const attempt& a, std::span<const std::uint32_t> skipped) {
    --outstanding_;
    std::size_t next_skip = 0;
    for (std::uint32_t pos = 0; pos < a.rows.size(); ++pos) {
        // `skipped` is sorted (the statement aggregates it in order).
        const bool dup = next_skip < skipped.size() && skipped[next_skip] == pos;
        if (dup)
            ++next_skip;
        settle(rows_, a.rows[pos], dup ? item_status::duplicate : item_status::inserted, {});
    }
    for (std::uint32_t j : a.rejects)
        settle(rejects_, j, item_status::rejected, {});
}

void batch_resolver::split(const attempt& a, bool timeout_split) {
    attempt lo, hi;
    lo.timeout_split = hi.timeout_split = timeout_split;
    lo.fast = hi.fast = a.fast;
    const std::size_t half = a.size() / 2;
    std::size_t k = 0;
    const auto place = [&](const std::vector<std::uint32_t>& from,
                           std::vector<std::uint32_t> attempt::*to) {
        for (std::uint32_t i : from)
            ((k++ < half ? lo : hi).*to).push_back(i);
    };
    place(a.rows, &attempt::rows);
    place(a.rejects, &attempt::rejects);
    pending_.push_back(std::move(lo));
    pending_.push_back(std::move(hi));
}

void batch_resolver::failed(const attempt& a, std::string_view sqlstate,
                            boost::system::error_code cause) {
    --outstanding_;
    const sqlstate_action action =
        sqlstate.empty() ? sqlstate_action::reconnect : classify_sqlstate(sqlstate);

    if (action == sqlstate_action::reject && a.fast) {
        // 23505 from the ledger's key (an id committed before) cannot be told from a
        // refused row here; the normal statement sorts it out exactly as without the
        // fast path.
        attempt again = a;
        again.fast = false;
        pending_.push_back(std::move(again));
        fell_back_ = true;
        return;
    }

    if (action == sqlstate_action::reject) {
        if (a.size() > 1) {
            split(a, a.timeout_split);
            return;
        }
        if (!a.rows.empty()) {
            // Found a refused row: the caller keeps it as a reject (its next write).
            settle(rows_, a.rows.front(), item_status::refused, sqlstate);
            return;
        }
        // A reject record itself was refused: nothing more can be written for it.
        settle(rejects_, a.rejects.front(), item_status::failed, sqlstate);
        note_error(cause);
        return;
    }

    if (action == sqlstate_action::retry_smaller && a.size() > 1 && !a.timeout_split) {
        split(a, true);
        return;
    }

    for (std::uint32_t r : a.rows)
        settle(rows_, r, item_status::retry, sqlstate);
    for (std::uint32_t j : a.rejects)
        settle(rejects_, j, item_status::retry, sqlstate);
    note_error(cause);
}

namespace {

void count(batch_outcome& o, item_status s) {
    switch (s) {
    case item_status::inserted:
        ++o.inserted;
        break;
    case item_status::duplicate:
        ++o.duplicates;
        break;
    case item_status::rejected:
        ++o.rejected;
        break;
    case item_status::retry:
        ++o.retry;
        break;
    case item_status::failed:
        ++o.failed;
        break;
    case item_status::refused:
        ++o.refused;
        break;
    }
}

void expand(std::span<const batch_resolver::item> distinct, const dedupe_result& d,
            std::vector<item_outcome>& out, batch_outcome& o) {
    out.resize(d.unique_of.size());
    for (std::uint32_t i = 0; i < d.unique_of.size(); ++i) {
        const std::uint32_t u = d.unique_of[i];
        const auto& it = distinct[u];
        item_status s = it.status;
        // A later copy of a committed row adds nothing: the first one was the write.
        if (d.first[u] != i && s == item_status::inserted)
            s = item_status::duplicate;
        out[i] = item_outcome{s, it.sqlstate};
        count(o, s);
    }
}

} // namespace

batch_outcome make_outcome(const batch_resolver& r, const dedupe_result& rows,
                           const dedupe_result& rejects) {
    batch_outcome o;
    expand(r.rows(), rows, o.rows, o);
    expand(r.rejects(), rejects, o.rejects, o);
    if (o.retry + o.failed > 0)
        o.error = r.error();
    return o;
}

} // namespace sqs2pg::pg
