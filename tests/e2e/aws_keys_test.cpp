// Mask keys held by AWS KMS and Secrets Manager, through the binary against moto with IAM
// checks on: keygen --kms-key-id writes a KMS keyring (one GenerateDataKey), run masks with
// it (one Decrypt at start), unmask recovers values for a principal allowed kms:Decrypt and
// is refused (exit 2, the missing permission named) for one that is not; keygen --add
// rotates, old values stay readable and rekey moves them; --mask-key-secret reads the
// keys from a secret.
// And run itself as a role assumed from a profile: the role's policy decides.
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/kms.hpp>
#include <sqs2pg/aws/service.hpp>
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/mask/masker.hpp>

#include "harness.hpp"
#include "test_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace sqs2pg::e2e {
namespace {

namespace asio = boost::asio;

// One admin call to moto (IAM, KMS, Secrets Manager); returns the body.
std::string admin_send(std::string_view service, aws::service_request req) {
    asio::io_context ioc;
    auto creds = aws::make_static_provider(services::get().admin);
    aws::service_options o;
    o.region = services::get().region;
    o.service = std::string(service);
    aws::service_client c(ioc.get_executor(),
                          http::endpoint::parse(services::get().sqs_endpoint).value(), creds.get(),
                          o);
    std::optional<aws::result<std::string>> r;
    const std::string action = req.action;
    asio::co_spawn(
        ioc, [&]() -> asio::awaitable<void> { r = co_await c.async_call(std::move(req)); },
        asio::detached);
    ioc.run();
    if (!r || !*r)
        throw std::runtime_error(action + ": " + (r ? r->error().message : "no answer"));
    return **r;
}

// A JSON 1.1 call (KMS, Secrets Manager).
std::string admin_call(std::string_view service, std::string_view prefix, std::string_view action,
                       std::string body) {
    return admin_send(service, aws::encode_json(prefix, action, std::move(body)));
}

// An IAM role anyone in the account may assume, with `policy` inline; returns its ARN.
std::string create_role(const std::string& name, const std::string& policy) {
    const std::string trust =
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},)"
        R"("Action":"sts:AssumeRole"}]})";
    const std::string made = admin_send(
        "iam", aws::encode_query("CreateRole", "2010-05-08",
                                 {{"RoleName", name}, {"AssumeRolePolicyDocument", trust}}));
    admin_send("iam", aws::encode_query("PutRolePolicy", "2010-05-08",
                                        {{"RoleName", name},
                                         {"PolicyName", name + "-policy"},
                                         {"PolicyDocument", policy}}));
    auto arn = aws::xml_text(made, "Arn");
    if (!arn)
        throw std::runtime_error("CreateRole: no Arn");
    return *arn;
}

std::string allow(std::string_view actions) {
    return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[)" +
           std::string(actions) + R"(],"Resource":"*"}]})";
}

