// The HTTP client against local servers the tests start on 127.0.0.1: connection reuse,
// concurrency, dropped and closed connections, deadlines, cancellation, the body limit,
// and TLS verification with a throwaway CA.
#include <sqs2pg/http/client.hpp>

#include "local_http_server.hpp"
#include "test_pki.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

namespace sqs2pg::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using test::local_http_server;
using test::reply;
using test::run_test;

constexpr auto deadline = 10s;

request get(std::string target = "/") {
    return request{bhttp::verb::get, target, 11};
}

// Echoes the target, so each response can be matched to its request.
reply echo(const request& req) {
    return test::text_reply("you asked for " + std::string(req.target()));
}

endpoint endpoint_of(const local_http_server& s) {
    return endpoint::parse(s.url()).value();
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// The body, or the error's message where a body was expected (so failures read well).
std::string body_of(const boost::system::result<response>& r) {
    return r ? r->body() : "<error: " + r.error().message() + ">";
}

void expect_error(const boost::system::result<response>& r, errc e) {
    ASSERT_FALSE(r) << "unexpected success, status " << r->result_int();
    EXPECT_EQ(r.error(), make_error_code(e)) << r.error().message();
}

TEST(HttpClient, KeepAliveReusesOneConnectionForSequentialRequests) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), echo);
    client c(ioc.get_executor(), endpoint_of(server));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 for (int i = 0; i < 5; ++i) {
                     auto r = co_await c.async_send(get("/" + std::to_string(i)), deadline);
                     EXPECT_TRUE(r) << r.error().message();
                     if (r) {
                         EXPECT_EQ(r->result_int(), 200u);
                         EXPECT_EQ(r->body(), "you asked for /" + std::to_string(i));
                     }
                 }
             },
             {&server});
    EXPECT_EQ(server.accepted(), 1u);
    EXPECT_EQ(server.requests(), 5u);
    EXPECT_EQ(c.stats().connections_opened, 1u);
    EXPECT_EQ(c.stats().connections_reused, 4u);
    // The client filled in Host, User-Agent and Content-Length.
    EXPECT_EQ(server.seen().at(0)[bhttp::field::host],
              "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(server.seen().at(0)[bhttp::field::user_agent].substr(0, 7), "sqs2pg/");
}

TEST(HttpClient, ConcurrentRequestsUseSeparateConnectionsThenAllAreReused) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), [](const request& req) {
        auto r = echo(req);
        r.delay = 200ms; // all three are in flight at once
        return r;
    });
    client c(ioc.get_executor(), endpoint_of(server));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto [a, b, d] = co_await (c.async_send(get("/a"), deadline) &&
                                            c.async_send(get("/b"), deadline) &&
                                            c.async_send(get("/c"), deadline));
                 EXPECT_TRUE(a && b && d);
                 if (a && b && d) {
                     EXPECT_EQ(a->body(), "you asked for /a");
                     EXPECT_EQ(b->body(), "you asked for /b");
                     EXPECT_EQ(d->body(), "you asked for /c");
                 }
                 EXPECT_EQ(c.stats().idle_connections, 3u);
                 // Three more at once: the three idle connections serve them, no new ones.
                 auto [x, y, z] = co_await (c.async_send(get("/x"), deadline) &&
                                            c.async_send(get("/y"), deadline) &&
                                            c.async_send(get("/z"), deadline));
                 EXPECT_TRUE(x && y && z);
             },
             {&server});
    EXPECT_EQ(server.accepted(), 3u);
    EXPECT_EQ(c.stats().connections_reused, 3u);
}

TEST(HttpClient, IdleConnectionClosedByTheServerIsReplacedWithoutAnError) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), echo);
    client c(ioc.get_executor(), endpoint_of(server));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto r1 = co_await c.async_send(get("/1"), deadline);
                 EXPECT_TRUE(r1);
                 server.close_idle_connections(); // the server's idle timeout
                 co_await pause(50ms);
                 auto r2 = co_await c.async_send(get("/2"), deadline);
                 EXPECT_TRUE(r2) << r2.error().message();
                 EXPECT_EQ(body_of(r2), "you asked for /2");
             },
             {&server});
    EXPECT_EQ(server.accepted(), 2u);
    // Seen closed before use (the FIN had arrived), so nothing had to be resent.
    EXPECT_EQ(c.stats().stale_retries, 0u);
    EXPECT_EQ(server.requests(), 2u);
}

