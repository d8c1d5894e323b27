// STS credentials against moto_server with IAM checks on (tests/run starts it): a profile
// that assumes a role with its source profile's keys, and EKS-style web identity. The
// roles are made here through moto's IAM API, each with an inline policy; what the
// temporary credentials may then do on SQS is what that policy allows.
//
// moto 5.2 answers an unsigned AssumeRoleWithWebIdentity with a 500 (it looks for an
// Authorization header) and does not validate the token. So the web identity tests put a
// small local STS front in between: it checks that the request came unsigned, with the
// token from the file and the role and session asked for, records the token, and passes
// the call on to moto signed with the admin keys. Everything signed with the temporary
// credentials moto returns is checked by moto in full (session token included).
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/service.hpp>
#include <sqs2pg/aws/signer.hpp>
#include <sqs2pg/aws/sts.hpp>
#include <sqs2pg/http/client.hpp>

#include "local_http_server.hpp"
#include "test_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sqs2pg::aws {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct moto {
    http::endpoint endpoint =
        http::endpoint::parse(test::require_env("SQS2PG_TEST_SQS_ENDPOINT")).value();
    credentials admin{test::require_env("SQS2PG_TEST_AWS_ACCESS_KEY_ID"),
                      test::require_env("SQS2PG_TEST_AWS_SECRET_ACCESS_KEY"),
                      {},
                      {}};
    std::string region = test::require_env("SQS2PG_TEST_AWS_REGION");
    std::string queue_url = test::require_env("SQS2PG_QUEUE_URL");
};

// One call on its own io_context; the body, or the error.
result<std::string> call(const moto& m, credentials_provider& creds, std::string service,
                         service_request req) {
    asio::io_context ioc;
    service_options o;
    o.region = m.region;
    o.service = std::move(service);
    o.max_attempts = 1;
    service_client c(ioc.get_executor(), m.endpoint, &creds, o);
    std::optional<result<std::string>> r;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { r = co_await c.async_call(std::move(req)); },
        asio::detached);
    ioc.run();
    if (!r)
        return error{make_error_code(errc::cancelled), "no answer"};
    return std::move(*r);
}

// IAM as the admin: a role anyone may assume, with `policy` inline; returns its ARN.
std::string make_role(const moto& m, const std::string& name, const std::string& policy) {
    auto admin = make_static_provider(m.admin);
    const std::string trust =
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},)"
        R"("Action":["sts:AssumeRole","sts:AssumeRoleWithWebIdentity"]}]})";
    auto role = call(m, *admin, "iam",
                     encode_query("CreateRole", "2010-05-08",
                                  {{"RoleName", name}, {"AssumeRolePolicyDocument", trust}}));
    if (!role)
        throw std::runtime_error("CreateRole: " + role.error().message);
    auto put = call(
        m, *admin, "iam",
        encode_query(
            "PutRolePolicy", "2010-05-08",
            {{"RoleName", name}, {"PolicyName", name + "-policy"}, {"PolicyDocument", policy}}));
    if (!put)
        throw std::runtime_error("PutRolePolicy: " + put.error().message);
    return xml_text(*role, "Arn").value();
}

// An IAM user with `policy` inline; returns its keys.
credentials make_user(const moto& m, const std::string& name, const std::string& policy) {
    auto admin = make_static_provider(m.admin);
    (void)call(m, *admin, "iam", encode_query("CreateUser", "2010-05-08", {{"UserName", name}}))
        .value();
    (void)call(
        m, *admin, "iam",
        encode_query(
            "PutUserPolicy", "2010-05-08",
            {{"UserName", name}, {"PolicyName", name + "-policy"}, {"PolicyDocument", policy}}))
        .value();
    const auto key =
        call(m, *admin, "iam", encode_query("CreateAccessKey", "2010-05-08", {{"UserName", name}}))
            .value();
    return {xml_text(key, "AccessKeyId").value(), xml_text(key, "SecretAccessKey").value(), {}, {}};
}

std::string allow(std::string_view actions) {
    return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[)" +
           std::string(actions) + R"(],"Resource":"*"}]})";
}

service_request list_queues() {
    return encode_query("ListQueues", "2012-11-05", {});
}

service_request get_queue_attributes(const moto& m) {
    return encode_query("GetQueueAttributes", "2012-11-05",
                        {{"QueueUrl", m.queue_url}, {"AttributeName.1", "All"}});
}

