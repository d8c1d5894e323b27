// Decoder tolerance beyond the moto captures: real-AWS XML shapes (declaration, other
// namespace URIs, prefixes, Detail), odd bodies, JSON errors from AWS's coral stack, and
// batch responses that leave entries out.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/sqs/codec.hpp>
#include <sqs2pg/sqs/integrity.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::sqs {
namespace {

const std::string queue_url = "https://sqs.us-east-2.amazonaws.com/123456789012/MyQueue";

wire_response response(unsigned status, std::string_view body, std::string_view request_id = {}) {
    wire_response w;
    w.status = status;
    w.body = body;
    w.request_id = request_id;
    return w;
}

std::string receive_xml(std::string_view ns_open, std::string_view prefix,
                        std::string_view body_xml, std::string_view md5) {
    std::string p(prefix);
    return std::string("<?xml version=\"1.0\"?>\n<") + p + "ReceiveMessageResponse " +
           std::string(ns_open) + ">\n  <" + p + "ReceiveMessageResult>\n    <" + p +
           "Message>\n      <" + p + "MessageId>5fea7756-0ea4-451a-a703-a558b933e274</" + p +
           "MessageId>\n      <" + p +
           "ReceiptHandle>MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw=</" +
           p + "ReceiptHandle>\n      <" + p + "MD5OfBody>" + std::string(md5) + "</" + p +
           "MD5OfBody>\n      <" + p + "Body>" + std::string(body_xml) + "</" + p +
           "Body>\n      <" + p + "Attribute><" + p + "Name>SentTimestamp</" + p + "Name><" + p +
           "Value>1238099229000</" + p + "Value></" + p + "Attribute>\n      <" + p +
           "Attribute><" + p + "Name>AWSTraceHeader</" + p + "Name><" + p +
           "Value>Root=1-5759e988-bd862e3fe1be46a994272793</" + p + "Value></" + p +
           "Attribute>\n    </" + p + "Message>\n  </" + p + "ReceiveMessageResult>\n  <" + p +
           "ResponseMetadata><" + p + "RequestId>b6633655-283d-45b4-aee4-4e84e0ae6afa</" + p +
           "RequestId></" + p + "ResponseMetadata>\n</" + p + "ReceiveMessageResponse>";
}

TEST(DecodeVariants, AwsDocumentShapesWithDeclarationOtherNamespaceOrPrefixes) {
    const std::string body = "This is a test message";
    const std::string md5 = base::md5_hex(body);
    for (const auto& xml :
         {receive_xml("xmlns=\"https://sqs.us-east-2.amazonaws.com/doc/2012-11-05/\"", "", body,
                      md5),
          receive_xml("xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"", "", body, md5),
          receive_xml("xmlns:sqs=\"http://queue.amazonaws.com/doc/2012-11-05/\"", "sqs:", body,
                      md5),
          receive_xml("", "", body, md5)}) {
        for (auto p : {protocol::query, protocol::json}) {
            const auto res =
                decode_response(p, receive_message_request{queue_url, {}}, response(200, xml));
            ASSERT_TRUE(res) << describe(res.error()) << xml;
            ASSERT_EQ(res->messages.size(), 1u) << xml;
            const auto& m = res->messages[0];
            EXPECT_EQ(m.body, body);
            EXPECT_EQ(m.receipt_handle,
                      "MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw=");
            EXPECT_EQ(m.sent_timestamp_ms(), 1'238'099'229'000);
            EXPECT_EQ(m.aws_trace_header(), "Root=1-5759e988-bd862e3fe1be46a994272793");
        }
    }
}

TEST(DecodeVariants, BodiesKeepWhitespaceCdataAndLiteralCarriageReturns) {
    const std::pair<std::string, std::string> cases[] = {
        {" ", " "},
        {"  two  spaces  ", "  two  spaces  "},
        {"<![CDATA[<raw> & stuff]]>", "<raw> & stuff"},
        {"a&#xD;&#xA;b", "a\r\nb"},
        {"a\r\nb", "a\r\nb"}, // a literal CR is what was sent: no end-of-line folding
        {"&#x1F680;&#233;", "\U0001F680\u00e9"},
        {"", ""},
    };
    for (const auto& [xml, expected] : cases) {
        const auto doc = receive_xml("", "", xml, base::md5_hex(expected));
        const auto res = decode_response(protocol::query, receive_message_request{queue_url, {}},
                                         response(200, doc));
        ASSERT_TRUE(res) << xml;
        ASSERT_EQ(res->messages.size(), 1u) << xml;
        EXPECT_EQ(res->messages[0].body, expected) << xml;
        EXPECT_TRUE(res->rejected.empty()) << xml;
    }
}

TEST(DecodeVariants, MessagesWithoutHandlesOrDigestsAreHandledSafely) {
    // No MD5OfBody: SQS always sends one, so nothing vouches for this body.
    std::string doc = receive_xml("", "", "x", "");
    doc.erase(doc.find("<MD5OfBody></MD5OfBody>"), 23);
    auto res = decode_response(protocol::query, receive_message_request{queue_url, {}},
                               response(200, doc));
    ASSERT_TRUE(res);
    EXPECT_TRUE(res->messages.empty());
    ASSERT_EQ(res->rejected.size(), 1u);
    EXPECT_EQ(res->rejected[0].reason, "missing MD5OfBody");
    // An empty MD5OfBody is compared like any other (and fails).
    res = decode_response(protocol::query, receive_message_request{queue_url, {}},
                          response(200, receive_xml("", "", "x", "")));
    ASSERT_TRUE(res);
    ASSERT_EQ(res->rejected.size(), 1u);
    EXPECT_EQ(res->rejected[0].reason, "MD5OfBody mismatch");
    // No receipt handle: it could never be deleted, so it is not returned for processing.
    doc = receive_xml("", "", "x", base::md5_hex("x"));
    const auto start = doc.find("<ReceiptHandle>");
    doc.erase(start, doc.find("</ReceiptHandle>") + 16 - start);
    res = decode_response(protocol::query, receive_message_request{queue_url, {}},
                          response(200, doc));
    ASSERT_TRUE(res);
    EXPECT_TRUE(res->messages.empty());
    ASSERT_EQ(res->rejected.size(), 1u);
    EXPECT_EQ(res->rejected[0].reason, "missing ReceiptHandle");
    EXPECT_EQ(res->rejected[0].message_id, "5fea7756-0ea4-451a-a703-a558b933e274");
    // Upper-case hex digests are accepted.
    std::string upper = base::md5_hex("x");
    for (auto& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    res = decode_response(protocol::query, receive_message_request{queue_url, {}},
                          response(200, receive_xml("", "", "x", upper)));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->messages.size(), 1u);
}

TEST(DecodeVariants, RealAwsErrorShapeWithDetailAndSiblingRequestId) {
    const std::string xml = R"(<?xml version="1.0"?>
<ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">
  <Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match. The Canonical String for this request should have been 'POST /'</Message><Detail/></Error>
  <RequestId>1fc65a8f-5fa2-51d5-919a-10b51f95ab22</RequestId>
</ErrorResponse>)";
    const auto res = decode_response(protocol::query, get_queue_url_request{"q", {}},
                                     response(403, xml, "header-id"));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, "SignatureDoesNotMatch");
    EXPECT_EQ(res.error().kind, errc::auth);
    EXPECT_EQ(res.error().request_id, "1fc65a8f-5fa2-51d5-919a-10b51f95ab22"); // body wins
    EXPECT_TRUE(res.error().sender_fault);
    EXPECT_EQ(describe(res.error()).find("Canonical"), std::string::npos);
}