std::string create_kms_key() {
    const auto doc = boost::json::parse(admin_call("kms", "TrentService", "CreateKey", "{}"));
    return std::string(doc.at("KeyMetadata").at("Arn").as_string());
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

class aws_keys : public e2e_test {
protected:
    // The AWS variables that point KMS and Secrets Manager at moto.
    std::vector<std::string> aws_env(const std::optional<aws::credentials>& creds = {}) const {
        return run_env({"AWS_ENDPOINT_URL_KMS=" + services::get().sqs_endpoint,
                        "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + services::get().sqs_endpoint,
                        "AWS_REGION=" + services::get().region},
                       creds);
    }
};

TEST_F(aws_keys, KmsKeyringMasksAndOnlyKmsDecryptHoldersUnmask) {
    const std::string key_arn = create_kms_key();
    const std::string file = dir_ + "/kms.keys";
    auto made = run({"keygen", "--kms-key-id", key_arn, "--kms-encryption-context",
                     "table=user_logins", "--kid", "kms1", "--out", file},
                    aws_env(), 60s);
    ASSERT_EQ(made.status.code, 0) << made.err;
    const std::string text = slurp(file);
    EXPECT_NE(text.find("sqs2pg-keyring 2 kms\n"), std::string::npos) << text;
    EXPECT_NE(text.find("kms-key-id " + key_arn), std::string::npos);
    EXPECT_NE(text.find("kms-context table=user_logins"), std::string::npos);

    // run masks with the KMS keyring (Decrypt once at start).
    const auto logins = sample_logins();
    sqs().send(queue_url_, logins.bodies);
    std::vector<std::string> args = run_args({"--mask", "aes-siv", "--drain"});
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--mask-key-file")
            args[i + 1] = file;
    auto ran = run(args, aws_env(), 120s);
    ASSERT_EQ(ran.status.code, 0) << ran.err;
    EXPECT_EQ(rows(), 99);
    const std::string masked =
        db().value("SELECT masked_ip FROM " + table() + " ORDER BY user_id LIMIT 1");
    ASSERT_TRUE(masked.starts_with("kms1:")) << masked;

    // Without kms:Decrypt: refused, naming the permission; exit status 2.
    const auto reader = create_iam_user(
        test::unique_name("nodecrypt"),
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:*"],"Resource":"*"}]})");
    auto refused = run({"unmask", "--mask-key-file", file, masked}, aws_env(reader), 60s);
    EXPECT_EQ(refused.status.code, 2) << refused.err;
    EXPECT_NE(refused.err.find("not authorized to perform: kms:Decrypt"), std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find("needs kms:Decrypt on " + key_arn), std::string::npos)
        << refused.err;
    EXPECT_EQ(refused.out, "");

    // With kms:Decrypt: the value comes back.
    const auto holder = create_iam_user(
        test::unique_name("decrypt"),
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:Decrypt"],"Resource":"*"}]})");
    auto opened = run({"unmask", "--mask-key-file", file, masked}, aws_env(holder), 60s);
    ASSERT_EQ(opened.status.code, 0) << opened.err;
    const auto personal = sample_personal_values();
    const std::string value = opened.out.substr(0, opened.out.find('\n'));
    EXPECT_NE(std::find(personal.begin(), personal.end(), value), personal.end()) << value;

    // Rotation: a new active key; the old one still opens old values.
    auto added = run({"keygen", "--add", "--kid", "kms2", "--out", file}, aws_env(), 60s);
    ASSERT_EQ(added.status.code, 0) << added.err;
    const std::string rotated = slurp(file);
    std::string kms1_line, kms2_line;
    for (const auto& line : lines_of(rotated)) {
        if (line.starts_with("key kms1 "))
            kms1_line = line;
        if (line.starts_with("key kms2 "))
            kms2_line = line;
    }
    EXPECT_FALSE(kms1_line.empty() || kms1_line.ends_with(" active")) << rotated;
    EXPECT_TRUE(kms2_line.ends_with(" active")) << rotated;
    auto again = run({"unmask", "--mask-key-file", file, masked}, aws_env(holder), 60s);
    ASSERT_EQ(again.status.code, 0) << again.err;
    EXPECT_EQ(again.out, opened.out);

    // rekey opens the KMS keyring the same way and moves the values to kms2.
    auto rekeyed = run({"rekey", "--mask", "aes-siv", "--pg", services::get().pg, "--table",
                        table(), "--mask-key-file", file},
                       aws_env(holder), 120s);
    ASSERT_EQ(rekeyed.status.code, 0) << rekeyed.err;
    const std::string moved =
        db().value("SELECT masked_ip FROM " + table() + " ORDER BY user_id LIMIT 1");
    EXPECT_TRUE(moved.starts_with("kms2:")) << moved;
    auto after = run({"unmask", "--mask-key-file", file, moved}, aws_env(holder), 60s);
    ASSERT_EQ(after.status.code, 0) << after.err;
    EXPECT_EQ(after.out, opened.out);
}

// The run itself as an IAM role assumed from a profile (role_arn + source_profile, the
// source's keys only allowed sts:AssumeRole): the role's policy decides what it may do.
TEST_F(aws_keys, RunAsARoleAssumedFromAProfileDoesWhatTheRolePolicyAllows) {
    const auto base = create_iam_user(test::unique_name("base"), allow(R"("sts:AssumeRole")"));
    const std::string worker =
        create_role(test::unique_name("sqs2pg_worker_"), allow(R"("sqs:*")"));
    const std::string peeker = create_role(test::unique_name("sqs2pg_peeker_"),
                                           allow(R"("sqs:GetQueueUrl","sqs:GetQueueAttributes")"));
    {
        std::ofstream(dir_ + "/aws-credentials")
            << "[base]\naws_access_key_id = " << base.access_key_id
            << "\naws_secret_access_key = " << base.secret_access_key << "\n";
        std::ofstream(dir_ + "/aws-config")
            << "[profile worker]\nrole_arn = " << worker
            << "\nsource_profile = base\nrole_session_name = sqs2pg-e2e\nduration_seconds = 900\n"
            << "[profile peeker]\nrole_arn = " << peeker << "\nsource_profile = base\n";
    }
    // No keys in the environment: the profile is the only source.
    const auto profile_env = [&](const std::string& name) {
        std::vector<std::string> env;
        for (const auto& v : run_env())
            if (!v.starts_with("AWS_ACCESS_KEY_ID=") && !v.starts_with("AWS_SECRET_ACCESS_KEY=") &&
                !v.starts_with("AWS_CONFIG_FILE=") &&
                !v.starts_with("AWS_SHARED_CREDENTIALS_FILE="))
                env.push_back(v);
        env.push_back("AWS_CONFIG_FILE=" + dir_ + "/aws-config");
        env.push_back("AWS_SHARED_CREDENTIALS_FILE=" + dir_ + "/aws-credentials");
        env.push_back("AWS_PROFILE=" + name);
        env.push_back("AWS_ENDPOINT_URL_STS=" + services::get().sqs_endpoint);
        return env;
    };

    sqs().send(queue_url_, sample_logins().bodies);
    auto ran = run(run_args({"--drain"}), profile_env("worker"), 120s);
    ASSERT_EQ(ran.status.code, 0) << ran.err;
    EXPECT_EQ(rows(), 99);
    EXPECT_NE(ran.err.find("assumed role " + worker), std::string::npos) << ran.err;

    // A role that may look at the queue but not receive from it: the run stops at its
    // first receive. (The SQS client reduces AWS's text to the code: it can quote data.)
    sqs().send(queue_url_, sample_logins().bodies);
    auto refused = run(run_args({"--drain"}), profile_env("peeker"), 60s);
    EXPECT_NE(refused.status.code, 0) << refused.err;
    EXPECT_NE(refused.err.find("ReceiveMessage failed: auth (AccessDenied), HTTP 403"),
              std::string::npos)
        << refused.err;
    EXPECT_EQ(rows(), 99);
}

TEST_F(aws_keys, KmsKeyringWithAnotherEncryptionContextDoesNotOpen) {
    const std::string key_arn = create_kms_key();
    const std::string file = dir_ + "/ctx.keys";
    auto made = run({"keygen", "--kms-key-id", key_arn, "--kms-encryption-context",
                     "table=user_logins", "--out", file},
                    aws_env(), 60s);
    ASSERT_EQ(made.status.code, 0) << made.err;
    // Someone edits the context in the file: KMS (moto too) refuses the Decrypt.
    std::string text = slurp(file);
    text.replace(text.find("table=user_logins"), 17, "table=other_tabl");
    { std::ofstream(file, std::ios::trunc) << text; }
    auto refused = run({"unmask", "--mask-key-file", file, "k:AAAA"}, aws_env(), 60s);
    EXPECT_EQ(refused.status.code, 2) << refused.err;
    EXPECT_NE(refused.err.find("InvalidCiphertextException"), std::string::npos) << refused.err;
}

TEST_F(aws_keys, SecretsManagerHoldsTheKeyLines) {
    const std::string name = test::unique_name("sqs2pg-mask-key");
    boost::json::object o;
    o["Name"] = name;
    o["SecretString"] = key_text_;
    const auto created = boost::json::parse(
        admin_call("secretsmanager", "secretsmanager", "CreateSecret", boost::json::serialize(o)));
    const std::string arn(created.at("ARN").as_string());

    // A value masked with the same keys, here in the test.
    auto keys = mask::parse_keyring(key_text_, "test").value();
    const auto masker = mask::make_masker(mask::mode::aes_siv, &keys).value();
    const std::string masked = masker.mask(mask::field::ip, "203.0.113.7").value();

    auto opened = run({"unmask", "--mask-key-secret", arn, masked}, aws_env(), 60s);
    ASSERT_EQ(opened.status.code, 0) << opened.err;
    EXPECT_EQ(opened.out, "203.0.113.7\n");

    // Without secretsmanager:GetSecretValue: refused with the permission named.
    const auto other = create_iam_user(
        test::unique_name("nosecret"),
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:*"],"Resource":"*"}]})");
    std::vector<std::string> env = aws_env(other);
    env.push_back("SQS2PG_MASK_KEY_SECRET=" + arn);
    auto refused = run({"unmask", masked}, env, 60s);
    EXPECT_EQ(refused.status.code, 2) << refused.err;
    EXPECT_NE(refused.err.find("secretsmanager:GetSecretValue"), std::string::npos) << refused.err;
}

} // namespace
} // namespace sqs2pg::e2e
