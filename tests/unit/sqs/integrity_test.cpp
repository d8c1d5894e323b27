// MD5OfMessageAttributes as SQS computes it (values from moto's captures and from an
// independent Python implementation of the documented algorithm), and the message check.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/sqs/integrity.hpp>

#include <gtest/gtest.h>

#include <cctype>

namespace sqs2pg::sqs {
namespace {

TEST(AttributeMd5, MatchesMotosDigests) {
    // 03-send-message.http / 05-receive-message-all-attributes.http
    EXPECT_EQ(md5_of_message_attributes(std::vector<message_attribute>{
                  {"trace-id", "String", "abc-123"}, {"priority", "Number", "5"}}),
              "fbd710af86ac601fcc7ea8af19e8c0c5");
    // 04-send-message-batch.http entry with-attrs
    EXPECT_EQ(md5_of_message_attributes(
                  std::vector<message_attribute>{{"content-type", "String", "application/json"}}),
              "ea4cd23cddb3081504655c7720a0975f");
    // 21-json-send-message.http
    EXPECT_EQ(md5_of_message_attributes(std::vector<message_attribute>{{"k", "String", "v"}}),
              "0a77b0642718c3d9dd47090567d11e0d");
}

TEST(AttributeMd5, SortsByNameAndHandlesBinaryAndCustomTypes) {
    // Python: hashlib over sorted names, struct.pack('!I', len) prefixes, transport byte 1/2.
    const std::vector<message_attribute> attrs{
        {"s", "String", "h\u00e9"},
        {"blob", "Binary.gif", std::string("\x00\xff\x10GIF", 6)},
        {"n", "Number.int", "42"},
    };
    EXPECT_EQ(md5_of_message_attributes(attrs), "cf3a58ac56626353dda16f4f23e95404");
    auto reversed = attrs;
    std::reverse(reversed.begin(), reversed.end());
    EXPECT_EQ(md5_of_message_attributes(reversed), "cf3a58ac56626353dda16f4f23e95404");
    EXPECT_EQ(md5_of_message_attributes({}), base::md5_hex(""));
}

message good_message() {
    message m;
    m.message_id = "id";
    m.receipt_handle = "rh";
    m.body = "payload \r\n";
    m.md5_of_body = base::md5_hex(m.body);
    m.message_attributes = {{"k", "String", "v"}};
    m.md5_of_message_attributes = "0a77b0642718c3d9dd47090567d11e0d";
    m.has_body = true;
    m.has_md5_of_body = true;
    return m;
}

TEST(IntegrityCheck, PassesIntactMessagesAndNamesEachProblem) {
    EXPECT_EQ(integrity_problem(good_message()), "");
    auto m = good_message();
    m.body += "x";
    EXPECT_EQ(integrity_problem(m), "MD5OfBody mismatch");
    m = good_message();
    m.message_attributes[0].value = "w";
    EXPECT_EQ(integrity_problem(m), "MD5OfMessageAttributes mismatch");
    m = good_message();
    m.receipt_handle.clear();
    EXPECT_EQ(integrity_problem(m), "missing ReceiptHandle");
    m = good_message();
    m.message_id.clear();
    EXPECT_EQ(integrity_problem(m), "missing MessageId");
    // An attribute digest SQS did not send is not invented.
    m = good_message();
    m.md5_of_message_attributes.clear();
    m.message_attributes[0].value = "anything";
    EXPECT_EQ(integrity_problem(m), "");
    // Body and MD5OfBody must both have been sent; absent is not empty.
    m = good_message();
    m.has_body = false;
    EXPECT_EQ(integrity_problem(m), "missing Body");
    m.body.clear();
    m.md5_of_body = base::md5_hex("");
    EXPECT_EQ(integrity_problem(m), "missing Body");
    m = good_message();
    m.has_md5_of_body = false;
    m.md5_of_body.clear();
    EXPECT_EQ(integrity_problem(m), "missing MD5OfBody");
    m = good_message();
    m.md5_of_body.clear(); // present but empty: compared, and wrong
    EXPECT_EQ(integrity_problem(m), "MD5OfBody mismatch");
    // A present empty body with the digest of nothing is intact.
    m = good_message();
    m.body.clear();
    m.md5_of_body = "d41d8cd98f00b204e9800998ecf8427e";
    EXPECT_EQ(integrity_problem(m), "");
    // The digest is compared in place: either case is the same digest; a digest with a
    // character that is not hex, one too short or one too long is a mismatch.
    m = good_message();
    m.md5_of_body = base::md5_hex(m.body);
    for (char& c : m.md5_of_body)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(integrity_problem(m), "");
    for (std::string bad : {base::md5_hex(good_message().body).substr(0, 31),
                            base::md5_hex(good_message().body) + "0",
                            "g" + base::md5_hex(good_message().body).substr(1)}) {
        m = good_message();
        m.md5_of_body = bad;
        EXPECT_EQ(integrity_problem(m), "MD5OfBody mismatch") << bad;
    }
    // A message built by hand has neither.
    EXPECT_EQ(integrity_problem(message{}), "missing MessageId");
    message bare;
    bare.message_id = "id";
    bare.receipt_handle = "rh";
    EXPECT_EQ(integrity_problem(bare), "missing Body");
}

} // namespace
} // namespace sqs2pg::sqs
