// STS, sans-io: AssumeRole / AssumeRoleWithWebIdentity requests, the credentials in their
// answers, the STS endpoint, and the plans of profiles that assume roles.
#include <sqs2pg/aws/sts.hpp>
#include <sqs2pg/base/time.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::aws {
namespace {

TEST(StsEncode, AssumeRoleWithEveryOption) {
    role_step r{"arn:aws:iam::123456789012:role/app", "sess", "ext-1", 1800, "p"};
    const auto req = encode_assume_role(r);
    EXPECT_EQ(req.body, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                        "123456789012%3Arole%2Fapp&RoleSessionName=sess&DurationSeconds=1800&"
                        "ExternalId=ext-1");
    EXPECT_FALSE(req.anonymous);
}

TEST(StsEncode, WebIdentityIsAnonymousAndCarriesTheToken) {
    role_step r{"arn:aws:iam::1:role/app", "", "", std::nullopt, ""};
    const auto req = encode_assume_role_with_web_identity(r, "eyJhbGciOi.x.y");
    EXPECT_TRUE(req.anonymous);
    EXPECT_TRUE(req.body.starts_with("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&"
                                     "RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fapp&"
                                     "RoleSessionName=sqs2pg-"))
        << req.body;
    EXPECT_TRUE(req.body.ends_with("&WebIdentityToken=eyJhbGciOi.x.y"));
}

constexpr std::string_view assume_role_answer =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleResult>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>\n"
    "      <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764</SessionToken>\n"
    "      <Expiration>2019-11-09T13:34:41Z</Expiration>\n"
    "    </Credentials>\n"
    "    <PackedPolicySize>6</PackedPolicySize>\n"
    "  </AssumeRoleResult>\n"
    "  <ResponseMetadata><RequestId>c6104cbe</RequestId></ResponseMetadata>\n"
    "</AssumeRoleResponse>\n";

TEST(StsParse, Credentials) {
    auto c = parse_sts_credentials(assume_role_answer);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->access_key_id, "ASIAIOSFODNN7EXAMPLE");
    EXPECT_EQ(c->secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    EXPECT_EQ(c->session_token, "AQoDYXdzEPT//////////wEXAMPLEtc764");
    EXPECT_EQ(c->expiration, base::parse_iso8601("2019-11-09T13:34:41Z"));
}

TEST(StsParse, MissingPiecesAreNamedNotQuoted) {
    std::string no_token(assume_role_answer);
    no_token.replace(no_token.find("<SessionToken>"),
                     no_token.find("</SessionToken>") + 15 - no_token.find("<SessionToken>"), "");
    auto c = parse_sts_credentials(no_token);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, make_error_code(errc::invalid_document));
    EXPECT_NE(c.error().message.find("SessionToken"), std::string::npos);
    EXPECT_EQ(c.error().message.find("wJalr"), std::string::npos);
    EXPECT_FALSE(parse_sts_credentials("<x/>"));
    EXPECT_FALSE(parse_sts_credentials("{}"));
}

TEST(StsTarget, RegionalByDefaultGlobalWithoutRegionEmulatorsByVariable) {
    auto regional = resolve_sts(environment{{"AWS_REGION", "eu-west-1"}}, "");
    ASSERT_TRUE(regional);
    EXPECT_EQ(regional->endpoint.origin(), "https://sts.eu-west-1.amazonaws.com");
    EXPECT_EQ(regional->region, "eu-west-1");
    auto from_profile = resolve_sts(environment{}, "ap-south-1");
    EXPECT_EQ(from_profile->endpoint.origin(), "https://sts.ap-south-1.amazonaws.com");
    auto global = resolve_sts(environment{}, "");
    EXPECT_EQ(global->endpoint.origin(), "https://sts.amazonaws.com");
    EXPECT_EQ(global->region, "us-east-1");
    auto emulator = resolve_sts(environment{{"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5000"}}, "");
    EXPECT_EQ(emulator->endpoint.origin(), "http://127.0.0.1:5000");
    EXPECT_EQ(emulator->region, "us-east-1");
    auto generic = resolve_sts(
        environment{{"AWS_ENDPOINT_URL", "http://127.0.0.1:6000"}, {"AWS_REGION", "eu-west-2"}},
        "");
    EXPECT_EQ(generic->endpoint.origin(), "http://127.0.0.1:6000");
    EXPECT_EQ(generic->region, "eu-west-2");
}

shared_files files(std::string_view credentials_text, std::string_view config_text) {
    shared_files f;
    f.sources = "test files";
    if (!credentials_text.empty())
        f.credentials = parse_ini(credentials_text, "credentials").value();
    if (!config_text.empty())
        f.config = parse_ini(config_text, "config").value();
    return f;
}

TEST(ProfilePlan, StaticKeysAreNotAPlan) {
    auto p = plan_profile_roles("default", files("[default]\naws_access_key_id=K\n"
                                                 "aws_secret_access_key=S\n",
                                                 ""));
    ASSERT_TRUE(p);
    EXPECT_FALSE(*p);
}

