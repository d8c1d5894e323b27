// Format-2 (KMS envelope) keyrings, sans-io: sealing and opening with a data key, the file
// text, what the plain parser says about such a file, and the refusals.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/mask/envelope.hpp>
#include <sqs2pg/mask/keyring.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::mask {
namespace {

const std::string data_key(32, '\x42');
const std::string other_key(32, '\x43');

envelope sample(std::string m1, std::string m2) {
    envelope e;
    e.kms_key_id = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd";
    e.context = {{"table", "user_logins"}};
    e.wrapped_data_key = "wrapped-blob-bytes";
    e.keys.push_back(seal_key("old", m1, data_key, false));
    e.keys.push_back(seal_key("new", m2, data_key, true));
    return e;
}

TEST(Envelope, FormatParseOpenRoundTrip) {
    const std::string m1 = base::random_bytes(32), m2 = base::random_bytes(32);
    const std::string text = format_envelope(sample(m1, m2));
    EXPECT_TRUE(is_envelope_keyring(text));
    EXPECT_NE(text.find("\nsqs2pg-keyring 2 kms\n"), std::string::npos) << text;
    EXPECT_NE(text.find("kms-context table=user_logins\n"), std::string::npos);
    EXPECT_EQ(text.find(base::to_hex(m1)), std::string::npos);
    EXPECT_EQ(text.find(base::to_base64url(m1)), std::string::npos);

    auto e = parse_envelope(text, "f");
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(e->kms_key_id, "arn:aws:kms:eu-west-1:123456789012:key/1234abcd");
    EXPECT_EQ(e->wrapped_data_key, "wrapped-blob-bytes");
    EXPECT_EQ(e->context.at("table"), "user_logins");
    auto kr = open_envelope(*e, data_key, "f");
    ASSERT_TRUE(kr) << kr.error().message;
    EXPECT_EQ(kr->active().id(), "new");
    EXPECT_EQ(kr->active().material(), m2);
    ASSERT_NE(kr->find("old"), nullptr);
    EXPECT_EQ(kr->find("old")->material(), m1);
}

TEST(Envelope, WrongDataKeyOrMovedKeyDoesNotOpen) {
    const std::string m = base::random_bytes(32);
    auto e = sample(m, m);
    auto wrong = open_envelope(e, other_key, "f");
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().code, errc::key_invalid_material);
    // A sealed key moved to another id fails its tag (the id is associated data).
    std::swap(e.keys[0].sealed, e.keys[1].sealed);
    EXPECT_FALSE(open_envelope(e, data_key, "f"));
    EXPECT_FALSE(open_envelope(sample(m, m), "short", "f"));
}

TEST(Envelope, PlainParserRefusesItClearly) {
    const std::string m = base::random_bytes(32);
    auto r = parse_keyring(format_envelope(sample(m, m)), "SQS2PG_MASK_KEY");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::key_syntax);
    EXPECT_NE(r.error().message.find("a KMS keyring (format 2)"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("--mask-key-file"), std::string::npos);
    // Plain files are not envelopes.
    EXPECT_FALSE(is_envelope_keyring("# c\nk1 " + std::string(64, 'a') + " active\n"));
}

TEST(Envelope, Refusals) {
    const std::string m = base::random_bytes(32);
    const std::string good = format_envelope(sample(m, m));
    const auto refused = [](const std::string& text, std::string_view expect) {
        auto e = parse_envelope(text, "f");
        ASSERT_FALSE(e) << text;
        EXPECT_NE(e.error().message.find(expect), std::string::npos) << e.error().message;
    };
    refused("k1 abc\n", "not a KMS keyring");
    refused("sqs2pg-keyring 2 kms\nkms-key-id x\n", "needs kms-key-id and kms-data-key");
    refused("sqs2pg-keyring 2 kms\nkms-key-id x\nkms-data-key !!!\n", "not base64");
    refused("sqs2pg-keyring 2 kms\nkms-key-id x\nkms-data-key AAAA\n", "no key");
    refused("sqs2pg-keyring 2 kms\nkms-key-id x\nkms-data-key AAAA\nkey a AAAA\n", "not 60 bytes");
    refused("sqs2pg-keyring 2 kms\nkms-key-id x\nkms-data-key AAAA\nsomething else\n",
            "expected kms-key-id");
    refused("sqs2pg-keyring 2 kms\nkms-key-id x\nkms-context nope\nkms-data-key AAAA\n",
            "KEY=VALUE");
    std::string two_active = good;
    const auto pos = two_active.find("key old ");
    two_active.insert(two_active.find('\n', pos), " active");
    refused(two_active, "both marked active");
}

TEST(Envelope, Context) {
    EXPECT_EQ(parse_context("table=user_logins,env=prod")->size(), 2u);
    EXPECT_EQ(parse_context("")->size(), 0u);
    EXPECT_FALSE(parse_context("=x"));
    EXPECT_FALSE(parse_context("novalue"));
}

} // namespace
} // namespace sqs2pg::mask
