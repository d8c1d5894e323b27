// Ops HTTP endpoint: an awaitable accept loop and one coroutine per connection, all on
// the caller's io_context. Deadlines come from beast::tcp_stream; stop() closes sockets.
#include <sqs2pg/ops/endpoint.hpp>
#include <sqs2pg/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <charconv>
#include <exception>

namespace sqs2pg::ops {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// --- listen address --------------------------------------------------------------------

boost::system::result<listen_address, address_error> parse_listen_address(std::string_view text) {
    std::string_view host;
    std::string_view port;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos)
            return address_error{"missing ']' after the IPv6 address"};
        host = text.substr(1, close - 1);
        const auto rest = text.substr(close + 1);
        if (!rest.starts_with(':'))
            return address_error{"expected ':PORT' after ']'"};
        port = rest.substr(1);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return address_error{"expected HOST:PORT, e.g. 127.0.0.1:9464"};
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return address_error{"an IPv6 address needs brackets, e.g. [::1]:9464"};
    }
    if (host.empty())
        return address_error{"the host is missing (e.g. 127.0.0.1:9464, or 0.0.0.0:9464 for "
                             "every interface)"};
    if (port.empty())
        return address_error{"the port is missing"};
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value > 65535)
        return address_error{"the port must be a number from 0 to 65535"};

    listen_address out;
    out.port = static_cast<std::uint16_t>(value);
    if (host == "localhost") {
        out.host = "127.0.0.1";
        return out;
    }
    error_code aec;
    const auto addr = asio::ip::make_address(std::string(host), aec);
    if (aec || (text.starts_with('[') && !addr.is_v6()) ||
        (!text.starts_with('[') && !addr.is_v4()))
        return address_error{"the host must be an IP address or localhost"};
    out.host = addr.to_string();
    return out;
}

// --- endpoint --------------------------------------------------------------------------

struct endpoint::connection {
    beast::tcp_stream stream;
    bool waiting = true; ///< between requests (or before the first): may be evicted
};

endpoint::endpoint(asio::any_io_executor ex, const registry& metrics, readiness_check ready,
                   endpoint_options options)
    : ex_(std::move(ex))
    , metrics_(metrics)
    , ready_(std::move(ready))
    , options_(options)
    , acceptor_(ex_)
    , all_closed_(ex_) {}

endpoint::~endpoint() {
    error_code ec;
    acceptor_.close(ec);
}

boost::system::result<void> endpoint::listen(const listen_address& where) {
    error_code ec;
    const auto addr = asio::ip::make_address(where.host, ec);
    if (ec)
        return ec;
    const tcp::endpoint ep(addr, where.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
        acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
        acceptor_.bind(ep, ec);
    if (!ec)
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        error_code ignored;
        acceptor_.close(ignored);
        return ec;
    }
    const auto bound = local_endpoint();
    log(level::info, "ops.listening",
        {{"address", bound.address().to_string()}, {"port", bound.port()}});
    return {};
}

tcp::endpoint endpoint::local_endpoint() const {
    error_code ec;
    auto ep = acceptor_.local_endpoint(ec);
    return ec ? tcp::endpoint{} : ep;
}

void endpoint::stop() {
    stopping_ = true;
    error_code ec;
    acceptor_.close(ec);
    for (auto* c : connections_)
        c->stream.close();
}

asio::awaitable<void> endpoint::async_run() {
    // Cancellation of the caller is an ordinary way to stop: see it as an error code.
    co_await asio::this_coro::throw_if_cancelled(false);
    if (!acceptor_.is_open())
        co_return; // listen() failed or was not called: nothing to serve
    asio::steady_timer backoff(ex_);
    while (!stopping_) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
        if (stopping_ || ec == asio::error::operation_aborted)
            break;
        if (ec) {
            // Out of descriptors and the like: wait a little so the loop cannot spin.
            log(level::warn, "ops.accept_failed", {{"error", ec.message()}});
            backoff.expires_after(std::chrono::milliseconds(100));
            auto [wec] = co_await backoff.async_wait(use_tuple);
            if (wec)
                break;
            continue;
        }
        if (connections_.size() >= options_.max_connections && !evict_oldest_waiting()) {
            // Every connection is in the middle of a request: this one waits its turn.
            log(level::debug, "ops.connection_refused", {{"reason", "too many connections"}});
            socket.close(ec);
            continue;
        }
        asio::co_spawn(ex_, async_serve(std::move(socket)), [](const std::exception_ptr& e) {
            if (!e)
                return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                log(level::error, "ops.connection_failed", {{"error", x.what()}});
            }
        });
    }
    stop();
    co_await asio::this_coro::reset_cancellation_state();
    while (!connections_.empty()) {
        all_closed_.expires_at(asio::steady_timer::time_point::max());
        co_await all_closed_.async_wait(use_tuple);
    }
}

