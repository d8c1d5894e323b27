// The SQS client's driver behaviour that moto cannot provoke: throttling and 5xx retried
// with backoff, fatal errors not retried, non-idempotent sends not repeated, timeouts,
// dropped connections, cancellation, and a corrupted message made visible again. A small
// scripted HTTP server on 127.0.0.1 (port 0) plays SQS; every request it saw is kept.
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/sqs/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <deque>
#include <map>

namespace sqs2pg::sqs {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

struct step {
    unsigned status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool drop = false; ///< close the connection instead of answering
    std::chrono::milliseconds delay{0};
};

// Answers each request with the next scripted step (500 when the script is exhausted).
class scripted_server {
public:
    explicit scripted_server(asio::io_context& ioc)
        : ioc_(ioc)
        , acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
        asio::co_spawn(ioc, accept_loop(), asio::detached);
    }
    ~scripted_server() { stop(); }

    void stop() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        for (auto* s : open_)
            s->socket().close(ignored);
    }

    std::string url() const {
        return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    }
    void push(step s) { script_.push_back(std::move(s)); }
    const std::vector<bhttp::request<bhttp::string_body>>& requests() const { return requests_; }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] =
                co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec)
                co_return;
            asio::co_spawn(ioc_, serve(beast::tcp_stream(std::move(socket))), asio::detached);
        }
    }

    asio::awaitable<void> serve(beast::tcp_stream stream) {
        open_.push_back(&stream);
        beast::flat_buffer buffer;
        for (;;) {
            bhttp::request<bhttp::string_body> req;
            auto [ec, n] = co_await bhttp::async_read(stream, buffer, req,
                                                      asio::as_tuple(asio::use_awaitable));
            if (ec)
                break;
            requests_.push_back(req);
            step s = script_.empty() ? step{500, "unscripted", {}, false, {}} : script_.front();
            if (!script_.empty())
                script_.pop_front();
            if (s.delay.count() > 0) {
                asio::steady_timer t(ioc_, s.delay);
                co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            }
            if (s.drop)
                break;
            bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(s.status), 11};
            res.set("x-amzn-RequestId", "req-" + std::to_string(requests_.size()));
            for (const auto& [k, v] : s.headers)
                res.set(k, v);
            res.body() = s.body;
            res.prepare_payload();
            res.keep_alive(true);
            auto [wec, written] =
                co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
            if (wec)
                break;
        }
        std::erase(open_, &stream);
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }

    asio::io_context& ioc_;
    tcp::acceptor acceptor_;
    std::deque<step> script_;
    std::vector<bhttp::request<bhttp::string_body>> requests_;
    std::vector<beast::tcp_stream*> open_;
};

template <class T>
T run(asio::io_context& ioc, asio::awaitable<T> aw) {
    auto fut = asio::co_spawn(ioc, std::move(aw), asio::use_future);
    while (fut.wait_for(0s) != std::future_status::ready)
        ioc.run_one();
    return fut.get();
}

const std::string queue_url = "http://127.0.0.1/123456789012/scripted";

std::string xml_message(const std::string& id, const std::string& body, const std::string& md5,
                        const std::string& receive_count = "1") {
    return "<Message><MessageId>" + id + "</MessageId><ReceiptHandle>handle+" + id +
           "/==</ReceiptHandle><MD5OfBody>" + md5 + "</MD5OfBody><Body>" + body +
           "</Body><Attribute><Name>ApproximateReceiveCount</Name><Value>" + receive_count +
           "</Value></Attribute></Message>";
}

std::string receive_body(const std::string& messages) {
    return "<ReceiveMessageResponse><ReceiveMessageResult>" + messages +
           "</ReceiveMessageResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
           "</ReceiveMessageResponse>";
}

const step throttled{
    403,
    "<ErrorResponse><Error><Type>Sender</Type><Code>RequestThrottled</Code>"
    "<Message>Rate exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>",
    {},
    false,
    {}};
const step unavailable{503, "<html>Service Unavailable</html>", {}, false, {}};

class ScriptedSqs : public ::testing::Test {
protected:
    std::unique_ptr<client> make_client(protocol p = protocol::query,
                                        std::chrono::milliseconds call_timeout = 5s) {
        client_options options;
        options.wire = p;
        options.region = "eu-west-1";
        options.retry = {4, 5ms, 20ms};
        options.call_timeout = call_timeout;
        return std::make_unique<client>(
            ioc_.get_executor(), http::endpoint::parse(server_.url()).value(), *provider_, options);
    }

