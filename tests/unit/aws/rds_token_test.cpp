// RDS IAM auth tokens against botocore's generate_db_auth_token for fixed credentials and
// a frozen clock (tests/data/rds-tokens: the vectors and the script that made them).
#include <sqs2pg/aws/rds.hpp>
#include <sqs2pg/aws/signer.hpp>

#include "test_env.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace sqs2pg::aws {
namespace {

TEST(RdsToken, MatchesBotocoreVectors) {
    const auto doc =
        boost::json::parse(test::read_file(test::data_path("rds-tokens/vectors.json")));
    const auto& cases = doc.at("cases").as_array();
    ASSERT_GE(cases.size(), 5u);
    for (const auto& v : cases) {
        const auto& c = v.as_object();
        const auto text = [&](const char* k) { return std::string(c.at(k).as_string()); };
        SCOPED_TRACE(text("name"));
        const credentials creds{
            text("access_key_id"), text("secret_access_key"), text("session_token"), {}};
        const auto now = parse_amz_date(text("time"));
        ASSERT_TRUE(now);
        const auto port = static_cast<std::uint16_t>(c.at("port").as_int64());
        EXPECT_EQ(rds_auth_token(text("host"), port, text("user"), text("region"), creds, *now),
                  text("token"));
    }
}

TEST(RdsToken, ShapeAndLifetime) {
    const credentials creds{"AKIDEXAMPLE", "secret", "", {}};
    const auto t =
        rds_auth_token("h", 5432, "u", "us-east-1", creds, *parse_amz_date("20240115T083005Z"));
    EXPECT_TRUE(t.starts_with("h:5432/?Action=connect&DBUser=u&X-Amz-Algorithm=AWS4-HMAC-SHA256&"));
    EXPECT_NE(t.find("&X-Amz-Expires=900&"), std::string::npos);
    EXPECT_EQ(t.find("https://"), std::string::npos);
    EXPECT_EQ(t.find("X-Amz-Security-Token"), std::string::npos);
}

} // namespace
} // namespace sqs2pg::aws
