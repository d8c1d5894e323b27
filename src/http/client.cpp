// The keep-alive HTTP/1.1 client: a pool of idle connections, one connection per request
// in flight, deadlines raced against a timer, TLS through OpenSSL with host-name checks.
#include <sqs2pg/http/client.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/version.hpp>

#include "wire.hpp"
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace sqs2pg::http {

namespace detail {
// A request as it goes on the wire: its request line and header (ending in the empty
// line), its body, and what the exchange needs to know of it.
struct outgoing {
    std::string head;
    std::string body;
    bool head_method = false; ///< a HEAD request: the response has no body
    bool keep_alive = true;   ///< the request allows the connection to be reused
};
} // namespace detail

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// AWS response headers are a few hundred bytes; this only stops a runaway peer.
constexpr std::uint32_t header_limit = 64 * 1024;

// Room for a whole typical answer in one read. Beast reads at most the buffer's free
// capacity (at least 512 bytes), and the parser empties the buffer into the body as it
// goes, so a buffer left at its first 512 bytes took 9 recv calls for a 4.5 KB
// ReceiveMessage answer. The pages are touched only as far as answers fill them.
constexpr std::size_t read_buffer_bytes = 16 * 1024;

// Below this idle time a pooled connection is reused without checking it (see take_idle).
constexpr auto fresh_idle = std::chrono::milliseconds(2);

bool is_ip_literal(const std::string& host) {
    error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

// The peer closed or reset the connection: on a reused connection before any response
// byte, the request most likely never reached a server that had already given up on it.
bool is_peer_close(const error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
           ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
           ec == ssl::error::stream_truncated;
}

error_code map_exchange_error(const error_code& ec) {
    if (ec == asio::error::operation_aborted)
        return errc::cancelled;
    if (ec == bhttp::error::body_limit)
        return errc::body_too_large;
    if (is_peer_close(ec))
        return errc::closed;
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category())
        return errc::protocol;
    return errc::closed;
}

struct connection {
    std::optional<tcp::socket> plain;
    std::optional<ssl::stream<tcp::socket>> tls;
    beast::flat_buffer buffer;
    std::chrono::steady_clock::time_point idle_since{};

    tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }

    // An idle connection is worth reusing only while the peer has neither closed it (FIN:
    // recv returns 0) nor sent anything unasked (a 408, a TLS close_notify alert).
    bool looks_alive() {
        if (buffer.size() != 0)
            return false;
        char b;
        const ssize_t n = ::recv(socket().native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
};

using detail::outgoing;
using detail::response_parser;
using detail::user_agent;
using detail::write_head;

template <class Stream>
asio::awaitable<error_code> write_then_read(Stream& s, beast::flat_buffer& buffer,
                                            const outgoing& req, response_parser& parser) {
    const std::array<asio::const_buffer, 2> out{asio::buffer(req.head), asio::buffer(req.body)};
    auto [wec, written] = co_await asio::async_write(s, out, use_tuple);
    if (wec)
        co_return wec;
    auto [rec, read] = co_await bhttp::async_read(s, buffer, parser, use_tuple);
    co_return rec;
}

struct exchange_outcome {
    error_code ec;  // mapped to http::errc
    error_code raw; // as the stream reported it
    bool got_bytes = false;
    bool reusable = false;
    response res;
};

// One request's deadline, shared with its timer's handler (which may run after the
// request has ended, so it cannot point into the coroutine).
struct deadline_state {
    std::chrono::steady_clock::time_point at;
    bool fired = false;
    connection* active = nullptr; ///< the connection an exchange is under way on
};

} // namespace

struct client::impl : std::enable_shared_from_this<impl> {
    asio::any_io_executor ex;
    endpoint ep;
    client_options opts;
    std::string port_text;
    std::optional<ssl::context> tls_ctx;
    std::vector<std::unique_ptr<connection>> idle; // most recently used last
    client_stats counters;

    impl(asio::any_io_executor e, endpoint p, client_options o)
        : ex(std::move(e))
        , ep(std::move(p))
        , opts(std::move(o))
        , port_text(std::to_string(ep.port)) {
        if (!ep.tls)
            return;
        tls_ctx.emplace(ssl::context::tls_client);
        SSL_CTX_set_min_proto_version(tls_ctx->native_handle(), TLS1_2_VERSION);
        error_code ec;
        tls_ctx->set_default_verify_paths(ec);
        if (ec)
            throw std::runtime_error("cannot load the system CA store: " + ec.message());
        if (!opts.extra_ca_file.empty()) {
            tls_ctx->load_verify_file(opts.extra_ca_file, ec);
            if (ec)
                throw std::runtime_error("cannot load the CA file " + opts.extra_ca_file + ": " +
                                         ec.message());
        }
        tls_ctx->set_verify_mode(opts.verify_tls ? ssl::verify_peer : ssl::verify_none);
    }

    std::unique_ptr<connection> take_idle() {
        const auto now = std::chrono::steady_clock::now();
        while (!idle.empty()) {
            auto c = std::move(idle.back());
            idle.pop_back();
            // A connection idle for a moment only (the next receive of a receiver that
            // just got its answer) skips the peek: a close in that moment is the same as
            // one racing the request, which the stale-connection retry in async_run
            // handles. This saved one recv per request.
            const auto idle_for = now - c->idle_since;
            if (idle_for < opts.max_idle_time && (idle_for < fresh_idle || c->looks_alive()))
                return c;
            ops::log(ops::level::debug, "http.idle_dropped", {{"host", ep.host}});
        }
        return nullptr;
    }

    void put_idle(std::unique_ptr<connection> c) {
        const auto now = std::chrono::steady_clock::now();
        // The oldest come first; drop those past their time instead of keeping them around.
        std::erase_if(idle,
                      [&](const auto& i) { return now - i->idle_since >= opts.max_idle_time; });
        if (idle.size() >= opts.max_idle_connections)
            return;
        c->idle_since = now;
        idle.push_back(std::move(c));
    }

    asio::awaitable<boost::system::result<std::unique_ptr<connection>>> async_open() {
        co_await asio::this_coro::throw_if_cancelled(false);
        tcp::resolver resolver(ex);
        auto [rec, results] = co_await resolver.async_resolve(ep.host, port_text, use_tuple);
        if (rec) {
            if (rec == asio::error::operation_aborted)
                co_return errc::cancelled;
            ops::log(ops::level::debug, "http.resolve_failed",
                     {{"host", ep.host}, {"reason", rec.message()}});
            co_return errc::resolve_failed;
        }
        tcp::socket socket(ex);
        auto [cec, peer] = co_await asio::async_connect(socket, results, use_tuple);
        if (cec) {
            if (cec == asio::error::operation_aborted)
                co_return errc::cancelled;
            ops::log(ops::level::debug, "http.connect_failed",
                     {{"host", ep.host}, {"port", ep.port}, {"reason", cec.message()}});
            co_return errc::connect_failed;
        }
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);

        auto c = std::make_unique<connection>();
        c->buffer.reserve(read_buffer_bytes);
        if (!ep.tls) {
            c->plain.emplace(std::move(socket));
            co_return c;
        }
        c->tls.emplace(std::move(socket), *tls_ctx);
        SSL* ssl_handle = c->tls->native_handle();
        const bool ip = is_ip_literal(ep.host);
        // SNI carries names only (RFC 6066); the certificate must match the name or the IP.
        if (!ip)
            SSL_set_tlsext_host_name(ssl_handle, ep.host.c_str());
        if (opts.verify_tls) {
            X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, ep.host.c_str())
                              : X509_VERIFY_PARAM_set1_host(param, ep.host.c_str(), 0);
            if (ok != 1)
                co_return errc::tls_failed;
        }
        auto [hec] = co_await c->tls->async_handshake(ssl::stream_base::client, use_tuple);
        if (hec) {
            if (hec == asio::error::operation_aborted)
                co_return errc::cancelled;
            const long verify = SSL_get_verify_result(ssl_handle);
            if (opts.verify_tls && verify != X509_V_OK) {
                ops::log(ops::level::warn, "http.tls_verify_failed",
                         {{"host", ep.host},
                          {"port", ep.port},
                          {"reason", X509_verify_cert_error_string(verify)}});
                co_return errc::tls_verify_failed;
            }
            ops::log(ops::level::debug, "http.tls_failed",
                     {{"host", ep.host}, {"reason", hec.message()}});
            co_return errc::tls_failed;
        }
        co_return c;
    }

    // A new connection, bounded by connect_timeout and the request's own deadline. New
    // connections are rare (kept alive), so the race with a timer is affordable here.
    asio::awaitable<boost::system::result<std::unique_ptr<connection>>>
    async_connect(std::chrono::steady_clock::time_point deadline) {
        co_await asio::this_coro::throw_if_cancelled(false);
        asio::steady_timer timer(
            ex, std::min(deadline, std::chrono::steady_clock::now() + opts.connect_timeout));
        auto r = co_await (async_open() || timer.async_wait(use_tuple));
        if (r.index() == 0) {
            auto c = std::move(std::get<0>(r));
            if (c)
                ++counters.connections_opened;
            co_return c;
        }
        if (std::get<0>(std::get<1>(r)))
            co_return errc::cancelled;
        ops::log(ops::level::debug, "http.connect_timeout", {{"host", ep.host}, {"port", ep.port}});
        co_return errc::connect_failed;
    }

    asio::awaitable<exchange_outcome> async_exchange(connection& c, const outgoing& req) {
        co_await asio::this_coro::throw_if_cancelled(false);
        exchange_outcome out;
        response_parser parser(opts.kept_headers);
        parser.body_limit(opts.body_limit);
        parser.header_limit(header_limit);
        parser.skip(req.head_method); // a HEAD response has no body
        const error_code ec = c.tls ? co_await write_then_read(*c.tls, c.buffer, req, parser)
                                    : co_await write_then_read(*c.plain, c.buffer, req, parser);
        out.got_bytes = parser.got_some() || c.buffer.size() != 0;
        if (ec) {
            out.raw = ec;
            out.ec = map_exchange_error(ec);
            co_return out;
        }
        out.reusable =
            parser.keep_alive() && !parser.need_eof() && req.keep_alive && c.buffer.size() == 0;
        out.res = parser.release();
        co_return out;
    }

    asio::awaitable<boost::system::result<response>> async_run(const outgoing& req,
                                                               deadline_state& limit) {
        co_await asio::this_coro::throw_if_cancelled(false);
        auto self = shared_from_this();
        for (int attempt = 0;; ++attempt) {
            std::unique_ptr<connection> c = attempt == 0 ? take_idle() : nullptr;
            const bool reused = c != nullptr;
            if (!c) {
                auto opened = co_await async_connect(limit.at);
                if (!opened)
                    co_return opened.error();
                c = std::move(*opened);
            } else {
                ++counters.connections_reused;
            }
            if (limit.fired)
                co_return errc::timeout; // spent connecting; `c` is closed, never reused
            limit.active = c.get();
            exchange_outcome out = co_await async_exchange(*c, req);
            limit.active = nullptr;
            if (out.ec) {
                const auto cancelled = (co_await asio::this_coro::cancellation_state).cancelled();
                if (reused && attempt == 0 && !out.got_bytes && is_peer_close(out.raw) &&
                    cancelled == asio::cancellation_type::none) {
                    ++counters.stale_retries;
                    ops::log(ops::level::debug, "http.stale_connection",
                             {{"host", ep.host}, {"reason", out.raw.message()}});
                    continue; // `c` is closed here, never reused
                }
                co_return out.ec;
            }
            if (out.reusable)
                put_idle(std::move(c));
            co_return std::move(out.res);
        }
    }
};