TEST(HttpClient, ReusedConnectionDroppedBeforeAnyResponseByteIsRetriedOnceOnAFreshOne) {
    asio::io_context ioc;
    int n = 0;
    // The second request arrives on the kept-alive connection, which the server drops
    // without answering (a close racing with the request): the client resends it.
    local_http_server server(ioc.get_executor(), [&](const request& req) {
        reply r = echo(req);
        r.drop = ++n == 2;
        return r;
    });
    client c(ioc.get_executor(), endpoint_of(server));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 EXPECT_TRUE(co_await c.async_send(get("/1"), deadline));
                 auto r2 = co_await c.async_send(get("/2"), deadline);
                 EXPECT_TRUE(r2) << r2.error().message();
                 EXPECT_EQ(body_of(r2), "you asked for /2");
             },
             {&server});
    EXPECT_EQ(server.accepted(), 2u);
    EXPECT_EQ(server.requests(), 3u);
    EXPECT_EQ(c.stats().stale_retries, 1u);
}

TEST(HttpClient, FreshConnectionDroppedIsAnErrorNotARetry) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), [](const request&) {
        reply r;
        r.drop = true;
        return r;
    });
    client c(ioc.get_executor(), endpoint_of(server));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto r = co_await c.async_send(get(), deadline);
                 expect_error(r, errc::closed);
                 EXPECT_TRUE(!r && is_retryable(r.error()));
             },
             {&server});
    EXPECT_EQ(server.requests(), 1u);
}

TEST(HttpClient, ConnectionCloseFromTheServerIsHonoured) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), [](const request& req) {
        reply r = echo(req);
        r.close_after = true;
        return r;
    });
    client c(ioc.get_executor(), endpoint_of(server));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 for (int i = 0; i < 3; ++i)
                     EXPECT_TRUE(co_await c.async_send(get(), deadline));
                 EXPECT_EQ(c.stats().idle_connections, 0u);
             },
             {&server});
    EXPECT_EQ(server.accepted(), 3u);
    EXPECT_EQ(c.stats().stale_retries, 0u);
}

// The request as written on the wire: the request line, every field in order with its
// value, the body; a 1.0 request as 1.0.
TEST(HttpClient, RequestArrivesWithItsFieldsAndBody) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), echo);
    client c(ioc.get_executor(), endpoint_of(server));
    request post{bhttp::verb::post, "/q/path?x=1", 11};
    post.set("X-Amz-Target", "AmazonSQS.ReceiveMessage");
    post.set(bhttp::field::content_type, "application/x-amz-json-1.0");
    post.set("X-Empty", "");
    post.body() = std::string(5000, 'b') + "\r\n\0end";
    request old = get("/old");
    old.version(10);
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 EXPECT_EQ(body_of(co_await c.async_send(post, deadline)),
                           "you asked for /q/path?x=1");
                 EXPECT_EQ(body_of(co_await c.async_send(old, deadline)), "you asked for /old");
             },
             {&server});
    ASSERT_EQ(server.seen().size(), 2u);
    const request& got = server.seen().at(0);
    EXPECT_EQ(got.method(), bhttp::verb::post);
    EXPECT_EQ(got.target(), "/q/path?x=1");
    EXPECT_EQ(got.version(), 11u);
    EXPECT_EQ(got["X-Amz-Target"], "AmazonSQS.ReceiveMessage");
    EXPECT_EQ(got[bhttp::field::content_type], "application/x-amz-json-1.0");
    EXPECT_EQ(got.count("X-Empty"), 1u);
    EXPECT_EQ(got["X-Empty"], "");
    EXPECT_EQ(got[bhttp::field::content_length], std::to_string(post.body().size()));
    EXPECT_EQ(got.body(), post.body());
    std::vector<std::string> names;
    for (const auto& f : got)
        names.emplace_back(f.name_string());
    const std::vector<std::string> sent{"X-Amz-Target", "Content-Type", "X-Empty",
                                        "Host",         "User-Agent",   "Content-Length"};
    EXPECT_EQ(names, sent);
    EXPECT_EQ(server.seen().at(1).version(), 10u);
    EXPECT_EQ(server.seen().at(1).target(), "/old");
}

