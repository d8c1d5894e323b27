// Errors of the pg module and the SQLSTATE policy: which server errors reconnect,
// reject a row, are written again, or stop sqs2pg (docs/postgres.md, "SQLSTATE policy").
#pragma once

#include <boost/system/error_code.hpp>

#include <string_view>
#include <type_traits>

namespace sqs2pg::pg {

enum class errc {
    connect_failed = 1, ///< no connection could be established (network, DNS, auth, TLS)
    connect_timeout,    ///< connecting took longer than writer_config::connect_timeout
    invalid_conninfo,   ///< the connection string does not parse
    connection_lost,    ///< the server went away (class 08, 57P01-57P03, EOF, reset)
    read_only,          ///< 25006: connected to a standby (failover); reconnect to the primary
    protocol,           ///< libpq delivered results sqs2pg did not expect: reconnect
    data_rejected,      ///< class 22/23: the database refused a row's values
    transient,          ///< class 40 (40001 serialization failure, 40P01 deadlock): write again
    statement_timeout,  ///< 57014 query_canceled (statement_timeout): write again, smaller
    resources,          ///< class 53 (disk full, out of memory, too many connections): later
    server_error,       ///< any other SQLSTATE (permissions, missing table, ...): fatal
    schema_mismatch,    ///< the target table exists with other columns or types: fatal
    invalid_table_name, ///< the configured table name is not [schema.]table: fatal
    stopped,            ///< the writer was stopped or is not running
    no_answer,          ///< no answer within the writer's batch deadline (a frozen server or
                        ///< network): the session is dropped and the batch written again
};

const boost::system::error_category& pg_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), pg_category()};
}

/// What to do about a server error, decided by its SQLSTATE alone.
enum class sqlstate_action {
    reconnect,     ///< the session is unusable: drop it, reconnect, write again
    reject,        ///< the row's values are refused: record it as a reject
    retry,         ///< transient: write the same rows again
    retry_smaller, ///< statement timeout: write again in smaller batches
    retry_later,   ///< the server lacks resources: write again after a pause
    fatal,         ///< a configuration or permission problem no retry can fix
};

/// The action for a five-character SQLSTATE. An empty or malformed code (libpq reports
/// local failures without one) is `reconnect`: libpq uses it for lost connections.
sqlstate_action classify_sqlstate(std::string_view sqlstate) noexcept;

/// The errc for a SQLSTATE (data_rejected, transient, connection_lost, ...).
errc errc_from_sqlstate(std::string_view sqlstate) noexcept;

/// What a failed statement's SQLSTATE says about the table or schema it named, for
/// messages that tell an operator what to check instead of quoting the server's text
/// (which can quote row data).
enum class object_problem {
    other,             ///< any other code, or none: show the code itself
    missing,           ///< 42P01 undefined_table, 3F000 invalid_schema_name
    permission_denied, ///< 42501 insufficient_privilege
};

object_problem object_problem_of(std::string_view sqlstate) noexcept;

/// `p` in words: "does not exist", "permission denied"; "" for other.
std::string_view describe(object_problem p) noexcept;

/// True for errors after which the same rows may simply be written again (possibly
/// after reconnecting or waiting): connection problems, class 40/53, statement timeouts.
bool is_retryable(boost::system::error_code ec) noexcept;

/// True for errors that no retry fixes: sqs2pg should stop and say why.
bool is_fatal(boost::system::error_code ec) noexcept;

} // namespace sqs2pg::pg

template <>
struct boost::system::is_error_code_enum<sqs2pg::pg::errc> : std::true_type {};
