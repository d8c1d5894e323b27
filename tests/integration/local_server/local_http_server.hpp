// A small HTTP/1.1 server for tests (Beast, coroutines): listens on 127.0.0.1 on a port
// the system picks, plain or TLS, answers through a handler, counts what it sees, and can
// misbehave on purpose (hang, drop the connection, close idle keep-alive connections).
#pragma once

#include <sqs2pg/http/message.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sqs2pg::test {

/// What the server does with one request.
struct reply {
    http::response res{boost::beast::http::status::ok, 11};
    /// Wait this long before answering.
    std::chrono::milliseconds delay{0};
    /// Never answer; the connection stays open (read and discarded) until the client closes
    /// it or the server stops.
    bool hang = false;
    /// Close the connection without answering (as a server that timed it out would).
    bool drop = false;
    /// Answer with "Connection: close" and close afterwards.
    bool close_after = false;
};

/// A 200 response with `body` and a content type.
reply text_reply(std::string body, std::string content_type = "text/plain");

/// A response with `status` and `body`.
reply status_reply(unsigned status, std::string body = {});

/// The server's certificate chain and key (PEM), for a TLS server.
struct tls_identity {
    std::string cert_chain_pem;
    std::string key_pem;
};

class local_http_server {
public:
    using handler = std::function<reply(const http::request&)>;

    /// Listens on 127.0.0.1:0 now; serves once the executor runs. With `tls`, every
    /// connection starts with a TLS handshake.
    local_http_server(boost::asio::any_io_executor ex, handler h,
                      std::optional<tls_identity> tls = std::nullopt);
    ~local_http_server();

    std::uint16_t port() const;
    /// "http://127.0.0.1:<port>" (or https).
    std::string url() const;

    std::size_t accepted() const; ///< TCP connections accepted
    std::size_t requests() const; ///< requests read
    std::size_t open_connections() const;
    /// Requests seen so far, oldest first.
    const std::vector<http::request>& seen() const;
    /// The SNI name of the last TLS handshake ("" if none was sent).
    const std::string& last_sni() const;

    /// Closes connections that are waiting for their next request, as a server's idle
    /// timeout does: the client finds them closed.
    void close_idle_connections();

    /// Replaces the handler (for the next requests).
    void set_handler(handler h);

    /// Stops listening and closes every connection. Idempotent; the destructor calls it.
    void stop();

    struct state;

private:
    std::shared_ptr<state> state_;
};

/// Runs `body` on `ioc` until it finishes, then stops `servers` so that run() returns.
/// Rethrows what `body` threw (gtest assertions inside coroutines must use EXPECT_*).
void run_test(boost::asio::io_context& ioc, std::function<boost::asio::awaitable<void>()> body,
              std::vector<local_http_server*> servers);

/// A TCP port on 127.0.0.1 that nothing listens on (bound, read back, closed).
std::uint16_t unused_port();

} // namespace sqs2pg::test