client::client(asio::any_io_executor ex, endpoint ep, client_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(ep), std::move(opts))) {}

client::~client() = default;

asio::awaitable<boost::system::result<response>>
client::async_send(request req, std::chrono::steady_clock::duration deadline) {
    if (req.find(bhttp::field::host) == req.end())
        req.set(bhttp::field::host, impl_->ep.host_header());
    if (req.find(bhttp::field::user_agent) == req.end())
        req.set(bhttp::field::user_agent, user_agent());
    req.prepare_payload();
    outgoing out;
    write_head(req, out.head);
    out.body = std::move(req.body());
    out.head_method = req.method() == bhttp::verb::head;
    out.keep_alive = req.keep_alive();
    return async_send_outgoing(impl_, std::move(out), deadline);
}

asio::awaitable<boost::system::result<response>>
client::async_send(raw_request req, std::chrono::steady_clock::duration deadline) {
    outgoing out;
    out.head = std::move(req.head);
    out.head.append("User-Agent: ").append(user_agent()).append("\r\nContent-Length: ");
    out.head.append(std::to_string(req.body.size())).append("\r\n\r\n");
    out.body = std::move(req.body);
    return async_send_outgoing(impl_, std::move(out), deadline);
}

asio::awaitable<boost::system::result<response>>
client::async_send_outgoing(std::shared_ptr<impl> self, detail::outgoing req,
                            std::chrono::steady_clock::duration deadline) {
    co_await asio::this_coro::throw_if_cancelled(false);
    // `self` keeps the pool alive, even past ~client.

    // The deadline is a timer whose handler closes the socket of the exchange in
    // progress, not a race of two coroutines (`||` cost a parallel group, two coroutine
    // frames and a cancellation slot per request: 5,300 instructions per message). The
    // caller's cancellation reaches the socket operations directly, as they are awaited
    // in this coroutine.
    auto limit = std::make_shared<deadline_state>();
    limit->at = std::chrono::steady_clock::now() + deadline;
    asio::steady_timer timer(self->ex, limit->at);
    timer.async_wait([limit](const error_code& ec) {
        if (ec)
            return; // cancelled: the request ended first
        limit->fired = true;
        if (limit->active != nullptr) {
            // Closed, not just cancelled: cancel() reaches only the operation pending now,
            // and one whose completion is already queued would let the exchange start its
            // next read (the body after the header) past the deadline. On a closed socket
            // every later operation fails at once. The connection is never reused.
            error_code ignored;
            limit->active->socket().close(ignored);
        }
    });
    auto r = co_await self->async_run(req, *limit);
    timer.cancel(); // async_run has cleared limit->active: a late handler touches nothing
    if (r)
        co_return std::move(r);
    const auto caller = (co_await asio::this_coro::cancellation_state).cancelled();
    if (caller != asio::cancellation_type::none)
        co_return errc::cancelled;
    if (limit->fired || std::chrono::steady_clock::now() >= limit->at)
        co_return errc::timeout;
    co_return std::move(r);
}

void client::close_idle() {
    impl_->idle.clear();
}

const endpoint& client::target() const {
    return impl_->ep;
}

client_stats client::stats() const {
    client_stats s = impl_->counters;
    s.idle_connections = impl_->idle.size();
    return s;
}

} // namespace sqs2pg::http