// A raw request arrives as written, with User-Agent and Content-Length added, and
// keeps its connection alive.
TEST(HttpClient, RawRequestArrivesAsWrittenWithUserAgentAndLength) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), echo);
    client c(ioc.get_executor(), endpoint_of(server));
    const std::string host = "127.0.0.1:" + std::to_string(server.port());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 for (const std::string& body : {std::string(3000, 'r'), std::string()}) {
                     raw_request r;
                     r.head = "POST /raw?n=" + std::to_string(body.size()) +
                              " HTTP/1.1\r\nHost: " + host + "\r\nX-Amz-Target: T\r\n";
                     r.body = body;
                     EXPECT_EQ(body_of(co_await c.async_send(std::move(r), deadline)),
                               "you asked for /raw?n=" + std::to_string(body.size()));
                 }
             },
             {&server});
    ASSERT_EQ(server.seen().size(), 2u);
    const request& got = server.seen().at(0);
    EXPECT_EQ(got.method(), bhttp::verb::post);
    EXPECT_EQ(got[bhttp::field::host], host);
    EXPECT_EQ(got["X-Amz-Target"], "T");
    EXPECT_EQ(got[bhttp::field::user_agent].substr(0, 7), "sqs2pg/");
    EXPECT_EQ(got[bhttp::field::content_length], "3000");
    EXPECT_EQ(got.body(), std::string(3000, 'r'));
    EXPECT_EQ(server.seen().at(1)[bhttp::field::content_length], "0");
    EXPECT_EQ(server.accepted(), 1u);
    EXPECT_EQ(c.stats().connections_reused, 1u);
}

// kept_headers: only the listed fields reach the response; the framing does not depend
// on them (a chunked body, keep-alive, and "Connection: close" all still work).
TEST(HttpClient, KeptHeadersDropTheOthersButNotTheFraming) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), [](const request& req) {
        reply r = test::text_reply("body of " + std::string(req.target()), "text/xml");
        r.res.set("X-Keep-Me", "kept");
        r.res.set("X-Drop-Me", "dropped");
        r.res.set(bhttp::field::date, "Sat, 05 Dec 2026 14:00:00 GMT");
        r.res.chunked(req.target() == "/chunked");
        r.close_after = req.target() == "/close";
        return r;
    });
    client_options filtered;
    filtered.kept_headers = {"x-keep-me", "Content-Type"};
    client c(ioc.get_executor(), endpoint_of(server), filtered);
    client all(ioc.get_executor(), endpoint_of(server));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 for (const std::string target : {"/plain", "/chunked", "/close"}) {
                     auto r = co_await c.async_send(get(target), deadline);
                     EXPECT_EQ(body_of(r), "body of " + target);
                     if (!r)
                         continue;
                     EXPECT_EQ(r->result_int(), 200u);
                     EXPECT_EQ((*r)["X-Keep-Me"], "kept") << target;
                     EXPECT_EQ((*r)[bhttp::field::content_type], "text/xml") << target;
                     EXPECT_EQ(r->count("X-Drop-Me"), 0u) << target;
                     EXPECT_EQ(r->count(bhttp::field::date), 0u) << target;
                     EXPECT_EQ(r->count(bhttp::field::content_length), 0u) << target;
                 }
                 auto r = co_await all.async_send(get("/chunked"), deadline);
                 EXPECT_EQ(body_of(r), "body of /chunked");
                 if (r) {
                     EXPECT_EQ((*r)["X-Drop-Me"], "dropped");
                     EXPECT_EQ((*r)[bhttp::field::date], "Sat, 05 Dec 2026 14:00:00 GMT");
                     EXPECT_TRUE(r->chunked());
                 }
             },
             {&server});
    // /plain and /chunked on one connection; /close closed it; `all` opened its own.
    EXPECT_EQ(c.stats().connections_opened, 1u);
    EXPECT_EQ(c.stats().connections_reused, 2u);
    EXPECT_EQ(c.stats().idle_connections, 0u);
    EXPECT_EQ(server.accepted(), 2u);
}

