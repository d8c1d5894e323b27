// Documents nested far deeper than any SQS response: a clean bad_response in either
// protocol and under any status, never a stack overflow (no code path may recurse with
// the input's depth).
#include <sqs2pg/sqs/codec.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::sqs {
namespace {

const std::string queue_url = "http://127.0.0.1:54999/123456789012/parser-test-queue";
constexpr std::size_t hostile_depth = 200'000;

wire_response response(unsigned status, std::string_view body) {
    wire_response w;
    w.status = status;
    w.body = body;
    w.request_id = "header-id";
    return w;
}

std::string repeat(std::string_view piece, std::size_t n) {
    std::string out;
    out.reserve(piece.size() * n);
    for (std::size_t i = 0; i < n; ++i)
        out += piece;
    return out;
}

// `<root>` holding `depth` nested <a> elements, then `tail` (inside the root).
std::string deep_xml(std::string_view root, std::size_t depth, std::string_view tail = {}) {
    std::string out = "<" + std::string(root) + ">";
    out += repeat("<a>", depth);
    out += repeat("</a>", depth);
    out += tail;
    out += "</" + std::string(root) + ">";
    return out;
}

// An object whose member `key` holds `depth` nested arrays, after `head` members.
std::string deep_json(std::string_view head, std::string_view key, std::size_t depth) {
    std::string out = "{" + std::string(head) + "\"" + std::string(key) + "\":";
    out += repeat("[", depth);
    out += repeat("]", depth);
    out += "}";
    return out;
}

template <class Request>
void expect_bad_response(const Request& r, const std::string& body, unsigned status) {
    for (auto p : {protocol::query, protocol::json}) {
        const auto res = decode_response(p, r, response(status, body));
        ASSERT_FALSE(res) << "status " << status << ", " << protocol_name(p);
        EXPECT_EQ(res.error().kind, errc::bad_response)
            << "status " << status << ", " << protocol_name(p) << ": " << describe(res.error());
        EXPECT_EQ(res.error().http_status, status);
        EXPECT_FALSE(is_retryable(res.error()));
    }
}

TEST(HostileDepth, A200000DeepXmlErrorBodyIsABadResponseNotACrash) {
    // The error lookup used to search the tree recursively, one frame per level.
    const std::string error_after_deep = deep_xml(
        "ErrorResponse", hostile_depth,
        "<Error><Type>Receiver</Type><Code>InternalError</Code></Error><RequestId>x</RequestId>");
    const std::string deep_only = deep_xml("ErrorResponse", hostile_depth);
    for (const unsigned status : {200u, 400u, 500u, 503u}) {
        expect_bad_response(receive_message_request{queue_url, {}}, error_after_deep, status);
        expect_bad_response(receive_message_request{queue_url, {}}, deep_only, status);
        expect_bad_response(get_queue_url_request{"q", {}}, error_after_deep, status);
        expect_bad_response(delete_message_request{queue_url, "h"}, deep_only, status);
    }
}

TEST(HostileDepth, A200000DeepXmlSuccessBodyIsABadResponseNotAnEmptyResult) {
    const std::string receive = deep_xml("ReceiveMessageResponse", hostile_depth,
                                         "<ReceiveMessageResult></ReceiveMessageResult>");
    expect_bad_response(receive_message_request{queue_url, {}}, receive, 200);
    const std::string nested_result =
        "<ReceiveMessageResponse><ReceiveMessageResult>" + repeat("<Message>", hostile_depth) +
        repeat("</Message>", hostile_depth) + "</ReceiveMessageResult></ReceiveMessageResponse>";
    expect_bad_response(receive_message_request{queue_url, {}}, nested_result, 200);
    const std::string batch =
        deep_xml("DeleteMessageBatchResponse", hostile_depth,
                 "<DeleteMessageBatchResult><DeleteMessageBatchResultEntry><Id>a</Id>"
                 "</DeleteMessageBatchResultEntry></DeleteMessageBatchResult>");
    expect_bad_response(delete_message_batch_request{queue_url, {{"a", "h"}}}, batch, 200);
}

TEST(HostileDepth, A200000DeepJsonBodyIsABadResponseWhateverTheStatus) {
    const std::string messages = deep_json("", "Messages", hostile_depth);
    const std::string error = deep_json(
        R"("__type":"com.amazonaws.sqs#InternalError","message":"m",)", "x", hostile_depth);
    for (const unsigned status : {200u, 400u, 500u}) {
        expect_bad_response(receive_message_request{queue_url, {}}, messages, status);
        expect_bad_response(receive_message_request{queue_url, {}}, error, status);
        expect_bad_response(get_queue_url_request{"q", {}}, error, status);
    }
}

TEST(HostileDepth, TheDepthLimitLeavesRoomAndNamesTheProblem) {
    // ErrorResponse (1) / Error (2) / Detail (3) / <a> x n: exactly at the limit the error
    // is read as usual, one level deeper it is refused.
    const auto xml_error_at = [](std::size_t depth) {
        const std::size_t n = depth - 3;
        return "<ErrorResponse><Error><Type>Sender</Type><Code>AWS.SimpleQueueService."
               "NonExistentQueue</Code><Detail>" +
               repeat("<a>", n) + repeat("</a>", n) + "</Detail></Error></ErrorResponse>";
    };
    auto res = decode_response(protocol::query, get_queue_url_request{"q", {}},
                               response(400, xml_error_at(max_response_depth)));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::not_found) << describe(res.error());
    res = decode_response(protocol::query, get_queue_url_request{"q", {}},
                          response(400, xml_error_at(max_response_depth + 1)));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::bad_response);
    EXPECT_EQ(res.error().code, "sqs2pg.ResponseTooDeep");
    EXPECT_EQ(res.error().request_id, "header-id");

