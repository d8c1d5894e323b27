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
/// - all items start in one attempt;
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

    batch_resolver(std::size_t rows, std::size_t rejects);

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
};

/// Expands the distinct items' results to the batch's items (an id that occurred twice:
/// its second occurrence is `duplicate` if the first committed, otherwise the same
/// status) and counts them.
batch_outcome make_outcome(const batch_resolver& r, const dedupe_result& rows,
                           const dedupe_result& rejects);

} // namespace sqs2pg::pg
