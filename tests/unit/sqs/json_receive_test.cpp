// The JSON ReceiveMessage fast path (src/sqs/json_receive.cpp) against the general
// decoder it stands in for: on every answer it accepts, the same messages; on every
// answer outside the plain shape, it gives up and the general decoder's verdict stands.
#include "capture.hpp"
#include "codec_detail.hpp"
#include "fast_path.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::sqs::detail {
namespace {

namespace json = boost::json;

// The fast path's messages, checked against the general decoder's; false if it gave up.
bool agrees(const std::string& body) {
    return fast_agrees(json_receive_fast(body),
                       json_decode_general("ReceiveMessage", output_shape::messages, ok(body)),
                       body);
}

TEST(JsonReceiveFast, AgreesWithTheGeneralDecoderOnRandomPlainAnswers) {
    std::mt19937 rng(14);
    for (int round = 0; round < 400; ++round) {
        json::array messages;
        const int count = round % 11;
        for (int i = 0; i < count; ++i) {
            json::object m;
            m["MessageId"] = random_text(rng, 40);
            m["ReceiptHandle"] = random_text(rng, 300);
            // Bodies up to 20 KB: long strings reach the handler in parts.
            m["Body"] = random_text(rng, round % 7 == 0 ? 20000 : 300);
            m["MD5OfBody"] = random_text(rng, 32);
            if (i % 3 == 0)
                m["MD5OfMessageAttributes"] = random_text(rng, 32);
            if (i % 2 == 0) {
                json::object a;
                a["SentTimestamp"] = "1796439716608";
                a["ApproximateReceiveCount"] = std::to_string(i + 1);
                a[random_text(rng, 12) + "x"] = random_text(rng, 20);
                m["Attributes"] = std::move(a);
            }
            messages.push_back(std::move(m));
        }
        json::object root;
        if (count > 0 || round % 2 == 0)
            root["Messages"] = std::move(messages);
        const std::string body = json::serialize(root);
        EXPECT_TRUE(agrees(body)) << "gave up on a plain answer: " << body;
        EXPECT_TRUE(agrees(spaced_out(body)));
    }
}

TEST(JsonReceiveFast, AgreesOnEscapesAsOtherServersWriteThem) {
    const std::string body =
        R"({"Messages":[{"MessageId":"\u0061b","ReceiptHandle":"AQEB\/x+y==","MD5OfBody":"d41d8cd98f00b204e9800998ecf8427e",)"
        R"("Body":"\ud83d\ude80 \"q\" \\ \u00e9 \n","Attributes":{"Sent\u0054imestamp":"1"}}]} )";
    ASSERT_TRUE(agrees(body));
    EXPECT_EQ(json_receive_fast(body)->at(0).body, "\U0001F680 \"q\" \\ \u00e9 \n");
}

// `s` (valid UTF-8) as a JSON string literal written the way no serializer here writes
// it: each character at random as itself, as a short escape where it has one, or as
// \uXXXX in either case of hex (a surrogate pair above U+FFFF).
std::string escaped_at_random(std::mt19937& rng, std::string_view s) {
    std::string out = "\"";
    const auto u = [&](std::uint32_t v) {
        static constexpr char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
        const char* digits = rng() % 2 ? lower : upper;
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4)
            out += digits[(v >> shift) & 0xf];
    };
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        std::uint32_t cp = n == 1 ? c : c & (0xff >> (n + 1));
        for (std::size_t k = 1; k < n; ++k)
            cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
        const bool must = c < 0x20 || c == '"' || c == '\\';
        const auto how = rng() % 3;
        if (how == 0 && !must) {
            out.append(s.substr(i, n));
        } else if (how == 1 && (c == '"' || c == '\\' || c == '/' || c == '\n' || c == '\t')) {
            out += '\\';
            out += c == '\n' ? 'n' : c == '\t' ? 't' : static_cast<char>(c);
        } else if (cp >= 0x10000) {
            u(0xd800 + ((cp - 0x10000) >> 10));
            u(0xdc00 + ((cp - 0x10000) & 0x3ff));
        } else {
            u(cp);
        }
        i += n;
    }
    return out + '"';
}