TEST(DecodeVariants, ThrottlingAndServerErrorsAreRetryable) {
    const auto throttled =
        R"(<ErrorResponse><Error><Type>Sender</Type><Code>RequestThrottled</Code></Error><RequestId>r</RequestId></ErrorResponse>)";
    auto res = decode_response(protocol::query, receive_message_request{queue_url, {}},
                               response(403, throttled));
    ASSERT_FALSE(res);
    // 403, yet throttling: the code decides, not the status.
    EXPECT_EQ(res.error().kind, errc::throttled);
    EXPECT_TRUE(is_retryable(res.error()));
    EXPECT_FALSE(is_fatal(res.error()));

    const auto internal =
        R"(<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code></Error><RequestId>r</RequestId></ErrorResponse>)";
    res = decode_response(protocol::query, receive_message_request{queue_url, {}},
                          response(500, internal));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::server);
    EXPECT_FALSE(res.error().sender_fault);

    // A load balancer's HTML page: the status decides.
    res = decode_response(protocol::query, receive_message_request{queue_url, {}},
                          response(503, "<html><body>Service Unavailable</body></html>"));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::server);
    EXPECT_EQ(res.error().http_status, 503u);
    EXPECT_TRUE(is_retryable(res.error()));
    res =
        decode_response(protocol::json, receive_message_request{queue_url, {}}, response(502, ""));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::server);
    res = decode_response(protocol::json, receive_message_request{queue_url, {}},
                          response(429, "slow down"));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::throttled);
}

