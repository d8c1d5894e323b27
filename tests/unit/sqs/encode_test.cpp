// Request encoding for every action in both protocols: the exact form bytes Python's
// urlencode writes (what moto verifies signatures against), targets, and JSON members.
#include <sqs2pg/sqs/codec.hpp>

#include "capture.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <iterator>
#include <random>

namespace sqs2pg::sqs {
namespace {

namespace json = boost::json;

const std::string queue_url = "http://127.0.0.1:54999/123456789012/parser-test-queue";
const std::string path = "/123456789012/parser-test-queue";

// Everything a body can hold that an encoder can get wrong.
const std::string tricky = "a b+c&d=e%f ~._-*/\u00e9\r\n\u65e5\u672c\U0001F680";
const std::string tricky_handle = "AQEB+x/y==";

json::object parse_json(const wire_request& w) {
    return json::parse(w.body).as_object();
}

TEST(FormEncoding, MatchesPythonUrlencodeByteForByte) {
    std::string body;
    append_form_field(body, "MessageBody", tricky);
    append_form_field(body, "ReceiptHandle", tricky_handle);
    // urllib.parse.urlencode([("MessageBody", tricky), ("ReceiptHandle", "AQEB+x/y==")])
    EXPECT_EQ(body, "MessageBody=a+b%2Bc%26d%3De%25f+~._-%2A%2F%C3%A9%0D%0A%E6%97%A5%E6%9C%AC"
                    "%F0%9F%9A%80&ReceiptHandle=AQEB%2Bx%2Fy%3D%3D");
}

TEST(FormEncoding, EveryByteHasOneSpelling) {
    for (int c = 0; c < 256; ++c) {
        std::string body;
        append_form_field(body, "k", std::string(1, static_cast<char>(c)));
        const std::string v = body.substr(2);
        const bool kept = std::isalnum(c) != 0 || c == '_' || c == '.' || c == '-' || c == '~';
        if (c < 128 && kept)
            EXPECT_EQ(v, std::string(1, static_cast<char>(c)));
        else if (c == ' ')
            EXPECT_EQ(v, "+");
        else {
            static constexpr char hex[] = "0123456789ABCDEF";
            EXPECT_EQ(v, (std::string{'%', hex[c >> 4], hex[c & 15]})) << c;
        }
    }
}

// The same inside longer values, at every position of the 16-byte blocks the encoder
// scans at once: each byte value between runs of unreserved bytes of every kind.
TEST(FormEncoding, EveryByteAtEveryPositionOfALongValue) {
    static constexpr char hex[] = "0123456789ABCDEF";
    const std::string filler = "aZ09_.-~mQ";
    for (int c = 0; c < 256; ++c) {
        const bool kept =
            c < 128 && (std::isalnum(c) != 0 || c == '_' || c == '.' || c == '-' || c == '~');
        const std::string spelled = kept       ? std::string(1, static_cast<char>(c))
                                    : c == ' ' ? std::string("+")
                                               : std::string{'%', hex[c >> 4], hex[c & 15]};
        for (std::size_t at = 0; at < 40; ++at) {
            std::string value, want;
            for (std::size_t i = 0; i < 41; ++i) {
                const char f = filler[i % filler.size()];
                value += i == at ? static_cast<char>(c) : f;
                want += i == at ? spelled : std::string(1, f);
            }
            std::string body;
            append_form_field(body, "k", value);
            ASSERT_EQ(body, "k=" + want) << "byte " << c << " at " << at;
        }
    }
}

TEST(QueueUrlPath, TakesThePathOfTheQueueUrl) {
    EXPECT_EQ(queue_url_path(queue_url), path);
    EXPECT_EQ(queue_url_path("https://sqs.us-east-1.amazonaws.com/123/q.fifo"), "/123/q.fifo");
    EXPECT_EQ(queue_url_path("http://localhost:4566/queue/us-east-1/000000000000/q"),
              "/queue/us-east-1/000000000000/q");
    EXPECT_EQ(queue_url_path("https://sqs.us-east-1.amazonaws.com"), "/");
    EXPECT_EQ(queue_url_path("/123/q"), "/123/q");
    EXPECT_EQ(queue_url_path(""), "/");
}

// Our encoder reproduces, parameter for parameter and in order, the requests that
// produced the captures (signed by botocore and accepted by moto).
TEST(QueryEncoding, ReproducesTheCapturedRequests) {
    receive_message_request receive{queue_url, {}};
    receive.options.visibility_timeout = 30;
    receive.options.wait_time_seconds = 0;
    auto w = encode(protocol::query, receive);
    EXPECT_EQ(w.target, path);
    EXPECT_EQ(test::parse_form(w.body),
              test::index_params("05-receive-message-all-attributes.http"));

    delete_message_batch_request del{queue_url, {}};
    change_message_visibility_batch_request vis{queue_url, {}};
    const auto del_params = test::index_params("06-delete-message-batch-partial-failure.http");
    for (std::size_t i = 2; i + 1 < del_params.size(); i += 2)
        del.entries.push_back({del_params[i].second, del_params[i + 1].second});
    w = encode(protocol::query, del);
    EXPECT_EQ(w.target, path);
    EXPECT_EQ(test::parse_form(w.body), del_params);

    const auto vis_params = test::index_params("07-change-message-visibility-batch.http");
    for (std::size_t i = 2; i + 2 < vis_params.size(); i += 3)
        vis.entries.push_back(
            {vis_params[i].second, vis_params[i + 1].second, std::stoi(vis_params[i + 2].second)});
    EXPECT_EQ(test::parse_form(encode(protocol::query, vis).body), vis_params);

    w = encode(protocol::query, get_queue_url_request{"parser-test-queue", {}});
    EXPECT_EQ(w.target, "/");
    EXPECT_EQ(test::parse_form(w.body), test::index_params("24-auth-ok-get-queue-url.http"));

    create_queue_request create{
        "parser-test-queue",
        {{"VisibilityTimeout", "60"}, {"ReceiveMessageWaitTimeSeconds", "0"}},
        {}};
    w = encode(protocol::query, create);
    EXPECT_EQ(w.target, "/");
    EXPECT_EQ(test::parse_form(w.body), test::index_params("01-create-queue.http"));

    send_message_request send{queue_url, {}};
    send.message.body = "single message body";
    send.message.message_attributes = {{"trace-id", "String", "abc-123"},
                                       {"priority", "Number", "5"}};
    EXPECT_EQ(test::parse_form(encode(protocol::query, send).body),
              test::index_params("03-send-message.http"));

    set_queue_attributes_request set{
        queue_url, {{"VisibilityTimeout", "45"}, {"MessageRetentionPeriod", "86400"}}};
    EXPECT_EQ(test::parse_form(encode(protocol::query, set).body),
              test::index_params("10-set-queue-attributes.http"));
}

TEST(QueryEncoding, ReceiveMessageExactBody) {
    receive_message_request r{"http://127.0.0.1:54999/123456789012/q", {}};
    r.options.visibility_timeout = 30;
    r.options.wait_time_seconds = 20;
    const auto w = encode(protocol::query, r);
    EXPECT_EQ(w.target, "/123456789012/q");
    EXPECT_EQ(w.content_type, "application/x-www-form-urlencoded; charset=utf-8");
    EXPECT_TRUE(w.amz_target.empty());
    EXPECT_EQ(w.body,
              "Action=ReceiveMessage&QueueUrl=http%3A%2F%2F127.0.0.1%3A54999%2F123456789012%2Fq"
              "&AttributeName.1=All&MessageAttributeName.1=All&MaxNumberOfMessages=10"
              "&VisibilityTimeout=30&WaitTimeSeconds=20&Version=2012-11-05");

    r.options = {};
    r.options.max_number_of_messages = 3;
    r.options.attribute_names = {"SentTimestamp", "ApproximateReceiveCount"};
    r.options.message_attribute_names = {"trace.*"};
    r.options.receive_request_attempt_id = "attempt-1";
    EXPECT_EQ(test::parse_form(encode(protocol::query, r).body),
              (std::vector<std::pair<std::string, std::string>>{
                  {"Action", "ReceiveMessage"},
                  {"QueueUrl", r.queue_url},
                  {"AttributeName.1", "SentTimestamp"},
                  {"AttributeName.2", "ApproximateReceiveCount"},
                  {"MessageAttributeName.1", "trace.*"},
                  {"MaxNumberOfMessages", "3"},
                  {"ReceiveRequestAttemptId", "attempt-1"},
                  {"Version", "2012-11-05"}}));
}

TEST(QueryEncoding, BatchBodiesAndHandlesWithSpecialCharactersRoundTrip) {
    send_message_batch_request send{queue_url, {}};
    send.entries.push_back(
        {"e1", tricky, 5, {{"bin", "Binary.gif", std::string("\x00\xff\x10GIF", 6)}}, "g", "d"});
    send.entries.push_back({"e2", "plain", {}, {{"n", "Number.int", "42"}}, {}, {}});
    const auto w = encode(protocol::query, send);
    EXPECT_EQ(w.target, path);
    const std::string p = "SendMessageBatchRequestEntry.";
    EXPECT_EQ(test::parse_form(w.body),
              (std::vector<std::pair<std::string, std::string>>{
                  {"Action", "SendMessageBatch"},
                  {"QueueUrl", queue_url},
                  {p + "1.Id", "e1"},
                  {p + "1.MessageBody", tricky},
                  {p + "1.DelaySeconds", "5"},
                  {p + "1.MessageGroupId", "g"},
                  {p + "1.MessageDeduplicationId", "d"},
                  {p + "1.MessageAttribute.1.Name", "bin"},
                  {p + "1.MessageAttribute.1.Value.DataType", "Binary.gif"},
                  {p + "1.MessageAttribute.1.Value.BinaryValue", "AP8QR0lG"},
                  {p + "2.Id", "e2"},
                  {p + "2.MessageBody", "plain"},
                  {p + "2.MessageAttribute.1.Name", "n"},
                  {p + "2.MessageAttribute.1.Value.DataType", "Number.int"},
                  {p + "2.MessageAttribute.1.Value.StringValue", "42"},
                  {"Version", "2012-11-05"}}));
    // The tricky body travels in urlencode's spelling.
    EXPECT_NE(w.body.find("MessageBody=a+b%2Bc%26d%3De%25f+~._-%2A%2F%C3%A9%0D%0A"),
              std::string::npos);

    delete_message_batch_request del{queue_url, {{"d1", tricky_handle}}};
    EXPECT_NE(encode(protocol::query, del).body.find("ReceiptHandle=AQEB%2Bx%2Fy%3D%3D"),
              std::string::npos);
    change_message_visibility_batch_request vis{queue_url, {{"v1", tricky_handle, 0}}};
    EXPECT_NE(encode(protocol::query, vis).body.find("ReceiptHandle=AQEB%2Bx%2Fy%3D%3D"),
              std::string::npos);
    delete_message_request one{queue_url, tricky_handle};
    EXPECT_EQ(encode(protocol::query, one).body,
              "Action=DeleteMessage&QueueUrl=http%3A%2F%2F127.0.0.1%3A54999%2F123456789012%"
              "2Fparser-test-queue"
              "&ReceiptHandle=AQEB%2Bx%2Fy%3D%3D&Version=2012-11-05");
    change_message_visibility_request cv{queue_url, tricky_handle, 60};
    EXPECT_EQ(
        test::parse_form(encode(protocol::query, cv).body),
        (std::vector<std::pair<std::string, std::string>>{{"Action", "ChangeMessageVisibility"},
                                                          {"QueueUrl", queue_url},
                                                          {"ReceiptHandle", tricky_handle},
                                                          {"VisibilityTimeout", "60"},
                                                          {"Version", "2012-11-05"}}));
}

TEST(QueryEncoding, QueueLevelActionsGoToTheQueuePathEndpointActionsToRoot) {
    EXPECT_EQ(encode(protocol::query, delete_queue_request{queue_url}).target, path);
    EXPECT_EQ(encode(protocol::query, purge_queue_request{queue_url}).target, path);
    EXPECT_EQ(encode(protocol::query, get_queue_attributes_request{queue_url}).target, path);
    EXPECT_EQ(encode(protocol::query, create_queue_request{"q", {}, {}}).target, "/");
    EXPECT_EQ(encode(protocol::query, get_queue_url_request{"q", "123"}).body,
              "Action=GetQueueUrl&QueueName=q&QueueOwnerAWSAccountId=123&Version=2012-11-05");
    EXPECT_EQ(encode(protocol::query, purge_queue_request{queue_url}).body,
              "Action=PurgeQueue&QueueUrl=http%3A%2F%2F127.0.0.1%3A54999%2F123456789012%2Fparser-"
              "test-queue"
              "&Version=2012-11-05");
    EXPECT_EQ(
        test::parse_form(
            encode(protocol::query, get_queue_attributes_request{queue_url, {"A", "B"}}).body),
        (std::vector<std::pair<std::string, std::string>>{{"Action", "GetQueueAttributes"},
                                                          {"QueueUrl", queue_url},
                                                          {"AttributeName.1", "A"},
                                                          {"AttributeName.2", "B"},
                                                          {"Version", "2012-11-05"}}));
    create_queue_request tagged{"q", {{"DelaySeconds", "1"}}, {{"team", "a b"}}};
    EXPECT_EQ(encode(protocol::query, tagged).body,
              "Action=CreateQueue&QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=1"
              "&Tag.1.Key=team&Tag.1.Value=a+b&Version=2012-11-05");
}

TEST(JsonEncoding, ReceiveMessageMembersTargetAndTypes) {
    receive_message_request r{queue_url, {}};
    r.options.wait_time_seconds = 20;
    r.options.visibility_timeout = 30;
    const auto w = encode(protocol::json, r);
    EXPECT_EQ(w.target, "/");
    EXPECT_EQ(w.content_type, "application/x-amz-json-1.0");
    EXPECT_EQ(w.amz_target, "AmazonSQS.ReceiveMessage");
    const auto o = parse_json(w);
    EXPECT_EQ(o.at("QueueUrl").as_string(), queue_url);
    EXPECT_EQ(o.at("MaxNumberOfMessages").as_int64(), 10);
    EXPECT_EQ(o.at("WaitTimeSeconds").as_int64(), 20);
    EXPECT_EQ(o.at("VisibilityTimeout").as_int64(), 30);
    EXPECT_EQ(o.at("MessageSystemAttributeNames"), json::array({"All"}));
    EXPECT_EQ(o.at("AttributeNames"), json::array({"All"}));
    EXPECT_EQ(o.at("MessageAttributeNames"), json::array({"All"}));
    EXPECT_FALSE(o.contains("Action"));
    EXPECT_FALSE(o.contains("Version"));

    r.options = {};
    r.options.attribute_names.clear();
    r.options.message_attribute_names.clear();
    const auto bare = parse_json(encode(protocol::json, r));
    EXPECT_EQ(bare.size(), 2u); // QueueUrl, MaxNumberOfMessages
}

TEST(JsonEncoding, BatchEntriesKeepBodiesAndHandlesVerbatim) {
    send_message_batch_request send{queue_url, {}};
    send.entries.push_back(
        {"e1",
         tricky,
         5,
         {{"bin", "Binary", std::string("\x00\xff\x10GIF", 6)}, {"s", "String", "x"}},
         {},
         {}});
    auto w = encode(protocol::json, send);
    EXPECT_EQ(w.amz_target, "AmazonSQS.SendMessageBatch");
    auto o = parse_json(w);
    const auto& e = o.at("Entries").as_array().at(0).as_object();
    EXPECT_EQ(e.at("Id").as_string(), "e1");
    EXPECT_EQ(e.at("MessageBody").as_string(), tricky);
    EXPECT_EQ(e.at("DelaySeconds").as_int64(), 5);
    EXPECT_EQ(e.at("MessageAttributes").at("bin").at("BinaryValue").as_string(), "AP8QR0lG");
    EXPECT_EQ(e.at("MessageAttributes").at("bin").at("DataType").as_string(), "Binary");
    EXPECT_EQ(e.at("MessageAttributes").at("s").at("StringValue").as_string(), "x");
    EXPECT_FALSE(e.contains("MessageGroupId"));

    w = encode(protocol::json,
               delete_message_batch_request{queue_url, {{"d1", tricky_handle}, {"d2", "h"}}});
    EXPECT_EQ(w.amz_target, "AmazonSQS.DeleteMessageBatch");
    EXPECT_EQ(w.target, "/");
    o = parse_json(w);
    EXPECT_EQ(o.at("QueueUrl").as_string(), queue_url);
    EXPECT_EQ(o.at("Entries"),
              json::parse(
                  R"([{"Id":"d1","ReceiptHandle":"AQEB+x/y=="},{"Id":"d2","ReceiptHandle":"h"}])"));

    w = encode(protocol::json,
               change_message_visibility_batch_request{queue_url, {{"v1", tricky_handle, 0}}});
    EXPECT_EQ(w.amz_target, "AmazonSQS.ChangeMessageVisibilityBatch");
    EXPECT_EQ(parse_json(w).at("Entries"),
              json::parse(R"([{"Id":"v1","ReceiptHandle":"AQEB+x/y==","VisibilityTimeout":0}])"));
}

TEST(JsonEncoding, DirectlyWrittenRequestsEscapeEveryByteAsJsonDoes) {
    // Delete, visibility and receive requests are written without a json::value: every
    // byte that JSON must escape (quote, backslash, each control character) and the rest
    // verbatim, so any id or handle comes back as sent.
    std::string nasty = "q\"b\\s/\u00e9\U0001F680";
    for (int c = 0; c < 0x20; ++c)
        nasty += static_cast<char>(c);
    nasty += '\x7f';
    const auto w =
        encode(protocol::json, delete_message_batch_request{nasty, {{"d1", nasty}, {nasty, "h"}}});
    const auto o = parse_json(w);
    EXPECT_EQ(o.at("QueueUrl").as_string(), nasty);
    EXPECT_EQ(o.at("Entries").as_array().at(0).at("ReceiptHandle").as_string(), nasty);
    EXPECT_EQ(o.at("Entries").as_array().at(1).at("Id").as_string(), nasty);
    EXPECT_EQ(w.body.find('\n'), std::string::npos); // written as \n, not raw

    const auto v = parse_json(encode(
        protocol::json, change_message_visibility_batch_request{queue_url, {{"v", nasty, 43200}}}));
    EXPECT_EQ(v.at("Entries").as_array().at(0).at("ReceiptHandle").as_string(), nasty);
    EXPECT_EQ(v.at("Entries").as_array().at(0).at("VisibilityTimeout").as_int64(), 43200);

    receive_message_request r{nasty, {}};
    r.options.receive_request_attempt_id = nasty;
    r.options.attribute_names = {nasty, "All"};
    const auto rr = parse_json(encode(protocol::json, r));
    EXPECT_EQ(rr.at("QueueUrl").as_string(), nasty);
    EXPECT_EQ(rr.at("ReceiveRequestAttemptId").as_string(), nasty);
    EXPECT_EQ(rr.at("AttributeNames"), json::array({json::string(nasty), "All"}));
}

TEST(JsonEncoding, EscapesLandAnywhereInAWordOfEightBytes) {
    // The writer skips eight bytes at a time while none needs escaping: strings of every
    // length up to about 70 bytes with escapes at random positions among plain ASCII, DEL
    // and UTF-8 (bytes above 0x7f, which pass through verbatim) come back as sent.
    std::mt19937 rng(8);
    const std::string specials[] = {"\"", "\\", "\n", "\x01", "\x1f", std::string(1, '\0')};
    const std::string others[] = {"a", "~", " ", "\x7f", "\u00e9", "\U0001F680"};
    for (int round = 0; round < 2000; ++round) {
        std::string handle;
        const std::size_t n = rng() % 71;
        const unsigned escape_odds = 1 + rng() % 30; // from mostly escapes to a rare one
        while (handle.size() < n)
            handle += rng() % escape_odds == 0 ? specials[rng() % std::size(specials)]
                                               : others[rng() % std::size(others)];
        const auto o = parse_json(
            encode(protocol::json, delete_message_batch_request{queue_url, {{"d", handle}}}));
        ASSERT_EQ(o.at("Entries").as_array().at(0).at("ReceiptHandle").as_string(), handle)
            << "round " << round;
    }
}

TEST(JsonEncoding, QueueActions) {
    auto w = encode(protocol::json, get_queue_url_request{"q", {}});
    EXPECT_EQ(w.amz_target, "AmazonSQS.GetQueueUrl");
    EXPECT_EQ(parse_json(w), json::parse(R"({"QueueName":"q"})"));
    w = encode(protocol::json,
               create_queue_request{"q", {{"VisibilityTimeout", "60"}}, {{"team", "a"}}});
    EXPECT_EQ(w.amz_target, "AmazonSQS.CreateQueue");
    EXPECT_EQ(
        parse_json(w),
        json::parse(
            R"({"QueueName":"q","Attributes":{"VisibilityTimeout":"60"},"tags":{"team":"a"}})"));
    w = encode(protocol::json, get_queue_attributes_request{queue_url, {"All"}});
    EXPECT_EQ(w.amz_target, "AmazonSQS.GetQueueAttributes");
    EXPECT_EQ(parse_json(w).at("AttributeNames"), json::array({"All"}));
    EXPECT_EQ(encode(protocol::json, delete_queue_request{queue_url}).amz_target,
              "AmazonSQS.DeleteQueue");
    EXPECT_EQ(encode(protocol::json, purge_queue_request{queue_url}).amz_target,
              "AmazonSQS.PurgeQueue");
    EXPECT_EQ(parse_json(encode(protocol::json, purge_queue_request{queue_url}))
                  .at("QueueUrl")
                  .as_string(),
              queue_url);
    w = encode(protocol::json,
               set_queue_attributes_request{queue_url, {{"VisibilityTimeout", "45"}}});
    EXPECT_EQ(w.amz_target, "AmazonSQS.SetQueueAttributes");
    EXPECT_EQ(parse_json(w).at("Attributes"), json::parse(R"({"VisibilityTimeout":"45"})"));

    send_message_request send{queue_url, {}};
    send.message.body = tricky;
    w = encode(protocol::json, send);
    EXPECT_EQ(w.amz_target, "AmazonSQS.SendMessage");
    EXPECT_EQ(parse_json(w).at("MessageBody").as_string(), tricky);
    w = encode(protocol::json, delete_message_request{queue_url, tricky_handle});
    EXPECT_EQ(w.amz_target, "AmazonSQS.DeleteMessage");
    EXPECT_EQ(parse_json(w).at("ReceiptHandle").as_string(), tricky_handle);
    w = encode(protocol::json, change_message_visibility_request{queue_url, tricky_handle, 7});
    EXPECT_EQ(w.amz_target, "AmazonSQS.ChangeMessageVisibility");
    EXPECT_EQ(parse_json(w).at("VisibilityTimeout").as_int64(), 7);
}

TEST(Validation, BatchLimitsAreCheckedBeforeSending) {
    delete_message_batch_request r{queue_url, {}};
    auto e = validate(r);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, errc::invalid_argument);
    EXPECT_EQ(e->code, "AWS.SimpleQueueService.EmptyBatchRequest");
    EXPECT_EQ(e->http_status, 0u);

