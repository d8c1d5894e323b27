// Credentials without a network: documents, refresh math, container settings,
// and the chain's environment and shared-file sources and its messages.
#include <sqs2pg/aws/credentials_provider.hpp>

#include "test_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sqs2pg::aws {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::sys_days;
using std::chrono::year;

TEST(CredentialsDocument, EcsAndImdsShapes) {
    auto c = parse_credentials_document(R"({"RoleArn":"arn:aws:iam::1:role/r",
        "AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"secret","Token":"tok",
        "Expiration":"2024-01-15T08:30:05Z"})");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->access_key_id, "ASIAEXAMPLE");
    EXPECT_EQ(c->secret_access_key, "secret");
    EXPECT_EQ(c->session_token, "tok");
    EXPECT_EQ(c->expiration, sys_days{year{2024} / 1 / 15} + 8h + 30min + 5s);

    c = parse_credentials_document(R"({"Code":"Success","LastUpdated":"2024-01-15T02:00:00Z",
        "Type":"AWS-HMAC","AccessKeyId":"A","SecretAccessKey":"S","Token":"T",
        "Expiration":"2024-01-15T08:30:05Z"})");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->session_token, "T");

    c = parse_credentials_document(R"({"AccessKeyId":"A","SecretAccessKey":"S"})");
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->expiration);
}

TEST(CredentialsDocument, RejectionsNameTheFieldNotTheValue) {
    struct bad_case {
        const char* json;
        const char* says;
    };
    for (const auto& [json, says] : std::initializer_list<bad_case>{
             {"not json", "not a JSON object"},
             {"[1]", "not a JSON object"},
             {R"({"SecretAccessKey":"TOPSECRET"})", "AccessKeyId"},
             {R"({"AccessKeyId":"A","SecretAccessKey":""})", "SecretAccessKey"},
             {R"({"AccessKeyId":"A","SecretAccessKey":"TOPSECRET","Expiration":"soon"})",
              "Expiration"},
             {R"({"Code":"Failure","AccessKeyId":"A","SecretAccessKey":"TOPSECRET"})",
              "Code is Failure"}}) {
        auto c = parse_credentials_document(json);
        ASSERT_FALSE(c) << json;
        EXPECT_EQ(c.error().code, make_error_code(errc::invalid_document));
        EXPECT_NE(c.error().message.find(says), std::string::npos) << c.error().message;
        EXPECT_EQ(c.error().message.find("TOPSECRET"), std::string::npos);
    }
}

TEST(RefreshTime, AheadOfExpiryButNotBeforeHalfLife) {
    const auto t0 = sys_days{year{2024} / 1 / 1};
    // One hour credentials: five minutes (plus jitter) early.
    EXPECT_EQ(refresh_time(t0, t0 + 1h, 5min, 0s), t0 + 55min);
    EXPECT_EQ(refresh_time(t0, t0 + 1h, 5min, 40s), t0 + 54min + 20s);
    // Short-lived ones are used for half their life, not refetched on every call.
    EXPECT_EQ(refresh_time(t0, t0 + 2s, 5min, 30s), t0 + 1s);
    EXPECT_EQ(refresh_time(t0, t0 + 6min, 5min, 0s), t0 + 3min);
    // Already expired: now.
    EXPECT_EQ(refresh_time(t0, t0 - 1s, 5min, 0s), t0);
}

TEST(ContainerSettings, AllowedPlainHttpHosts) {
    for (const char* ok : {"127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST",
                           "169.254.170.2", "169.254.170.23", "fd00:ec2::23"})
        EXPECT_TRUE(is_allowed_container_host(ok)) << ok;
    for (const char* no : {"169.254.169.254", "10.0.0.1", "example.com", "fd00:ec2::254",
                           "localhost.example.com", "0.0.0.0"})
        EXPECT_FALSE(is_allowed_container_host(no)) << no;
}

