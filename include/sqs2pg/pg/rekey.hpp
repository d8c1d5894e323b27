// The Postgres side of `sqs2pg rekey`: count a masked column's rows per key id, walk the
// table in windows of heap blocks, read the values of a window still under an old key id,
// and rewrite them. The table has no key of its own: a value is rewritten wherever it
// occurs in the window (masking is deterministic, so the new value is a function of the
// old one alone), and ctid only bounds the window a statement scans. Every statement is
// its own short transaction. The window sizing is sans-io (block_windows).
#pragma once

#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/names.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::pg {

/// The masked columns of the target table.
enum class masked_column { masked_ip, masked_device_id };
/// "masked_ip" | "masked_device_id".
std::string_view column_name(masked_column c) noexcept;

/// The largest block number a tid holds, plus one: windows never reach past it.
inline constexpr std::uint64_t max_blocks = 0xFFFFFFFFull;

/// Consecutive windows [lo, hi) of heap blocks sized so that each holds about
/// `target_rows` rows to rewrite (a batch): a window with few doubles the next one (up to
/// `max_width` blocks); one with more than twice the target is shrunk and scanned again
/// before anything is written, so no statement works on much more than a batch. Pure.
class block_windows {
public:
    struct window {
        std::uint64_t lo = 0;
        std::uint64_t hi = 0; ///< exclusive
    };

    explicit block_windows(std::size_t target_rows, std::uint64_t first_block = 0,
                           std::uint64_t initial_width = 8, std::uint64_t max_width = 8192);

    /// The window to scan next.
    window next() const noexcept;
    /// Whether the window from next(), which holds `rows` rows to rewrite, is small enough
    /// to be rewritten: false when it holds more than twice the target and is wider than
    /// one block; next() is then a narrower window at the same start.
    bool fits(std::uint64_t rows) noexcept;
    /// The window from next() is done (it held `rows` rows to rewrite): move past it.
    void done(std::uint64_t rows) noexcept;
    /// The first block not scanned yet.
    std::uint64_t position() const noexcept { return lo_; }
    std::uint64_t width() const noexcept { return width_; }

private:
    std::size_t target_;
    std::uint64_t lo_;
    std::uint64_t width_;
    std::uint64_t max_width_;
};

namespace rekey_sql {

/// A regular expression (POSIX, as `~` takes it) whose first group is the key id of a
/// reversible value: 1-16 of [A-Za-z0-9_-], then ':' (aes-siv, ipcrypt-pfx) or '~'.
inline constexpr std::string_view key_id_pattern = "^([A-Za-z0-9_-]{1,16})[:~]";

/// Rows per (format, key id) of column `c`: format is one of "aes-siv", "ipcrypt",
/// "ipcrypt-pfx", "one-way" (64 hex digits: hmac-sha256 or sha256), "null", "other"; the
/// key id is NULL where the value names none. No parameters.
std::string census(const qualified_name& table, masked_column c);

/// The heap size of $1 (a quoted table name, cast to regclass) in blocks.
std::string table_blocks();

/// The distinct values of `c` in blocks [$1, $2) (text block numbers) under a key id that
/// is not $3, with their row counts.
std::string candidates(const qualified_name& table, masked_column c);

/// Sets `c` to $2[i] in every row of blocks [$3, $4) whose `c` is $1[i] (two text[] of the
/// same length, no old value twice). The command tag counts the rows.
std::string rewrite(const qualified_name& table, masked_column c);

} // namespace rekey_sql

/// One line of the census: rows of a format under a key id (none: no key id).
struct census_row {
    std::string format;
    std::optional<std::string> key_id;
    std::int64_t rows = 0;
};

/// A value to rewrite and how many rows of the window hold it.
struct candidate {
    std::string value;
    std::int64_t rows = 0;
};

/// census() of `c`: a full scan, read-only.
boost::asio::awaitable<boost::system::result<std::vector<census_row>>>
async_census(connection& conn, const qualified_name& table, masked_column c);

/// The table's current size in blocks (it grows while `run` inserts).
boost::asio::awaitable<boost::system::result<std::uint64_t>>
async_table_blocks(connection& conn, const qualified_name& table);

/// The values of window `w` under a key id other than `active_key_id`.
boost::asio::awaitable<boost::system::result<std::vector<candidate>>>
async_candidates(connection& conn, const qualified_name& table, masked_column c,
                 block_windows::window w, std::string_view active_key_id);

/// Rewrites old_values[i] to new_values[i] in window `w`, in one statement (one short
/// transaction: its row locks last as long as the statement). Returns the rows changed.
boost::asio::awaitable<boost::system::result<std::int64_t>>
async_rewrite(connection& conn, const qualified_name& table, masked_column c,
              block_windows::window w, std::span<const std::string> old_values,
              std::span<const std::string> new_values);

} // namespace sqs2pg::pg
