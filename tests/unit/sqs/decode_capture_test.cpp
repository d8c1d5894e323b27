// The codec on every captured moto response (tests/data/sqs-responses): structure,
// escaping, MD5 checks, per-entry batch results and both error shapes. Ids, handles and
// timestamps in the captures are random, so the tests assert on structure.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/sqs/codec.hpp>
#include <sqs2pg/sqs/integrity.hpp>

#include "capture.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace sqs2pg::sqs {
namespace {

using test::load_capture;

const std::string queue_url = "http://127.0.0.1:54999/123456789012/parser-test-queue";

bool looks_like_uuid(const std::string& s) {
    static const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    return std::regex_match(s, uuid);
}

// The request that produced a capture, rebuilt from index.json.
send_message_batch_request send_batch_from_index(const std::string& file) {
    send_message_batch_request r{queue_url, {}};
    for (const auto& [name, value] : test::index_params(file)) {
        const std::string prefix = "SendMessageBatchRequestEntry.";
        if (!name.starts_with(prefix))
            continue;
        const auto dot = name.find('.', prefix.size());
        const auto index = std::stoul(name.substr(prefix.size(), dot - prefix.size()));
        if (r.entries.size() < index)
            r.entries.resize(index);
        auto& e = r.entries[index - 1];
        const auto field = name.substr(dot + 1);
        if (field == "Id")
            e.id = value;
        else if (field == "MessageBody")
            e.body = value;
        else if (field == "DelaySeconds")
            e.delay_seconds = std::stoi(value);
        else if (field.starts_with("MessageAttribute.")) {
            const auto rest = field.substr(std::string("MessageAttribute.").size());
            const auto ai = std::stoul(rest.substr(0, rest.find('.')));
            if (e.message_attributes.size() < ai)
                e.message_attributes.resize(ai);
            auto& a = e.message_attributes[ai - 1];
            if (rest.ends_with(".Name"))
                a.name = value;
            else if (rest.ends_with(".DataType"))
                a.data_type = value;
            else
                a.value = value;
        }
    }
    return r;
}

TEST(DecodeCapture, CreateQueueAndGetQueueUrlYieldTheQueueUrl) {
    const auto created = load_capture("01-create-queue.http");
    const auto got = load_capture("02-get-queue-url.http");
    const auto got_signed = load_capture("24-auth-ok-get-queue-url.http");
    // The body decides the format: a JSON-configured client reading XML still works.
    for (auto p : {protocol::query, protocol::json}) {
        const auto url =
            decode_response(p, create_queue_request{"parser-test-queue", {}, {}}, created.wire());
        ASSERT_TRUE(url) << describe(url.error());
        EXPECT_EQ(*url, queue_url);
        for (const auto* c : {&got, &got_signed}) {
            const auto u =
                decode_response(p, get_queue_url_request{"parser-test-queue", {}}, c->wire());
            ASSERT_TRUE(u) << describe(u.error());
            EXPECT_EQ(*u, queue_url);
        }
    }
    const auto empty = load_capture("12-create-queue-empty.http");
    const auto url =
        decode_response(protocol::query, create_queue_request{"x", {}, {}}, empty.wire());
    ASSERT_TRUE(url);
    EXPECT_TRUE(url->ends_with("/123456789012/parser-empty-queue")) << *url;
}

TEST(DecodeCapture, SendMessageReportsIdAndDigestsAndChecksThem) {
    const auto c = load_capture("03-send-message.http");
    send_message_request r{queue_url, {}};
    r.message.body = "single message body";
    r.message.message_attributes = {{"trace-id", "String", "abc-123"}, {"priority", "Number", "5"}};
    const auto sent = decode_response(protocol::query, r, c.wire());
    ASSERT_TRUE(sent) << describe(sent.error());
    EXPECT_TRUE(looks_like_uuid(sent->message_id)) << sent->message_id;
    EXPECT_EQ(sent->md5_of_message_body, base::md5_hex(r.message.body));
    EXPECT_EQ(sent->md5_of_message_attributes, "fbd710af86ac601fcc7ea8af19e8c0c5");

    // What SQS stored differs from what was sent: not a success.
    r.message.body = "another body";
    const auto mismatch = decode_response(protocol::query, r, c.wire());
    ASSERT_FALSE(mismatch);
    EXPECT_EQ(mismatch.error().code, "sqs2pg.MD5OfMessageBodyMismatch");
}

TEST(DecodeCapture, SendMessageBatchMixesSuccessesAndAnEntryFailureUnderHttp200) {
    const auto c = load_capture("04-send-message-batch.http");
    ASSERT_EQ(c.status, 200u);
    const auto request = send_batch_from_index("04-send-message-batch.http");
    ASSERT_EQ(request.entries.size(), 5u);
    const auto res = decode_response(protocol::query, request, c.wire());
    ASSERT_TRUE(res) << describe(res.error());
    ASSERT_EQ(res->successful.size(), 4u);
    EXPECT_EQ(res->successful[0].id, "ascii");
    EXPECT_EQ(res->successful[1].id, "unicode");
    EXPECT_EQ(res->successful[2].id, "xml_special");
    EXPECT_EQ(res->successful[3].id, "with-attrs");
    for (const auto& s : res->successful)
        EXPECT_TRUE(looks_like_uuid(s.message_id)) << s.message_id;
    EXPECT_EQ(res->successful[3].md5_of_message_attributes, "ea4cd23cddb3081504655c7720a0975f");
    ASSERT_EQ(res->failed.size(), 1u);
    const auto* f = res->failure("bad_delay");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->code, "InvalidParameterValue");
    EXPECT_TRUE(f->sender_fault);
    EXPECT_EQ(classify(f->code, 0), errc::invalid_request);
    EXPECT_FALSE(res->all_succeeded());
}