    for (int i = 0; i < 10; ++i)
        r.entries.push_back({"id-" + std::to_string(i), "h"});
    EXPECT_FALSE(validate(r));
    r.entries.push_back({"id-10", "h"});
    e = validate(r);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest");

    r.entries.resize(2);
    r.entries[1].id = r.entries[0].id;
    e = validate(r);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct");

    for (const std::string& bad :
         std::vector<std::string>{"", "has space", "dot.ted", std::string(81, 'a'), "\u00e9"}) {
        r.entries = {{bad, "h"}};
        e = validate(r);
        ASSERT_TRUE(e) << bad;
        EXPECT_EQ(e->code, "AWS.SimpleQueueService.InvalidBatchEntryId") << bad;
    }
    r.entries = {{std::string(80, 'a'), "h"}, {"A-z_09", "h"}};
    EXPECT_FALSE(validate(r));

    change_message_visibility_batch_request vis{queue_url, {{"v", "h", 43'201}}};
    e = validate(vis);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, "InvalidParameterValue");
    vis.entries[0].visibility_timeout = 43'200;
    EXPECT_FALSE(validate(vis));

    send_message_batch_request send{queue_url, {{"s", "b", 901, {}, {}, {}}}};
    EXPECT_TRUE(validate(send));
    send.entries[0].delay_seconds = 900;
    EXPECT_FALSE(validate(send));
    EXPECT_TRUE(validate(send_message_batch_request{"", send.entries}));
}

TEST(Validation, ReceiveOptionsWithinSqsLimits) {
    receive_message_request r{queue_url, {}};
    EXPECT_FALSE(validate(r));
    r.options.max_number_of_messages = 11;
    EXPECT_TRUE(validate(r));
    r.options.max_number_of_messages = 0;
    EXPECT_TRUE(validate(r));
    r.options.max_number_of_messages = 1;
    r.options.wait_time_seconds = 21;
    EXPECT_TRUE(validate(r));
    r.options.wait_time_seconds = 20;
    r.options.visibility_timeout = -1;
    EXPECT_TRUE(validate(r));
    r.options.visibility_timeout = 0;
    EXPECT_FALSE(validate(r));
    EXPECT_TRUE(validate(receive_message_request{"", {}}));
    EXPECT_TRUE(validate(get_queue_url_request{"", {}}));
}

TEST(Protocol, NamesRoundTrip) {
    EXPECT_EQ(parse_protocol("query"), protocol::query);
    EXPECT_EQ(parse_protocol("json"), protocol::json);
    EXPECT_EQ(parse_protocol("xml"), std::nullopt);
    EXPECT_EQ(protocol_name(protocol::json), "json");
    EXPECT_EQ(protocol_name(protocol::query), "query");
}

} // namespace
} // namespace sqs2pg::sqs