TEST(DecodeVariants, AnErrorDocumentUnderHttp200IsStillAnError) {
    const auto xml =
        R"(<ErrorResponse><Error><Code>AWS.SimpleQueueService.NonExistentQueue</Code></Error></ErrorResponse>)";
    const auto res = decode_response(protocol::query, receive_message_request{queue_url, {}},
                                     response(200, xml));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::not_found);
    const auto js =
        decode_response(protocol::json, receive_message_request{queue_url, {}},
                        response(200, R"({"__type":"com.amazonaws.sqs#OverLimit","message":"m"})"));
    ASSERT_FALSE(js);
    EXPECT_EQ(js.error().kind, errc::over_limit);
    EXPECT_EQ(js.error().code, "OverLimit");
}

TEST(DecodeVariants, GarbageUnder200IsABadResponseNotAnEmptyResult) {
    for (const std::string_view body : {"", "OK", "<html>hi</html>", "{\"Messages\": [", "[1,2]"}) {
        const auto res = decode_response(protocol::query, receive_message_request{queue_url, {}},
                                         response(200, body));
        ASSERT_FALSE(res) << body;
        EXPECT_EQ(res.error().kind, errc::bad_response) << body;
        EXPECT_FALSE(is_retryable(res.error()));
    }
    // A success without the mandatory output is not a success either.
    const auto url =
        decode_response(protocol::json, get_queue_url_request{"q", {}}, response(200, "{}"));
    ASSERT_FALSE(url);
    EXPECT_EQ(url.error().kind, errc::bad_response);
}

TEST(DecodeVariants, JsonErrorsFromAwsFrontEndsMapToTheQueryKinds) {
    const std::pair<std::string, errc> cases[] = {
        {"com.amazon.coral.service#InvalidSignatureException", errc::auth},
        {"com.amazon.coral.service#UnrecognizedClientException", errc::auth},
        {"com.amazon.coral.service#AccessDeniedException", errc::auth},
        {"com.amazon.coral.service#ExpiredTokenException", errc::auth},
        {"com.amazon.coral.service#IncompleteSignatureException", errc::auth},
        {"com.amazonaws.sqs#QueueDoesNotExist", errc::not_found},
        {"com.amazonaws.sqs#RequestThrottled", errc::throttled},
        {"ThrottlingException", errc::throttled},
        {"com.amazonaws.sqs#ReceiptHandleIsInvalid", errc::receipt_invalid},
        {"com.amazonaws.sqs#InvalidParameterValueException:http://internal.amazon.com/",
         errc::invalid_request},
        {"com.amazonaws.sqs#PurgeQueueInProgress", errc::conflict},
        {"com.amazon.coral.availability#InternalFailure", errc::server},
    };
    for (const auto& [type, kind] : cases) {
        const std::string body = R"({"__type":")" + type + R"(","message":"secret detail"})";
        const auto res = decode_response(protocol::json, receive_message_request{queue_url, {}},
                                         response(400, body));
        ASSERT_FALSE(res) << type;
        EXPECT_EQ(res.error().kind, kind) << type;
        EXPECT_EQ(res.error().code.find('#'), std::string::npos) << res.error().code;
        EXPECT_EQ(res.error().code.find(':'), std::string::npos) << res.error().code;
        EXPECT_EQ(res.error().message, "secret detail");
    }
    // The header's legacy code wins over __type for both code and kind.
    wire_response w =
        response(400, R"({"__type":"com.amazonaws.sqs#InvalidAddress","message":"m"})");
    w.query_error = "AWS.SimpleQueueService.NonExistentQueue;Sender";
    auto res = decode_response(protocol::json, receive_message_request{queue_url, {}}, w);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, "AWS.SimpleQueueService.NonExistentQueue");
    EXPECT_EQ(res.error().kind, errc::not_found);
    w = response(500, "{}");
    w.query_error = "InternalError;Receiver";
    res = decode_response(protocol::json, receive_message_request{queue_url, {}}, w);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, "InternalError");
    EXPECT_FALSE(res.error().sender_fault);
    // Only the X-Amzn-ErrorType header (empty body).
    w = response(400, "");
    w.error_type = "com.amazonaws.sqs#QueueDoesNotExist";
    res = decode_response(protocol::json, receive_message_request{queue_url, {}}, w);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, "QueueDoesNotExist");
}