    asio::io_context ioc_;
    scripted_server server_{ioc_};
    std::unique_ptr<aws::credentials_provider> provider_ = aws::make_static_provider(
        {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session", {}});
};

TEST_F(ScriptedSqs, ThrottlingAnd503AreRetriedThenSucceedEachAttemptSignedAfresh) {
    auto c = make_client();
    server_.push(throttled);
    server_.push(unavailable);
    server_.push(
        {200, receive_body(xml_message("m1", "hello", base::md5_hex("hello"))), {}, false, {}});
    receive_options o;
    o.wait_time_seconds = 0;
    auto res = run(ioc_, c->async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c->explain(res.error());
    ASSERT_EQ(res->messages.size(), 1u);
    EXPECT_EQ(res->messages[0].body, "hello");
    EXPECT_EQ(c->stats().retries, 2u);
    EXPECT_EQ(c->stats().requests, 3u);
    ASSERT_EQ(server_.requests().size(), 3u);
    for (const auto& req : server_.requests()) {
        EXPECT_EQ(req.method(), bhttp::verb::post);
        EXPECT_EQ(req.target(), "/123456789012/scripted");
        EXPECT_EQ(req[bhttp::field::content_type],
                  "application/x-www-form-urlencoded; charset=utf-8");
        EXPECT_TRUE(req[bhttp::field::authorization].starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
        EXPECT_NE(req[bhttp::field::authorization].find("/eu-west-1/sqs/aws4_request"),
                  std::string::npos);
        EXPECT_EQ(req["X-Amz-Security-Token"], "session");
        EXPECT_FALSE(req["X-Amz-Date"].empty());
        EXPECT_EQ(req[bhttp::field::host], server_.url().substr(7));
        EXPECT_TRUE(req.body().starts_with("Action=ReceiveMessage&QueueUrl="));
        EXPECT_TRUE(req[bhttp::field::user_agent].starts_with("sqs2pg/"));
    }
}

// Fails with `failure` the first `failures` times, then answers like a static provider.
class flaky_provider : public aws::credentials_provider {
public:
    flaky_provider(aws::errc failure, int failures)
        : failure_(failure)
        , failures_(failures) {}
    asio::awaitable<boost::system::result<aws::credentials>> async_get() override {
        ++calls;
        if (failures_ > 0) {
            --failures_;
            co_return aws::make_error_code(failure_);
        }
        aws::credentials c; // a named local: GCC 12 and aggregate temporaries (development.md)
        c.access_key_id = "AKIDEXAMPLE";
        c.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        co_return c;
    }
    int calls = 0;

private:
    aws::errc failure_;
    int failures_;
};

TEST_F(ScriptedSqs, ACredentialsProviderThatIsBrieflyUnavailableIsRetriedNotFatal) {
    // IMDS or the container agent timing out for a moment must not stop sqs2pg.
    flaky_provider flaky(aws::errc::provider_unavailable, 2);
    client_options options;
    options.region = "eu-west-1";
    options.retry = {4, 5ms, 20ms};
    client c(ioc_.get_executor(), http::endpoint::parse(server_.url()).value(), flaky, options);
    server_.push({200, receive_body(""), {}, false, {}});
    receive_options o;
    o.wait_time_seconds = 0;
    auto res = run(ioc_, c.async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c.explain(res.error());
    EXPECT_EQ(flaky.calls, 3);
    EXPECT_EQ(server_.requests().size(), 1u);

    // Credentials that are missing or refused are fatal at once: nothing is sent.
    flaky_provider missing(aws::errc::no_credentials, 10);
    client c2(ioc_.get_executor(), http::endpoint::parse(server_.url()).value(), missing, options);
    auto res2 = run(ioc_, c2.async_receive_message(queue_url, o));
    ASSERT_FALSE(res2);
    EXPECT_EQ(res2.error().kind, errc::credentials);
    EXPECT_TRUE(is_fatal(res2.error()));
    EXPECT_EQ(missing.calls, 1);
    EXPECT_EQ(server_.requests().size(), 1u);
}

// Hands out session token "t<n>", where n counts the expire() calls: a cache that only
// a server's ExpiredToken answer can make it refresh.
class rotating_provider : public aws::credentials_provider {
public:
    asio::awaitable<boost::system::result<aws::credentials>> async_get() override {
        aws::credentials c;
        c.access_key_id = "AKIDEXAMPLE";
        c.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        c.session_token = "t" + std::to_string(expired);
        co_return c;
    }
    void expire() override { ++expired; }
    int expired = 0;
};

TEST_F(ScriptedSqs, AnExpiredTokenIsRetriedOnceWithFreshCredentials) {
    // The server says the session token expired while the provider still trusts its
    // cache (a skewed clock): the one immediate retry must carry a new token.
    rotating_provider rotating;
    client_options options;
    options.region = "eu-west-1";
    options.retry = {4, 5ms, 20ms};
    client c(ioc_.get_executor(), http::endpoint::parse(server_.url()).value(), rotating, options);
    server_.push({400,
                  "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>"
                  "<Message>The security token included in the request is expired</Message>"
                  "</Error><RequestId>x</RequestId></ErrorResponse>",
                  {},
                  false,
                  {}});
    server_.push({200, receive_body(""), {}, false, {}});
    receive_options o;
    o.wait_time_seconds = 0;
    auto res = run(ioc_, c.async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c.explain(res.error());
    ASSERT_EQ(server_.requests().size(), 2u);
    EXPECT_EQ(server_.requests()[0]["X-Amz-Security-Token"], "t0");
    EXPECT_EQ(server_.requests()[1]["X-Amz-Security-Token"], "t1");
    EXPECT_EQ(rotating.expired, 1);
}

TEST_F(ScriptedSqs, RetriesStopAtMaxAttemptsAndReturnTheLastError) {
    auto c = make_client();
    for (int i = 0; i < 6; ++i)
        server_.push(throttled);
    auto res = run(ioc_, c->async_get_queue_attributes(queue_url));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::throttled);
    EXPECT_EQ(res.error().code, "RequestThrottled");
    EXPECT_EQ(res.error().request_id, "t");
    EXPECT_EQ(server_.requests().size(), 4u); // max_attempts
    EXPECT_EQ(c->stats().failures, 1u);
}

TEST_F(ScriptedSqs, AuthAndRequestErrorsAreNotRetried) {
    auto c = make_client();
    server_.push({403,
                  "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
                  "</Error><RequestId>a</RequestId></ErrorResponse>",
                  {},
                  false,
                  {}});
    auto res = run(ioc_, c->async_get_queue_url("q"));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::auth);
    EXPECT_EQ(server_.requests().size(), 1u);
    EXPECT_NE(c->explain(res.error()).find("region eu-west-1"), std::string::npos);
}

TEST_F(ScriptedSqs, ASendIsNotRepeatedAfterA500ButIsAfterA503) {
    auto c = make_client();
    server_.push({500,
                  "<ErrorResponse><Error><Code>InternalError</Code></Error></ErrorResponse>",
                  {},
                  false,
                  {}});
    auto res = run(ioc_, c->async_send_message_batch(queue_url, {{"a", "x", {}, {}, {}, {}}}));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::server);
    EXPECT_EQ(server_.requests().size(), 1u);

    server_.push(unavailable);
    server_.push({200,
                  "<SendMessageBatchResponse><SendMessageBatchResult><SendMessageBatchResultEntry>"
                  "<Id>a</Id><MessageId>id-a</MessageId><MD5OfMessageBody>" +
                      base::md5_hex("x") +
                      "</MD5OfMessageBody></SendMessageBatchResultEntry></SendMessageBatchResult>"
                      "</SendMessageBatchResponse>",
                  {},
                  false,
                  {}});
    res = run(ioc_, c->async_send_message_batch(queue_url, {{"a", "x", {}, {}, {}, {}}}));
    ASSERT_TRUE(res) << c->explain(res.error());
    EXPECT_EQ(res->successful.at(0).message_id, "id-a");
    EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(ScriptedSqs, ADroppedConnectionAndATimeoutAreRetriedForIdempotentCalls) {
    auto c = make_client(protocol::query, 300ms);
    const std::string ok =
        "<DeleteMessageBatchResponse><DeleteMessageBatchResult><DeleteMessageBatchResultEntry>"
        "<Id>d</Id></DeleteMessageBatchResultEntry></DeleteMessageBatchResult>"
        "</DeleteMessageBatchResponse>";
    server_.push({200, "", {}, true, {}});      // dropped without an answer
    server_.push({200, ok, {}, false, 1500ms}); // past the 300 ms deadline
    server_.push({200, ok, {}, false, {}});
    auto res = run(ioc_, c->async_delete_message_batch(queue_url, {{"d", "h"}}));
    ASSERT_TRUE(res) << c->explain(res.error());
    EXPECT_EQ(res->successful, std::vector<std::string>{"d"});
    EXPECT_EQ(c->stats().retries, 2u);
}

TEST_F(ScriptedSqs, ACorruptedMessageIsExcludedCountedAndMadeVisibleAgain) {
    auto c = make_client();
    const std::string good = xml_message("good", "intact", base::md5_hex("intact"));
    const std::string bad = xml_message("bad", "tampered", base::md5_hex("original"));
    server_.push({200, receive_body(good + bad), {}, false, {}});
    server_.push({200,
                  "<ChangeMessageVisibilityBatchResponse><ChangeMessageVisibilityBatchResult>"
                  "<ChangeMessageVisibilityBatchResultEntry><Id>r0</Id></"
                  "ChangeMessageVisibilityBatchResultEntry>"
                  "</ChangeMessageVisibilityBatchResult></ChangeMessageVisibilityBatchResponse>",
                  {},
                  false,
                  {}});
    receive_options o;
    o.wait_time_seconds = 0;
    auto res = run(ioc_, c->async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c->explain(res.error());
    ASSERT_EQ(res->messages.size(), 1u);
    EXPECT_EQ(res->messages[0].body, "intact");
    ASSERT_EQ(res->rejected.size(), 1u);
    EXPECT_EQ(res->rejected[0].message_id, "bad");
    EXPECT_EQ(res->rejected[0].reason, "MD5OfBody mismatch");
    EXPECT_EQ(c->stats().rejected_messages, 1u);
    EXPECT_EQ(c->stats().released_messages, 1u);
    ASSERT_EQ(server_.requests().size(), 2u);
    const auto& release = server_.requests()[1];
    EXPECT_NE(release.body().find("Action=ChangeMessageVisibilityBatch"), std::string::npos);
    EXPECT_NE(release.body().find("ReceiptHandle=handle%2Bbad%2F%3D%3D"), std::string::npos);
    // Received once: 2 seconds (see ARejectedMessageIsReleasedForLonger...).
    EXPECT_NE(release.body().find("VisibilityTimeout=2&"), std::string::npos);
    // Never deleted.
    EXPECT_EQ(release.body().find("DeleteMessage"), std::string::npos);
}

TEST_F(ScriptedSqs, JsonRequestsCarryTheTargetHeaderAndGoToTheRoot) {
    auto c = make_client(protocol::json);
    server_.push(
        {200, R"({"Messages":[]})", {{"Content-Type", "application/x-amz-json-1.0"}}, false, {}});
    server_.push(
        {400,
         R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."})",
         {{"x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender"}},
         false,
         {}});
    receive_options o;
    o.wait_time_seconds = 0;
    auto res = run(ioc_, c->async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c->explain(res.error());
    EXPECT_TRUE(res->messages.empty());
    auto missing = run(ioc_, c->async_get_queue_url("nope"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, errc::not_found);
    EXPECT_EQ(missing.error().code, "AWS.SimpleQueueService.NonExistentQueue");
    ASSERT_EQ(server_.requests().size(), 2u);
    const auto& req = server_.requests()[0];
    EXPECT_EQ(req.target(), "/");
    EXPECT_EQ(req["X-Amz-Target"], "AmazonSQS.ReceiveMessage");
    EXPECT_EQ(req[bhttp::field::content_type], "application/x-amz-json-1.0");
    EXPECT_NE(req[bhttp::field::authorization].find("x-amz-target"), std::string::npos);
    EXPECT_EQ(server_.requests()[1]["X-Amz-Target"], "AmazonSQS.GetQueueUrl");
}

TEST_F(ScriptedSqs, CancellationEndsALongPollWithCancelled) {
    auto c = make_client();
    server_.push({200, receive_body(""), {}, false, 10s}); // a long poll that never ends in time
    asio::cancellation_signal signal;
    receive_options o;
    o.wait_time_seconds = 20;
    auto fut = asio::co_spawn(ioc_, c->async_receive_message(queue_url, o),
                              asio::bind_cancellation_slot(signal.slot(), asio::use_future));
    while (server_.requests().empty())
        ioc_.run_one();
    signal.emit(asio::cancellation_type::terminal);
    while (fut.wait_for(0s) != std::future_status::ready)
        ioc_.run_one();
    auto res = fut.get();
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::cancelled);
    EXPECT_EQ(c->stats().retries, 0u);
    server_.stop();
}

TEST_F(ScriptedSqs, AnUnreachableEndpointIsATransportErrorAfterRetries) {
    tcp::acceptor closed(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = closed.local_endpoint().port();
    closed.close();
    client_options options;
    options.region = "eu-west-1";
    options.retry = {3, 1ms, 2ms};
    client c(ioc_.get_executor(),
             http::endpoint::parse("http://127.0.0.1:" + std::to_string(port)).value(), *provider_,
             options);
    // Not even a send is lost: nothing reached a server.
    auto res = run(ioc_, c.async_send_message(queue_url, {"", "x", {}, {}, {}, {}}));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::transport);
    EXPECT_FALSE(res.error().request_sent);
    EXPECT_EQ(c.stats().retries, 2u);
    EXPECT_NE(c.explain(res.error()).find("endpoint http://127.0.0.1:"), std::string::npos);
}

// ---- hostile answers -------------------------------------------------------------------

// An x-www-form-urlencoded body as name -> value ('+' is a space, %XX a byte).
std::map<std::string, std::string> form_params(std::string_view body) {
    const auto decode = [](std::string_view s) {
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '+')
                out += ' ';
            else if (s[i] == '%' && i + 2 < s.size()) {
                out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
                i += 2;
            } else
                out += s[i];
        }
        return out;
    };
    std::map<std::string, std::string> out;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const auto pair = body.substr(0, amp);
        const auto eq = pair.find('=');
        out[decode(pair.substr(0, eq))] =
            eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1));
        body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    }
    return out;
}

// The VisibilityTimeout a ChangeMessageVisibilityBatch query request set per receipt handle.
std::map<std::string, int> release_timeouts(const bhttp::request<bhttp::string_body>& req) {
    const auto params = form_params(req.body());
    EXPECT_EQ(params.count("Action") ? params.at("Action") : "", "ChangeMessageVisibilityBatch");
    std::map<std::string, int> out;
    for (int i = 1; i <= 10; ++i) {
        const std::string prefix = "ChangeMessageVisibilityBatchRequestEntry." + std::to_string(i);
        const auto handle = params.find(prefix + ".ReceiptHandle");
        if (handle == params.end())
            break;
        out[handle->second] = std::stoi(params.at(prefix + ".VisibilityTimeout"));
    }
    return out;
}

// A ChangeMessageVisibilityBatch answer reporting entries r0..r<n-1> as done.
step release_ok(int n) {
    std::string entries;
    for (int i = 0; i < n; ++i)
        entries += "<ChangeMessageVisibilityBatchResultEntry><Id>r" + std::to_string(i) +
                   "</Id></ChangeMessageVisibilityBatchResultEntry>";
    return {200,
            "<ChangeMessageVisibilityBatchResponse><ChangeMessageVisibilityBatchResult>" + entries +
                "</ChangeMessageVisibilityBatchResult></ChangeMessageVisibilityBatchResponse>",
            {},
            false,
            {}};
}

TEST_F(ScriptedSqs, AMessageWithoutBodyIsRejectedMadeVisibleAgainAndNeverDeleted) {
    // SQS always sends Body and MD5OfBody; without them the body is unknown, not empty.
    auto c = make_client();
    const std::string good = xml_message("good", "intact", base::md5_hex("intact"));
    const std::string no_body = "<Message><MessageId>nobody</MessageId><ReceiptHandle>handle+"
                                "nobody/==</ReceiptHandle></Message>";
    server_.push({200, receive_body(good + no_body), {}, false, {}});
    server_.push(release_ok(1));
    receive_options o;
    o.wait_time_seconds = 0;
    auto res = run(ioc_, c->async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c->explain(res.error());
    ASSERT_EQ(res->messages.size(), 1u);
    EXPECT_EQ(res->messages[0].message_id, "good");
    ASSERT_EQ(res->rejected.size(), 1u);
    EXPECT_EQ(res->rejected[0].message_id, "nobody");
    EXPECT_EQ(res->rejected[0].reason, "missing Body");
    EXPECT_EQ(c->stats().rejected_messages, 1u);
    EXPECT_EQ(c->stats().released_messages, 1u);
    ASSERT_EQ(server_.requests().size(), 2u);
    const auto timeouts = release_timeouts(server_.requests()[1]);
    EXPECT_EQ(timeouts.size(), 1u);
    EXPECT_TRUE(timeouts.contains("handle+nobody/=="));
    EXPECT_EQ(server_.requests()[1].body().find("DeleteMessage"), std::string::npos);
}

TEST_F(ScriptedSqs, AJsonMessageWithoutDigestIsRejectedAndMadeVisibleAgain) {
    auto c = make_client(protocol::json);
    server_.push({200,
                  R"({"Messages":[{"MessageId":"m1","ReceiptHandle":"h1","Body":"unverified",)"
                  R"("Attributes":{"ApproximateReceiveCount":"3"}}]})",
                  {{"Content-Type", "application/x-amz-json-1.0"}},
                  false,
                  {}});
    server_.push({200, R"({"Successful":[{"Id":"r0"}],"Failed":[]})", {}, false, {}});
    receive_options o;
    o.wait_time_seconds = 0;
    auto res = run(ioc_, c->async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c->explain(res.error());
    EXPECT_TRUE(res->messages.empty());
    ASSERT_EQ(res->rejected.size(), 1u);
    EXPECT_EQ(res->rejected[0].reason, "missing MD5OfBody");
    EXPECT_EQ(c->stats().released_messages, 1u);
    ASSERT_EQ(server_.requests().size(), 2u);
    EXPECT_EQ(server_.requests()[1]["X-Amz-Target"], "AmazonSQS.ChangeMessageVisibilityBatch");
    EXPECT_NE(server_.requests()[1].body().find(R"("ReceiptHandle":"h1")"), std::string::npos);
    // Received three times: 2^3 seconds.
    EXPECT_NE(server_.requests()[1].body().find(R"("VisibilityTimeout":8)"), std::string::npos);
}

TEST_F(ScriptedSqs, ARejectedMessageIsReleasedForLongerTheMoreOftenItWasReceived) {
    // Released at once, a corrupt message on a queue without a redrive policy came back
    // about 11 times a second for ever: min(2^count, 900) seconds instead.
    auto c = make_client();
    const std::string tampered = base::md5_hex("original");
    server_.push({200,
                  receive_body(xml_message("once", "x", tampered, "1") +
                               xml_message("five", "x", tampered, "5") +
                               xml_message("twenty", "x", tampered, "20")),
                  {},
                  false,
                  {}});
    server_.push(release_ok(3));
    receive_options o;
    o.wait_time_seconds = 0;
    auto res = run(ioc_, c->async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c->explain(res.error());
    EXPECT_TRUE(res->messages.empty());
    EXPECT_EQ(res->rejected.size(), 3u);
    EXPECT_EQ(c->stats().released_messages, 3u);
    ASSERT_EQ(server_.requests().size(), 2u);
    const auto timeouts = release_timeouts(server_.requests()[1]);
    EXPECT_EQ(timeouts,
              (std::map<std::string, int>{
                  {"handle+once/==", 2}, {"handle+five/==", 32}, {"handle+twenty/==", 900}}));
}

TEST_F(ScriptedSqs, ARejectedMessageWithAnUnknownReceiveCountIsReleasedFor30Seconds) {
    auto c = make_client();
    const std::string tampered = base::md5_hex("original");
    const std::string no_count = "<Message><MessageId>nocount</MessageId><ReceiptHandle>handle+"
                                 "nocount/==</ReceiptHandle><MD5OfBody>" +
                                 tampered + "</MD5OfBody><Body>x</Body></Message>";
    // Asked for every attribute: one without the count, one with a count that is no number.
    server_.push(
        {200, receive_body(no_count + xml_message("garbled", "x", tampered, "x5")), {}, false, {}});
    server_.push(release_ok(2));
    // Asked for SentTimestamp only: a count the receive did not ask for is not trusted.
    server_.push({200, receive_body(xml_message("unasked", "x", tampered, "5")), {}, false, {}});
    server_.push(release_ok(1));
    receive_options all;
    all.wait_time_seconds = 0;
    auto res = run(ioc_, c->async_receive_message(queue_url, all));
    ASSERT_TRUE(res) << c->explain(res.error());
    EXPECT_EQ(res->rejected.size(), 2u);
    receive_options sent_only;
    sent_only.wait_time_seconds = 0;
    sent_only.attribute_names.assign(1, "SentTimestamp");
    res = run(ioc_, c->async_receive_message(queue_url, sent_only));
    ASSERT_TRUE(res) << c->explain(res.error());
    EXPECT_EQ(res->rejected.size(), 1u);
    ASSERT_EQ(server_.requests().size(), 4u);
    EXPECT_EQ(release_timeouts(server_.requests()[1]),
              (std::map<std::string, int>{{"handle+nocount/==", 30}, {"handle+garbled/==", 30}}));
    EXPECT_EQ(release_timeouts(server_.requests()[3]),
              (std::map<std::string, int>{{"handle+unasked/==", 30}}));
}

TEST_F(ScriptedSqs, RejectedMessagesAreLeftToTheVisibilityTimeoutWhenReleaseIsDisabled) {
    client_options options;
    options.region = "eu-west-1";
    options.rejected_release.enabled = false;
    client c(ioc_.get_executor(), http::endpoint::parse(server_.url()).value(), *provider_,
             options);
    server_.push(
        {200, receive_body(xml_message("bad", "x", base::md5_hex("y"), "4")), {}, false, {}});
    receive_options o;
    o.wait_time_seconds = 0;
    auto res = run(ioc_, c.async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c.explain(res.error());
    ASSERT_EQ(res->rejected.size(), 1u);
    EXPECT_EQ(res->rejected[0].receive_count, 4u);
    EXPECT_EQ(c.stats().rejected_messages, 1u);
    EXPECT_EQ(c.stats().released_messages, 0u);
    EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(ScriptedSqs, MoreRejectedMessagesThanABatchHoldsAreReleasedInSeveralBatches) {
    // A broken server may answer with more messages than a receive can ask for (10).
    auto c = make_client();
    std::string messages;
    for (int i = 0; i < 12; ++i)
        messages += xml_message("m" + std::to_string(i), "x", base::md5_hex("y"));
    server_.push({200, receive_body(messages), {}, false, {}});
    server_.push(release_ok(10));
    std::string rest;
    for (int i = 10; i < 12; ++i)
        rest += "<ChangeMessageVisibilityBatchResultEntry><Id>r" + std::to_string(i) +
                "</Id></ChangeMessageVisibilityBatchResultEntry>";
    server_.push(
        {200,
         "<ChangeMessageVisibilityBatchResponse><ChangeMessageVisibilityBatchResult>" + rest +
             "</ChangeMessageVisibilityBatchResult></ChangeMessageVisibilityBatchResponse>",
         {},
         false,
         {}});
    receive_options o;
    o.wait_time_seconds = 0;
    auto res = run(ioc_, c->async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c->explain(res.error());
    EXPECT_EQ(res->rejected.size(), 12u);
    EXPECT_EQ(c->stats().rejected_messages, 12u);
    EXPECT_EQ(c->stats().released_messages, 12u);
    ASSERT_EQ(server_.requests().size(), 3u);
    EXPECT_EQ(release_timeouts(server_.requests()[1]).size(), 10u);
    EXPECT_EQ(release_timeouts(server_.requests()[2]).size(), 2u);
}

// ---- the caller's hook on retries --------------------------------------------------------

// A client whose retries pause up to `base_delay` (then twice that): long enough that a
// retry shows in the time a call takes.
std::unique_ptr<client> make_slow_retry_client(asio::io_context& ioc, const std::string& url,
                                               aws::credentials_provider& provider,
                                               std::chrono::milliseconds base_delay) {
    client_options options;
    options.region = "eu-west-1";
    options.retry = {8, base_delay, base_delay * 2};
    options.call_timeout = 300ms;
    return std::make_unique<client>(ioc.get_executor(), http::endpoint::parse(url).value(),
                                    provider, options);
}

TEST_F(ScriptedSqs, ATimedOutReceiveIsRetriedWhileTheHookAllowsIt) {
    auto c = make_slow_retry_client(ioc_, server_.url(), *provider_, 20ms);
    server_.push({200, receive_body(""), {}, false, 1500ms}); // past the 300 ms deadline
    server_.push(
        {200, receive_body(xml_message("m1", "hello", base::md5_hex("hello"))), {}, false, {}});
    int asked = 0;
    receive_options o;
    o.wait_time_seconds = 0;
    o.retry_allowed = [&] {
        ++asked;
        return true;
    };
    auto res = run(ioc_, c->async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c->explain(res.error());
    EXPECT_EQ(res->messages.size(), 1u);
    EXPECT_EQ(server_.requests().size(), 2u);
    EXPECT_EQ(c->stats().retries, 1u);
    EXPECT_EQ(asked, 2); // before the pause and after it
}

TEST_F(ScriptedSqs, AfterAStopRequestAReceiveThatTimedOutIsNotRetried) {
    // sqs2pg stopping: the long poll under way is left to finish (not cancelled), but
    // once it has timed out it is not tried again - up to 8 attempts made a finished
    // drain exit 1.
    auto c = make_slow_retry_client(ioc_, server_.url(), *provider_, 2s);
    server_.push({200, receive_body(""), {}, false, 1500ms}); // past the 300 ms deadline
    bool stopping = false;
    receive_options o;
    o.wait_time_seconds = 0;
    o.retry_allowed = [&] { return !stopping; };
    auto fut = asio::co_spawn(ioc_, c->async_receive_message(queue_url, o), asio::use_future);
    while (server_.requests().empty())
        ioc_.run_one();
    stopping = true; // the attempt is under way
    const auto stop_requested = std::chrono::steady_clock::now();
    while (fut.wait_for(0s) != std::future_status::ready)
        ioc_.run_one();
    const auto took = std::chrono::steady_clock::now() - stop_requested;
    auto res = fut.get();
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::timeout);
    EXPECT_EQ(server_.requests().size(), 1u);
    EXPECT_EQ(c->stats().retries, 0u);
    EXPECT_EQ(c->stats().failures, 1u);
    EXPECT_LT(took, 1s); // the rest of the 300 ms attempt, no pause
    server_.stop();
}

TEST_F(ScriptedSqs, AfterAStopRequestALongPollUnderWayStillDeliversItsMessages) {
    auto c = make_slow_retry_client(ioc_, server_.url(), *provider_, 2s);
    server_.push(
        {200, receive_body(xml_message("m1", "hello", base::md5_hex("hello"))), {}, false, 100ms});
    int asked = 0;
    receive_options o;
    o.wait_time_seconds = 0;
    o.retry_allowed = [&] {
        ++asked;
        return false;
    };
    auto res = run(ioc_, c->async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c->explain(res.error());
    EXPECT_EQ(res->messages.size(), 1u);
    EXPECT_EQ(asked, 0); // only a retry asks
}

TEST_F(ScriptedSqs, TheRetryHookIsAskedBeforeThePauseAndAgainAfterIt) {
    const step internal{
        500,
        "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code></Error>"
        "<RequestId>i</RequestId></ErrorResponse>",
        {},
        false,
        {}};
    receive_options o;
    o.wait_time_seconds = 0;

    // Says no at once: the 500 comes back without the (up to 2 s) pause.
    auto c = make_slow_retry_client(ioc_, server_.url(), *provider_, 2s);
    server_.push(internal);
    int asked = 0;
    o.retry_allowed = [&] {
        ++asked;
        return false;
    };
    const auto start = std::chrono::steady_clock::now();
    auto res = run(ioc_, c->async_receive_message(queue_url, o));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::server);
    EXPECT_EQ(res.error().http_status, 500u);
    EXPECT_EQ(res.error().request_id, "i");
    EXPECT_EQ(asked, 1);
    EXPECT_EQ(server_.requests().size(), 1u);

    // Says yes before the pause and no after it (a stop requested during the pause).
    auto c2 = make_slow_retry_client(ioc_, server_.url(), *provider_, 20ms);
    server_.push(internal);
    asked = 0;
    o.retry_allowed = [&] { return ++asked == 1; };
    res = run(ioc_, c2->async_receive_message(queue_url, o));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::server);
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(server_.requests().size(), 2u);
    EXPECT_EQ(c2->stats().retries, 0u);
    EXPECT_EQ(c2->stats().failures, 1u);

    // Without a hook the same 500 is retried.
    server_.push(internal);
    server_.push({200, receive_body(""), {}, false, {}});
    o.retry_allowed = nullptr;
    res = run(ioc_, c2->async_receive_message(queue_url, o));
    ASSERT_TRUE(res) << c2->explain(res.error());
    EXPECT_EQ(server_.requests().size(), 4u);
    EXPECT_EQ(c2->stats().retries, 1u);
}

} // namespace
} // namespace sqs2pg::sqs