TEST(JsonReceiveFast, UndoesEveryFormOfEscapeAsTheGeneralDecoderDoes) {
    std::mt19937 rng(41);
    for (int round = 0; round < 300; ++round) {
        const std::string id = random_text(rng, 40), handle = random_text(rng, 200),
                          text = random_text(rng, 400), name = random_text(rng, 20) + "n",
                          value = random_text(rng, 30);
        const std::string body = R"({"Messages":[{"MessageId":)" + escaped_at_random(rng, id) +
                                 R"(,"ReceiptHandle":)" + escaped_at_random(rng, handle) +
                                 R"(,"MD5OfBody":"d41d8cd98f00b204e9800998ecf8427e","Body":)" +
                                 escaped_at_random(rng, text) + R"(,"Attributes":{)" +
                                 escaped_at_random(rng, name) + ":" +
                                 escaped_at_random(rng, value) + "}}]}";
        ASSERT_TRUE(agrees(body)) << "gave up on: " << body;
        const auto m = json_receive_fast(body)->at(0);
        EXPECT_EQ(m.message_id, id);
        EXPECT_EQ(m.receipt_handle, handle);
        EXPECT_EQ(m.body, text);
        ASSERT_EQ(m.attributes.size(), 1u);
        EXPECT_EQ(m.attributes[0].first, name);
        EXPECT_EQ(m.attributes[0].second, value);
    }
}

TEST(JsonReceiveFast, LeavesMotosAnswerWithMessageAttributesToTheGeneralDecoder) {
    // moto's captured answer carries MessageAttributes, which only the general decoder
    // reads (with their digest); the result through json_decode is the general one.
    const auto c = test::load_capture("22-json-receive-message.http");
    EXPECT_FALSE(json_receive_fast(c.body));
    const auto both = json_decode("ReceiveMessage", output_shape::messages, c.wire());
    const auto general = json_decode_general("ReceiveMessage", output_shape::messages, c.wire());
    ASSERT_TRUE(both && general);
    ASSERT_EQ(both->messages.size(), 1u);
    EXPECT_EQ(both->messages[0].message_attributes.size(),
              general->messages[0].message_attributes.size());
    EXPECT_FALSE(both->messages[0].message_attributes.empty());
}