// A request that says "Connection: close" does not leave its connection in the pool,
// even when the response does not say it: the server closes after answering it.
TEST(HttpClient, ConnectionCloseFromTheRequestIsHonoured) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), echo);
    client c(ioc.get_executor(), endpoint_of(server));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 request closing = get("/first");
                 closing.keep_alive(false);
                 EXPECT_EQ(body_of(co_await c.async_send(closing, deadline)),
                           "you asked for /first");
                 EXPECT_EQ(c.stats().idle_connections, 0u);
                 EXPECT_EQ(body_of(co_await c.async_send(get("/second"), deadline)),
                           "you asked for /second");
             },
             {&server});
    EXPECT_EQ(server.accepted(), 2u);
    EXPECT_EQ(c.stats().connections_opened, 2u);
    EXPECT_EQ(c.stats().stale_retries, 0u);
}

TEST(HttpClient, DeadlineFiresOnAServerThatNeverAnswersAndTheConnectionIsNotReused) {
    asio::io_context ioc;
    bool hang = true;
    local_http_server server(ioc.get_executor(), [&](const request& req) {
        reply r = echo(req);
        r.hang = hang;
        return r;
    });
    client c(ioc.get_executor(), endpoint_of(server));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 const auto start = std::chrono::steady_clock::now();
                 auto r = co_await c.async_send(get(), 300ms);
                 const auto took = std::chrono::steady_clock::now() - start;
                 expect_error(r, errc::timeout);
                 EXPECT_GE(took, 300ms);
                 EXPECT_LT(took, 5s);
                 hang = false;
                 auto r2 = co_await c.async_send(get("/after"), deadline);
                 EXPECT_TRUE(r2);
             },
             {&server});
    EXPECT_EQ(server.accepted(), 2u);
}

TEST(HttpClient, DeadlineFiresMidBodyAndDuringATlsHandshakeThatNeverEnds) {
    // The deadline bounds the whole request: an answer that stops half way through its
    // body, and a new connection whose TLS handshake the peer never answers (bounded by the
    // request's deadline, not by the 10 s connect_timeout).
    asio::io_context ioc;
    asio::ip::tcp::acceptor raw(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    const std::string port = std::to_string(raw.local_endpoint().port());
    client plain(ioc.get_executor(), endpoint::parse("http://127.0.0.1:" + port).value());
    client_options tls_opts;
    tls_opts.verify_tls = false;
    client tls(ioc.get_executor(), endpoint::parse("https://127.0.0.1:" + port).value(), tls_opts);
    std::vector<asio::ip::tcp::socket> held;
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto serve_half = [&]() -> asio::awaitable<void> {
                     auto s = co_await raw.async_accept(asio::use_awaitable);
                     char buf[1024];
                     (void)co_await s.async_read_some(asio::buffer(buf),
                                                      asio::as_tuple(asio::use_awaitable));
                     co_await asio::async_write(
                         s,
                         asio::buffer(
                             std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")),
                         asio::as_tuple(asio::use_awaitable));
                     held.push_back(std::move(s)); // open, silent
                 };
                 auto start = std::chrono::steady_clock::now();
                 auto r = co_await (plain.async_send(get(), 300ms) && serve_half());
                 auto took = std::chrono::steady_clock::now() - start;
                 expect_error(r, errc::timeout);
                 EXPECT_GE(took, 300ms);
                 EXPECT_LT(took, 5s);
                 EXPECT_EQ(plain.stats().idle_connections, 0u);

                 auto accept_silently = [&]() -> asio::awaitable<void> {
                     held.push_back(co_await raw.async_accept(asio::use_awaitable));
                 };
                 start = std::chrono::steady_clock::now();
                 r = co_await (tls.async_send(get(), 300ms) && accept_silently());
                 took = std::chrono::steady_clock::now() - start;
                 expect_error(r, errc::timeout);
                 EXPECT_GE(took, 300ms);
                 EXPECT_LT(took, 5s);
             },
             {});
}

