// Sans-io bookkeeping of a libpq pipeline: which sent query a result belongs to, and
// when a group of queries (everything up to one PQpipelineSync) is complete.
#pragma once

#include <sqs2pg/pg/error.hpp>

#include <boost/system/result.hpp>

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

namespace sqs2pg::pg {

/// How libpq reported one query of a pipeline.
enum class result_kind {
    ok,      ///< PGRES_COMMAND_OK / PGRES_TUPLES_OK
    error,   ///< PGRES_FATAL_ERROR: this query failed; its transaction is rolled back
    aborted, ///< PGRES_PIPELINE_ABORTED: not executed because an earlier query failed
};

/// Matches the stream of pipeline results to the groups that were sent, in order.
/// Per query libpq delivers one or more results and then a NULL; per group it delivers
/// PGRES_PIPELINE_SYNC (with no NULL after it). After an error, the remaining queries of
/// the group are reported `aborted`. Anything else is a protocol error (errc::protocol).
/// `Group` is the caller's per-group value (e.g. a handle to whoever waits for it).
template <class Group>
class pipeline_tracker {
public:
    /// A result's place: its group's value and the query's index within the group.
    struct placed {
        Group* group;
        std::size_t query;
    };

    /// A finished group: its value, and the index of the query that failed, if one did.
    struct completed {
        Group group;
        std::optional<std::size_t> failed_query;
    };

    /// Registers a group of `queries` queries plus one sync, in the order they were sent.
    void push(Group group, std::size_t queries) {
        groups_.push_back(entry{std::move(group), queries, 0, false, std::nullopt});
    }

    /// A result other than NULL and PGRES_PIPELINE_SYNC arrived.
    boost::system::result<placed> on_result(result_kind kind) {
        entry* e = current();
        if (e == nullptr || e->next == e->queries)
            return errc::protocol; // no query is waiting for a result
        if (e->failed_query) {
            if (kind != result_kind::aborted && !e->in_results)
                return errc::protocol; // a query after a failed one must be aborted
        } else if (kind == result_kind::aborted) {
            return errc::protocol; // aborted without an earlier failure
        }
        if (kind == result_kind::error && !e->failed_query)
            e->failed_query = e->next;
        e->in_results = true;
        return placed{&e->group, e->next};
    }

    /// PQgetResult returned NULL: the current query's results are complete.
    boost::system::result<void> on_query_end() {
        entry* e = current();
        if (e == nullptr || !e->in_results)
            return errc::protocol; // NULL without a result before it
        e->in_results = false;
        ++e->next;
        return {};
    }

    /// PGRES_PIPELINE_SYNC arrived: the oldest group is complete.
    boost::system::result<completed> on_sync() {
        entry* e = current();
        if (e == nullptr || e->in_results || e->next != e->queries)
            return errc::protocol; // a sync before all queries of the group reported
        completed done{std::move(e->group), e->failed_query};
        groups_.pop_front();
        return done;
    }

    /// True while results are still to come for some group.
    bool awaiting() const noexcept { return !groups_.empty(); }

    /// Groups sent and not yet complete.
    std::size_t in_flight() const noexcept { return groups_.size(); }

    /// True when the oldest group is between two queries: the next PQgetResult NULL would
    /// be unexpected. Lets the driver tell an idle connection from an end-of-query NULL.
    bool expects_query_end() const noexcept {
        return !groups_.empty() && groups_.front().in_results;
    }

    /// Gives up on every group (the connection is gone); returns them oldest first.
    std::vector<Group> abandon_all() {
        std::vector<Group> out;
        out.reserve(groups_.size());
        for (auto& e : groups_)
            out.push_back(std::move(e.group));
        groups_.clear();
        return out;
    }

private:
    struct entry {
        Group group;
        std::size_t queries = 0;
        std::size_t next = 0;    ///< the query whose results come next
        bool in_results = false; ///< at least one result of `next` arrived, its NULL has not
        std::optional<std::size_t> failed_query;
    };

    entry* current() { return groups_.empty() ? nullptr : &groups_.front(); }

    std::deque<entry> groups_;
};

} // namespace sqs2pg::pg