TEST(DecodeCapture, ReceiveWithAllAttributesRestoresBodiesExactlyAndPassesTheMd5Checks) {
    const auto c = load_capture("05-receive-message-all-attributes.http");
    const auto res =
        decode_response(protocol::query, receive_message_request{queue_url, {}}, c.wire());
    ASSERT_TRUE(res) << describe(res.error());
    EXPECT_TRUE(res->rejected.empty());
    ASSERT_EQ(res->messages.size(), 5u);

    const auto& first = res->messages[0];
    EXPECT_EQ(first.body, "single message body");
    EXPECT_TRUE(looks_like_uuid(first.message_id));
    EXPECT_EQ(first.receipt_handle.size(), 185u);
    EXPECT_EQ(first.md5_of_body, base::md5_hex(first.body));
    EXPECT_EQ(first.sender_id(), "AIDAIT2UOQQY3AUEKVGXU");
    EXPECT_EQ(first.approximate_receive_count(), 1u);
    ASSERT_TRUE(first.sent_timestamp_ms());
    EXPECT_GT(*first.sent_timestamp_ms(), 1'700'000'000'000); // epoch milliseconds
    EXPECT_EQ(first.sent_timestamp()->time_since_epoch(),
              std::chrono::milliseconds(*first.sent_timestamp_ms()));
    ASSERT_TRUE(first.approximate_first_receive_timestamp());
    EXPECT_GE(*first.approximate_first_receive_timestamp(), *first.sent_timestamp());
    EXPECT_FALSE(first.aws_trace_header());
    EXPECT_FALSE(first.message_group_id());
    ASSERT_EQ(first.message_attributes.size(), 2u);
    const auto* trace = first.find_message_attribute("trace-id");
    ASSERT_NE(trace, nullptr);
    EXPECT_EQ(trace->data_type, "String");
    EXPECT_EQ(trace->value, "abc-123");
    const auto* priority = first.find_message_attribute("priority");
    ASSERT_NE(priority, nullptr);
    EXPECT_EQ(priority->data_type, "Number");
    EXPECT_EQ(priority->value, "5");
    EXPECT_EQ(first.md5_of_message_attributes, "fbd710af86ac601fcc7ea8af19e8c0c5");

    EXPECT_EQ(res->messages[1].body, "hello world");
    EXPECT_EQ(res->messages[2].body,
              "h\u00e9llo w\u00f6rld \u2013 \u65e5\u672c\u8a9e \u2013 \U0001F680");
    // &quot; &lt; &amp; and &#xD; undone, the literal LF and TAB kept.
    EXPECT_EQ(res->messages[3].body, "<tag attr=\"v\">a & b 'q'</tag>\r\nline2\ttab");
    EXPECT_EQ(res->messages[4].body, R"({"json": true, "n": 1})");
    EXPECT_EQ(res->messages[4].find_message_attribute("content-type")->value, "application/json");
    for (const auto& m : res->messages)
        EXPECT_EQ(integrity_problem(m), "") << m.body;
}

