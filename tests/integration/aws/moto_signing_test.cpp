// The signer and the HTTP client against moto_server with SigV4 checking on (started by
// tests/run): signed form POSTs and query GETs are accepted, a wrong secret is refused
// with SignatureDoesNotMatch, and the chain's environment credentials work end to end.
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/region.hpp>
#include <sqs2pg/aws/signer.hpp>
#include <sqs2pg/http/client.hpp>

#include "local_http_server.hpp"
#include "test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace sqs2pg::aws {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

struct moto {
    http::endpoint endpoint =
        http::endpoint::parse(test::require_env("SQS2PG_TEST_SQS_ENDPOINT")).value();
    credentials creds{test::require_env("SQS2PG_TEST_AWS_ACCESS_KEY_ID"),
                      test::require_env("SQS2PG_TEST_AWS_SECRET_ACCESS_KEY"),
                      {},
                      {}};
    std::string region = test::require_env("SQS2PG_TEST_AWS_REGION");
};

http::request form_post(const http::endpoint& ep, std::string body) {
    http::request req{bhttp::verb::post, "/", 11};
    req.set(bhttp::field::host, ep.host_header());
    req.set(bhttp::field::content_type, "application/x-www-form-urlencoded; charset=utf-8");
    req.body() = std::move(body);
    return req;
}

// Sends `req` signed with `creds` and returns the response (status 0 on transport error).
http::response send_signed(const moto& m, http::request req, const credentials& creds) {
    asio::io_context ioc;
    http::client c(ioc.get_executor(), m.endpoint);
    signer(m.region, "sqs").sign(req, creds, std::chrono::system_clock::now());
    http::response out;
    test::run_test(ioc,
                   [&]() -> asio::awaitable<void> {
                       auto r = co_await c.async_send(std::move(req), 30s);
                       EXPECT_TRUE(r) << r.error().message();
                       if (r)
                           out = std::move(*r);
                   },
                   {});
    return out;
}

TEST(MotoSigning, SignedFormPostIsAccepted) {
    moto m;
    auto res =
        send_signed(m, form_post(m.endpoint, "Action=ListQueues&Version=2012-11-05"), m.creds);
    EXPECT_EQ(res.result_int(), 200u) << res.body();
    EXPECT_NE(res.body().find("ListQueuesResponse"), std::string::npos);
}

TEST(MotoSigning, QueryStringAndQueuePathAreCoveredBySignature) {
    // moto checks a GET's signature against a form body it makes from the query (botocore
    // never sends GETs to SQS), so the query rides on a POST here; its parameters are
    // unsorted so the canonical query's order matters. The path is a queue's.
    moto m;
    const std::string queue = test::require_env("SQS2PG_QUEUE_URL");
    const auto path = queue.substr(queue.find('/', queue.find("://") + 3));
    http::request req = form_post(m.endpoint, "Action=GetQueueAttributes&AttributeName.1="
                                              "QueueArn&Version=2012-11-05");
    req.target(path + "?z=last&a=first&m=%7Emiddle");
    auto res = send_signed(m, std::move(req), m.creds);
    EXPECT_EQ(res.result_int(), 200u) << res.body();
    EXPECT_NE(res.body().find("login-queue"), std::string::npos) << res.body();
}

TEST(MotoSigning, WrongSecretIsSignatureDoesNotMatch) {
    moto m;
    credentials wrong = m.creds;
    wrong.secret_access_key = "not-the-secret";
    auto res = send_signed(m, form_post(m.endpoint, "Action=ListQueues&Version=2012-11-05"), wrong);
    EXPECT_EQ(res.result_int(), 403u);
    EXPECT_NE(res.body().find("SignatureDoesNotMatch"), std::string::npos) << res.body();
}

TEST(MotoSigning, ChainFromTheEnvironmentAndResolvedEndpoint) {
    moto m;
    const environment env{{"AWS_ACCESS_KEY_ID", m.creds.access_key_id},
                          {"AWS_SECRET_ACCESS_KEY", m.creds.secret_access_key},
                          {"AWS_REGION", m.region},
                          {"AWS_ENDPOINT_URL_SQS", m.endpoint.origin()},
                          {"HOME", "/nonexistent-sqs2pg-home"}};
    const auto region = resolve_region(env, "", profile{}).value();
    const auto ep = resolve_sqs_endpoint(env, "", region.region).value();
    EXPECT_EQ(ep, m.endpoint);

    asio::io_context ioc;
    auto chain = make_default_chain(ioc.get_executor(), env);
    http::client c(ioc.get_executor(), ep);
    test::run_test(ioc,
                   [&]() -> asio::awaitable<void> {
                       auto creds = co_await chain->async_get();
                       EXPECT_TRUE(creds) << chain->last_failure();
                       if (!creds)
                           co_return;
                       signer s(region.region, "sqs");
                       // Several signed requests through one client: signing and keep-alive
                       // together.
                       for (int i = 0; i < 3; ++i) {
                           auto req = form_post(ep, "Action=ListQueues&Version=2012-11-05");
                           s.sign(req, *creds, std::chrono::system_clock::now());
                           auto res = co_await c.async_send(std::move(req), 30s);
                           EXPECT_EQ(res ? res->result_int() : 0u, 200u)
                               << (res ? res->body() : res.error().message());
                       }
                   },
                   {});
    EXPECT_EQ(chain->source(), "environment");
}

} // namespace
} // namespace sqs2pg::aws
