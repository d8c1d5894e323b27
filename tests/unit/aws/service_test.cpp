// The generic AWS call's sans-io half: query and JSON 1.1 encoding, error answers as the
// services send them (STS XML, KMS / Secrets Manager JSON, moto's KMS 403 with XML body and
// the type in X-Amzn-ErrorType), retry classification, service endpoints.
#include <sqs2pg/aws/service.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::aws {
namespace {

TEST(ServiceEncode, QueryBodyIsFormEncodedInOrder) {
    const auto r = encode_query(
        "AssumeRole", "2011-06-15",
        {{"RoleArn", "arn:aws:iam::123456789012:role/app"}, {"RoleSessionName", "a b/c~d"}});
    EXPECT_EQ(r.action, "AssumeRole");
    EXPECT_EQ(r.content_type, "application/x-www-form-urlencoded; charset=utf-8");
    EXPECT_EQ(r.amz_target, "");
    EXPECT_EQ(r.body, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                      "123456789012%3Arole%2Fapp&RoleSessionName=a+b%2Fc~d");
    EXPECT_FALSE(r.anonymous);
}

TEST(ServiceEncode, JsonTargetAndContentType) {
    const auto r = encode_json("TrentService", "Decrypt", R"({"CiphertextBlob":"AQID"})");
    EXPECT_EQ(r.amz_target, "TrentService.Decrypt");
    EXPECT_EQ(r.content_type, "application/x-amz-json-1.1");
    EXPECT_EQ(r.body, R"({"CiphertextBlob":"AQID"})");
}

TEST(ServiceDecode, SuccessIsNoFault) {
    EXPECT_FALSE(decode_fault({200, "<x/>", "", "", ""}));
}

TEST(ServiceDecode, StsXmlError) {
    // As STS answers an AssumeRole the caller may not make.
    const service_response r{
        403,
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
        "  <Error>\n    <Type>Sender</Type>\n    <Code>AccessDenied</Code>\n"
        "    <Message>User: arn:aws:iam::123456789012:user/x is not authorized to perform: "
        "sts:AssumeRole on resource: arn:aws:iam::123456789012:role/y</Message>\n  </Error>\n"
        "  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n</ErrorResponse>\n",
        "", "", ""};
    const auto f = decode_fault(r);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->code, "AccessDenied");
    EXPECT_NE(f->message.find("not authorized to perform: sts:AssumeRole"), std::string::npos);
}

TEST(ServiceDecode, KmsJsonError) {
    const service_response r{400,
                             R"({"__type":"com.amazonaws.kms#NotFoundException",)"
                             R"("message":"Key 'arn:aws:kms:us-east-1:1:key/x' does not exist"})",
                             "", "", ""};
    const auto f = decode_fault(r);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->code, "NotFoundException");
    EXPECT_EQ(f->message, "Key 'arn:aws:kms:us-east-1:1:key/x' does not exist");
}

TEST(ServiceDecode, ErrorTypeHeaderWinsAndXmlBodyStillGivesTheMessage) {
    // moto 5.2 with IAM checks on: a KMS AccessDenied is a 403 with an XML body and the
    // error type only in X-Amzn-ErrorType.
    const service_response r{
        403,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Errors><Error>"
        "<Code>AccessDeniedException</Code><Message>User: arn:aws:iam::123456789012:user/"
        "reader is not authorized to perform: kms:Decrypt</Message></Error></Errors>"
        "</ErrorResponse>",
        "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/", "", ""};
    const auto f = decode_fault(r);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->code, "AccessDeniedException");
    EXPECT_NE(f->message.find("kms:Decrypt"), std::string::npos);
}

TEST(ServiceDecode, QueryErrorHeaderAndEmptyBody) {
    const auto f =
        decode_fault({400, "", "", "AWS.SimpleQueueService.NonExistentQueue;Sender", ""});
    ASSERT_TRUE(f);
    EXPECT_EQ(f->code, "AWS.SimpleQueueService.NonExistentQueue");
    EXPECT_EQ(f->message, "");
    const auto none = decode_fault({502, "Bad Gateway", "", "", ""});
    ASSERT_TRUE(none);
    EXPECT_EQ(none->code, "");
}

TEST(ServiceDecode, MessageIsKeptOnOneLine) {
    const auto f = decode_fault({400, R"({"__type":"X","Message":"a\nb\u0007c"})", "", "", ""});
    ASSERT_TRUE(f);
    EXPECT_EQ(f->message, "a b c");
}

TEST(ServiceRetry, TransientFaultsOnly) {
    EXPECT_TRUE(is_retryable_fault(500, ""));
    EXPECT_TRUE(is_retryable_fault(503, "ServiceUnavailable"));
    EXPECT_TRUE(is_retryable_fault(429, ""));
    EXPECT_TRUE(is_retryable_fault(400, "ThrottlingException"));
    EXPECT_TRUE(is_retryable_fault(400, "Throttling"));
    EXPECT_TRUE(is_retryable_fault(400, "IDPCommunicationError"));
    EXPECT_FALSE(is_retryable_fault(400, "AccessDeniedException"));
    EXPECT_FALSE(is_retryable_fault(403, "AccessDenied"));
    EXPECT_FALSE(is_retryable_fault(400, "InvalidCiphertextException"));
}

TEST(ServiceXml, FirstElementAtAnyDepth) {
    EXPECT_EQ(xml_text("<a><b><Code>X</Code></b><Code>Y</Code></a>", "Code"), "X");
    EXPECT_FALSE(xml_text("<a/>", "Code"));
    EXPECT_FALSE(xml_text("not xml <", "Code"));
}

TEST(ServiceEndpoint, SpecificVariableThenGenericThenRegional) {
    environment env{{"AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:5000"},
                    {"AWS_ENDPOINT_URL", "http://127.0.0.1:6000"}};
    EXPECT_EQ(resolve_service_endpoint(env, "KMS", "kms", "eu-west-1")->origin(),
              "http://127.0.0.1:5000");
    EXPECT_EQ(resolve_service_endpoint(env, "STS", "sts", "eu-west-1")->origin(),
              "http://127.0.0.1:6000");
    env.set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
    EXPECT_EQ(resolve_service_endpoint(env, "STS", "sts", "eu-west-1")->origin(),
              "https://sts.eu-west-1.amazonaws.com");
    EXPECT_EQ(
        resolve_service_endpoint(environment{}, "SECRETS_MANAGER", "secretsmanager", "cn-north-1")
            ->origin(),
        "https://secretsmanager.cn-north-1.amazonaws.com.cn");
}

TEST(ServiceEndpoint, RefusesPlainHttpToAwsAndBadUrls) {
    auto plain = resolve_service_endpoint(
        environment{{"AWS_ENDPOINT_URL_KMS", "http://kms.us-east-1.amazonaws.com"}}, "KMS", "kms",
        "us-east-1");
    ASSERT_FALSE(plain);
    EXPECT_EQ(plain.error().code, make_error_code(errc::invalid_endpoint));
    EXPECT_NE(plain.error().message.find("AWS_ENDPOINT_URL_KMS"), std::string::npos);
    auto bad = resolve_service_endpoint(environment{{"AWS_ENDPOINT_URL", "ftp://x"}}, "KMS", "kms",
                                        "us-east-1");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, make_error_code(errc::invalid_endpoint));
    auto none = resolve_service_endpoint(environment{}, "KMS", "kms", "");
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, make_error_code(errc::no_region));
}

} // namespace
} // namespace sqs2pg::aws