class Sts : public ::testing::Test {
protected:
    Sts()
        : home_(fs::temp_directory_path() / test::unique_name("sqs2pg_sts_")) {
        fs::create_directories(home_ / ".aws");
    }
    ~Sts() override { fs::remove_all(home_); }
    void write(const std::string& rel, const std::string& text) {
        std::ofstream(home_ / rel) << text;
    }
    environment base_env() const {
        return environment{{"HOME", home_.string()},
                           {"AWS_REGION", m_.region},
                           {"AWS_EC2_METADATA_DISABLED", "true"}};
    }
    // The chain's credentials, fetched on their own io_context.
    static boost::system::result<credentials> fetch(credentials_provider& p,
                                                    asio::io_context& ioc) {
        std::optional<boost::system::result<credentials>> r;
        asio::co_spawn(
            ioc, [&]() -> asio::awaitable<void> { r = co_await p.async_get(); }, asio::detached);
        ioc.run();
        ioc.restart();
        return r ? *r : boost::system::result<credentials>(make_error_code(errc::cancelled));
    }

    moto m_;
    fs::path home_;
};

TEST_F(Sts, ProfileRoleIsAssumedWithTheSourceProfileKeysAndItsPolicyDecides) {
    const std::string role =
        make_role(m_, test::unique_name("sqs2pg_attrs_"), allow(R"("sqs:GetQueueAttributes")"));
    write(".aws/credentials", "[base]\naws_access_key_id = " + m_.admin.access_key_id +
                                  "\naws_secret_access_key = " + m_.admin.secret_access_key + "\n");
    write(".aws/config", "[profile app]\nrole_arn = " + role +
                             "\nsource_profile = base\nexternal_id = ext-42\n"
                             "role_session_name = sqs2pg-it\nduration_seconds = 900\n");
    environment env = base_env();
    env.set("AWS_PROFILE", "app");
    env.set("AWS_ENDPOINT_URL_STS", m_.endpoint.origin());

    asio::io_context ioc;
    auto chain = make_default_chain(ioc.get_executor(), env);
    auto creds = fetch(*chain, ioc);
    ASSERT_TRUE(creds) << chain->last_failure();
    EXPECT_TRUE(creds->access_key_id.starts_with("ASIA")) << *creds;
    EXPECT_FALSE(creds->session_token.empty());
    ASSERT_TRUE(creds->expiration);
    EXPECT_NE(chain->source().find("assumed role " + role), std::string::npos) << chain->source();

    // Signed with the role's temporary credentials (session token included): the role's
    // policy allows GetQueueAttributes and nothing else.
    auto allowed = call(m_, *chain, "sqs", get_queue_attributes(m_));
    EXPECT_TRUE(allowed) << allowed.error().message;
    auto denied = call(m_, *chain, "sqs", list_queues());
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().code, make_error_code(errc::service_rejected));
    EXPECT_EQ(denied.error().service_code, "AccessDenied");
    EXPECT_NE(denied.error().message.find("assumed-role/"), std::string::npos)
        << denied.error().message;
    EXPECT_NE(denied.error().message.find("sqs:ListQueues"), std::string::npos);
}

TEST_F(Sts, SourceWithoutStsAssumeRoleIsRefusedAndNamed) {
    const std::string role = make_role(m_, test::unique_name("sqs2pg_r_"), allow(R"("sqs:*")"));
    // A source identity allowed SQS but not sts:AssumeRole.
    const auto user = make_user(m_, test::unique_name("sqs2pg_nosts_"), allow(R"("sqs:*")"));
    write(".aws/credentials", "[weak]\naws_access_key_id = " + user.access_key_id +
                                  "\naws_secret_access_key = " + user.secret_access_key + "\n");
    write(".aws/config", "[default]\nrole_arn = " + role + "\nsource_profile = weak\n");
    environment env = base_env();
    env.set("AWS_ENDPOINT_URL_STS", m_.endpoint.origin());

    asio::io_context ioc;
    auto chain = make_default_chain(ioc.get_executor(), env);
    auto creds = fetch(*chain, ioc);
    ASSERT_FALSE(creds);
    EXPECT_EQ(creds.error(), make_error_code(errc::provider_rejected));
    EXPECT_TRUE(is_fatal(creds.error()));
    EXPECT_NE(chain->last_failure().find("not authorized to perform: sts:AssumeRole"),
              std::string::npos)
        << chain->last_failure();
}

// The local STS front for web identity (see the file comment).
struct sts_front {
    explicit sts_front(asio::io_context& ioc, const moto& m)
        : m_(m)
        , server(ioc.get_executor(), [this](const http::request& req) { return handle(req); }) {}

