// The ops endpoint on 127.0.0.1:0, exercised by a real HTTP client on the same
// io_context: every route, keep-alive, readiness flipping to 503, limits, timeouts, stop.
#include <sqs2pg/ops/endpoint.hpp>
#include <sqs2pg/ops/metrics.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace sqs2pg::ops {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using response = http::response<http::string_body>;

// A keep-alive HTTP client on one connection; errors throw (they fail the test).
struct client {
    beast::tcp_stream stream;
    beast::flat_buffer buffer;

    explicit client(asio::any_io_executor ex)
        : stream(std::move(ex)) {}

    asio::awaitable<void> connect(std::uint16_t port) {
        co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                      asio::use_awaitable);
    }

    asio::awaitable<response> request(http::verb method, std::string target,
                                      unsigned version = 11) {
        http::request<http::empty_body> req{method, target, version};
        req.set(http::field::host, "127.0.0.1");
        stream.expires_after(5s);
        co_await http::async_write(stream, req, asio::use_awaitable);
        co_return co_await read_response(method == http::verb::head);
    }

    asio::awaitable<response> read_response(bool head = false) {
        http::response_parser<http::string_body> p;
        p.skip(head);
        stream.expires_after(5s);
        co_await http::async_read(stream, buffer, p, asio::use_awaitable);
        co_return p.release();
    }

    asio::awaitable<void> send_raw(std::string bytes) {
        stream.expires_after(5s);
        co_await asio::async_write(stream, asio::buffer(bytes), asio::use_awaitable);
    }

    // Waits until the server closes; returns the error the read ended with
    // (end_of_stream or a reset), or timeout if it stays open for `limit`.
    asio::awaitable<error_code> closed_by_server(std::chrono::milliseconds limit = 5s) {
        stream.expires_after(limit);
        char byte = 0;
        for (;;) {
            auto [ec, n] = co_await stream.async_read_some(asio::buffer(&byte, 1), use_tuple);
            if (ec)
                co_return ec;
        }
    }
};

bool is_close(const error_code& ec) {
    return ec == asio::error::eof || ec == asio::error::connection_reset;
}

class OpsEndpoint : public ::testing::Test {
protected:
    asio::io_context io;
    registry reg;
    counter& scraped = reg.add_counter("sqs2pg_test_total", "A test counter.");
    readiness state;
    endpoint_options options;
    std::optional<endpoint> ep;
    std::uint16_t port = 0;
    bool run_returned = false;

    void start() {
        ep.emplace(
            io.get_executor(), reg, [this] { return state; }, options);
        auto bound = ep->listen({"127.0.0.1", 0});
        ASSERT_TRUE(bound) << bound.error().message();
        port = ep->local_endpoint().port();
        ASSERT_NE(port, 0);
        asio::co_spawn(io, ep->async_run(), [this](const std::exception_ptr& e) {
            EXPECT_FALSE(e);
            run_returned = true;
        });
    }

    // Runs `body` as a coroutine beside the server and stops the server when it ends;
    // returns when async_run has returned too. Fails the test if the body takes 20 s.
    void run(std::function<asio::awaitable<void>()> body) {
        std::exception_ptr failure;
        asio::steady_timer guard(io, 20s);
        guard.async_wait([&](error_code ec) {
            if (!ec) {
                ADD_FAILURE() << "test did not finish in 20 s";
                io.stop();
            }
        });
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                try {
                    co_await body();
                } catch (...) {
                    failure = std::current_exception();
                }
                ep->stop();
                guard.cancel();
            },
            [](const std::exception_ptr&) {});
        io.run_for(25s);
        if (failure)
            std::rethrow_exception(failure);
    }

    void TearDown() override {
        if (ep) {
            guard_run_finished();
            ep.reset();
        }
    }

    void guard_run_finished() {
        // async_run must have returned: every connection closed, nothing left behind.
        EXPECT_TRUE(run_returned);
        EXPECT_EQ(ep->connection_count(), 0u);
    }
};

