// Sans-io decisions of one async_write: which items go together into which attempt
// (one transaction each), how a failed attempt is split to find the rows the database
// refuses, and what each item's outcome is in the end.
#pragma once

#include <sqs2pg/pg/batch.hpp>

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::pg {

/// Items written in one transaction. Indices refer to the distinct rows and rejects of
/// a batch (see dedupe_ids).
struct attempt {
    std::vector<std::uint32_t> rows;    ///< rows to insert (with ledger entries)
    std::vector<std::uint32_t> rejects; ///< reject items to record
    bool timeout_split = false;         ///< split after a statement timeout: not again
    /// Rows go in with plain inserts (sql::insert_rows_fast): no conflict handling, so an
    /// id already in the ledger fails the whole attempt (23505) instead of being skipped.
    bool fast = false;

    std::size_t size() const noexcept { return rows.size() + rejects.size(); }
};

/// For each id, the index of its first occurrence among the distinct ids (so equal ids
/// share an index), and the original index of each distinct id.
struct dedupe_result {
    std::vector<std::uint32_t> unique_of; ///< per original item: its distinct index
    std::vector<std::uint32_t> first;     ///< per distinct index: the first original item
};
dedupe_result dedupe_ids(std::span<const std::string_view> ids);

/// Drives the attempts of one batch of `rows` distinct rows and `rejects` distinct
/// rejects to a final status per item:
/// - all items start in one attempt, `fast` if the caller asks for it (and there are rows);
/// - a fast attempt refused with a class 22/23 SQLSTATE (an id already in the ledger, or
///   a row the database refuses) is sent again unchanged as a normal attempt, which skips
///   ids already in the ledger and finds refused rows as below: the outcome is the same
///   as without the fast path, one round later;
/// - an attempt refused with a class 22/23 SQLSTATE is split in halves, recursively; a
///   single refused row is then `refused` (the caller records it as a reject in a later
///   write), a single refused reject record is `failed`;
/// - a statement timeout splits an attempt in halves once; if a half times out again its
///   items are `retry`;
/// - any other failure makes the attempt's items `retry` (retryable or fatal error).
/// The caller sends the attempts from next_attempts(), all at once if it likes (they are
/// independent transactions), and reports each one's end.
class batch_resolver {
public:
    struct item {
        item_status status = item_status::retry;
        std::string sqlstate;
        bool settled = false;
    };

    batch_resolver(std::size_t rows, std::size_t rejects, bool fast = false);

    /// The attempts to send now (moved out); empty while waiting for results, or done.
    std::vector<attempt> next_attempts();

    /// `a` committed. `skipped` are 0-based positions in a.rows whose ids were already
    /// in the ledger.
    void committed(const attempt& a, std::span<const std::uint32_t> skipped);

    /// `a` failed with `sqlstate` (empty when there is none, e.g. a lost connection);
    /// `cause` is the error reported for items left `retry` or `failed`.
    void failed(const attempt& a, std::string_view sqlstate, boost::system::error_code cause);

    /// True when every item has its final status.
    bool done() const noexcept { return outstanding_ == 0 && pending_.empty(); }

    /// True if a fast attempt fell back to the normal statement (the batch held an id
    /// already in the ledger, or a row the database refuses).
    bool fell_back() const noexcept { return fell_back_; }

    std::span<const item> rows() const noexcept { return rows_; }
    std::span<const item> rejects() const noexcept { return rejects_; }

    /// The most severe cause among items left `retry` or `failed`: a fatal error wins
    /// over a retryable one. Clear when no item is retry or failed.
    boost::system::error_code error() const noexcept { return error_; }

private:
    void settle(std::vector<item>& v, std::uint32_t i, item_status s, std::string_view sqlstate);
    void note_error(boost::system::error_code ec);
    void split(const attempt& a, bool timeout_split);

    std::vector<item> rows_;
    std::vector<item> rejects_;
    std::vector<attempt> pending_;
    std::size_t outstanding_ = 0;
    boost::system::error_code error_;
    bool fell_back_ = false;
};

/// Chooses between the fast rows statement and the normal one for the next batch. The
/// fast one costs the server about a third of the normal one per row (docs/postgres.md)
/// but fails a batch that holds an id already in the ledger, which is then written again
/// with the normal statement. Redeliveries come in waves (a restart, an expired
/// visibility timeout), so after a batch that met one the next `cooldown` batches go
/// straight to the normal statement.
class fast_path_policy {
public:
    explicit fast_path_policy(bool enabled, std::uint32_t cooldown = 16) noexcept
        : enabled_(enabled)
        , cooldown_(cooldown) {}

    /// Whether the next batch should start with a fast attempt. Counts the batch.
    bool next() noexcept {
        if (!enabled_)
            return false;
        if (safe_left_ > 0) {
            --safe_left_;
            return false;
        }
        return true;
    }

    /// A batch finished: `duplicates` ids were found already in the ledger (by the normal
    /// statement, or by a fast attempt falling back).
    void finished(bool duplicates) noexcept {
        if (enabled_ && duplicates)
            safe_left_ = cooldown_;
    }

private:
    bool enabled_;
    std::uint32_t cooldown_;
    std::uint32_t safe_left_ = 0;
};

/// Expands the distinct items' results to the batch's items (an id that occurred twice:
/// its second occurrence is `duplicate` if the first committed, otherwise the same
/// status) and counts them.
batch_outcome make_outcome(const batch_resolver& r, const dedupe_result& rows,
                           const dedupe_result& rejects);

} // namespace sqs2pg::pg