TEST(DecodeCapture, ATamperedBodyOrAttributeIsRejectedNotReturned) {
    auto c = load_capture("05-receive-message-all-attributes.http");
    const auto original = c.body;

    c.body.replace(c.body.find("<Body>hello world"), 17, "<Body>hello World");
    auto res = decode_response(protocol::query, receive_message_request{queue_url, {}}, c.wire());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->messages.size(), 4u);
    ASSERT_EQ(res->rejected.size(), 1u);
    EXPECT_EQ(res->rejected[0].reason, "MD5OfBody mismatch");
    EXPECT_TRUE(looks_like_uuid(res->rejected[0].message_id));
    EXPECT_EQ(res->rejected[0].receipt_handle.size(), 185u);
    for (const auto& m : res->messages)
        EXPECT_NE(m.body, "hello World");
    // The others come whole and in their order (the decoder's vector is compacted).
    c.body = original;
    const auto all =
        decode_response(protocol::query, receive_message_request{queue_url, {}}, c.wire());
    ASSERT_TRUE(all);
    ASSERT_EQ(all->messages.size(), 5u);
    std::vector<const message*> others;
    for (const auto& m : all->messages)
        if (m.message_id != res->rejected[0].message_id)
            others.push_back(&m);
    ASSERT_EQ(others.size(), res->messages.size());
    for (std::size_t i = 0; i < others.size(); ++i) {
        const message& got = res->messages[i];
        const message& want = *others[i];
        EXPECT_EQ(got.message_id, want.message_id);
        EXPECT_EQ(got.receipt_handle, want.receipt_handle);
        EXPECT_EQ(got.body, want.body);
        EXPECT_EQ(got.md5_of_body, want.md5_of_body);
        EXPECT_EQ(got.attributes, want.attributes);
        EXPECT_EQ(got.message_attributes, want.message_attributes);
    }

    c.body = original;
    c.body.replace(c.body.find("abc-123"), 7, "abc-124");
    res = decode_response(protocol::query, receive_message_request{queue_url, {}}, c.wire());
    ASSERT_TRUE(res);
    ASSERT_EQ(res->rejected.size(), 1u);
    EXPECT_EQ(res->rejected[0].reason, "MD5OfMessageAttributes mismatch");
    EXPECT_EQ(res->messages.size(), 4u);
}

TEST(DecodeCapture, DeleteBatchPartialFailureReportsEveryEntry) {
    const auto c = load_capture("06-delete-message-batch-partial-failure.http");
    delete_message_batch_request r{queue_url, {{"d1", "h1"}, {"d2", "h2"}, {"bad", "AQEB+x/y=="}}};
    const auto res = decode_response(protocol::query, r, c.wire());
    ASSERT_TRUE(res) << describe(res.error());
    EXPECT_EQ(res->successful, (std::vector<std::string>{"d1", "d2"}));
    ASSERT_EQ(res->failed.size(), 1u);
    EXPECT_EQ(res->failed[0].id, "bad");
    EXPECT_EQ(res->failed[0].code, "ReceiptHandleIsInvalid");
    EXPECT_TRUE(res->failed[0].sender_fault);
    // &quot; undone in server text too.
    EXPECT_NE(res->failed[0].message.find("\"AQEBbogus+receipt/handle==\""), std::string::npos);
    EXPECT_EQ(classify(res->failed[0].code, 0), errc::receipt_invalid);
    EXPECT_EQ(res->failure("d1"), nullptr);
}

