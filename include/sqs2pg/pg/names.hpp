// Table names: parsing the configured `[schema.]table` the way PostgreSQL reads an
// identifier, quoting it for SQL, and the names of sqs2pg's own tables beside it.
#pragma once

#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::pg {

/// A table name with an optional schema, both as PostgreSQL stores them (unquoted
/// parts folded to lower case, quoted parts verbatim).
struct qualified_name {
    std::optional<std::string> schema; ///< none: resolved through the search_path
    std::string name;

    /// `"schema"."name"` or `"name"`, every part double-quoted, ready for SQL text.
    std::string quoted() const;
    /// The same schema (or the same lack of one) with another table name.
    qualified_name sibling(std::string_view table) const;

    bool operator==(const qualified_name&) const = default;
};

/// Parses `table` or `schema.table`; each part is an SQL identifier, unquoted (letters,
/// digits, `_`, `$`, not starting with a digit; folded to lower case) or double-quoted
/// (`""` for a quote). At most 63 bytes per part, as PostgreSQL would otherwise
/// truncate. Returns errc::invalid_table_name for anything else.
boost::system::result<qualified_name> parse_qualified_name(std::string_view text);

/// `ident` double-quoted, with embedded quotes doubled.
std::string quote_ident(std::string_view ident);

/// The tables sqs2pg writes: the target table, and its own ledger and rejects tables,
/// which live in the target's schema (or, unqualified, where the search_path puts them).
struct table_names {
    qualified_name target;
    qualified_name ledger;  ///< sqs2pg_ledger
    qualified_name rejects; ///< sqs2pg_rejects

    explicit table_names(qualified_name target_table);
};

} // namespace sqs2pg::pg
