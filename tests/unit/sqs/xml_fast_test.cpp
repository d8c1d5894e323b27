// The query-protocol fast paths (src/sqs/xml_fast.cpp) against the general decoder they
// stand in for (pugixml): on every answer they accept, the same messages or lists; on
// every answer outside the plain shape, they give up and the general decoder's verdict
// stands.
#include "capture.hpp"
#include "codec_detail.hpp"
#include "fast_path.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace sqs2pg::sqs::detail {
namespace {

// XML character data: raw bytes (CR kept, UTF-8, quotes, '>') and every reference form.
std::string xml_text(std::mt19937& rng, std::size_t max_len) {
    static const std::vector<std::string> pieces = {
        "a",      "Z",         "0",          " ",      "\t",      "\n",     "\r",         ">",
        "'",      "\"",        "]",          "/",      "=",       "\u00e9", "\U0001F680", "&amp;",
        "&lt;",   "&gt;",      "&quot;",     "&apos;", "&#13;",   "&#xD;",  "&#xd;",      "&#65;",
        "&#233;", "&#x1F680;", "&#x10FFFF;", "&#9;",   "user_id",
    };
    std::string s;
    for (std::size_t n = rng() % (max_len + 1); s.size() < n;)
        s += pieces[rng() % pieces.size()];
    return s;
}

std::string space(std::mt19937& rng) {
    static const std::vector<std::string> ws = {"", "", "", "\n", "\n  ", " ", "\r\n\t"};
    return ws[rng() % ws.size()];
}

std::string leaf(std::mt19937& rng, const std::string& name, const std::string& text) {
    if (text.empty() && rng() % 2 == 0)
        return space(rng) + "<" + name + (rng() % 2 ? "/>" : " />");
    return space(rng) + "<" + name + ">" + text + "</" + name + (rng() % 5 ? ">" : " >");
}

std::string document(std::mt19937& rng, const std::string& action, const std::string& result) {
    std::string doc;
    if (rng() % 3 == 0)
        doc += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + space(rng);
    doc += "<" + action + "Response";
    if (rng() % 4 != 0)
        doc += " xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"";
    doc += ">";
    const std::string metadata = space(rng) + "<ResponseMetadata>" +
                                 leaf(rng, "RequestId", xml_text(rng, 20)) + space(rng) +
                                 "</ResponseMetadata>";
    const unsigned order = rng() % 4;
    if (order == 0)
        doc += metadata;
    doc += result;
    if (order == 1 || order == 2)
        doc += metadata;
    doc += space(rng) + "</" + action + "Response>" + space(rng);
    return doc;
}

bool receive_agrees(const std::string& body) {
    return fast_agrees(xml_receive_fast(body),
                       xml_decode_general("ReceiveMessage", output_shape::messages, ok(body)),
                       body);
}

bool batch_agrees(const std::string& action, const std::string& body) {
    return fast_agrees(xml_batch_fast(action, body),
                       xml_decode_general(action, output_shape::batch, ok(body)), body);
}

TEST(XmlReceiveFast, AgreesWithTheGeneralDecoderOnRandomPlainAnswers) {
    std::mt19937 rng(16);
    for (int round = 0; round < 600; ++round) {
        std::string result;
        const int count = round % 11;
        if (count == 0 && round % 3 == 0) {
            result = rng() % 2 ? "" : space(rng) + "<ReceiveMessageResult/>";
        } else {
            result = space(rng) + "<ReceiveMessageResult>";
            for (int i = 0; i < count; ++i) {
                std::vector<std::string> parts = {
                    leaf(rng, "MessageId", xml_text(rng, 40)),
                    leaf(rng, "ReceiptHandle", xml_text(rng, 200)),
                    leaf(rng, "Body", xml_text(rng, round % 7 == 0 ? 5000 : 300)),
                    leaf(rng, "MD5OfBody", xml_text(rng, 32)),
                };
                if (i % 3 == 0)
                    parts.push_back(leaf(rng, "MD5OfMessageAttributes", xml_text(rng, 32)));
                if (i % 4 == 1)
                    parts.erase(parts.begin() + 2); // no Body
                for (int a = 0, n = static_cast<int>(rng() % 4); a < n; ++a) {
                    std::string name = leaf(rng, "Name", xml_text(rng, 20));
                    std::string value = leaf(rng, "Value", xml_text(rng, 20));
                    if (rng() % 3 == 0)
                        std::swap(name, value);
                    parts.push_back(space(rng) + "<Attribute>" + name + value + space(rng) +
                                    "</Attribute>");
                }
                std::shuffle(parts.begin(), parts.end(), rng);
                result += space(rng) + "<Message>";
                for (const auto& p : parts)
                    result += p;
                result += space(rng) + "</Message>";
            }
            result += space(rng) + "</ReceiveMessageResult>";
        }
        const std::string body = document(rng, "ReceiveMessage", result);
        EXPECT_TRUE(receive_agrees(body)) << "gave up on a plain answer: " << body;
    }
}

TEST(XmlReceiveFast, AgreesOnTheCapturedAnswers) {
    // Answers without MessageAttributes take the fast path; one with them is the general
    // decoder's (which checks their digest), and the result through xml_decode is its.
    for (const char* name :
         {"08-receive-message-redelivered.http", "13-receive-message-empty.http"}) {
        const auto c = test::load_capture(name);
        EXPECT_TRUE(receive_agrees(c.body)) << name;
    }
    const auto all = test::load_capture("05-receive-message-all-attributes.http");
    EXPECT_FALSE(xml_receive_fast(all.body));
    const auto both = xml_decode("ReceiveMessage", output_shape::messages, all.wire());
    ASSERT_TRUE(both);
    ASSERT_FALSE(both->messages.empty());
    EXPECT_FALSE(both->messages[0].message_attributes.empty());
    const auto batch = test::load_capture("06-delete-message-batch-partial-failure.http");
    EXPECT_TRUE(batch_agrees("DeleteMessageBatch", batch.body));
    const auto visibility = test::load_capture("07-change-message-visibility-batch.http");
    EXPECT_TRUE(batch_agrees("ChangeMessageVisibilityBatch", visibility.body));
    const auto sent = test::load_capture("04-send-message-batch.http");
    EXPECT_TRUE(batch_agrees("SendMessageBatch", sent.body));
}

TEST(XmlBatchFast, AgreesWithTheGeneralDecoderOnRandomPlainAnswers) {
    std::mt19937 rng(17);
    const std::vector<std::string> actions = {"DeleteMessageBatch", "ChangeMessageVisibilityBatch",
                                              "SendMessageBatch"};
    const std::vector<std::string> faults = {"true", "True", "1", "false", "0", "", "yes"};
    for (int round = 0; round < 600; ++round) {
        const std::string& action = actions[round % actions.size()];
        std::vector<std::string> entries;
        for (int i = 0, n = static_cast<int>(rng() % 11); i < n; ++i) {
            std::vector<std::string> parts = {leaf(rng, "Id", xml_text(rng, 30))};
            if (action == "SendMessageBatch") {
                parts.push_back(leaf(rng, "MessageId", xml_text(rng, 40)));
                parts.push_back(leaf(rng, "MD5OfMessageBody", xml_text(rng, 32)));
                if (i % 2 == 0)
                    parts.push_back(leaf(rng, "MD5OfMessageAttributes", xml_text(rng, 32)));
                if (i % 3 == 0)
                    parts.push_back(leaf(rng, "SequenceNumber", xml_text(rng, 20)));
            }
            std::shuffle(parts.begin(), parts.end(), rng);
            std::string e = space(rng) + "<" + action + "ResultEntry>";
            for (const auto& p : parts)
                e += p;
            entries.push_back(e + space(rng) + "</" + action + "ResultEntry>");
        }
        for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) {
            std::vector<std::string> parts = {leaf(rng, "Id", xml_text(rng, 10)),
                                              leaf(rng, "Code", xml_text(rng, 30))};
            if (rng() % 5 != 0)
                parts.push_back(leaf(rng, "SenderFault", faults[rng() % faults.size()]));
            if (rng() % 2 == 0)
                parts.push_back(leaf(rng, "Message", xml_text(rng, 100)));
            std::shuffle(parts.begin(), parts.end(), rng);
            std::string e = space(rng) + "<BatchResultErrorEntry>";
            for (const auto& p : parts)
                e += p;
            entries.push_back(e + space(rng) + "</BatchResultErrorEntry>");
        }
        std::shuffle(entries.begin(), entries.end(), rng);
        std::string result = space(rng) + "<" + action + "Result>";
        for (const auto& e : entries)
            result += e;
        result += space(rng) + "</" + action + "Result>";
        if (entries.empty() && rng() % 2 == 0)
            result = space(rng) + "<" + action + "Result/>";
        const std::string body = document(rng, action, result);
        EXPECT_TRUE(batch_agrees(action, body)) << "gave up on a plain answer: " << body;
    }
}