TEST(HttpClient, CallerCancellationClosesTheConnection) {
    asio::io_context ioc;
    bool hang = true;
    local_http_server server(ioc.get_executor(), [&](const request& req) {
        reply r = echo(req);
        r.hang = hang;
        return r;
    });
    client c(ioc.get_executor(), endpoint_of(server));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 // The caller's own timeout (shutdown, say) wins the race and cancels the send.
                 auto v = co_await (c.async_send(get(), deadline) || pause(200ms));
                 EXPECT_EQ(v.index(), 1u);
                 co_await pause(50ms);
                 EXPECT_EQ(server.open_connections(), 0u); // the client closed its end
                 hang = false;
                 EXPECT_TRUE(co_await c.async_send(get(), deadline));
             },
             {&server});
    EXPECT_EQ(server.accepted(), 2u);
}

TEST(HttpClient, BodyLimitIsEnforced) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), [](const request& req) {
        return test::text_reply(std::string(req.target() == "/big" ? 2048 : 1024, 'x'));
    });
    client_options opts;
    opts.body_limit = 1024;
    client c(ioc.get_executor(), endpoint_of(server), opts);
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto ok = co_await c.async_send(get("/fits"), deadline);
                 EXPECT_TRUE(ok);
                 EXPECT_EQ(body_of(ok).size(), 1024u);
                 auto big = co_await c.async_send(get("/big"), deadline);
                 expect_error(big, errc::body_too_large);
                 EXPECT_TRUE(!big && is_fatal(big.error()));
             },
             {&server});
}

TEST(HttpClient, DefaultBodyLimitFitsTenEscapedOneMebibyteMessages) {
    // 10 messages x 1 MiB, each byte escaped to at most 6 ("&quot;", "\u001f").
    EXPECT_GE(client_options{}.body_limit, 10u * 1024 * 1024 * 6 + 64 * 1024);
}

TEST(HttpClient, LargeBodyRoundTrip) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), [](const request& req) {
        return test::text_reply(req.body()); // echo the body back
    });
    client c(ioc.get_executor(), endpoint_of(server));
    std::string body(3 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < body.size(); ++i)
        body[i] = static_cast<char>('a' + i % 26);
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 request req{bhttp::verb::post, "/", 11};
                 req.body() = body;
                 auto r = co_await c.async_send(std::move(req), deadline);
                 EXPECT_TRUE(body_of(r) == body); // not EXPECT_EQ: 3 MiB in a failure message
             },
             {&server});
    EXPECT_EQ(server.seen().at(0)[bhttp::field::content_length], std::to_string(body.size()));
}

TEST(HttpClient, NothingListeningIsConnectFailed) {
    asio::io_context ioc;
    client c(ioc.get_executor(),
             endpoint::parse("http://127.0.0.1:" + std::to_string(test::unused_port())).value());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto r = co_await c.async_send(get(), deadline);
                 expect_error(r, errc::connect_failed);
                 EXPECT_TRUE(!r && is_retryable(r.error()));
             },
             {});
}

TEST(HttpClient, UnresolvableHostIsResolveFailed) {
    asio::io_context ioc;
    client c(ioc.get_executor(), endpoint::parse("http://no-such-host.invalid:80").value());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto r = co_await c.async_send(get(), deadline);
                 expect_error(r, errc::resolve_failed);
             },
             {});
}

TEST(HttpClient, GarbageFromTheServerIsAProtocolError) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), echo);
    client c(ioc.get_executor(), endpoint_of(server));
    // A raw TCP peer that answers with something that is not HTTP.
    asio::ip::tcp::acceptor raw(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    client bad(
        ioc.get_executor(),
        endpoint::parse("http://127.0.0.1:" + std::to_string(raw.local_endpoint().port())).value());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto serve = [&]() -> asio::awaitable<void> {
                     auto s = co_await raw.async_accept(asio::use_awaitable);
                     char buf[1024];
                     (void)co_await s.async_read_some(asio::buffer(buf),
                                                      asio::as_tuple(asio::use_awaitable));
                     co_await asio::async_write(
                         s, asio::buffer(std::string_view("SSH-2.0-OpenSSH\r\n\r\n")),
                         asio::as_tuple(asio::use_awaitable));
                     co_await pause(200ms);
                 };
                 auto r = co_await (bad.async_send(get(), deadline) && serve());
                 expect_error(r, errc::protocol);
             },
             {&server});
}

// ---- TLS ----