TEST(DecodeVariants, JsonToleratesUnquotedScalarsAndMissingLists) {
    const std::string body = "json body";
    const std::string js =
        R"({"Messages":[{"MessageId":"m1","ReceiptHandle":"r+/=","MD5OfBody":")" +
        base::md5_hex(body) +
        R"(","Body":"json body","Attributes":{"SentTimestamp":1700000000123,"ApproximateReceiveCount":3},
        "MessageAttributes":{"b":{"DataType":"Binary","BinaryValue":"AP8QR0lG"}},"MD5OfMessageAttributes":")" +
        md5_of_message_attributes(
            std::vector<message_attribute>{{"b", "Binary", std::string("\x00\xff\x10GIF", 6)}}) +
        R"("}]})";
    const auto res =
        decode_response(protocol::json, receive_message_request{queue_url, {}}, response(200, js));
    ASSERT_TRUE(res) << describe(res.error());
    ASSERT_EQ(res->messages.size(), 1u) << res->rejected.size();
    const auto& m = res->messages[0];
    EXPECT_EQ(m.sent_timestamp_ms(), 1'700'000'000'123);
    EXPECT_EQ(m.approximate_receive_count(), 3u);
    EXPECT_EQ(m.find_message_attribute("b")->value, std::string("\x00\xff\x10GIF", 6));
    EXPECT_TRUE(m.find_message_attribute("b")->is_binary());

    for (const std::string_view body : {"{}", "", "\n"}) {
        // local-aws-sqs answers an empty receive with an empty body.
        const auto empty = decode_response(protocol::json, receive_message_request{queue_url, {}},
                                           response(200, body));
        ASSERT_TRUE(empty) << body;
        EXPECT_TRUE(empty->messages.empty());
    }
    EXPECT_FALSE(
        decode_response(protocol::json, get_queue_url_request{"q", {}}, response(200, "")));
    EXPECT_TRUE(
        decode_response(protocol::json, delete_queue_request{queue_url}, response(200, "")));
    EXPECT_TRUE(
        decode_response(protocol::json, delete_queue_request{queue_url}, response(200, "{}")));
}

TEST(DecodeVariants, JsonBatchResults) {
    const auto js =
        R"({"Successful":[{"Id":"a"},{"Id":"c"}],"Failed":[{"Id":"b","SenderFault":true,"Code":"ReceiptHandleIsInvalid","Message":"m"}]})";
    const auto res = decode_response(
        protocol::json,
        delete_message_batch_request{queue_url, {{"a", "1"}, {"b", "2"}, {"c", "3"}}},
        response(200, js));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->successful, (std::vector<std::string>{"a", "c"}));
    ASSERT_EQ(res->failed.size(), 1u);
    EXPECT_EQ(res->failed[0].id, "b");
    EXPECT_TRUE(res->failed[0].sender_fault);
    EXPECT_EQ(res->failed[0].code, "ReceiptHandleIsInvalid");

    const std::string body = "x";
    const std::string sent =
        R"({"Successful":[{"Id":"ok","MessageId":"m1","MD5OfMessageBody":")" + base::md5_hex(body) +
        R"("},{"Id":"bad","MessageId":"m2","MD5OfMessageBody":"00000000000000000000000000000000"}]})";
    send_message_batch_request send{queue_url,
                                    {{"ok", body, {}, {}, {}, {}}, {"bad", body, {}, {}, {}, {}}}};
    const auto sres = decode_response(protocol::json, send, response(200, sent));
    ASSERT_TRUE(sres);
    ASSERT_EQ(sres->successful.size(), 1u);
    EXPECT_EQ(sres->successful[0].message_id, "m1");
    ASSERT_EQ(sres->failed.size(), 1u);
    EXPECT_EQ(sres->failed[0].code, "sqs2pg.MD5OfMessageBodyMismatch");
    EXPECT_FALSE(sres->failed[0].sender_fault);
}

TEST(DecodeVariants, EveryBatchEntryIsReportedEvenWhenTheResponseOmitsOne) {
    const auto xml = R"(<DeleteMessageBatchResponse><DeleteMessageBatchResult>
        <DeleteMessageBatchResultEntry><Id>a</Id></DeleteMessageBatchResultEntry>
        <DeleteMessageBatchResultEntry><Id>stranger</Id></DeleteMessageBatchResultEntry>
        <DeleteMessageBatchResultEntry><Id>a</Id></DeleteMessageBatchResultEntry>
        </DeleteMessageBatchResult></DeleteMessageBatchResponse>)";
    const auto res = decode_response(
        protocol::query, delete_message_batch_request{queue_url, {{"a", "1"}, {"b", "2"}}},
        response(200, xml));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->successful, std::vector<std::string>{"a"});
    ASSERT_EQ(res->failed.size(), 1u);
    EXPECT_EQ(res->failed[0].id, "b");
    EXPECT_EQ(res->failed[0].code, "sqs2pg.MissingBatchResultEntry");
    EXPECT_FALSE(res->failed[0].sender_fault);
}

} // namespace
} // namespace sqs2pg::sqs