    // The top-level object (1) / "x" holding n nested arrays.
    const auto json_error_at = [](std::size_t depth) {
        return deep_json(R"("__type":"com.amazonaws.sqs#QueueDoesNotExist",)", "x", depth - 1);
    };
    res = decode_response(protocol::json, get_queue_url_request{"q", {}},
                          response(400, json_error_at(max_response_depth)));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::not_found) << describe(res.error());
    res = decode_response(protocol::json, get_queue_url_request{"q", {}},
                          response(400, json_error_at(max_response_depth + 1)));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::bad_response);
    EXPECT_EQ(res.error().code, "sqs2pg.ResponseTooDeep");

    // A success nested right up to the limit still decodes.
    const std::string url = "<GetQueueUrlResponse><GetQueueUrlResult><QueueUrl>" + queue_url +
                            "</QueueUrl>" + repeat("<a>", max_response_depth - 2) +
                            repeat("</a>", max_response_depth - 2) +
                            "</GetQueueUrlResult></GetQueueUrlResponse>";
    const auto ok =
        decode_response(protocol::query, get_queue_url_request{"q", {}}, response(200, url));
    ASSERT_TRUE(ok) << describe(ok.error());
    EXPECT_EQ(*ok, queue_url);
}

TEST(HostileDepth, TheErrorLookupStillFindsElementsInDocumentOrder) {
    // The iterative search visits the same elements in the same order as before: the
    // first Error and the first RequestId, wherever they are nested.
    const auto xml = R"(<Response><Errors><Error><Code>RequestThrottled</Code></Error>
        <Error><Code>InvalidClientTokenId</Code></Error></Errors>
        <RequestID>ignored</RequestID><Meta><RequestId>nested-id</RequestId></Meta>
        <RequestId>later-id</RequestId></Response>)";
    const auto res =
        decode_response(protocol::query, get_queue_url_request{"q", {}}, response(400, xml));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, "RequestThrottled");
    EXPECT_EQ(res.error().request_id, "nested-id");
}

} // namespace
} // namespace sqs2pg::sqs