TEST(DecodeCapture, ChangeVisibilityBatchReportsTwoKindsOfEntryFailure) {
    const auto c = load_capture("07-change-message-visibility-batch.http");
    change_message_visibility_batch_request r{
        queue_url,
        {{"c1", "h", 0}, {"c2", "h", 0}, {"too_long", "h", 50000}, {"bad_handle", "x", 0}}};
    const auto res = decode_response(protocol::query, r, c.wire());
    ASSERT_TRUE(res) << describe(res.error());
    EXPECT_EQ(res->successful, (std::vector<std::string>{"c1", "c2"}));
    ASSERT_EQ(res->failed.size(), 2u);
    EXPECT_EQ(res->failure("too_long")->code, "InvalidParameterValue");
    EXPECT_EQ(res->failure("bad_handle")->code, "ReceiptHandleIsInvalid");
}

TEST(DecodeCapture, RedeliveredMessageCarriesReceiveCountTwoAndOnlyRequestedAttributes) {
    const auto c = load_capture("08-receive-message-redelivered.http");
    const auto res =
        decode_response(protocol::query, receive_message_request{queue_url, {}}, c.wire());
    ASSERT_TRUE(res);
    ASSERT_EQ(res->messages.size(), 1u);
    const auto& m = res->messages[0];
    EXPECT_EQ(m.approximate_receive_count(), 2u);
    EXPECT_TRUE(m.sent_timestamp());
    EXPECT_FALSE(m.sender_id());
    EXPECT_FALSE(m.approximate_first_receive_timestamp());
    EXPECT_TRUE(m.message_attributes.empty());
}

TEST(DecodeCapture, ActionsWithoutOutputSucceedOnResponseMetadataAlone) {
    const auto deleted = load_capture("09-delete-message.http");
    EXPECT_TRUE(
        decode_response(protocol::query, delete_message_request{queue_url, "h"}, deleted.wire()));
    const auto set = load_capture("10-set-queue-attributes.http");
    EXPECT_TRUE(
        decode_response(protocol::query, set_queue_attributes_request{queue_url, {}}, set.wire()));
    // The wrong action's response is not mistaken for success.
    const auto wrong =
        decode_response(protocol::query, delete_queue_request{queue_url}, deleted.wire());
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().kind, errc::bad_response);
}

TEST(DecodeCapture, QueueAttributesAsAMap) {
    const auto c = load_capture("11-get-queue-attributes-all.http");
    const auto res =
        decode_response(protocol::query, get_queue_attributes_request{queue_url}, c.wire());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->size(), 12u);
    EXPECT_EQ(attribute_as_number(*res, "ApproximateNumberOfMessages"), 0u);
    EXPECT_EQ(attribute_as_number(*res, "ApproximateNumberOfMessagesNotVisible"), 2u);
    EXPECT_EQ(attribute_as_number(*res, "VisibilityTimeout"), 45u);
    EXPECT_EQ(attribute_as_number(*res, "MaximumMessageSize"), 1'048'576u);
    EXPECT_EQ(res->at("QueueArn"), "arn:aws:sqs:us-east-1:123456789012:parser-test-queue");
    // moto's fractional timestamps stay available as text but are not whole numbers.
    EXPECT_FALSE(attribute_as_number(*res, "CreatedTimestamp"));
    EXPECT_FALSE(res->at("CreatedTimestamp").empty());
    EXPECT_FALSE(attribute_as_number(*res, "NoSuchAttribute"));
}

TEST(DecodeCapture, EmptyReceiveIsNoMessagesNotAnError) {
    const auto c = load_capture("13-receive-message-empty.http");
    const auto res =
        decode_response(protocol::query, receive_message_request{queue_url, {}}, c.wire());
    ASSERT_TRUE(res);
    EXPECT_TRUE(res->messages.empty());
    EXPECT_TRUE(res->rejected.empty());
}