TEST(ContainerSettings, RelativeUriGoesToTheEcsAddress) {
    auto t = container_endpoint(environment{{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/x"},
                                            {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://x/"}});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->endpoint.origin(), "http://169.254.170.2");
    EXPECT_EQ(t->target, "/v2/x");
}

TEST(ContainerSettings, FullUriKeepsPathAndQueryAndChecksTheHost) {
    auto t = container_endpoint(environment{
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials"}});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->endpoint.origin(), "http://169.254.170.23");
    EXPECT_EQ(t->target, "/v1/credentials");

    t = container_endpoint(
        environment{{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://creds.example.com:8443?id=7"}});
    ASSERT_TRUE(t);
    EXPECT_EQ(t->endpoint.origin(), "https://creds.example.com:8443");
    EXPECT_EQ(t->target, "/?id=7");

    t = container_endpoint(
        environment{{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://creds.example.com/x"}});
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, make_error_code(errc::invalid_configuration));
    EXPECT_NE(t.error().message.find("creds.example.com"), std::string::npos);
    EXPECT_NE(t.error().message.find("https"), std::string::npos);

    EXPECT_FALSE(container_endpoint(environment{}));
    EXPECT_FALSE(container_endpoint(environment{{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "x"}}));
}

TEST(ContainerSettings, TokenFileWinsOverTokenAndIsReadEachTime) {
    const fs::path file = fs::temp_directory_path() / test::unique_name("sqs2pg_token_");
    std::ofstream(file) << "from-file\n";
    const environment env{{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file.string()},
                          {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "from-env"}};
    auto a = container_authorization(env);
    ASSERT_TRUE(a);
    EXPECT_EQ(*a, "from-file");
    std::ofstream(file) << "rotated";
    EXPECT_EQ(*container_authorization(env).value(), "rotated");
    fs::remove(file);
    auto missing = container_authorization(env);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find(file.string()), std::string::npos);

    EXPECT_EQ(
        *container_authorization(environment{{"AWS_CONTAINER_AUTHORIZATION_TOKEN", "t"}}).value(),
        "t");
    EXPECT_FALSE(container_authorization(environment{}).value());
    EXPECT_FALSE(container_authorization(
        environment{{"AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nX-Injected: 1"}}));
}

TEST(ImdsSettings, EndpointAndMode) {
    EXPECT_EQ(imds_endpoint(environment{})->origin(), "http://169.254.169.254");
    EXPECT_EQ(
        imds_endpoint(environment{{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"}})->origin(),
        "http://[fd00:ec2::254]");
    EXPECT_EQ(
        imds_endpoint(environment{{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338"}})
            ->origin(),
        "http://127.0.0.1:1338");
    EXPECT_FALSE(imds_endpoint(environment{{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "nope"}}));
}

// Runs provider.async_get() to completion on `ioc` (the provider's executor).
boost::system::result<credentials> get(asio::io_context& ioc, credentials_provider& p) {
    auto f = asio::co_spawn(ioc, p.async_get(), asio::use_future);
    ioc.run();
    ioc.restart();
    return f.get();
}

TEST(StaticProvider, AlwaysTheSame) {
    asio::io_context ioc;
    auto p = make_static_provider({"AKID", "SECRET", {}, {}});
    EXPECT_EQ(get(ioc, *p).value(), (credentials{"AKID", "SECRET", {}, {}}));
    EXPECT_EQ(get(ioc, *p).value().access_key_id, "AKID");
    EXPECT_EQ(p->source(), "static");
}

// An environment where the chain can only find what the test put there: no HOME files,
// no container variables, instance metadata off.
environment isolated(std::initializer_list<std::pair<const std::string, std::string>> vars,
                     const std::string& home = "/nonexistent-sqs2pg-home") {
    environment env{{"HOME", home}, {"AWS_EC2_METADATA_DISABLED", "true"}};
    for (const auto& [k, v] : vars)
        env.set(k, v);
    return env;
}

TEST(DefaultChain, EnvironmentFirst) {
    asio::io_context ioc;
    auto chain =
        make_default_chain(ioc.get_executor(), isolated({{"AWS_ACCESS_KEY_ID", "AKID"},
                                                         {"AWS_SECRET_ACCESS_KEY", "SECRET"},
                                                         {"AWS_SESSION_TOKEN", "TOKEN"},
                                                         {"AWS_PROFILE", "does-not-matter"}}));
    auto c = get(ioc, *chain);
    ASSERT_TRUE(c) << chain->last_failure();
    EXPECT_EQ(*c, (credentials{"AKID", "SECRET", "TOKEN", {}}));
    EXPECT_EQ(chain->source(), "environment");
}

TEST(DefaultChain, HalfAKeyPairInTheEnvironmentIsAnError) {
    asio::io_context ioc;
    auto chain = make_default_chain(ioc.get_executor(), isolated({{"AWS_ACCESS_KEY_ID", "AKID"}}));
    auto c = get(ioc, *chain);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), make_error_code(errc::invalid_configuration));
    EXPECT_TRUE(is_fatal(c.error()));
    EXPECT_NE(chain->last_failure().find("AWS_SECRET_ACCESS_KEY is not"), std::string::npos);
}

TEST(DefaultChain, WebIdentityComesAfterTheEnvironmentAndNeverFallsThrough) {
    // On an EKS pod with IAM roles for service accounts, the node's instance role must not
    // be used in its place: a web identity that fails is the chain's answer.
    asio::io_context ioc;
    auto chain = make_default_chain(
        ioc.get_executor(), isolated({{"AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent-sqs2pg/token"},
                                      {"AWS_ROLE_ARN", "arn:aws:iam::1:role/app"},
                                      {"AWS_EC2_METADATA_DISABLED", "false"}}));
    auto c = get(ioc, *chain);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), make_error_code(errc::invalid_configuration));
    EXPECT_TRUE(is_fatal(c.error()));
    EXPECT_NE(chain->last_failure().find("cannot read the web identity token file "
                                         "/nonexistent-sqs2pg/token"),
              std::string::npos)
        << chain->last_failure();

    // Keys in the environment still come first, as in the SDKs.
    auto with_keys = make_default_chain(ioc.get_executor(),
                                        isolated({{"AWS_ACCESS_KEY_ID", "AKID"},
                                                  {"AWS_SECRET_ACCESS_KEY", "SECRET"},
                                                  {"AWS_WEB_IDENTITY_TOKEN_FILE", "/t"},
                                                  {"AWS_ROLE_ARN", "arn:aws:iam::1:role/app"}}));
    ASSERT_TRUE(get(ioc, *with_keys));
    EXPECT_EQ(with_keys->source(), "environment");
}

TEST(DefaultChain, HalfAWebIdentityIsAnError) {
    asio::io_context ioc;
    auto chain =
        make_default_chain(ioc.get_executor(), isolated({{"AWS_WEB_IDENTITY_TOKEN_FILE", "/t"}}));
    auto c = get(ioc, *chain);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), make_error_code(errc::invalid_configuration));
    EXPECT_NE(chain->last_failure().find("AWS_ROLE_ARN is not"), std::string::npos);
}

class HomeDir : public ::testing::Test {
protected:
    HomeDir()
        : home_(fs::temp_directory_path() / test::unique_name("sqs2pg_home_")) {
        fs::create_directories(home_ / ".aws");
    }
    ~HomeDir() override { fs::remove_all(home_); }
    void write(const std::string& rel, const std::string& text) {
        std::ofstream(home_ / rel) << text;
    }
    std::string home() const { return home_.string(); }

    fs::path home_;
    asio::io_context ioc;
};

TEST_F(HomeDir, ProfileKeysFromTheCredentialsFileWinOverConfig) {
    write(".aws/credentials", "[prod]\naws_access_key_id = FROM_CREDENTIALS\n"
                              "aws_secret_access_key = S1\naws_session_token = T1\n");
    write(".aws/config", "[profile prod]\naws_access_key_id = FROM_CONFIG\n"
                         "aws_secret_access_key = S2\n");
    auto chain =
        make_default_chain(ioc.get_executor(), isolated({{"AWS_PROFILE", "prod"}}, home()));
    auto c = get(ioc, *chain);
    ASSERT_TRUE(c) << chain->last_failure();
    EXPECT_EQ(*c, (credentials{"FROM_CREDENTIALS", "S1", "T1", {}}));
    EXPECT_EQ(chain->source(),
              "profile \"prod\" (" + home() + "/.aws/credentials, " + home() + "/.aws/config)");
}

TEST_F(HomeDir, ProfileOnlyInConfigAndFilesNamedByVariables) {
    write("my-config", "[profile dev]\naws_access_key_id = K\naws_secret_access_key = S\n");
    auto chain = make_default_chain(ioc.get_executor(),
                                    isolated({{"AWS_PROFILE", "dev"},
                                              {"AWS_CONFIG_FILE", home() + "/my-config"},
                                              {"AWS_SHARED_CREDENTIALS_FILE", home() + "/none"}},
                                             home()));
    auto c = get(ioc, *chain);
    ASSERT_TRUE(c) << chain->last_failure();
    EXPECT_EQ(c->access_key_id, "K");
}

TEST_F(HomeDir, ProfileThatAssumesARoleNeedsItsSourceProfile) {
    write(".aws/config", "[default]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\n");
    auto chain = make_default_chain(ioc.get_executor(), isolated({}, home()));
    auto c = get(ioc, *chain);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), make_error_code(errc::invalid_configuration));
    EXPECT_NE(chain->last_failure().find("source_profile \"base\""), std::string::npos)
        << chain->last_failure();
}

TEST_F(HomeDir, ProfileWithUnsupportedMethodSaysWhatToDoInstead) {
    write(".aws/config", "[default]\ncredential_process = /bin/creds\n");
    auto chain = make_default_chain(ioc.get_executor(), isolated({}, home()));
    auto c = get(ioc, *chain);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), make_error_code(errc::invalid_configuration));
    EXPECT_NE(chain->last_failure().find("credential_process"), std::string::npos);
    EXPECT_NE(chain->last_failure().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST_F(HomeDir, ProfileWithHalfAKeyPairIsAnError) {
    write(".aws/credentials", "[default]\naws_access_key_id = K\n");
    auto chain = make_default_chain(ioc.get_executor(), isolated({}, home()));
    auto c = get(ioc, *chain);
    ASSERT_FALSE(c);
    EXPECT_NE(chain->last_failure().find("aws_access_key_id but not aws_secret_access_key"),
              std::string::npos);
}

TEST_F(HomeDir, NothingAnywhereListsEverySourceTried) {
    auto chain = make_default_chain(ioc.get_executor(), isolated({}, home()));
    auto c = get(ioc, *chain);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), make_error_code(errc::no_credentials));
    const std::string& m = chain->last_failure();
    for (const char* part :
         {"1) environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
          "2) web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set",
          "3) shared files: no profile \"default\"", "(no such file)",
          "4) container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
          "5) instance metadata: AWS_EC2_METADATA_DISABLED is true", "Set AWS_ACCESS_KEY_ID"})
        EXPECT_NE(m.find(part), std::string::npos) << part << "\n in: " << m;
    EXPECT_EQ(chain->source(), "");
}

TEST_F(HomeDir, UnknownNamedProfileIsAnError) {
    auto chain =
        make_default_chain(ioc.get_executor(), isolated({{"AWS_PROFILE", "typo"}}, home()));
    auto c = get(ioc, *chain);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), make_error_code(errc::invalid_configuration));
    EXPECT_NE(chain->last_failure().find("\"typo\""), std::string::npos);
}

TEST(AwsErrors, Classification) {
    EXPECT_TRUE(is_retryable(errc::provider_unavailable));
    EXPECT_FALSE(is_fatal(errc::provider_unavailable));
    for (auto e : {errc::no_credentials, errc::invalid_configuration, errc::provider_rejected,
                   errc::no_region, errc::invalid_endpoint}) {
        EXPECT_TRUE(is_fatal(e));
        EXPECT_FALSE(is_retryable(e));
    }
    EXPECT_FALSE(is_fatal(errc::cancelled));
    EXPECT_EQ(make_error_code(errc::no_credentials).message(), "no AWS credentials found");
}

} // namespace
} // namespace sqs2pg::aws
