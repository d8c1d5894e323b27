// The SQL sqs2pg sends, built once per table name: the exactly-once rows statement, the
// rejects upsert, ledger pruning, the DDL, and the column checks of the target table.
#pragma once

#include <sqs2pg/pg/names.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::pg::sql {

inline constexpr const char* rows_statement = "sqs2pg_rows";
inline constexpr const char* rows_fast_statement = "sqs2pg_rows_fast";
inline constexpr const char* rejects_statement = "sqs2pg_rejects";

/// What identifies a ledger entry: its primary key.
enum class ledger_key : std::uint8_t {
    /// (sent_at, message_id): the message's SentTimestamp first, so that new entries
    /// land at the right edge of the index instead of on a random page of it; what
    /// sqs2pg creates. A message keeps its MessageId and SentTimestamp on every delivery.
    sent_at_message_id,
    /// (message_id): ledgers an earlier sqs2pg created; still written (docs/postgres.md).
    message_id,
};

/// Writes rows and their ledger entries in one statement. Parameters: encode_rows().
/// Message ids already in the ledger are skipped (no row); the ids must be distinct.
/// Returns one row, one column: the 1-based positions that were skipped, as int8[].
std::string insert_rows(const table_names& t, std::chrono::seconds retention, ledger_key key);
/// The fast variant of insert_rows, same parameters: plain inserts into the ledger and
/// the target, no conflict handling and no join. An id already in the ledger fails the
/// statement with 23505 (unique_violation) and nothing is written; otherwise every row
/// is written with its ledger entry. Returns no rows.
std::string insert_rows_fast(const table_names& t, std::chrono::seconds retention, ledger_key key);
/// Parameter type OIDs of insert_rows and insert_rows_fast (text[] x6, int4[], date[],
/// int8[]); a ledger keyed by message_id alone does not use the ninth (sent_ms).
std::array<std::uint32_t, 9> insert_rows_types();

/// Inserts reject records, or for a message id already there updates last_seen, the
/// receive count (the larger), the reason and the body. Parameters: encode_rejects().
std::string upsert_rejects(const table_names& t);
/// Parameter type OIDs of upsert_rejects (text[] x2, int4[], int8[], bytea[]).
std::array<std::uint32_t, 5> upsert_rejects_types();

/// Deletes at most $2 ledger entries written more than $1 seconds ago, skipping rows
/// another session holds, so each call is a short transaction with row locks only.
std::string prune_ledger(const table_names& t);

/// Creates the tables flagged missing: the target table (the take-home DDL exactly),
/// the ledger (keyed by ledger_key::sent_at_message_id) with a BRIN index on keep_until,
/// the rejects table. Several statements for one simple query (an implicit
/// transaction), serialized between concurrently starting sqs2pg processes by a
/// transaction-level advisory lock.
std::string create_tables(const table_names& t, bool target, bool ledger, bool rejects);

/// Columns of a table as `format_type` spells them, in column order. Parameter $1: the
/// quoted qualified name. No rows when the table does not exist.
std::string describe_table();

struct column {
    std::string name;
    std::string type; ///< as format_type() prints it, e.g. "character varying(128)"
    bool operator==(const column&) const = default;
};

/// The columns of user_logins in the take-home DDL.
std::span<const column> target_columns();
/// The columns sqs2pg's own tables must have.
std::span<const column> ledger_columns(ledger_key key);
std::span<const column> rejects_columns();

/// The primary key of a table, its columns in key order separated by commas (e.g.
/// "sent_at,message_id"). Parameter $1: the quoted qualified name. One row, NULL when
/// the table has no primary key.
std::string describe_primary_key();
/// The ledger key a primary key (as describe_primary_key spells it) stands for; nullopt
/// for any other key.
std::optional<ledger_key> ledger_key_of(std::string_view primary_key);

/// Compares a table's actual columns with the expected ones (order does not matter).
/// Returns nullopt when they match, else one sentence naming every difference:
/// missing columns, other types, and (when `exact`) unexpected extra columns.
std::optional<std::string> describe_mismatch(std::string_view table,
                                             std::span<const column> expected,
                                             std::span<const column> actual, bool exact);

} // namespace sqs2pg::pg::sql
