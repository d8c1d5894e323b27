// The HTTP-based credential sources against local servers playing the ECS/EKS container
// endpoint and the EC2 instance metadata service (IMDSv2): headers the real ones demand,
// caching, refresh ahead of expiry, failures and what they tell the operator.
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/signer.hpp>

#include "local_http_server.hpp"
#include "test_env.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sqs2pg::aws {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using sys_clock = std::chrono::system_clock;
using test::local_http_server;
using test::reply;
using test::run_test;

std::string iso8601(sys_clock::time_point t) {
    const std::string a = format_amz_date(t); // 20240115T083005Z
    return a.substr(0, 4) + "-" + a.substr(4, 2) + "-" + a.substr(6, 2) + "T" + a.substr(9, 2) +
           ":" + a.substr(11, 2) + ":" + a.substr(13, 2) + "Z";
}

// A credentials document whose key id counts the documents served.
std::string document(int n, sys_clock::time_point expiration) {
    return R"({"AccessKeyId":"ASIA)" + std::to_string(n) + R"(","SecretAccessKey":"secret-)" +
           std::to_string(n) + R"(","Token":"token-)" + std::to_string(n) + R"(","Expiration":")" +
           iso8601(expiration) + R"("})";
}

// A clock the test moves by hand.
struct fake_clock {
    sys_clock::time_point now = std::chrono::floor<std::chrono::seconds>(sys_clock::now());
    auto fn() {
        return [this] { return now; };
    }
};

chain_options fast_options(fake_clock* clock = nullptr) {
    chain_options o;
    o.container_timeout = 500ms;
    o.imds_timeout = 500ms;
    o.refresh_jitter = 0s;
    if (clock != nullptr)
        o.clock = clock->fn();
    return o;
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// The error, or a success code when there is none (so a success fails the comparison).
boost::system::error_code error_of(const boost::system::result<credentials>& r) {
    return r ? boost::system::error_code{} : r.error();
}

std::string key_of(const boost::system::result<credentials>& r) {
    return r ? r->access_key_id : "<error: " + r.error().message() + ">";
}

// ---- container endpoint ----

// Plays the ECS / EKS Pod Identity agent: wants `token` in Authorization.
struct container_endpoint_fake {
    std::string token;
    fake_clock* clock = nullptr;
    sys_clock::duration lifetime = 1h;
    int served = 0;

    reply operator()(const http::request& req) {
        if (req.target() != "/v1/credentials")
            return test::status_reply(404);
        if (req[bhttp::field::authorization] != token)
            return test::status_reply(401, R"({"Message":"bad token"})");
        const auto now = clock ? clock->now : sys_clock::now();
        return test::text_reply(document(++served, now + lifetime), "application/json");
    }
};

environment container_env(const local_http_server& s, std::string token) {
    return environment{{"AWS_CONTAINER_CREDENTIALS_FULL_URI", s.url() + "/v1/credentials"},
                       {"AWS_CONTAINER_AUTHORIZATION_TOKEN", std::move(token)},
                       {"HOME", "/nonexistent-sqs2pg-home"}};
}

TEST(ContainerProvider, SendsTheTokenAndCachesUntilRefreshIsDue) {
    asio::io_context ioc;
    fake_clock clock;
    container_endpoint_fake fake{"Bearer pod-token", &clock};
    local_http_server server(ioc.get_executor(), std::ref(fake));
    auto p = make_container_provider(ioc.get_executor(), container_env(server, "Bearer pod-token"),
                                     fast_options(&clock));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto c = co_await p->async_get();
                 EXPECT_EQ(key_of(c), "ASIA1");
                 if (c) {
                     EXPECT_EQ(c->secret_access_key, "secret-1");
                     EXPECT_EQ(c->session_token, "token-1");
                     EXPECT_EQ(c->expiration, clock.now + 1h);
                 }
                 clock.now += 54min; // refresh is due 5 minutes before expiry
                 EXPECT_EQ(key_of(co_await p->async_get()), "ASIA1");
                 EXPECT_EQ(server.requests(), 1u);
                 clock.now += 1min + 1s;
                 EXPECT_EQ(key_of(co_await p->async_get()), "ASIA2");
                 EXPECT_EQ(server.requests(), 2u);
             },
             {&server});
    EXPECT_EQ(server.seen().at(0)[bhttp::field::authorization], "Bearer pod-token");
    EXPECT_EQ(p->source(), "container endpoint " + server.url());
}