class HttpClientTls : public ::testing::Test {
protected:
    test::test_ca ca;
    asio::io_context ioc;

    static std::string https_localhost(const local_http_server& s) {
        return "https://localhost:" + std::to_string(s.port());
    }
};

TEST_F(HttpClientTls, TrustedThroughTheExtraCaFileWithSniAndReuse) {
    local_http_server server(ioc.get_executor(), echo, ca.issue({"localhost"}, {"127.0.0.1"}));
    client_options opts;
    opts.extra_ca_file = ca.cert_file();
    client c(ioc.get_executor(), endpoint::parse(https_localhost(server)).value(), opts);
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 for (int i = 0; i < 3; ++i) {
                     auto r = co_await c.async_send(get("/tls"), deadline);
                     EXPECT_TRUE(r) << r.error().message();
                     EXPECT_EQ(body_of(r), "you asked for /tls");
                 }
             },
             {&server});
    EXPECT_EQ(server.accepted(), 1u); // keep-alive works over TLS too
    EXPECT_EQ(server.last_sni(), "localhost");
}

TEST_F(HttpClientTls, IpAddressEndpointIsCheckedAgainstTheIpSanWithoutSni) {
    local_http_server server(ioc.get_executor(), echo, ca.issue({"localhost"}, {"127.0.0.1"}));
    client_options opts;
    opts.extra_ca_file = ca.cert_file();
    client c(ioc.get_executor(), endpoint::parse(server.url()).value(), opts);
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto r = co_await c.async_send(get(), deadline);
                 EXPECT_TRUE(r) << r.error().message();
             },
             {&server});
    EXPECT_EQ(server.last_sni(), "");
}

TEST_F(HttpClientTls, UntrustedCertificateIsRejected) {
    local_http_server server(ioc.get_executor(), echo, ca.issue({"localhost"}, {"127.0.0.1"}));
    client c(ioc.get_executor(), endpoint::parse(https_localhost(server)).value());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto r = co_await c.async_send(get(), deadline);
                 expect_error(r, errc::tls_verify_failed);
                 EXPECT_TRUE(!r && is_fatal(r.error()));
             },
             {&server});
    EXPECT_EQ(server.requests(), 0u); // nothing was sent to an unverified server
}

TEST_F(HttpClientTls, CertificateForAnotherHostIsRejected) {
    local_http_server server(ioc.get_executor(), echo, ca.issue({"sqs.example.invalid"}));
    client_options opts;
    opts.extra_ca_file = ca.cert_file();
    client by_name(ioc.get_executor(), endpoint::parse(https_localhost(server)).value(), opts);
    client by_ip(ioc.get_executor(), endpoint::parse(server.url()).value(), opts);
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 for (client* c : {&by_name, &by_ip}) {
                     auto r = co_await c->async_send(get(), deadline);
                     expect_error(r, errc::tls_verify_failed);
                 }
             },
             {&server});
    EXPECT_EQ(server.requests(), 0u);
}

TEST_F(HttpClientTls, VerificationOffConnectsToAnyCertificate) {
    local_http_server server(ioc.get_executor(), echo, ca.issue({"sqs.example.invalid"}));
    client_options opts;
    opts.verify_tls = false;
    client c(ioc.get_executor(), endpoint::parse(https_localhost(server)).value(), opts);
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto r = co_await c.async_send(get(), deadline);
                 EXPECT_TRUE(r) << r.error().message();
             },
             {&server});
}

TEST_F(HttpClientTls, PlainHttpServerOnAnHttpsEndpointIsATlsFailure) {
    local_http_server server(ioc.get_executor(), echo); // no TLS
    client c(ioc.get_executor(), endpoint::parse(https_localhost(server)).value());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto r = co_await c.async_send(get(), deadline);
                 expect_error(r, errc::tls_failed);
             },
             {&server});
}

TEST_F(HttpClientTls, MissingExtraCaFileIsAConfigurationError) {
    client_options opts;
    opts.extra_ca_file = "/nonexistent/ca.pem";
    EXPECT_THROW(client(ioc.get_executor(), endpoint::parse("https://localhost").value(), opts),
                 std::runtime_error);
}

} // namespace
} // namespace sqs2pg::http
