// The ops HTTP endpoint: GET /metrics, /healthz and /readyz served by a small Beast
// HTTP/1.1 server on the pipeline's io_context; plus --listen address parsing.
#pragma once

#include <sqs2pg/ops/metrics.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sqs2pg::ops {

/// Where the endpoint listens: an IP literal (v4 or v6, no brackets) and a port (0 picks
/// a free one).
struct listen_address {
    std::string host;
    std::uint16_t port = 0;
    friend bool operator==(const listen_address&, const listen_address&) = default;
};

/// Why a --listen value was refused: a short phrase fit to follow "--listen: ".
struct address_error {
    std::string reason;
};

[[noreturn]] inline void throw_exception_from_error(const address_error& e,
                                                    const boost::source_location&) {
    throw std::invalid_argument(e.reason);
}

/// Parses "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464", "[::]:9464" or "localhost:9464"
/// (= 127.0.0.1; no other names, so no DNS lookup). The port is 0..65535 in decimal.
boost::system::result<listen_address, address_error> parse_listen_address(std::string_view text);

/// Readiness as the pipeline reports it: ready, or not with a short reason
/// ("draining", "postgres disconnected").
struct readiness {
    bool ready = true;
    std::string reason;
};

struct endpoint_options {
    /// Largest request (header and body) accepted; larger gets 431/413 and a close.
    std::size_t max_request_bytes = std::size_t{8} << 10;
    /// Time for a whole request to arrive once the connection is open or its first byte
    /// came, and for a response to be written.
    std::chrono::milliseconds read_timeout{10'000};
    /// How long a keep-alive connection may sit idle between requests (short: a
    /// Prometheus scrape or a probe reconnects cheaply).
    std::chrono::milliseconds idle_timeout{10'000};
    /// Connections served at once. At the limit a new connection evicts the oldest one
    /// that is only waiting for a request (so idle keep-alive clients cannot lock out
    /// /healthz); when every one is mid-request, the new one is closed right after accept.
    std::size_t max_connections = 32;
};

/// The ops HTTP server. GET (and HEAD) of /metrics renders `metrics` (text/plain;
/// version=0.0.4); /healthz answers 200 "ok" while the io_context runs; /readyz asks
/// `ready` and answers 200 "ready" or 503 "not ready: <reason>". Other paths get 404,
/// other methods 405. Connections are kept alive as the client asks.
///
/// Single-threaded: every member is called on the io_context's thread. `metrics` and the
/// objects `ready` refers to must outlive the endpoint, and the endpoint must outlive the
/// connections it serves: destroy it after async_run() has returned (or after the
/// io_context, which destroys the connection coroutines with it).
class endpoint {
public:
    using readiness_check = std::function<readiness()>;

    endpoint(boost::asio::any_io_executor ex, const registry& metrics, readiness_check ready,
             endpoint_options options = {});
    ~endpoint();
    endpoint(const endpoint&) = delete;
    endpoint& operator=(const endpoint&) = delete;

    /// Opens, binds and listens now (so the error is known before the pipeline starts
    /// and a port 0 is resolved); address_in_use, access_denied etc. come back as values.
    boost::system::result<void> listen(const listen_address& where);

    /// The bound address (port filled in when 0 was asked); default-constructed before listen.
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    /// Accepts and serves until stop() is called or the awaiting operation is cancelled,
    /// then closes the listening socket and every connection and returns once all
    /// connection coroutines have finished. Call after a successful listen(), once.
    boost::asio::awaitable<void> async_run();

    /// Closes the listening socket and all live connections (a response being written is
    /// cut short). async_run() then returns. Idempotent.
    void stop();

    /// Connections being served now (for tests and the metrics of the endpoint itself).
    std::size_t connection_count() const noexcept { return connections_.size(); }

private:
    struct connection;
    struct reply {
        unsigned status = 200;
        std::string_view content_type;
        std::string body;
    };
    boost::asio::awaitable<void> async_serve(boost::asio::ip::tcp::socket socket);
    /// Closes the oldest connection waiting for a request; false when there is none.
    bool evict_oldest_waiting();
    reply route(std::string_view method, std::string_view target) const;

    boost::asio::any_io_executor ex_;
    const registry& metrics_;
    readiness_check ready_;
    endpoint_options options_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer all_closed_;
    std::list<connection*> connections_;
    bool stopping_ = false;
};

} // namespace sqs2pg::ops