TEST(ContainerProvider, ExpireFetchesAnewThroughTheChain) {
    // SQS answered ExpiredToken while the cache was still trusted: the chain's expire()
    // makes the next call fetch, whatever the provider's own schedule says.
    asio::io_context ioc;
    fake_clock clock;
    container_endpoint_fake fake{"t", &clock};
    local_http_server server(ioc.get_executor(), std::ref(fake));
    environment env = container_env(server, "t");
    env.set("AWS_EC2_METADATA_DISABLED", "true");
    auto chain = make_default_chain(ioc.get_executor(), env, fast_options(&clock));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 EXPECT_EQ(key_of(co_await chain->async_get()), "ASIA1");
                 EXPECT_EQ(key_of(co_await chain->async_get()), "ASIA1");
                 EXPECT_EQ(server.requests(), 1u);
                 chain->expire();
                 EXPECT_EQ(key_of(co_await chain->async_get()), "ASIA2");
                 EXPECT_EQ(server.requests(), 2u);
                 EXPECT_EQ(key_of(co_await chain->async_get()), "ASIA2"); // cached again
                 EXPECT_EQ(server.requests(), 2u);
             },
             {&server});
}

TEST(ContainerProvider, TokenFileIsPreferredAndReadOnEveryRefresh) {
    asio::io_context ioc;
    fake_clock clock;
    container_endpoint_fake fake{"first", &clock};
    local_http_server server(ioc.get_executor(), std::ref(fake));
    const fs::path file = fs::temp_directory_path() / test::unique_name("sqs2pg_pod_token_");
    std::ofstream(file) << "first\n";
    environment env = container_env(server, "stale-env-token");
    env.set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file.string());
    auto p = make_container_provider(ioc.get_executor(), env, fast_options(&clock));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 EXPECT_EQ(key_of(co_await p->async_get()), "ASIA1");
                 // The agent rotates the token; the file follows; the next refresh uses it.
                 fake.token = "second";
                 std::ofstream(file) << "second";
                 clock.now += 2h;
                 EXPECT_EQ(key_of(co_await p->async_get()), "ASIA2");
             },
             {&server});
    fs::remove(file);
}

TEST(ContainerProvider, WrongTokenIsRejectedWithAMessageAboutTheToken) {
    asio::io_context ioc;
    container_endpoint_fake fake{"right"};
    local_http_server server(ioc.get_executor(), std::ref(fake));
    auto p = make_container_provider(ioc.get_executor(), container_env(server, "not-the-pod-token"),
                                     fast_options());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto c = co_await p->async_get();
                 EXPECT_FALSE(c);
                 if (!c) {
                     EXPECT_EQ(c.error(), make_error_code(errc::provider_rejected));
                     EXPECT_TRUE(is_fatal(c.error()));
                 }
             },
             {&server});
    EXPECT_EQ(server.requests(), 1u); // a 4xx is not retried
    EXPECT_NE(p->last_failure().find("HTTP 401"), std::string::npos) << p->last_failure();
    EXPECT_NE(p->last_failure().find("AWS_CONTAINER_AUTHORIZATION_TOKEN"), std::string::npos);
    EXPECT_EQ(p->last_failure().find("not-the-pod-token"), std::string::npos); // not echoed
}

TEST(ContainerProvider, ServerErrorsAreRetriedThenReportedAsUnavailable) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(),
                             [](const http::request&) { return test::status_reply(503); });
    auto p =
        make_container_provider(ioc.get_executor(), container_env(server, "t"), fast_options());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto c = co_await p->async_get();
                 EXPECT_TRUE(is_retryable(error_of(c)));
             },
             {&server});
    EXPECT_EQ(server.requests(), 3u);
    EXPECT_NE(p->last_failure().find("after 3 tries: HTTP 503"), std::string::npos)
        << p->last_failure();
}