TEST_F(OpsEndpoint, ServesEachRoute) {
    start();
    scraped.inc(3);
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor());
        co_await c.connect(port);

        auto m = co_await c.request(http::verb::get, "/metrics");
        EXPECT_EQ(m.result_int(), 200);
        EXPECT_EQ(m[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
        EXPECT_NE(m.body().find("# TYPE sqs2pg_test_total counter\nsqs2pg_test_total 3\n"),
                  std::string::npos)
            << m.body();

        scraped.inc();
        auto m2 = co_await c.request(http::verb::get, "/metrics?format=text");
        EXPECT_EQ(m2.result_int(), 200);
        EXPECT_NE(m2.body().find("sqs2pg_test_total 4\n"), std::string::npos);

        auto head = co_await c.request(http::verb::head, "/metrics");
        EXPECT_EQ(head.result_int(), 200);
        EXPECT_EQ(head[http::field::content_length], std::to_string(m2.body().size()));
        EXPECT_TRUE(head.body().empty());

        auto h = co_await c.request(http::verb::get, "/healthz");
        EXPECT_EQ(h.result_int(), 200);
        EXPECT_EQ(h.body(), "ok\n");

        auto r = co_await c.request(http::verb::get, "/readyz");
        EXPECT_EQ(r.result_int(), 200);
        EXPECT_EQ(r.body(), "ready\n");

        auto nf = co_await c.request(http::verb::get, "/");
        EXPECT_EQ(nf.result_int(), 404);
        auto nf2 = co_await c.request(http::verb::post, "/nothing");
        EXPECT_EQ(nf2.result_int(), 404);

        auto na = co_await c.request(http::verb::post, "/metrics");
        EXPECT_EQ(na.result_int(), 405);
        EXPECT_EQ(na[http::field::allow], "GET, HEAD");
        auto na2 = co_await c.request(http::verb::delete_, "/readyz");
        EXPECT_EQ(na2.result_int(), 405);

        // Every answer above came over the one connection.
        EXPECT_EQ(ep->connection_count(), 1u);
    });
}

TEST_F(OpsEndpoint, ReadinessFlipsTo503WithTheReasonAndBack) {
    start();
    run([&]() -> asio::awaitable<void> {
        client c(io.get_executor());
        co_await c.connect(port);
        EXPECT_EQ((co_await c.request(http::verb::get, "/readyz")).result_int(), 200);

        state = {false, "draining"};
        auto r = co_await c.request(http::verb::get, "/readyz");
        EXPECT_EQ(r.result_int(), 503);
        EXPECT_EQ(r.body(), "not ready: draining\n");
        // Liveness does not follow readiness.
        EXPECT_EQ((co_await c.request(http::verb::get, "/healthz")).result_int(), 200);

        state = {false, "postgres disconnected"};
        EXPECT_EQ((co_await c.request(http::verb::get, "/readyz")).body(),
                  "not ready: postgres disconnected\n");

        state = {true, ""};
        EXPECT_EQ((co_await c.request(http::verb::get, "/readyz")).result_int(), 200);
    });
}

TEST_F(OpsEndpoint, KeepAliveOnlyWhenTheClientAsks) {
    start();
    run([&]() -> asio::awaitable<void> {
        client c11(io.get_executor());
        co_await c11.connect(port);
        for (int i = 0; i < 5; ++i) {
            auto r = co_await c11.request(http::verb::get, "/healthz");
            EXPECT_TRUE(r.keep_alive());
        }

        // HTTP/1.0 without keep-alive: one answer, then the server closes.
        client c10(io.get_executor());
        co_await c10.connect(port);
        auto r = co_await c10.request(http::verb::get, "/healthz", 10);
        EXPECT_EQ(r.result_int(), 200);
        EXPECT_FALSE(r.keep_alive());
        EXPECT_TRUE(is_close(co_await c10.closed_by_server()));

        // Two pipelined requests in one write are both answered in order.
        client cp(io.get_executor());
        co_await cp.connect(port);
        co_await cp.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n");
        EXPECT_EQ((co_await cp.read_response()).result_int(), 200);
        EXPECT_EQ((co_await cp.read_response()).result_int(), 404);
    });
}

