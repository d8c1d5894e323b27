// Received messages that lack their Body or MD5OfBody: SQS always sends both, so a
// missing one is an integrity failure (the message is rejected, never processed as an
// empty body); a Body that is present and empty with the digest of nothing stays valid.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/sqs/codec.hpp>
#include <sqs2pg/sqs/integrity.hpp>

#include "capture.hpp"

#include <gtest/gtest.h>

namespace sqs2pg::sqs {
namespace {

using test::load_capture;

const std::string queue_url = "http://127.0.0.1:54999/123456789012/parser-test-queue";

wire_response response(unsigned status, std::string_view body) {
    wire_response w;
    w.status = status;
    w.body = body;
    w.request_id = "header-id";
    return w;
}

// The capture's second message ("hello world") with `from` replaced by `to`.
std::string edited_xml(std::string_view from, std::string_view to) {
    auto c = load_capture("05-receive-message-all-attributes.http");
    const auto at = c.body.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    c.body.replace(at, from.size(), to);
    return c.body;
}

const std::string hello_md5_element = "<MD5OfBody>" + base::md5_hex("hello world") + "</MD5OfBody>";
const std::string empty_md5 = "d41d8cd98f00b204e9800998ecf8427e";

receive_result decode_ok(protocol p, const std::string& body) {
    auto res = decode_response(p, receive_message_request{queue_url, {}}, response(200, body));
    EXPECT_TRUE(res) << describe(res.error());
    return res ? std::move(*res) : receive_result{};
}

void expect_only_rejected(const receive_result& res, std::size_t intact, std::string_view reason) {
    ASSERT_EQ(res.rejected.size(), 1u);
    EXPECT_EQ(res.rejected[0].reason, reason);
    EXPECT_FALSE(res.rejected[0].message_id.empty());
    EXPECT_FALSE(res.rejected[0].receipt_handle.empty());
    EXPECT_EQ(res.messages.size(), intact);
    for (const auto& m : res.messages)
        EXPECT_FALSE(m.body.empty()) << m.message_id;
}

TEST(HostileMessages, AnXmlMessageWithoutBodyOrDigestIsRejectedNotAnEmptyBody) {
    for (auto p : {protocol::query, protocol::json}) {
        // Neither Body nor MD5OfBody: it used to pass as an empty body.
        expect_only_rejected(
            decode_ok(p, edited_xml(hello_md5_element + "<Body>hello world</Body>", "")), 4,
            "missing Body");
        // No Body, and the digest of nothing.
        expect_only_rejected(decode_ok(p, edited_xml(hello_md5_element + "<Body>hello world</Body>",
                                                     "<MD5OfBody>" + empty_md5 + "</MD5OfBody>")),
                             4, "missing Body");
        // No Body, the digest of the real one.
        expect_only_rejected(decode_ok(p, edited_xml("<Body>hello world</Body>", "")), 4,
                             "missing Body");
        // A Body nobody vouches for.
        expect_only_rejected(decode_ok(p, edited_xml(hello_md5_element, "")), 4,
                             "missing MD5OfBody");
        // An empty Body without a digest.
        expect_only_rejected(
            decode_ok(p, edited_xml(hello_md5_element + "<Body>hello world</Body>", "<Body/>")), 4,
            "missing MD5OfBody");
    }
}

TEST(HostileMessages, AnXmlMessageWithAnEmptyBodyAndItsDigestStaysValid) {
    for (const std::string empty_body : {"<Body></Body>", "<Body/>"}) {
        const auto res = decode_ok(
            protocol::query, edited_xml(hello_md5_element + "<Body>hello world</Body>",
                                        "<MD5OfBody>" + empty_md5 + "</MD5OfBody>" + empty_body));
        EXPECT_TRUE(res.rejected.empty()) << empty_body;
        ASSERT_EQ(res.messages.size(), 5u) << empty_body;
        EXPECT_EQ(res.messages[1].body, "");
        EXPECT_EQ(integrity_problem(res.messages[1]), "");
    }
}

// The JSON capture's one message with `from` replaced by `to`.
std::string edited_json(std::string_view from, std::string_view to) {
    auto c = load_capture("22-json-receive-message.http");
    const auto at = c.body.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    c.body.replace(at, from.size(), to);
    return c.body;
}

const std::string json_md5_member = R"("MD5OfBody": "1016211e0e5be571f71ca8aa939d7af4", )";
const std::string json_body_member = R"("Body": "json <protocol> & \"quotes\"", )";

TEST(HostileMessages, AJsonMessageWithoutBodyOrDigestIsRejectedNotAnEmptyBody) {
    for (auto p : {protocol::json, protocol::query}) {
        expect_only_rejected(decode_ok(p, edited_json(json_md5_member + json_body_member, "")), 0,
                             "missing Body");
        expect_only_rejected(decode_ok(p, edited_json(json_md5_member + json_body_member,
                                                      R"("MD5OfBody": ")" + empty_md5 + R"(", )")),
                             0, "missing Body");
        expect_only_rejected(
            decode_ok(p, edited_json(json_md5_member + json_body_member,
                                     R"("MD5OfBody": ")" + empty_md5 + R"(", "Body": null, )")),
            0, "missing Body");
        expect_only_rejected(decode_ok(p, edited_json(json_body_member, "")), 0, "missing Body");
        expect_only_rejected(decode_ok(p, edited_json(json_md5_member, "")), 0,
                             "missing MD5OfBody");
        expect_only_rejected(decode_ok(p, edited_json(json_md5_member, R"("MD5OfBody": null, )")),
                             0, "missing MD5OfBody");
    }
}

TEST(HostileMessages, AJsonMessageWithAnEmptyBodyAndItsDigestStaysValid) {
    const auto res = decode_ok(protocol::json,
                               edited_json(json_md5_member + json_body_member,
                                           R"("MD5OfBody": ")" + empty_md5 + R"(", "Body": "", )"));
    EXPECT_TRUE(res.rejected.empty());
    ASSERT_EQ(res.messages.size(), 1u);
    EXPECT_EQ(res.messages[0].body, "");
    EXPECT_EQ(integrity_problem(res.messages[0]), "");
}

} // namespace
} // namespace sqs2pg::sqs
