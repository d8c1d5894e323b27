// Startup schema management: create the target table and sqs2pg's own tables when they
// are missing, and refuse to start on a target table with other columns.
#pragma once

#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/names.hpp>
#include <sqs2pg/pg/sql.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <string>

namespace sqs2pg::pg {

/// Checks the target, ledger and rejects tables on `conn` (not in pipeline mode) and,
/// when `create` is set, creates the missing ones in one transaction. The target must
/// have exactly the take-home columns and types (order aside); the own tables must have
/// at least theirs. On errc::schema_mismatch, `detail` names every difference; on a
/// missing table without `create`, or a missing schema, it says which. Returns the
/// ledger's key (sql::ledger_key): the rows statements are built for it.
boost::asio::awaitable<boost::system::result<sql::ledger_key>>
async_ensure_schema(connection& conn, const table_names& tables, bool create, std::string& detail);

} // namespace sqs2pg::pg