TEST_F(OpsEndpoint, OversizedAndMalformedRequestsAreRefusedAndClosed) {
    options.max_request_bytes = 1024;
    start();
    run([&]() -> asio::awaitable<void> {
        client big(io.get_executor());
        co_await big.connect(port);
        co_await big.send_raw(
            "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4096, 'a') + "\r\n\r\n");
        auto r = co_await big.read_response();
        EXPECT_EQ(r.result_int(), 431);
        EXPECT_FALSE(r.keep_alive());
        EXPECT_TRUE(is_close(co_await big.closed_by_server()));

        client body(io.get_executor());
        co_await body.connect(port);
        co_await body.send_raw("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
                               std::string(5000, 'b'));
        EXPECT_EQ((co_await body.read_response()).result_int(), 413);

        client junk(io.get_executor());
        co_await junk.connect(port);
        co_await junk.send_raw("HELLO THERE\r\n\r\n");
        EXPECT_EQ((co_await junk.read_response()).result_int(), 400);
        EXPECT_TRUE(is_close(co_await junk.closed_by_server()));
    });
}

TEST_F(OpsEndpoint, IdleAndSlowConnectionsTimeOut) {
    options.idle_timeout = 300ms;
    options.read_timeout = 300ms;
    start();
    run([&]() -> asio::awaitable<void> {
        // Idle after a response: closed by the server, well before the client's 5 s.
        client idle(io.get_executor());
        co_await idle.connect(port);
        EXPECT_EQ((co_await idle.request(http::verb::get, "/healthz")).result_int(), 200);
        EXPECT_TRUE(is_close(co_await idle.closed_by_server()));

        // A request that never completes (slowloris) is dropped after the read timeout.
        client slow(io.get_executor());
        co_await slow.connect(port);
        co_await slow.send_raw("GET /metrics HTTP/1.1\r\nHost: x\r\n");
        EXPECT_TRUE(is_close(co_await slow.closed_by_server()));

        // A connection that never sends a byte, too.
        client silent(io.get_executor());
        co_await silent.connect(port);
        EXPECT_TRUE(is_close(co_await silent.closed_by_server()));
        EXPECT_EQ(ep->connection_count(), 0u);
    });
}

TEST_F(OpsEndpoint, IdleKeepAliveClientsCannotLockOutAHealthCheck) {
    // 32 clients that keep their connections open and idle used to fill every slot, so
    // /healthz was refused for a minute at a time (and Kubernetes restarted the pod).
    start();
    run([&]() -> asio::awaitable<void> {
        std::vector<std::unique_ptr<client>> idle;
        for (int i = 0; i < 32; ++i) {
            idle.push_back(std::make_unique<client>(io.get_executor()));
            co_await idle.back()->connect(port);
            EXPECT_EQ((co_await idle.back()->request(http::verb::get, "/metrics")).result_int(),
                      200);
        }
        EXPECT_EQ(ep->connection_count(), 32u);
        for (int i = 0; i < 3; ++i) {
            client probe(io.get_executor());
            co_await probe.connect(port);
            EXPECT_EQ((co_await probe.request(http::verb::get, "/healthz")).result_int(), 200)
                << "probe " << i;
        }
        // The oldest idle ones made room.
        EXPECT_TRUE(is_close(co_await idle[0]->closed_by_server()));
        EXPECT_LE(ep->connection_count(), 32u);
    });
}

TEST_F(OpsEndpoint, AtTheLimitOnlyConnectionsMidRequestKeepTheirSlot) {
    options.max_connections = 1;
    start();
    run([&]() -> asio::awaitable<void> {
        client busy(io.get_executor());
        co_await busy.connect(port);
        co_await busy.send_raw("GET /metrics HTTP/1.1\r\n"); // mid-request
        asio::steady_timer settle(io, 50ms);
        co_await settle.async_wait(asio::use_awaitable);
        client second(io.get_executor());
        co_await second.connect(port);
        EXPECT_TRUE(is_close(co_await second.closed_by_server()));
        // The request under way completes.
        co_await busy.send_raw("Host: x\r\n\r\n");
        EXPECT_EQ((co_await busy.read_response()).result_int(), 200);
    });
}

TEST_F(OpsEndpoint, StopClosesTheListenerAndLiveConnections) {
    start();
    run([&]() -> asio::awaitable<void> {
        client a(io.get_executor());
        client b(io.get_executor());
        co_await a.connect(port);
        co_await b.connect(port);
        EXPECT_EQ((co_await a.request(http::verb::get, "/healthz")).result_int(), 200);
        co_await b.send_raw("GET /metrics HTTP/1.1\r\n"); // mid-request
        asio::steady_timer settle(io, 50ms);
        co_await settle.async_wait(asio::use_awaitable);
        EXPECT_EQ(ep->connection_count(), 2u);

        ep->stop();
        EXPECT_TRUE(is_close(co_await a.closed_by_server()));
        EXPECT_TRUE(is_close(co_await b.closed_by_server()));

        // Wait for async_run to come back, then nothing listens on the port any more.
        for (int i = 0; i < 100 && !run_returned; ++i) {
            settle.expires_after(10ms);
            co_await settle.async_wait(asio::use_awaitable);
        }
        EXPECT_TRUE(run_returned);
        client late(io.get_executor());
        auto [ec] = co_await late.stream.async_connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), use_tuple);
        EXPECT_EQ(ec, asio::error::connection_refused);
    });
}

