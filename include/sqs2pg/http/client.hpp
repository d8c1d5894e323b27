// HTTP/1.1 client for one endpoint on Beast: keep-alive connection reuse, plain TCP or
// TLS (system trust store, SNI, host-name verification), per-request deadlines.
#pragma once

#include <sqs2pg/http/endpoint.hpp>
#include <sqs2pg/http/error.hpp>
#include <sqs2pg/http/message.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace sqs2pg::http {

struct client_options {
    /// Verify the server's certificate chain and host name (RFC 6125). Switch off only
    /// for a test server with a throwaway certificate: it allows a man in the middle.
    bool verify_tls = true;
    /// A PEM file of CA certificates trusted in addition to the system store (a private
    /// CA, a TLS-intercepting proxy, a local emulator's certificate).
    std::string extra_ca_file;
    /// Largest response body accepted. A ReceiveMessage response holds up to 10 messages of
    /// up to 1 MiB; escaping can make each byte 6 bytes ("&quot;" in XML, "\u001f" in JSON),
    /// so 10 x 1 MiB x 6 = 60 MiB, plus the envelope: 64 MiB. Memory is used only as the
    /// body arrives. A response over the limit fails with errc::body_too_large.
    std::size_t body_limit = 64u * 1024 * 1024;
    /// Response header fields kept in the response (names, case-insensitive); every other
    /// field is parsed and dropped. Empty keeps them all. The framing (Content-Length,
    /// Transfer-Encoding, Connection) is handled whether kept or not.
    std::vector<std::string> kept_headers;
    /// Bound on resolving and connecting (and the TLS handshake) for a new connection,
    /// within the request's own deadline.
    std::chrono::milliseconds connect_timeout{10'000};
    /// Idle keep-alive connections kept for reuse; more are closed when they come back.
    std::size_t max_idle_connections = 64;
    /// An idle connection older than this is closed instead of reused: servers drop idle
    /// connections (often after 60 s), and a request sent into a half-closed one is lost time.
    std::chrono::milliseconds max_idle_time{50'000};
};

/// Counters for logs, metrics and tests.
struct client_stats {
    std::size_t connections_opened = 0;
    std::size_t connections_reused = 0; ///< requests sent on an idle keep-alive connection
    std::size_t stale_retries = 0;      ///< requests resent because a reused connection was closed
    std::size_t idle_connections = 0;   ///< now
};

/// A request whose line and header its caller wrote: "METHOD target HTTP/1.1\r\n", then a
/// "Name: value\r\n" line per field, Host among them, without the empty line that ends
/// the header (async_send adds User-Agent, Content-Length and that line).
struct raw_request {
    std::string head;
    std::string body;
};

namespace detail {
struct outgoing;
}

/// Keep-alive connections to one endpoint; several requests may be in flight, one
/// connection each. Single-threaded: use it from the executor's one thread.
class client {
public:
    /// Creates the client; connects lazily. Throws std::runtime_error when TLS is needed
    /// and the trust store or `opts.extra_ca_file` cannot be loaded (a configuration error).
    client(boost::asio::any_io_executor ex, endpoint ep, client_options opts = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Sends `req` on an idle keep-alive connection (or a new one) and reads the response.
    /// Sets Host and User-Agent ("sqs2pg/<version>") when missing and Content-Length from
    /// the body; other headers are sent as they are (sign the request first). Fails with
    /// errc::timeout once `deadline` has passed (the caller picks it longer than a long-poll wait).
    /// A reused connection that turns out closed by the peer before any response byte is retried
    /// once on a fresh connection; a connection that failed in any way is never reused.
    /// Cancellation (terminal) closes the connection in use and completes with errc::cancelled. The
    /// client may be destroyed while calls are in flight; they finish on their own.
    boost::asio::awaitable<boost::system::result<response>>
    async_send(request req, std::chrono::steady_clock::duration deadline);

    /// async_send() for a request its caller wrote (raw_request): for callers that send
    /// thousands of small requests a second (the SQS client), without Beast's header fields
    /// to build. The connection is kept alive; never a HEAD request.
    boost::asio::awaitable<boost::system::result<response>>
    async_send(raw_request req, std::chrono::steady_clock::duration deadline);

    /// Closes the idle connections (in-flight requests keep theirs).
    void close_idle();

    const endpoint& target() const;
    client_stats stats() const;

private:
    struct impl;
    static boost::asio::awaitable<boost::system::result<response>>
    async_send_outgoing(std::shared_ptr<impl> self, detail::outgoing req,
                        std::chrono::steady_clock::duration deadline);
    std::shared_ptr<impl> impl_;
};

} // namespace sqs2pg::http