bool endpoint::evict_oldest_waiting() {
    // Idle keep-alive clients must not lock out a health check: the oldest connection
    // that is only waiting for a request makes room (connections_ is newest first).
    for (auto it = connections_.rbegin(); it != connections_.rend(); ++it) {
        if ((*it)->waiting) {
            log(level::debug, "ops.connection_evicted", {{"reason", "too many connections"}});
            (*it)->waiting = false;
            (*it)->stream.close();
            return true;
        }
    }
    return false;
}

endpoint::reply endpoint::route(std::string_view method, std::string_view target) const {
    constexpr std::string_view plain = "text/plain; charset=utf-8";
    const auto path = target.substr(0, target.find('?'));
    reply r;
    r.content_type = plain;
    if (path != "/metrics" && path != "/healthz" && path != "/readyz") {
        r.status = 404;
        r.body = "not found\n";
        return r;
    }
    if (method != "GET" && method != "HEAD") {
        r.status = 405;
        r.body = "method not allowed\n";
        return r;
    }
    if (path == "/metrics") {
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        metrics_.render(r.body);
    } else if (path == "/healthz") {
        r.body = "ok\n";
    } else {
        const readiness rd = ready_ ? ready_() : readiness{};
        if (rd.ready) {
            r.body = "ready\n";
        } else {
            r.status = 503;
            r.body =
                "not ready: " + (rd.reason.empty() ? std::string("unknown") : rd.reason) + "\n";
        }
    }
    return r;
}

asio::awaitable<void> endpoint::async_serve(tcp::socket socket) {
    connection conn{beast::tcp_stream(std::move(socket))};
    connections_.push_front(&conn);
    const auto self = connections_.begin();
    struct unregister {
        endpoint& ep;
        std::list<connection*>::iterator it;
        ~unregister() {
            error_code ec;
            (*it)->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
            (*it)->stream.socket().close(ec);
            ep.connections_.erase(it);
            if (ep.connections_.empty())
                ep.all_closed_.cancel();
        }
    } guard{*this, self};

    auto& stream = conn.stream;
    beast::flat_buffer buffer;
    bool first = true;
    while (!stopping_) {
        if (buffer.size() == 0) {
            // Between requests the idle timeout applies; a new connection must start
            // its request within the read timeout.
            stream.expires_after(first ? options_.read_timeout : options_.idle_timeout);
            conn.waiting = true;
            auto [ec, n] = co_await stream.async_read_some(
                buffer.prepare(std::min<std::size_t>(options_.max_request_bytes, 4096)), use_tuple);
            if (ec || stopping_ || !conn.waiting)
                break; // idle timeout, peer closed, reset, evicted or stop(): nothing to answer
            buffer.commit(n);
        }
        conn.waiting = false;
        first = false;

        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(options_.max_request_bytes));
        parser.body_limit(options_.max_request_bytes);
        stream.expires_after(options_.read_timeout);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (stopping_)
            break;

        reply r;
        bool keep_alive = false;
        unsigned version = 11;
        bool head = false;
        if (ec == http::error::header_limit) {
            r = {431, "text/plain; charset=utf-8", "request header too large\n"};
        } else if (ec == http::error::body_limit) {
            r = {413, "text/plain; charset=utf-8", "request too large\n"};
        } else if (ec &&
                   ec.category() == http::make_error_code(http::error::bad_target).category() &&
                   ec != http::error::end_of_stream && ec != http::error::partial_message) {
            r = {400, "text/plain; charset=utf-8", "bad request\n"};
        } else if (ec) {
            break; // timeout, reset, or the peer closed mid-request
        } else {
            const auto& req = parser.get();
            keep_alive = req.keep_alive();
            version = req.version();
            head = req.method() == http::verb::head;
            r = route(req.method_string(), req.target());
        }

        http::response<http::string_body> res{static_cast<http::status>(r.status), version};
        res.set(http::field::server, "sqs2pg");
        res.set(http::field::content_type, r.content_type);
        res.set(http::field::cache_control, "no-store");
        if (r.status == 405)
            res.set(http::field::allow, "GET, HEAD");
        res.keep_alive(keep_alive);
        res.body() = std::move(r.body);
        res.prepare_payload();

        stream.expires_after(options_.read_timeout);
        error_code wec;
        if (head) {
            // Same header (with the Content-Length of the GET body), no body.
            http::response<http::empty_body> hres{std::move(res.base())};
            std::tie(wec, std::ignore) = co_await http::async_write(stream, hres, use_tuple);
        } else {
            std::tie(wec, std::ignore) = co_await http::async_write(stream, res, use_tuple);
        }
        if (wec || stopping_ || !keep_alive)
            break;
    }
}

} // namespace sqs2pg::ops