TEST_F(OpsEndpoint, CancellingAsyncRunStopsLikeStop) {
    // The pipeline may run the endpoint in a parallel group; cancellation ends it cleanly.
    ep.emplace(
        io.get_executor(), reg, [this] { return state; }, options);
    ASSERT_TRUE(ep->listen({"127.0.0.1", 0}));
    port = ep->local_endpoint().port();
    bool client_saw_close = false;
    bool group_done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            asio::steady_timer t(io, 300ms);
            co_await (ep->async_run() || t.async_wait(asio::use_awaitable));
            group_done = true;
        },
        [](const std::exception_ptr& e) { EXPECT_FALSE(e); });
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            client c(io.get_executor());
            co_await c.connect(port);
            auto r = co_await c.request(http::verb::get, "/healthz");
            EXPECT_EQ(r.result_int(), 200);
            client_saw_close = is_close(co_await c.closed_by_server());
        },
        [](const std::exception_ptr& e) { EXPECT_FALSE(e); });
    io.run_for(10s);
    EXPECT_TRUE(group_done);
    EXPECT_TRUE(client_saw_close);
    EXPECT_EQ(ep->connection_count(), 0u);
    ep.reset();
}

TEST_F(OpsEndpoint, RunWithoutListenReturnsAtOnce) {
    endpoint idle(io.get_executor(), reg, {}, {});
    bool returned = false;
    asio::co_spawn(io, idle.async_run(), [&](const std::exception_ptr& e) {
        EXPECT_FALSE(e);
        returned = true;
    });
    io.run_for(5s);
    EXPECT_TRUE(returned);
}

TEST_F(OpsEndpoint, ListenReportsAPortInUse) {
    start();
    endpoint other(io.get_executor(), reg, {}, {});
    auto r = other.listen({"127.0.0.1", port});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), asio::error::address_in_use);
    run([]() -> asio::awaitable<void> { co_return; });
}

} // namespace
} // namespace sqs2pg::ops
