// An async libpq connection on an Asio executor: a non-blocking connect (host names
// resolved off the loop), socket readiness through a non-owning stream_descriptor, and
// simple (non-pipelined) statements for setup, schema checks and the rejects commands.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/result.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sqs2pg::pg {

struct result_deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
/// Owns one PGresult.
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

struct connect_options {
    /// A libpq connection string or URI (--pg, DATABASE_URL). Empty: libpq's PG*
    /// environment variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE, ...) and
    /// ~/.pgpass, as for psql. TLS follows sslmode, as libpq defines it.
    std::string conninfo;
    /// The whole connect, TLS and authentication included (libpq's own connect_timeout
    /// applies only to blocking connects).
    std::chrono::milliseconds timeout{10000};
    /// TCP liveness settings the connection string does not set itself: keepalives
    /// after 10 s idle, every 5 s, 3 probes, and tcp_user_timeout 30 s (unacknowledged
    /// data), so a dead peer or a silent partition ends the session in about 30 s
    /// instead of the kernel's 15 minutes (or 2 hours of idle keepalive).
    bool tcp_liveness_defaults = true;
    /// The password to log in with, overriding the connection string's and PGPASSWORD
    /// (an RDS IAM auth token, made just before the connect). nullopt: libpq's own.
    std::optional<std::string> password{};
};

/// One libpq connection driven by the io_context. Not thread-safe; one operation at a
/// time except where a function says otherwise. Destroying it closes the connection.
class connection {
public:
    explicit connection(boost::asio::any_io_executor ex);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// Connects without blocking the loop: host names are resolved by Asio's resolver
    /// (one address list per host, so libpq still tries each address), then
    /// PQconnectStartParams / PQconnectPoll with the socket watched by Asio. Sets the
    /// connection non-blocking and client_encoding UTF8. On failure error_detail() holds
    /// libpq's message (connection problems only, never row data). Cancellation or
    /// timeout leaves the connection closed.
    boost::asio::awaitable<boost::system::result<void>> async_connect(connect_options opts);

    /// True while libpq reports the connection as usable.
    bool is_open() const noexcept;
    /// The libpq handle (null when closed); valid until close() or the next connect.
    PGconn* native_handle() const noexcept { return conn_; }
    /// The server process id of this session (0 when closed).
    int backend_pid() const noexcept;

    /// libpq's message for the last failed connect, for the operator.
    const std::string& error_detail() const noexcept { return detail_; }
    /// The SQLSTATE of the last server error an operation here reported ("" if none).
    const std::string& last_sqlstate() const noexcept { return sqlstate_; }

    /// Waits until the socket is readable / writable. Both may be outstanding at once.
    /// Returns operation_aborted when cancelled or when the connection is closed.
    boost::asio::awaitable<boost::system::error_code> async_wait_readable();
    boost::asio::awaitable<boost::system::error_code> async_wait_writable();

    /// Sends what libpq has buffered: while PQflush returns 1, waits for the socket to
    /// be writable or readable (consuming input when readable, as libpq requires).
    boost::asio::awaitable<boost::system::result<void>> async_flush();

    /// Runs `sql` with the simple protocol (several statements allowed, one implicit
    /// transaction) and returns the last result. A server error returns the errc for
    /// its SQLSTATE (last_sqlstate() has the code). Not in pipeline mode. Cancellation
    /// closes the connection, since its state is then unknown.
    boost::asio::awaitable<boost::system::result<result_ptr>> async_query(std::string_view sql);

    /// Runs one statement with text parameters (nullopt = NULL) and text results.
    boost::asio::awaitable<boost::system::result<result_ptr>>
    async_query_params(std::string_view sql, std::span<const std::optional<std::string>> params);

    /// Prepares a named statement with the given parameter type OIDs.
    boost::asio::awaitable<boost::system::result<void>>
    async_prepare(const std::string& name, const std::string& sql,
                  std::span<const std::uint32_t> types);

    /// Cancels pending waits on the socket (they complete with operation_aborted).
    void cancel() noexcept;

    /// Releases the socket from Asio, then PQfinish. Pending waits are cancelled.
    void close() noexcept;

private:
    void watch_socket();
    boost::asio::awaitable<boost::system::result<result_ptr>> async_collect();
    boost::system::error_code lost(boost::system::error_code ec) noexcept;

    boost::asio::any_io_executor ex_;
    PGconn* conn_ = nullptr;
    boost::asio::posix::stream_descriptor socket_;
    std::string detail_;
    std::string sqlstate_;
};

/// The SQLSTATE of a result ("" when libpq gave none, e.g. a local connection failure).
std::string_view result_sqlstate(const PGresult* r) noexcept;

} // namespace sqs2pg::pg
