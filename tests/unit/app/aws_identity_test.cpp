// The AWS identity options: --pg-iam-auth and its TLS rule, the RDS token's target and
// region, --mask-key-secret, the rds-token command word, and keygen's KMS argument checks
// (no AWS call is reached in any of these).
#include <sqs2pg/app/commands/keys.hpp>
#include <sqs2pg/app/config.hpp>
#include <sqs2pg/app/pg_iam.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sqs2pg::app {
namespace {

config_result<invocation> parse(std::vector<std::string> args, const environment& env = {}) {
    args.insert(args.begin(), "sqs2pg");
    return parse_command_line(std::span<const std::string>(args), env);
}

std::vector<std::string> run_args(std::vector<std::string> extra) {
    std::vector<std::string> v = {"--queue-url", "http://127.0.0.1:5000/123/q", "--mask-key-file",
                                  "/k"};
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
}

TEST(PgIamAuth, NeedsTlsThatCannotFallBackToPlainText) {
    for (const char* mode : {"disable", "allow", "prefer"}) {
        auto r = parse(run_args(
            {"--pg-iam-auth", "--pg", std::string("host=db.example user=app sslmode=") + mode}));
        ASSERT_FALSE(r) << mode;
        EXPECT_TRUE(r.error().message.starts_with("sqs2pg: --pg-iam-auth: needs sslmode=require"))
            << r.error().message;
        EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
    }
    // No sslmode at all is libpq's "prefer": refused too, from the environment switch.
    environment env;
    env.vars["SQS2PG_PG_IAM_AUTH"] = "true";
    auto none = parse(run_args({"--pg", "postgresql://app@db.example/x"}), env);
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message.find("SQS2PG_PG_IAM_AUTH"), std::string::npos);
    EXPECT_NE(none.error().message.find("which means prefer"), std::string::npos);
    for (const char* mode : {"require", "verify-ca", "verify-full"}) {
        auto ok = parse(run_args(
            {"--pg-iam-auth", "--pg", std::string("host=db.example user=app sslmode=") + mode}));
        ASSERT_TRUE(ok) << ok.error().message;
        EXPECT_TRUE(ok->run.pg_iam_auth);
    }
    auto off = parse(run_args({"--pg", "host=db.example user=app"}));
    ASSERT_TRUE(off);
    EXPECT_FALSE(off->run.pg_iam_auth);
}

TEST(PgIamAuth, TargetFromTheStringOrPgVariables) {
    environment env;
    auto t = iam_auth_target(
        "postgresql://app_user@db.abc.eu-west-1.rds.amazonaws.com:6543/x?sslmode=verify-full", env);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->host, "db.abc.eu-west-1.rds.amazonaws.com");
    EXPECT_EQ(t->port, 6543);
    EXPECT_EQ(t->user, "app_user");
    env.vars = {{"PGHOST", "h"}, {"PGUSER", "u"}, {"PGSSLMODE", "require"}, {"PGPORT", "5433"}};
    auto from_env = iam_auth_target("", env);
    ASSERT_TRUE(from_env) << from_env.error().message;
    EXPECT_EQ(from_env->host, "h");
    EXPECT_EQ(from_env->port, 5433);
    EXPECT_EQ(from_env->user, "u");
    EXPECT_EQ(iam_auth_target("host=h user=u sslmode=require", {})->port, 5432);

    const auto refused = [](const std::string& conninfo, std::string_view expect) {
        auto r = iam_auth_target(conninfo, {});
        ASSERT_FALSE(r) << conninfo;
        EXPECT_NE(r.error().message.find(expect), std::string::npos) << r.error().message;
    };
    refused("host=a,b user=u sslmode=require", "exactly one host");
    refused("host=/var/run/postgresql user=u sslmode=require", "exactly one host");
    refused("user=u sslmode=require", "exactly one host");
    refused("host=h sslmode=require", "database user");
    refused("host=h user=u sslmode=require password='secret' port=x", "port");
    refused("host=h user=u sslmode=require '", "does not parse");
}

TEST(PgIamAuth, RegionFromRdsHostNames) {
    EXPECT_EQ(rds_host_region("db.abc123.eu-west-1.rds.amazonaws.com"), "eu-west-1");
    EXPECT_EQ(rds_host_region("c.cluster-x.cn-north-1.rds.amazonaws.com.cn"), "cn-north-1");
    EXPECT_FALSE(rds_host_region("db.internal"));
    EXPECT_FALSE(rds_host_region("10.0.0.1"));
}

