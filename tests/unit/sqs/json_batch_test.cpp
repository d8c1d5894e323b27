// The JSON batch-answer fast path (src/sqs/json_batch.cpp) against the general decoder it
// stands in for: on every answer it accepts, the same lists; on every answer outside the
// plain shape, it gives up and the general decoder's verdict stands.
#include "codec_detail.hpp"
#include "fast_path.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace sqs2pg::sqs::detail {
namespace {

namespace json = boost::json;

// The fast path's lists, checked against the general decoder's; false if it gave up.
bool agrees(const std::string& body) {
    return fast_agrees(json_batch_fast(body),
                       json_decode_general("DeleteMessageBatch", output_shape::batch, ok(body)),
                       body);
}

TEST(JsonBatchFast, AgreesWithTheGeneralDecoderOnRandomPlainAnswers) {
    std::mt19937 rng(15);
    for (int round = 0; round < 400; ++round) {
        json::array successful, failed;
        const int oks = round % 11;
        for (int i = 0; i < oks; ++i) {
            json::object s;
            s["Id"] = random_text(rng, 80);
            if (round % 3 == 0) { // SendMessageBatch's answer carries more
                s["MessageId"] = random_text(rng, 40);
                s["MD5OfMessageBody"] = random_text(rng, 32);
                if (i % 2 == 0)
                    s["MD5OfMessageAttributes"] = random_text(rng, 32);
                if (i % 3 == 0)
                    s["SequenceNumber"] = random_text(rng, 20);
            }
            successful.push_back(std::move(s));
        }
        const int bads = round % 4;
        for (int i = 0; i < bads; ++i) {
            json::object f;
            f["Id"] = random_text(rng, 20);
            f["Code"] = random_text(rng, 30);
            switch ((round + i) % 5) {
            case 0:
                f["SenderFault"] = true;
                break;
            case 1:
                f["SenderFault"] = false;
                break;
            case 2:
                f["SenderFault"] = "true";
                break;
            case 3:
                f["SenderFault"] = random_text(rng, 6);
                break;
            default: // absent
                break;
            }
            if (i % 2 == 0)
                f["Message"] = random_text(rng, 200);
            failed.push_back(std::move(f));
        }
        json::object root;
        if (oks > 0 || round % 2 == 0)
            root["Successful"] = std::move(successful);
        if (bads > 0 || round % 3 == 0)
            root["Failed"] = std::move(failed);
        const std::string body = json::serialize(root);
        EXPECT_TRUE(agrees(body)) << "gave up on a plain answer: " << body;
        EXPECT_TRUE(agrees(spaced_out(body)));
    }
}

TEST(JsonBatchFast, AgreesOnEscapesAndOnAwsAnswer) {
    const std::string body =
        R"({"Failed":[{"Id":"\u0031","Code":"Receipt\/Handle","SenderFault":"True","Message":"\ud83d\ude80"}],)"
        R"("Successful":[{"Id":"0"}]} )";
    ASSERT_TRUE(agrees(body));
    const auto fast = json_batch_fast(body);
    EXPECT_EQ(fast->failed.at(0).id, "1");
    EXPECT_TRUE(fast->failed.at(0).sender_fault);
    EXPECT_EQ(fast->failed.at(0).message, "\U0001F680");
    // A partial failure as AWS documents it (members in its order).
    const std::string aws =
        R"({"Failed":[{"Code":"ReceiptHandleIsInvalid","Id":"2","Message":"The input receipt )"
        R"(handle is invalid.","SenderFault":true}],"Successful":[{"Id":"0"},{"Id":"1"}]})";
    ASSERT_TRUE(agrees(aws));
    EXPECT_EQ(json_batch_fast(aws)->successful.size(), 2u);
}

TEST(JsonBatchFast, GivesUpOutsideThePlainShapeAndTheGeneralDecoderDecides) {
    const std::vector<std::string> others = {
        "",
        "  ",
        "[]",
        "null",
        R"({"Successful":[{"Id":"0"}]} x)",
        R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no"})",
        R"({"Successful":[{"Id":"0"}],"__type":"InternalError"})",
        R"({"Successful":[{"Id":"0"}],"Other":1})",
        R"({"Successful":[{"Id":"0"}],"Successful":[]})",
        R"({"Failed":[],"Successful":[{"Id":"0"}],"Failed":[{"Id":"1"}]})",
        R"({"Successful":[{"Id":"0"}],"Failed":[{"Id":"1"}],"Successful":[{"Id":"1"}]})",
        R"({"Successful":{}})",
        R"({"Successful":"x"})",
        R"({"Successful":null})",
        R"({"Successful":[1,{"Id":"0"}]})",
        R"({"Successful":["0"]})",
        R"({"Successful":[[]]})",
        R"({"Successful":[{"Id":"0","Id":"1"}]})",
        R"({"Successful":[{"Id":"0","Extra":"y"}]})",
        R"({"Successful":[{"Id":0}]})",
        R"({"Successful":[{"Id":null}]})",
        R"({"Successful":[{"Id":true}]})",
        R"({"Successful":[{"Id":{}}]})",
        R"({"Successful":[{"Id":"0","SenderFault":true}]})",
        R"({"Failed":[{"Id":"0","Code":"C","SenderFault":1}]})",
        R"({"Failed":[{"Id":"0","Code":"C","SenderFault":null}]})",
        R"({"Failed":[{"Id":"0","Code":"C","MessageId":"m"}]})",
        R"({"Failed":[{"Id":"0","Code":"C","Code":"D"}]})",
        R"({"Failed":[{"Id":"0","Code":"C","SenderFault":tru}]})",
        R"({"Failed":[{"Id":"0","Code":"C","SenderFault":truex}]})",
        R"({"Failed":[{"Id":"0","Code":"C","SenderFault":False}]})",
        R"({"Failed":[{"Id":"0","SenderFault":"x","SenderFault":true}]})",
        R"({"Successful":[{"Id":"0"} /* c */]})",
        R"({"Successful":[{"Id":"0"},]})",
        R"({"Successful":[{"Id":"0"}],})",
        "{\"Successful\":[{\"Id\":\"\xff\"}]}",
        "{\"Successful\":[{\"Id\":\"a\tb\"}]}",
        R"({"Successful":[{"Id":"\ud800"}]})",
        std::string(70, '[') + std::string(70, ']'),
        R"({"Successful":[{"Id":"0"}]})" + std::string(1, '\0'),
    };
    for (const auto& body : others) {
        EXPECT_FALSE(json_batch_fast(body)) << body;
        // json_decode then answers exactly as the general decoder does.
        const auto both = json_decode("DeleteMessageBatch", output_shape::batch, ok(body));
        const auto general =
            json_decode_general("DeleteMessageBatch", output_shape::batch, ok(body));
        ASSERT_EQ(static_cast<bool>(both), static_cast<bool>(general)) << body;
        if (general) {
            EXPECT_EQ(both->batch.successful.size(), general->batch.successful.size()) << body;
            EXPECT_EQ(both->batch.failed.size(), general->batch.failed.size()) << body;
        } else {
            EXPECT_EQ(both.error().kind, general.error().kind) << body;
        }
    }
    // Not a success: never the fast path, whatever the body.
    wire_response failed = ok(R"({"Successful":[]})");
    failed.status = 500;
    EXPECT_FALSE(json_decode("DeleteMessageBatch", output_shape::batch, failed));
    wire_response typed = ok(R"({"Successful":[]})");
    typed.error_type = "InternalError";
    EXPECT_FALSE(json_decode("DeleteMessageBatch", output_shape::batch, typed));
}

} // namespace
} // namespace sqs2pg::sqs::detail