TEST(ContainerProvider, ConcurrentCallersShareOneFetch) {
    asio::io_context ioc;
    container_endpoint_fake fake{"t"};
    local_http_server server(ioc.get_executor(), [&](const http::request& req) {
        reply r = fake(req);
        r.delay = 100ms;
        return r;
    });
    auto p =
        make_container_provider(ioc.get_executor(), container_env(server, "t"), fast_options());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto [a, b, c] = co_await (p->async_get() && p->async_get() && p->async_get());
                 EXPECT_EQ(key_of(a), "ASIA1");
                 EXPECT_EQ(key_of(b), "ASIA1");
                 EXPECT_EQ(key_of(c), "ASIA1");
             },
             {&server});
    EXPECT_EQ(server.requests(), 1u);
}

TEST(ContainerProvider, ShortLivedCredentialsAreRefreshedOnTheRealClock) {
    asio::io_context ioc;
    container_endpoint_fake fake{"t", nullptr, 2s};
    local_http_server server(ioc.get_executor(), std::ref(fake));
    auto p =
        make_container_provider(ioc.get_executor(), container_env(server, "t"), fast_options());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 EXPECT_EQ(key_of(co_await p->async_get()), "ASIA1");
                 EXPECT_EQ(key_of(co_await p->async_get()), "ASIA1"); // cached
                 // At most two seconds of life (whole seconds on the wire): due by now.
                 co_await pause(2100ms);
                 EXPECT_EQ(key_of(co_await p->async_get()), "ASIA2");
             },
             {&server});
    EXPECT_EQ(server.requests(), 2u);
}

TEST(ContainerProvider, FailedRefreshKeepsServingWorkingCredentialsUntilTheyExpire) {
    asio::io_context ioc;
    fake_clock clock;
    container_endpoint_fake fake{"t", &clock};
    bool down = false;
    local_http_server server(ioc.get_executor(), [&](const http::request& req) {
        return down ? test::status_reply(500) : fake(req);
    });
    auto p = make_container_provider(ioc.get_executor(), container_env(server, "t"),
                                     fast_options(&clock));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 EXPECT_EQ(key_of(co_await p->async_get()), "ASIA1");
                 down = true;
                 clock.now += 56min; // due for refresh, 4 minutes left
                 EXPECT_EQ(key_of(co_await p->async_get()), "ASIA1");
                 const auto after_first_failure = server.requests();
                 EXPECT_EQ(key_of(co_await p->async_get()), "ASIA1"); // no new try right away
                 EXPECT_EQ(server.requests(), after_first_failure);
                 clock.now += 4min; // expired now
                 auto c = co_await p->async_get();
                 EXPECT_FALSE(c);
                 down = false;
                 EXPECT_EQ(key_of(co_await p->async_get()), "ASIA2"); // back to normal
             },
             {&server});
}

TEST(ContainerProvider, AlreadyExpiredCredentialsAreRefused) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), [](const http::request&) {
        return test::text_reply(document(1, sys_clock::now() - 1min), "application/json");
    });
    auto p =
        make_container_provider(ioc.get_executor(), container_env(server, "t"), fast_options());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto c = co_await p->async_get();
                 EXPECT_EQ(error_of(c), make_error_code(errc::credentials_expired));
             },
             {&server});
    EXPECT_NE(p->last_failure().find("clock"), std::string::npos);
}

TEST(ContainerProvider, GarbageDocumentIsInvalidDocument) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), [](const http::request&) {
        return test::text_reply("<html>proxy login</html>", "text/html");
    });
    auto p =
        make_container_provider(ioc.get_executor(), container_env(server, "t"), fast_options());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto c = co_await p->async_get();
                 EXPECT_EQ(error_of(c), make_error_code(errc::invalid_document));
             },
             {&server});
    EXPECT_NE(p->last_failure().find("not a JSON object"), std::string::npos);
}