TEST(XmlFast, GivesUpOutsideThePlainShapeAndTheGeneralDecoderDecides) {
    const std::string m = "<MessageId>a</MessageId><ReceiptHandle>h</ReceiptHandle>"
                          "<MD5OfBody>x</MD5OfBody><Body>b</Body>";
    const auto wrap = [](const std::string& result) {
        return "<ReceiveMessageResponse><ReceiveMessageResult>" + result +
               "</ReceiveMessageResult></ReceiveMessageResponse>";
    };
    const std::vector<std::string> others = {
        "",
        "  ",
        "<ReceiveMessageResponse/>",
        "<Other><ReceiveMessageResult/></Other>",
        "<ErrorResponse><Error><Code>X</Code></Error></ErrorResponse>",
        "\xEF\xBB\xBF" + wrap("<Message>" + m + "</Message>"),
        "<!-- c -->" + wrap("<Message>" + m + "</Message>"),
        "<?pi x?>" + wrap("<Message>" + m + "</Message>"),
        "<!DOCTYPE x>" + wrap(""),
        wrap("<Message>" + m + "</Message>") + " x",
        wrap("<Message>" + m + "</Message>") + "<!-- c -->",
        wrap("<Message>" + m + "</Message>") + std::string(1, '\0'),
        wrap("<Message>" + m + "<Extra>y</Extra></Message>"),
        wrap("<Message>" + m + "<Body>c</Body></Message>"),
        wrap("<Message>" + m +
             "<MessageAttribute><Name>k</Name><Value><DataType>String</DataType>"
             "<StringValue>v</StringValue></Value></MessageAttribute></Message>"),
        wrap("<Message>" + m + "<Attribute><Name>A</Name><Name>B</Name></Attribute></Message>"),
        wrap("<Message>" + m + "<Attribute><Other>A</Other></Attribute></Message>"),
        wrap("<Message><Body><![CDATA[x]]></Body></Message>"),
        wrap("<Message><Body>a<!-- c -->b</Body></Message>"),
        wrap("<Message><Body>a<b/>c</Body></Message>"),
        wrap("<Message><Body x=\"1\">b</Body></Message>"),
        wrap("<Message><sqs:Body>b</sqs:Body></Message>"),
        wrap("<Message><Body>&nbsp;</Body></Message>"),
        wrap("<Message><Body>&#0;</Body></Message>"),
        wrap("<Message><Body>&#xD800;</Body></Message>"),
        wrap("<Message><Body>&#x110000;</Body></Message>"),
        wrap("<Message><Body>&#X41;</Body></Message>"),
        wrap("<Message><Body>&#;</Body></Message>"),
        wrap("<Message><Body>a & b</Body></Message>"),
        wrap("<Message>" + m + "</Message>text"),
        wrap("<Other/>"),
        wrap("<Message>" + m + "</Message") + ">",
        wrap("<Message>" + m + "</Messag>"),
        "<ReceiveMessageResponse><ReceiveMessageResult/><ReceiveMessageResult/>"
        "</ReceiveMessageResponse>",
        "<ReceiveMessageResponse><ResponseMetadata/><ResponseMetadata/></ReceiveMessageResponse>",
        "<ReceiveMessageResponse><ResponseMetadata><Other/></ResponseMetadata>"
        "</ReceiveMessageResponse>",
        "<ReceiveMessageResponse a=\"&amp;\"><ReceiveMessageResult/></ReceiveMessageResponse>",
        // Attribute names that are no XML names (sqs_fuzz found the first: the fast path
        // read it, pugixml refused it).
        "<ReceiveMessageResponse ...false.xmlns=\"x\"><ReceiveMessageResult/>"
        "</ReceiveMessageResponse>",
        "<ReceiveMessageResponse 1a=\"x\"><ReceiveMessageResult/></ReceiveMessageResponse>",
        "<ReceiveMessageResponse -a=\"x\"><ReceiveMessageResult/></ReceiveMessageResponse>",
        "<ReceiveMessageResponse><ReceiveMessageResult/></ReceiveMessageResponse><x/>",
        "<ReceiveMessageResponse><ReceiveMessageResult>",
        std::string(70, '<') + std::string(70, '>'),
    };
    for (const auto& body : others) {
        EXPECT_FALSE(xml_receive_fast(body)) << body;
        const auto both = xml_decode("ReceiveMessage", output_shape::messages, ok(body));
        const auto general = xml_decode_general("ReceiveMessage", output_shape::messages, ok(body));
        ASSERT_EQ(static_cast<bool>(both), static_cast<bool>(general)) << body;
        if (general)
            EXPECT_EQ(both->messages.size(), general->messages.size()) << body;
        else
            EXPECT_EQ(both.error().kind, general.error().kind) << body;
    }
    const std::string d = "DeleteMessageBatch";
    const std::vector<std::string> batches = {
        "<DeleteMessageBatchResponse><DeleteMessageBatchResult><Other/></DeleteMessageBatchResult>"
        "</DeleteMessageBatchResponse>",
        "<DeleteMessageBatchResponse><DeleteMessageBatchResult><DeleteMessageBatchResultEntry>"
        "<Id>0</Id><Id>1</Id></DeleteMessageBatchResultEntry></DeleteMessageBatchResult>"
        "</DeleteMessageBatchResponse>",
        "<DeleteMessageBatchResponse><DeleteMessageBatchResult><DeleteMessageBatchResultEntry>"
        "<Code>0</Code></DeleteMessageBatchResultEntry></DeleteMessageBatchResult>"
        "</DeleteMessageBatchResponse>",
        "<DeleteMessageBatchResponse><DeleteMessageBatchResult><BatchResultErrorEntry>"
        "<Id>0</Id><MessageId>m</MessageId></BatchResultErrorEntry></DeleteMessageBatchResult>"
        "</DeleteMessageBatchResponse>",
        "<SendMessageBatchResponse><SendMessageBatchResult/></SendMessageBatchResponse>",
    };
    for (const auto& body : batches) {
        EXPECT_FALSE(xml_batch_fast(d, body)) << body;
        const auto both = xml_decode(d, output_shape::batch, ok(body));
        const auto general = xml_decode_general(d, output_shape::batch, ok(body));
        ASSERT_EQ(static_cast<bool>(both), static_cast<bool>(general)) << body;
        if (general) {
            EXPECT_EQ(both->batch.successful.size(), general->batch.successful.size()) << body;
        }
    }
    // Not a success: never the fast path, whatever the body (the general decoder reads it;
    // the caller has already decided what the status means).
    wire_response failed = ok("<ReceiveMessageResponse><ReceiveMessageResult><Message>" + m +
                              "<Extra/></Message></ReceiveMessageResult></ReceiveMessageResponse>");
    failed.status = 500;
    const auto both = xml_decode("ReceiveMessage", output_shape::messages, failed);
    const auto general = xml_decode_general("ReceiveMessage", output_shape::messages, failed);
    ASSERT_EQ(static_cast<bool>(both), static_cast<bool>(general));
    if (general)
        EXPECT_EQ(both->messages.size(), general->messages.size());
    else
        EXPECT_EQ(both.error().kind, general.error().kind);
}

} // namespace
} // namespace sqs2pg::sqs::detail