TEST(DecodeCapture, NonExistentQueueIsAFatalNotFoundWithCodeStatusAndRequestId) {
    for (const char* file :
         {"14-error-get-queue-url-nonexistent.http", "15-error-receive-message-nonexistent.http"}) {
        const auto c = load_capture(file);
        const auto res =
            decode_response(protocol::query, receive_message_request{queue_url, {}}, c.wire());
        ASSERT_FALSE(res) << file;
        const auto& e = res.error();
        EXPECT_EQ(e.kind, errc::not_found);
        EXPECT_EQ(e.code, "AWS.SimpleQueueService.NonExistentQueue");
        EXPECT_EQ(e.http_status, 400u);
        EXPECT_EQ(e.request_id.size(), 52u);
        EXPECT_EQ(e.request_id, c.header("x-amzn-requestid"));
        EXPECT_TRUE(e.sender_fault);
        // <Message> wins over moto's extra lower-case <message>.
        EXPECT_EQ(e.message, "The specified queue does not exist for this wsdl version.");
        EXPECT_EQ(e.action, "ReceiveMessage");
        EXPECT_TRUE(is_fatal(e));
        EXPECT_FALSE(is_retryable(e));
    }
}

TEST(DecodeCapture, RequestErrorsAreNeitherRetryableNorFatal) {
    const std::pair<const char*, const char*> cases[] = {
        {"16-error-receive-message-max-11.http", "InvalidParameterValue"},
        {"18-error-send-message-batch-11-entries.http",
         "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
        {"19-error-delete-message-batch-empty.http", "AWS.SimpleQueueService.EmptyBatchRequest"},
        {"20-error-change-visibility-over-43200.http", "InvalidParameterValue"},
    };
    for (const auto& [file, code] : cases) {
        const auto c = load_capture(file);
        const auto res = decode_response(
            protocol::query, delete_message_batch_request{queue_url, {{"a", "h"}}}, c.wire());
        ASSERT_FALSE(res) << file;
        EXPECT_EQ(res.error().code, code);
        EXPECT_EQ(res.error().kind, errc::invalid_request) << file;
        EXPECT_EQ(res.error().http_status, 400u);
        EXPECT_FALSE(is_retryable(res.error()));
        EXPECT_FALSE(is_fatal(res.error()));
        EXPECT_FALSE(res.error().message.empty());
    }
    const auto c = load_capture("17-error-delete-message-bad-handle.http");
    const auto res =
        decode_response(protocol::query, delete_message_request{queue_url, "x"}, c.wire());
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::receipt_invalid);
}

TEST(DecodeCapture, JsonSendMessageDigests) {
    const auto c = load_capture("21-json-send-message.http");
    send_message_request r{"http://127.0.0.1:54999/123456789012/parser-empty-queue", {}};
    r.message.body = "json <protocol> & \"quotes\"";
    r.message.message_attributes = {{"k", "String", "v"}};
    const auto sent = decode_response(protocol::json, r, c.wire());
    ASSERT_TRUE(sent) << describe(sent.error());
    EXPECT_TRUE(looks_like_uuid(sent->message_id));
    EXPECT_EQ(sent->md5_of_message_attributes, "0a77b0642718c3d9dd47090567d11e0d");
}

TEST(DecodeCapture, JsonReceiveReadsMessagesAttributesAndMessageAttributes) {
    const auto c = load_capture("22-json-receive-message.http");
    const auto res =
        decode_response(protocol::json, receive_message_request{queue_url, {}}, c.wire());
    ASSERT_TRUE(res) << describe(res.error());
    EXPECT_TRUE(res->rejected.empty());
    ASSERT_EQ(res->messages.size(), 1u);
    const auto& m = res->messages[0];
    EXPECT_EQ(m.body, "json <protocol> & \"quotes\"");
    EXPECT_EQ(m.approximate_receive_count(), 1u);
    EXPECT_TRUE(m.sent_timestamp());
    EXPECT_EQ(m.sender_id(), "AIDAIT2UOQQY3AUEKVGXU");
    ASSERT_EQ(m.message_attributes.size(), 1u);
    EXPECT_EQ(m.message_attributes[0], (message_attribute{"k", "String", "v"}));
    EXPECT_EQ(m.receipt_handle.size(), 185u);
}

