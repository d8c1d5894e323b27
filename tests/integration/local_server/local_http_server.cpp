// The test HTTP server: an accept loop and one coroutine per connection.
#include "local_http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/ssl.h>

#include <exception>
#include <list>
#include <stdexcept>

namespace sqs2pg::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

reply text_reply(std::string body, std::string content_type) {
    reply r;
    r.res.set(bhttp::field::content_type, content_type);
    r.res.body() = std::move(body);
    return r;
}

reply status_reply(unsigned status, std::string body) {
    reply r;
    r.res.result(status);
    r.res.body() = std::move(body);
    return r;
}

struct session {
    explicit session(tcp::socket s)
        : socket(std::move(s))
        , timer(socket.get_executor()) {}
    tcp::socket socket;
    std::optional<ssl::stream<tcp::socket&>> tls;
    asio::steady_timer timer;
    bool idle = true;
};

struct local_http_server::state : std::enable_shared_from_this<state> {
    asio::any_io_executor ex;
    tcp::acceptor acceptor;
    handler on_request;
    std::optional<ssl::context> tls_ctx;
    std::list<std::shared_ptr<session>> sessions;
    std::vector<http::request> seen;
    std::string last_sni;
    std::size_t accepted = 0;
    std::uint16_t port = 0;
    bool stopped = false;

    state(asio::any_io_executor e, handler h)
        : ex(e)
        , acceptor(e, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0))
        , on_request(std::move(h))
        , port(acceptor.local_endpoint().port()) {}

    template <class Stream>
    asio::awaitable<void> serve(Stream& stream, session& s) {
        beast::flat_buffer buffer;
        for (;;) {
            s.idle = true;
            bhttp::request_parser<bhttp::string_body> parser;
            parser.body_limit(256u * 1024 * 1024);
            auto [rec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
            if (rec)
                co_return;
            s.idle = false;
            seen.push_back(parser.get());
            reply r = on_request(seen.back());
            if (r.drop)
                co_return;
            if (r.hang) {
                // Read and discard until the client goes away (or stop() closes the socket),
                // so the connection count shows whether the client closed its end.
                char sink[512];
                for (;;) {
                    auto [ec, k] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
                    if (ec)
                        co_return;
                }
            }
            if (r.delay.count() > 0) {
                s.timer.expires_after(r.delay);
                co_await s.timer.async_wait(use_tuple);
                if (stopped)
                    co_return;
            }
            r.res.version(11);
            if (r.close_after)
                r.res.keep_alive(false);
            if (!r.res.chunked()) // a chunked reply is sent as chunks
                r.res.prepare_payload();
            auto [wec, m] = co_await bhttp::async_write(stream, r.res, use_tuple);
            if (wec || r.close_after || !parser.get().keep_alive())
                co_return;
        }
    }

    asio::awaitable<void> run_session(std::shared_ptr<session> s) {
        if (tls_ctx) {
            s->tls.emplace(s->socket, *tls_ctx);
            auto [hec] = co_await s->tls->async_handshake(ssl::stream_base::server, use_tuple);
            if (!hec) {
                const char* sni =
                    SSL_get_servername(s->tls->native_handle(), TLSEXT_NAMETYPE_host_name);
                last_sni = sni != nullptr ? sni : "";
                co_await serve(*s->tls, *s);
            }
        } else {
            co_await serve(s->socket, *s);
        }
        boost::system::error_code ignored;
        s->socket.close(ignored);
        sessions.remove(s);
    }

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
            if (ec || stopped)
                co_return;
            ++accepted;
            auto s = std::make_shared<session>(std::move(socket));
            sessions.push_back(s);
            asio::co_spawn(ex, run_session(s), [](std::exception_ptr e) {
                if (e)
                    std::rethrow_exception(e);
            });
        }
    }
};

local_http_server::local_http_server(asio::any_io_executor ex, handler h,
                                     std::optional<tls_identity> tls)
    : state_(std::make_shared<state>(ex, std::move(h))) {
    if (tls) {
        state_->tls_ctx.emplace(ssl::context::tls_server);
        state_->tls_ctx->use_certificate_chain(asio::buffer(tls->cert_chain_pem));
        state_->tls_ctx->use_private_key(asio::buffer(tls->key_pem), ssl::context::pem);
    }
    asio::co_spawn(ex, state_->accept_loop(), [](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
    });
}

local_http_server::~local_http_server() {
    stop();
}

std::uint16_t local_http_server::port() const {
    return state_->port;
}

std::string local_http_server::url() const {
    return std::string(state_->tls_ctx ? "https" : "http") +
           "://127.0.0.1:" + std::to_string(port());
}

std::size_t local_http_server::accepted() const {
    return state_->accepted;
}
std::size_t local_http_server::requests() const {
    return state_->seen.size();
}
std::size_t local_http_server::open_connections() const {
    return state_->sessions.size();
}
const std::vector<http::request>& local_http_server::seen() const {
    return state_->seen;
}
const std::string& local_http_server::last_sni() const {
    return state_->last_sni;
}

void local_http_server::close_idle_connections() {
    for (auto& s : state_->sessions) {
        if (s->idle) {
            boost::system::error_code ignored;
            s->socket.shutdown(tcp::socket::shutdown_both, ignored);
            s->socket.close(ignored);
        }
    }
}

void local_http_server::set_handler(handler h) {
    state_->on_request = std::move(h);
}

void local_http_server::stop() {
    if (state_->stopped)
        return;
    state_->stopped = true;
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& s : state_->sessions) {
        s->timer.cancel();
        s->socket.close(ignored);
    }
}

void run_test(asio::io_context& ioc, std::function<asio::awaitable<void>()> body,
              std::vector<local_http_server*> servers) {
    std::exception_ptr failure;
    bool finished = false;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            try {
                co_await body();
            } catch (...) {
                failure = std::current_exception();
            }
            finished = true;
            for (auto* s : servers)
                s->stop();
        },
        asio::detached);
    ioc.run();
    ioc.restart();
    if (failure)
        std::rethrow_exception(failure);
    if (!finished)
        throw std::logic_error("run_test: the io_context ran out of work before the body ended");
}

std::uint16_t unused_port() {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = a.local_endpoint().port();
    a.close();
    return port;
}

} // namespace sqs2pg::test