TEST(MaskKeySecret, SatisfiesTheKeyRequirementButNotBesideAFile) {
    auto ok = parse({"--queue-url", "http://127.0.0.1:5000/123/q", "--mask-key-secret",
                     "arn:aws:secretsmanager:us-east-1:1:secret:mask"});
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->run.mask_key_secret, "arn:aws:secretsmanager:us-east-1:1:secret:mask");
    environment env;
    env.vars["SQS2PG_MASK_KEY_SECRET"] = "name";
    auto from_env = parse({"--queue-url", "http://127.0.0.1:5000/123/q"}, env);
    ASSERT_TRUE(from_env) << from_env.error().message;
    EXPECT_EQ(from_env->run.mask_key_secret, "name");
    auto both = parse(run_args({"--mask-key-secret", "x"}));
    ASSERT_FALSE(both);
    EXPECT_NE(both.error().message.find("give only one of them"), std::string::npos);
}

TEST(Commands, RdsTokenIsACommand) {
    auto r = parse({"rds-token", "--host", "h"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->cmd, command::rds_token);
    std::ostringstream out, err;
    const std::vector<std::string> missing = {"--host", "h"};
    EXPECT_EQ(run_rds_token(missing, {}, out, err), 2);
    EXPECT_NE(err.str().find("--host, --port and --user are required"), std::string::npos);
    std::ostringstream o2, e2;
    const std::vector<std::string> bad_port = {"--host", "h", "--port", "0", "--user", "u"};
    EXPECT_EQ(run_rds_token(bad_port, {}, o2, e2), 2);
    std::ostringstream o3, e3;
    const std::vector<std::string> help = {"--help"};
    EXPECT_EQ(run_rds_token(help, {}, o3, e3), 0);
    EXPECT_NE(o3.str().find("generate-db-auth-token"), std::string::npos);
}

TEST(Commands, RdsTokenWithStaticCredentialsPrintsOneLine) {
    environment env;
    env.vars = {{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                {"AWS_SECRET_ACCESS_KEY", "secret"},
                {"AWS_EC2_METADATA_DISABLED", "true"},
                {"HOME", "/nonexistent-sqs2pg-home"}};
    std::ostringstream out, err;
    const std::vector<std::string> args = {
        "--host", "db.x.eu-west-1.rds.amazonaws.com", "--port", "5432", "--user", "app"};
    ASSERT_EQ(run_rds_token(args, env, out, err), 0) << err.str();
    const std::string t = out.str();
    EXPECT_TRUE(t.starts_with("db.x.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app&"))
        << t;
    EXPECT_NE(t.find("%2Feu-west-1%2Frds-db%2Faws4_request"), std::string::npos) << t;
    EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 1);
}

TEST(KeygenKms, ArgumentChecks) {
    const auto status = [](std::vector<std::string_view> args, std::string_view expect) {
        std::ostringstream out, err;
        const int s = run_keygen(args, environment{}, out, err);
        EXPECT_NE(err.str().find(expect), std::string::npos) << err.str();
        return s;
    };
    EXPECT_EQ(status({"--kms-key-id", "alias/x"}, "needs --out FILE"), 2);
    EXPECT_EQ(status({"--add"}, "needs --out FILE"), 2);
    EXPECT_EQ(status({"--add", "--kms-key-id", "k", "--out", "/tmp/x"}, "leave out --kms-key-id"),
              2);
    EXPECT_EQ(
        status({"--kms-encryption-context", "a=b", "--out", "/tmp/x"}, "goes with --kms-key-id"),
        2);
    EXPECT_EQ(status({"--kms-key-id", "k", "--kms-encryption-context", "nope", "--out",
                      "/tmp/sqs2pg-never"},
                     "KEY=VALUE"),
              2);

    // --add on a plain key file says how plain files rotate.
    const auto dir = std::filesystem::temp_directory_path() / "sqs2pg_keygen_add_test";
    std::filesystem::create_directories(dir);
    const std::string file = (dir / "plain.keys").string();
    std::filesystem::remove(file);
    {
        std::ostringstream out, err;
        std::vector<std::string_view> args = {"--out", file};
        ASSERT_EQ(run_keygen(args, environment{}, out, err), 0) << err.str();
    }
    EXPECT_EQ(status({"--add", "--out", file}, "works on KMS keyrings"), 2);
    std::filesystem::remove_all(dir);
}

} // namespace
} // namespace sqs2pg::app