TEST(DecodeCapture, JsonErrorMapsToTheSameKindAndCodeAsTheQueryError) {
    const auto c = load_capture("23-json-error-get-queue-url-nonexistent.http");
    const auto res =
        decode_response(protocol::json, get_queue_url_request{"no-such-queue", {}}, c.wire());
    ASSERT_FALSE(res);
    const auto& e = res.error();
    EXPECT_EQ(e.kind, errc::not_found);
    // The legacy code from x-amzn-query-error, as botocore reports it.
    EXPECT_EQ(e.code, "AWS.SimpleQueueService.NonExistentQueue");
    EXPECT_EQ(e.http_status, 400u);
    EXPECT_EQ(e.request_id, c.header("x-amzn-requestid"));
    EXPECT_EQ(e.message, "The specified queue does not exist.");
    EXPECT_TRUE(e.sender_fault);

    // Without the header, __type (namespace stripped) decides.
    auto w = c.wire();
    w.query_error = {};
    const auto bare = decode_response(protocol::json, get_queue_url_request{"q", {}}, w);
    ASSERT_FALSE(bare);
    EXPECT_EQ(bare.error().code, "QueueDoesNotExist");
    EXPECT_EQ(bare.error().kind, errc::not_found);
}

TEST(DecodeCapture, AuthErrorsInMotosUnnamespacedShapeAreFatalAndSayWhatToCheck) {
    const std::pair<const char*, const char*> cases[] = {
        {"25-auth-error-signature-does-not-match.http", "SignatureDoesNotMatch"},
        {"26-auth-error-invalid-client-token-id.http", "InvalidClientTokenId"},
    };
    for (const auto& [file, code] : cases) {
        const auto c = load_capture(file);
        for (auto p : {protocol::query, protocol::json}) {
            const auto res =
                decode_response(p, get_queue_url_request{"parser-test-queue", {}}, c.wire());
            ASSERT_FALSE(res) << file;
            const auto& e = res.error();
            EXPECT_EQ(e.code, code);
            EXPECT_EQ(e.kind, errc::auth);
            EXPECT_EQ(e.http_status, 403u);
            EXPECT_TRUE(is_fatal(e));
            EXPECT_FALSE(is_retryable(e));
            // No RequestId in the body: the header's.
            EXPECT_EQ(e.request_id, c.header("x-amzn-requestid"));
            EXPECT_FALSE(e.message.empty());
            const auto text = describe(e);
            EXPECT_NE(text.find(code), std::string::npos) << text;
            EXPECT_NE(text.find("clock"), std::string::npos) << text;
            EXPECT_NE(text.find("secret access key"), std::string::npos) << text;
            EXPECT_NE(text.find("region"), std::string::npos) << text;
            EXPECT_NE(text.find("endpoint"), std::string::npos) << text;
            // Server text stays out of the log line.
            EXPECT_EQ(text.find(e.message), std::string::npos) << text;
        }
    }
}

// Every capture decodes to a success or an error as its status says, never throws.
TEST(DecodeCapture, EveryCaptureDecodesAsItsStatusSays) {
    std::size_t count = 0;
    for (const auto& r : test::capture_index().at("responses").as_array()) {
        const std::string file(r.at("file").as_string());
        const auto c = load_capture(file);
        EXPECT_EQ(c.status, r.at("status").as_int64()) << file;
        const auto err = decode_error("Any", c.wire());
        EXPECT_EQ(err.has_value(), c.status != 200) << file;
        if (err) {
            EXPECT_FALSE(err->code.empty()) << file;
            EXPECT_EQ(err->http_status, c.status);
            EXPECT_FALSE(err->request_id.empty()) << file;
        }
        ++count;
    }
    EXPECT_EQ(count, 26u);
}

} // namespace
} // namespace sqs2pg::sqs