TEST(DefaultChain, UsesTheContainerEndpointAndSignsWithItsToken) {
    asio::io_context ioc;
    container_endpoint_fake fake{"t"};
    local_http_server server(ioc.get_executor(), std::ref(fake));
    environment env = container_env(server, "t");
    env.set("AWS_EC2_METADATA_DISABLED", "true");
    auto chain = make_default_chain(ioc.get_executor(), env, fast_options());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto c = co_await chain->async_get();
                 EXPECT_EQ(key_of(c), "ASIA1");
                 if (c) {
                     http::request req{bhttp::verb::post, "/", 11};
                     req.set(bhttp::field::host, "sqs.us-east-1.amazonaws.com");
                     signer("us-east-1", "sqs").sign(req, *c, sys_clock::now());
                     EXPECT_EQ(req["X-Amz-Security-Token"], "token-1");
                 }
             },
             {&server});
    EXPECT_EQ(chain->source(), "container endpoint " + server.url());
}

TEST(DefaultChain, BrokenContainerEndpointIsReportedNotSkipped) {
    asio::io_context ioc;
    environment env{{"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                     "http://127.0.0.1:" + std::to_string(test::unused_port()) + "/v1/credentials"},
                    {"HOME", "/nonexistent-sqs2pg-home"}};
    auto chain = make_default_chain(ioc.get_executor(), env, fast_options());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto c = co_await chain->async_get();
                 EXPECT_EQ(error_of(c), make_error_code(errc::provider_unavailable));
             },
             {});
    EXPECT_NE(chain->last_failure().find("container endpoint http://127.0.0.1"), std::string::npos)
        << chain->last_failure();
    EXPECT_NE(chain->last_failure().find("could not connect"), std::string::npos);
}

// ---- instance metadata (IMDSv2) ----

// Plays IMDSv2: a token from PUT /latest/api/token (which wants the TTL header), required
// on every GET; the role "app-role"; credentials documents with Code Success.
struct imds_fake {
    fake_clock* clock = nullptr;
    bool has_role = true;
    int tokens_issued = 0;
    int served = 0;
    int expire_tokens_once = 0; // answer 401 to this many GETs with a valid token

    reply operator()(const http::request& req) {
        if (req.method() == bhttp::verb::put && req.target() == "/latest/api/token") {
            if (req["X-aws-ec2-metadata-token-ttl-seconds"].empty())
                return test::status_reply(400);
            return test::text_reply("imds-token-" + std::to_string(++tokens_issued));
        }
        if (req.method() != bhttp::verb::get)
            return test::status_reply(405);
        if (req["X-aws-ec2-metadata-token"] != "imds-token-" + std::to_string(tokens_issued))
            return test::status_reply(401);
        if (expire_tokens_once > 0) {
            --expire_tokens_once;
            return test::status_reply(401);
        }
        const std::string base = "/latest/meta-data/iam/security-credentials/";
        if (req.target() == base)
            return has_role ? test::text_reply("app-role\n") : test::status_reply(404);
        if (req.target() == base + "app-role" && has_role) {
            const auto now = clock ? clock->now : sys_clock::now();
            std::string doc = document(++served, now + 6h);
            doc.insert(1, R"("Code":"Success","Type":"AWS-HMAC",)");
            return test::text_reply(doc, "text/plain");
        }
        return test::status_reply(404);
    }
};

environment imds_env(const local_http_server& s) {
    return environment{{"AWS_EC2_METADATA_SERVICE_ENDPOINT", s.url()},
                       {"HOME", "/nonexistent-sqs2pg-home"}};
}

