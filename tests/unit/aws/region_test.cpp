// Region and SQS endpoint resolution: the order of sources, the queue URL's host, and
// what the errors tell the user.
#include <sqs2pg/aws/region.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::aws {
namespace {

TEST(Region, LooksLikeARegion) {
    for (const char* r : {"us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1", "il-central-1",
                          "ap-southeast-4", "us-isob-east-1"})
        EXPECT_TRUE(looks_like_region(r)) << r;
    for (const char* r : {"", "us", "us-east", "-east-1", "us--east-1", "US-EAST-1", "us-east-1a",
                          "us_east_1", "1", "us-1"})
        EXPECT_FALSE(looks_like_region(r)) << r;
}

TEST(Region, FromSqsHostNames) {
    EXPECT_EQ(region_from_host("sqs.eu-west-1.amazonaws.com"), "eu-west-1");
    EXPECT_EQ(region_from_host("SQS.EU-WEST-1.AMAZONAWS.COM"), "eu-west-1");
    EXPECT_EQ(region_from_host("sqs.cn-north-1.amazonaws.com.cn"), "cn-north-1");
    EXPECT_EQ(region_from_host("sqs-fips.us-gov-west-1.amazonaws.com"), "us-gov-west-1");
    EXPECT_EQ(region_from_host("ap-southeast-2.queue.amazonaws.com"), "ap-southeast-2");
    EXPECT_EQ(region_from_host("queue.amazonaws.com"), "us-east-1");
    EXPECT_EQ(region_from_host("vpce-0a1b2c3d-4e5f6a7b.sqs.us-east-2.vpce.amazonaws.com"),
              "us-east-2");
    EXPECT_EQ(region_from_host("sqs.us-east-1.localhost.localstack.cloud"), "us-east-1");
    EXPECT_FALSE(region_from_host("localhost"));
    EXPECT_FALSE(region_from_host("127.0.0.1"));
    EXPECT_FALSE(region_from_host("sqs.amazonaws.com"));
    EXPECT_FALSE(region_from_host("eu-west-1.queue.example.com"));
}

profile profile_with_region(std::string region) {
    profile p;
    p.name = "default";
    p.found = !region.empty();
    if (!region.empty())
        p.values["region"] = std::move(region);
    p.sources = "/h/.aws/credentials, /h/.aws/config";
    return p;
}

TEST(ResolveRegion, EnvironmentThenProfileThenQueueUrl) {
    const std::string url = "https://sqs.ap-south-1.amazonaws.com/123456789012/q";
    auto r = resolve_region(
        environment{{"AWS_REGION", "eu-west-1"}, {"AWS_DEFAULT_REGION", "us-west-2"}}, "",
        profile_with_region("us-east-2"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->region, "eu-west-1");
    EXPECT_EQ(r->source, "AWS_REGION");

    r = resolve_region(environment{{"AWS_DEFAULT_REGION", "us-west-2"}}, "",
                       profile_with_region("us-east-2"));
    EXPECT_EQ(r->region, "us-west-2");
    EXPECT_EQ(r->source, "AWS_DEFAULT_REGION");

    r = resolve_region(environment{}, url, profile_with_region("ap-south-1"));
    EXPECT_EQ(r->region, "ap-south-1");
    EXPECT_EQ(r->source, "profile default");
    EXPECT_EQ(r->warning, "");

    r = resolve_region(environment{}, url, profile_with_region(""));
    EXPECT_EQ(r->region, "ap-south-1");
    EXPECT_EQ(r->source, "queue URL");
}

TEST(ResolveRegion, WarnsWhenTheQueueUrlNamesAnotherRegion) {
    auto r = resolve_region(environment{{"AWS_REGION", "eu-west-1"}},
                            "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                            profile_with_region(""));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->region, "eu-west-1");
    EXPECT_NE(r->warning.find("us-east-1"), std::string::npos);
    EXPECT_NE(r->warning.find("AWS_REGION"), std::string::npos);
    // A local emulator's URL names no region: nothing to warn about.
    r = resolve_region(environment{{"AWS_REGION", "eu-west-1"}},
                       "http://localhost:4566/000000000000/q", profile_with_region(""));
    EXPECT_EQ(r->warning, "");
}

TEST(ResolveRegion, ErrorsSayWhereItLooked) {
    auto r = resolve_region(environment{}, "http://localhost:4566/000000000000/q",
                            profile_with_region(""));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::no_region));
    EXPECT_NE(r.error().message.find("AWS_REGION"), std::string::npos);
    EXPECT_NE(r.error().message.find("/h/.aws/config"), std::string::npos);
    EXPECT_NE(r.error().message.find("queue URL"), std::string::npos);

    r = resolve_region(environment{{"AWS_REGION", "Frankfurt"}}, "", profile_with_region(""));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::invalid_configuration));
    EXPECT_NE(r.error().message.find("Frankfurt"), std::string::npos);
}

TEST(ResolveEndpoint, ConfiguredThenQueueUrlThenDefault) {
    const std::string url = "https://sqs.eu-west-1.amazonaws.com/123456789012/q";
    auto e = resolve_sqs_endpoint(environment{{"AWS_ENDPOINT_URL_SQS", "http://localhost:9324/x"},
                                              {"AWS_ENDPOINT_URL", "http://other:1"}},
                                  url, "eu-west-1");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->origin(), "http://localhost:9324");
    EXPECT_EQ(e->path, ""); // the queue path goes in each request's target

    e = resolve_sqs_endpoint(environment{{"AWS_ENDPOINT_URL", "http://other:1"}}, url, "x");
    EXPECT_EQ(e->origin(), "http://other:1");

    e = resolve_sqs_endpoint(environment{}, "http://127.0.0.1:5000/123456789012/q", "us-east-1");
    EXPECT_EQ(e->origin(), "http://127.0.0.1:5000");

    e = resolve_sqs_endpoint(environment{}, "", "eu-north-1");
    EXPECT_EQ(e->origin(), "https://sqs.eu-north-1.amazonaws.com");
    e = resolve_sqs_endpoint(environment{}, "", "cn-northwest-1");
    EXPECT_EQ(e->origin(), "https://sqs.cn-northwest-1.amazonaws.com.cn");
}

TEST(ResolveEndpoint, IgnoreConfiguredEndpointUrls) {
    auto e = resolve_sqs_endpoint(environment{{"AWS_ENDPOINT_URL_SQS", "http://localhost:9324"},
                                              {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"}},
                                  "", "us-east-1");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->origin(), "https://sqs.us-east-1.amazonaws.com");
}

TEST(ResolveEndpoint, ErrorsNameTheCulprit) {
    auto e = resolve_sqs_endpoint(environment{{"AWS_ENDPOINT_URL_SQS", "localhost:9324"}}, "",
                                  "us-east-1");
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code, make_error_code(errc::invalid_endpoint));
    EXPECT_NE(e.error().message.find("AWS_ENDPOINT_URL_SQS=localhost:9324"), std::string::npos);

    e = resolve_sqs_endpoint(environment{}, "sqs.us-east-1.amazonaws.com/1/q", "us-east-1");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("queue URL"), std::string::npos);

    e = resolve_sqs_endpoint(environment{}, "", "");
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code, make_error_code(errc::no_region));
}

} // namespace
} // namespace sqs2pg::aws