    test::reply handle(const http::request& req) {
        const std::string& body = req.body();
        if (req.find(bhttp::field::authorization) != req.end() ||
            req.find("X-Amz-Security-Token") != req.end())
            return test::status_reply(400, "<Error><Code>Signed</Code></Error>");
        const auto token_at = body.find("&WebIdentityToken=");
        if (body.find("Action=AssumeRoleWithWebIdentity&") != 0 || token_at == std::string::npos)
            return test::status_reply(400, "<Error><Code>Unexpected</Code></Error>");
        tokens.push_back(body.substr(token_at + 18));
        bodies.push_back(body);
        // Passed on to moto, signed with the admin keys (moto needs an Authorization header).
        asio::io_context ioc;
        http::client c(ioc.get_executor(), m_.endpoint);
        http::request fwd{bhttp::verb::post, "/", 11};
        fwd.set(bhttp::field::host, m_.endpoint.host_header());
        fwd.set(bhttp::field::content_type, "application/x-www-form-urlencoded; charset=utf-8");
        fwd.body() = body;
        signer(m_.region, "sts").sign(fwd, m_.admin, std::chrono::system_clock::now());
        fwd.prepare_payload();
        std::optional<boost::system::result<http::response>> res;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                res = co_await c.async_send(std::move(fwd), std::chrono::seconds(30));
            },
            asio::detached);
        ioc.run();
        if (!res || !*res)
            return test::status_reply(502);
        test::reply r;
        r.res.result((*res)->result_int());
        r.res.set(bhttp::field::content_type, "text/xml");
        r.res.body() = (*res)->body();
        return r;
    }

    const moto& m_;
    test::local_http_server server;
    std::vector<std::string> tokens;
    std::vector<std::string> bodies;
};

TEST_F(Sts, WebIdentityIsUnsignedReReadsTheTokenAtRefreshAndItsRolePolicyDecides) {
    const std::string role =
        make_role(m_, test::unique_name("sqs2pg_irsa_"), allow(R"("sqs:ListQueues")"));
    const std::string token_file = (home_ / "token").string();
    write("token", "token-one\n");

    asio::io_context ioc;
    sts_front front(ioc, m_);
    environment env = base_env();
    env.set("AWS_WEB_IDENTITY_TOKEN_FILE", token_file);
    env.set("AWS_ROLE_ARN", role);
    env.set("AWS_ROLE_SESSION_NAME", "pod-1");
    env.set("AWS_ENDPOINT_URL_STS", front.server.url());
    // A clock in hand: moto's credentials last an hour; moving the clock past the refresh
    // time (5 min + jitter before expiry) makes the next get() fetch anew.
    auto now =
        std::make_shared<std::chrono::system_clock::time_point>(std::chrono::system_clock::now());
    chain_options opts;
    opts.clock = [now] { return *now; };
    auto chain = make_default_chain(ioc.get_executor(), env, opts);

    // The front serves on `ioc`: everything that needs the chain's own fetches runs there.
    boost::system::result<credentials> first = make_error_code(errc::cancelled);
    boost::system::result<credentials> cached = make_error_code(errc::cancelled);
    boost::system::result<credentials> second = make_error_code(errc::cancelled);
    test::run_test(ioc,
                   [&]() -> asio::awaitable<void> {
                       first = co_await chain->async_get();
                       if (!first)
                           co_return;
                       cached = co_await chain->async_get();
                       write("token", "token-two\n");
                       *now = *first->expiration - 4min;
                       second = co_await chain->async_get();
                   },
                   {&front.server});

    ASSERT_TRUE(first) << chain->last_failure();
    ASSERT_EQ(front.tokens.size(), 2u) << chain->last_failure();
    EXPECT_EQ(front.tokens[0], "token-one");
    EXPECT_NE(front.bodies[0].find("&RoleSessionName=pod-1&"), std::string::npos);
    EXPECT_NE(chain->source().find("web identity (role " + role), std::string::npos);
    // Cached until the refresh time; then the rotated token was read and sent.
    ASSERT_TRUE(cached);
    EXPECT_EQ(cached->access_key_id, first->access_key_id);
    ASSERT_TRUE(second) << chain->last_failure();
    EXPECT_EQ(front.tokens[1], "token-two");
    EXPECT_NE(second->access_key_id, first->access_key_id);

    // Signed with the role's credentials, checked by moto: ListQueues only.
    auto creds = make_static_provider(*second);
    auto allowed = call(m_, *creds, "sqs", list_queues());
    EXPECT_TRUE(allowed) << allowed.error().message;
    auto denied = call(m_, *creds, "sqs", get_queue_attributes(m_));
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().service_code, "AccessDenied");
    EXPECT_NE(denied.error().message.find("sqs:GetQueueAttributes"), std::string::npos);
}

} // namespace
} // namespace sqs2pg::aws