TEST(ImdsProvider, TokenThenRoleThenCredentials) {
    asio::io_context ioc;
    fake_clock clock;
    imds_fake fake{&clock};
    local_http_server server(ioc.get_executor(), std::ref(fake));
    auto chain = make_default_chain(ioc.get_executor(), imds_env(server), fast_options(&clock));
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto c = co_await chain->async_get();
                 EXPECT_EQ(key_of(c), "ASIA1");
                 EXPECT_EQ(c ? c->expiration : std::nullopt,
                           std::optional<sys_clock::time_point>(clock.now + 6h));
                 EXPECT_EQ(key_of(co_await chain->async_get()), "ASIA1");
                 clock.now += 5h + 55min + 1s;
                 EXPECT_EQ(key_of(co_await chain->async_get()), "ASIA2");
             },
             {&server});
    ASSERT_EQ(server.requests(), 6u); // twice: PUT token, GET role, GET credentials
    const auto& seen = server.seen();
    EXPECT_EQ(seen[0].method(), bhttp::verb::put);
    EXPECT_EQ(seen[0]["X-aws-ec2-metadata-token-ttl-seconds"], "21600");
    EXPECT_EQ(seen[1]["X-aws-ec2-metadata-token"], "imds-token-1");
    EXPECT_EQ(seen[2].target(), "/latest/meta-data/iam/security-credentials/app-role");
    EXPECT_EQ(chain->source(), "instance metadata " + server.url() + " (role app-role)");
}

TEST(ImdsProvider, ExpiredTokenIsReplacedOnce) {
    asio::io_context ioc;
    imds_fake fake;
    fake.expire_tokens_once = 1;
    local_http_server server(ioc.get_executor(), std::ref(fake));
    auto p = make_imds_provider(ioc.get_executor(), imds_env(server), fast_options());
    run_test(
        ioc,
        [&]() -> asio::awaitable<void> { EXPECT_EQ(key_of(co_await p->async_get()), "ASIA1"); },
        {&server});
    EXPECT_EQ(fake.tokens_issued, 2);
}

TEST(ImdsProvider, NoRoleAttachedSaysSo) {
    asio::io_context ioc;
    imds_fake fake;
    fake.has_role = false;
    local_http_server server(ioc.get_executor(), std::ref(fake));
    auto chain = make_default_chain(ioc.get_executor(), imds_env(server), fast_options());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 auto c = co_await chain->async_get();
                 EXPECT_EQ(error_of(c), make_error_code(errc::no_credentials));
             },
             {&server});
    EXPECT_NE(chain->last_failure().find("no IAM role is attached"), std::string::npos)
        << chain->last_failure();
}

TEST(ImdsProvider, UnansweredTokenRequestTimesOutWithAHint) {
    asio::io_context ioc;
    local_http_server server(ioc.get_executor(), [](const http::request&) {
        reply r;
        r.hang = true; // like a container whose instance has a metadata hop limit of 1
        return r;
    });
    auto chain = make_default_chain(ioc.get_executor(), imds_env(server), fast_options());
    run_test(ioc,
             [&]() -> asio::awaitable<void> {
                 const auto start = std::chrono::steady_clock::now();
                 auto c = co_await chain->async_get();
                 EXPECT_EQ(error_of(c), make_error_code(errc::no_credentials));
                 EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
             },
             {&server});
    const std::string& m = chain->last_failure();
    EXPECT_NE(m.find("5) instance metadata: the instance metadata service at " + server.url() +
                     " did not answer the IMDSv2 token request: no answer within 500 ms"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("hop limit"), std::string::npos);
    EXPECT_NE(m.find("AWS_EC2_METADATA_DISABLED"), std::string::npos);
}

TEST(ImdsProvider, GetsWithoutTheTokenAreRejectedByTheFake) {
    // The fake must really demand the token, or the tests above prove nothing about it.
    asio::io_context ioc;
    imds_fake fake;
    local_http_server server(ioc.get_executor(), std::ref(fake));
    http::request get{bhttp::verb::get, "/latest/meta-data/iam/security-credentials/", 11};
    EXPECT_EQ(fake(get).res.result_int(), 401u);
    get.set("X-aws-ec2-metadata-token", "forged");
    EXPECT_EQ(fake(get).res.result_int(), 401u);
}

} // namespace
} // namespace sqs2pg::aws