TEST(JsonReceiveFast, GivesUpOutsideThePlainShapeAndTheGeneralDecoderDecides) {
    const std::string m = R"("MessageId":"a","ReceiptHandle":"h","MD5OfBody":"x","Body":"b")";
    const std::vector<std::string> others = {
        "",
        "  ",
        "[]",
        "null",
        R"({"Messages":[{)" + m + R"(}]} x)",
        R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no"})",
        R"({"Messages":[{)" + m + R"(}],"__type":"InternalError"})",
        R"({"Messages":[{)" + m + R"(}],"Other":1})",
        R"({"Messages":[{)" + m + R"(}],"Messages":[]})",
        R"({"Messages":{}})",
        R"({"Messages":"x"})",
        R"({"Messages":[1,{)" + m + R"(}]})",
        R"({"Messages":[[]]})",
        R"({"Messages":[{)" + m + R"(,"MessageId":"b"}]})",
        R"({"Messages":[{)" + m + R"(,"Extra":"y"}]})",
        R"({"Messages":[{"MessageId":1,"ReceiptHandle":"h","MD5OfBody":"x","Body":"b"}]})",
        R"({"Messages":[{"MessageId":"a","ReceiptHandle":"h","MD5OfBody":"x","Body":null}]})",
        R"({"Messages":[{"MessageId":"a","ReceiptHandle":"h","MD5OfBody":"x","Body":true}]})",
        R"({"Messages":[{"MessageId":"a","ReceiptHandle":"h","MD5OfBody":"x","Body":{}}]})",
        R"({"Messages":[{)" + m + R"(,"Attributes":"x"}]})",
        R"({"Messages":[{)" + m + R"(,"Attributes":{"A":1}}]})",
        R"({"Messages":[{)" + m + R"(,"Attributes":{"A":"1","A":"2"}}]})",
        R"({"Messages":[{)" + m + R"(,"Attributes":{"A":{}}}]})",
        R"({"Messages":[{)" + m +
            R"(,"MessageAttributes":{"k":{"DataType":"String","StringValue":"v"}}}]})",
        std::string(70, '[') + std::string(70, ']'),
        R"({"Messages":[{)" + m + R"(}]})" + std::string(1, '\0'),
        // What only a scanner of its own has to get right: strings that are not JSON or
        // not UTF-8, each a give-up, and the general decoder's error stands.
        R"({"Messages":[{"MessageId":"\ud800","ReceiptHandle":"h","MD5OfBody":"x","Body":"b"}]})",
        R"({"Messages":[{"MessageId":"\udc00\ud800","ReceiptHandle":"h","MD5OfBody":"x","Body":"b"}]})",
        R"({"Messages":[{"MessageId":"\ud800\u0041","ReceiptHandle":"h","MD5OfBody":"x","Body":"b"}]})",
        R"({"Messages":[{"MessageId":"\ud800x","ReceiptHandle":"h","MD5OfBody":"x","Body":"b"}]})",
        R"({"Messages":[{"MessageId":"\u12","ReceiptHandle":"h","MD5OfBody":"x","Body":"b"}]})",
        R"({"Messages":[{"MessageId":"\u12g4","ReceiptHandle":"h","MD5OfBody":"x","Body":"b"}]})",
        R"({"Messages":[{"MessageId":"\x41","ReceiptHandle":"h","MD5OfBody":"x","Body":"b"}]})",
        R"({"Messages":[{"MessageId":"a\)",
        R"({"Messages":[{"MessageId":"a)",
        "{\"Messages\":[{\"MessageId\":\"a\tb\",\"ReceiptHandle\":\"h\",\"Body\":\"b\"}]}",
        "{\"Messages\":[{\"MessageId\":\"a\x01b\",\"ReceiptHandle\":\"h\",\"Body\":\"b\"}]}",
        "{\"Messages\":[{\"MessageId\":\"\xc0\x80\",\"ReceiptHandle\":\"h\",\"Body\":\"b\"}]}",
        "{\"Messages\":[{\"MessageId\":\"\xed\xa0\x80\",\"ReceiptHandle\":\"h\",\"Body\":\"b\"}]}",
        "{\"Messages\":[{\"MessageId\":\"\xe0\x9f\xbf\",\"ReceiptHandle\":\"h\",\"Body\":\"b\"}]}",
        "{\"Messages\":[{\"MessageId\":\"\xf0\x8f\xbf\xbf\",\"ReceiptHandle\":\"h\",\"Body\":\"b\"}"
        "]}",
        "{\"Messages\":[{\"MessageId\":\"\xf4\x90\x80\x80\",\"ReceiptHandle\":\"h\",\"Body\":\"b\"}"
        "]}",
        "{\"Messages\":[{\"MessageId\":\"\xf5\x80\x80\x80\",\"ReceiptHandle\":\"h\",\"Body\":\"b\"}"
        "]}",
        "{\"Messages\":[{\"MessageId\":\"\xe2\x82\",\"ReceiptHandle\":\"h\",\"Body\":\"b\"}]}",
        "{\"Messages\":[{\"MessageId\":\"\x80\",\"ReceiptHandle\":\"h\",\"Body\":\"b\"}]}",
        "{\"Messages\":[{\"MessageId\":\"\xff\",\"ReceiptHandle\":\"h\",\"Body\":\"b\"}]}",
        "\xef\xbb\xbf{\"Messages\":[]}",
        R"({"Messages":[]} /* c */)",
        R"({/* c */"Messages":[]})",
        R"({"Messages":[],})",
        R"({"Messages":[{)" + m + R"(},]})",
        R"({"Messages":[{)" + m + R"(,}]})",
        R"({"Messages" "x"})",
        R"({"Messages":[{"MessageId" "a"}]})",
        R"({"Messages":[{)" + m + R"(}])",
        R"({"Messages":[{)" + m + R"(})",
        R"({"Messages")",
        "{\"Messages\":[]}\f",
        "{\"Messages\":[]}\v",
    };
    for (const auto& body : others) {
        EXPECT_FALSE(json_receive_fast(body)) << body;
        // json_decode then answers exactly as the general decoder does.
        const auto both = json_decode("ReceiveMessage", output_shape::messages, ok(body));
        const auto general =
            json_decode_general("ReceiveMessage", output_shape::messages, ok(body));
        ASSERT_EQ(static_cast<bool>(both), static_cast<bool>(general)) << body;
        if (general)
            EXPECT_EQ(both->messages.size(), general->messages.size()) << body;
        else
            EXPECT_EQ(both.error().kind, general.error().kind) << body;
    }
    // Not a success: never the fast path, whatever the body.
    wire_response failed = ok(R"({"Messages":[]})");
    failed.status = 500;
    EXPECT_FALSE(json_decode("ReceiveMessage", output_shape::messages, failed));
    wire_response typed = ok(R"({"Messages":[]})");
    typed.error_type = "InternalError";
    EXPECT_FALSE(json_decode("ReceiveMessage", output_shape::messages, typed));
}

} // namespace
} // namespace sqs2pg::sqs::detail