TEST(ProfilePlan, RoleFromSourceProfileKeysWithOptions) {
    auto p =
        plan_profile_roles("app", files("[base]\naws_access_key_id=K\naws_secret_access_key=S\n",
                                        "[profile app]\nrole_arn=arn:aws:iam::1:role/app\n"
                                        "source_profile=base\nexternal_id=ext\n"
                                        "role_session_name=s1\nduration_seconds=1200\n"
                                        "region=eu-central-1\n"));
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_TRUE(*p);
    const role_plan& plan = **p;
    EXPECT_EQ(plan.base, role_plan::base_kind::static_keys);
    EXPECT_EQ(plan.keys.access_key_id, "K");
    ASSERT_EQ(plan.roles.size(), 1u);
    EXPECT_EQ(plan.roles[0].role_arn, "arn:aws:iam::1:role/app");
    EXPECT_EQ(plan.roles[0].external_id, "ext");
    EXPECT_EQ(plan.roles[0].session_name, "s1");
    EXPECT_EQ(plan.roles[0].duration_seconds, 1200);
    EXPECT_EQ(plan.region, "eu-central-1");
}

TEST(ProfilePlan, ChainsAreAssumedInnermostFirst) {
    auto p = plan_profile_roles("outer", files("", "[profile outer]\nrole_arn=arn:o\n"
                                                   "source_profile=middle\n"
                                                   "[profile middle]\nrole_arn=arn:m\n"
                                                   "source_profile=base\n"
                                                   "[profile base]\naws_access_key_id=K\n"
                                                   "aws_secret_access_key=S\n"));
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_TRUE(*p);
    ASSERT_EQ((*p)->roles.size(), 2u);
    EXPECT_EQ((*p)->roles[0].role_arn, "arn:m");
    EXPECT_EQ((*p)->roles[1].role_arn, "arn:o");
}

TEST(ProfilePlan, SelfReferenceUsesItsOwnKeys) {
    auto p = plan_profile_roles("me", files("[me]\naws_access_key_id=K\naws_secret_access_key=S\n"
                                            "role_arn=arn:r\nsource_profile=me\n",
                                            ""));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ((*p)->base, role_plan::base_kind::static_keys);
    EXPECT_EQ((*p)->roles.size(), 1u);
}

TEST(ProfilePlan, CredentialSources) {
    for (const auto& [name, kind] : {std::pair{"Environment", role_plan::base_kind::environment},
                                     std::pair{"Ec2InstanceMetadata", role_plan::base_kind::imds},
                                     std::pair{"EcsContainer", role_plan::base_kind::container}}) {
        auto p = plan_profile_roles(
            "default",
            files("", std::string("[default]\nrole_arn=arn:r\ncredential_source=") + name + "\n"));
        ASSERT_TRUE(p) << p.error().message;
        EXPECT_EQ((*p)->base, kind) << name;
        EXPECT_EQ((*p)->roles.size(), 1u);
    }
    auto bad = plan_profile_roles("default",
                                  files("", "[default]\nrole_arn=arn:r\ncredential_source=Moon\n"));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("credential_source must be"), std::string::npos);
}

TEST(ProfilePlan, WebIdentityProfile) {
    auto p = plan_profile_roles("default", files("", "[default]\nrole_arn=arn:w\n"
                                                     "web_identity_token_file=/var/token\n"
                                                     "role_session_name=pod\n"));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ((*p)->base, role_plan::base_kind::web_identity);
    EXPECT_EQ((*p)->token_file, "/var/token");
    EXPECT_EQ((*p)->web_identity_role.role_arn, "arn:w");
    EXPECT_EQ((*p)->web_identity_role.session_name, "pod");
    EXPECT_TRUE((*p)->roles.empty());
}

TEST(ProfilePlan, RoleOnTopOfAWebIdentityProfile) {
    auto p = plan_profile_roles("x", files("", "[profile x]\nrole_arn=arn:x\nsource_profile=w\n"
                                               "[profile w]\nrole_arn=arn:w\n"
                                               "web_identity_token_file=/t\n"));
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ((*p)->base, role_plan::base_kind::web_identity);
    ASSERT_EQ((*p)->roles.size(), 1u);
    EXPECT_EQ((*p)->roles[0].role_arn, "arn:x");
}

TEST(ProfilePlan, Refusals) {
    const auto refused = [](std::string_view config, std::string_view expect) {
        auto p = plan_profile_roles("a", files("", config));
        ASSERT_FALSE(p) << config;
        EXPECT_EQ(p.error().code, make_error_code(errc::invalid_configuration));
        EXPECT_NE(p.error().message.find(expect), std::string::npos) << p.error().message;
    };
    refused("[profile a]\nrole_arn=r\nsource_profile=b\n[profile b]\nrole_arn=r2\n"
            "source_profile=a\n",
            "loops back");
    refused("[profile a]\nrole_arn=r\nsource_profile=nowhere\n", "source_profile \"nowhere\"");
    refused("[profile a]\nrole_arn=r\n", "without source_profile");
    refused("[profile a]\nrole_arn=r\nsource_profile=b\ncredential_source=Environment\n"
            "[profile b]\naws_access_key_id=K\naws_secret_access_key=S\n",
            "both source_profile and credential_source");
    refused("[profile a]\nrole_arn=r\nsource_profile=b\n[profile b]\nregion=x\n",
            "neither aws_access_key_id");
    refused("[profile a]\nrole_arn=r\ncredential_source=Environment\nduration_seconds=60\n",
            "duration_seconds");
}

} // namespace
} // namespace sqs2pg::aws
