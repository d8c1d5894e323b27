// Sealing of reject bodies: format, a blob made independently (Python cryptography
// AESGCM with the documented layout), context binding, tampering, rotation.
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/mask/seal.hpp>

#include "test_keys.hpp"

#include <gtest/gtest.h>

namespace sqs2pg::mask {
namespace {

using testing::key_0_to_31;
using testing::other_key;
using testing::ring;
using testing::ring_k1;

constexpr std::string_view body = R"({"foo":"oops_wrong_msg_type","bar":"123"})";

TEST(Seal, FormatNamesVersionAndKey) {
    const sealer s(ring_k1());
    const std::string blob = s.seal(body, "msg-0001");
    EXPECT_EQ(blob.substr(0, 8), std::string("s2pg\x01\x02k1", 8));
    EXPECT_EQ(blob.size(), body.size() + seal_overhead(2));
    EXPECT_EQ(s.key_id(), "k1");
    EXPECT_EQ(blob.find("oops_wrong_msg_type"), std::string::npos);
}

TEST(Seal, OpensABlobMadeFromTheDocumentedFormat) {
    // Python: hdr = b"s2pg\x01\x02k1"; nonce = bytes(range(12));
    // hdr + nonce + AESGCM(HKDF(key, info="sqs2pg/v1 seal aes-256-gcm", 32))
    //     .encrypt(nonce, body, hdr + b"msg-0001")
    const std::string blob = *base::from_hex(
        "7332706701026b31000102030405060708090a0b4853391a986c1bb27d2ff7143da7bc01670fea022c33d2"
        "0d246d22646854dc16dd672b54f99c87a460b59ffb3a3ac81f2f11e78f51c28612ff");
    const sealer s(ring_k1());
    auto opened = s.open(blob, "msg-0001");
    ASSERT_TRUE(opened) << opened.error().message();
    EXPECT_EQ(*opened, body);
}

TEST(Seal, RoundTripsWithFreshNonces) {
    const sealer s(ring_k1());
    const std::string a = s.seal(body, "m1");
    const std::string b = s.seal(body, "m1");
    EXPECT_NE(a, b);
    EXPECT_EQ(s.open(a, "m1").value(), body);
    EXPECT_EQ(s.open(b, "m1").value(), body);
    EXPECT_EQ(s.open(s.seal("", "m2"), "m2").value(), "");
    const std::string big(1024 * 1024, 'b');
    EXPECT_EQ(s.open(s.seal(big, "m3"), "m3").value(), big);
}

TEST(Seal, ABlobCannotMoveToAnotherMessage) {
    const sealer s(ring_k1());
    const std::string blob = s.seal(body, "msg-A");
    EXPECT_EQ(s.open(blob, "msg-B").error(), errc::authentication_failed);
    EXPECT_EQ(s.open(blob, "").error(), errc::authentication_failed);
}

TEST(Seal, EveryAlteredByteIsDetected) {
    const sealer s(ring_k1());
    const std::string blob = s.seal(body, "m");
    for (std::size_t i = 0; i < blob.size(); ++i) {
        std::string bad = blob;
        bad[i] = static_cast<char>(bad[i] ^ 0x20);
        EXPECT_FALSE(s.open(bad, "m")) << "byte " << i;
    }
    EXPECT_EQ(s.open(blob.substr(0, blob.size() - 1), "m").error(), errc::authentication_failed);
    EXPECT_EQ(s.open(blob.substr(0, 20), "m").error(), errc::malformed);
    EXPECT_EQ(s.open("", "m").error(), errc::malformed);
    EXPECT_EQ(s.open("s2pg\x02" + blob.substr(5), "m").error(), errc::malformed);
    EXPECT_EQ(s.open("XXXX" + blob.substr(4), "m").error(), errc::malformed);
}

TEST(Seal, RotationKeepsOldBlobsOpenWhileTheirKeyStays) {
    const std::string k1 = "k1 " + std::string(key_0_to_31);
    const std::string k2 = "k2 " + std::string(other_key);
    const std::string old_blob = sealer(ring(k1)).seal(body, "m");
    const sealer rotated(ring(k1 + "\n" + k2 + " active"));
    EXPECT_EQ(rotated.key_id(), "k2");
    EXPECT_EQ(rotated.open(old_blob, "m").value(), body);
    const std::string new_blob = rotated.seal(body, "m");
    EXPECT_EQ(new_blob.substr(6, 2), "k2");
    EXPECT_EQ(sealer(ring(k2)).open(old_blob, "m").error(), errc::key_unknown_id);
    EXPECT_EQ(sealer(ring(k1)).open(new_blob, "m").error(), errc::key_unknown_id);
}

TEST(Seal, KeyIsSeparateFromTheMaskingKeys) {
    // Same master key, other HKDF label: a sealed blob does not open under a keyring whose
    // key id matches but whose key differs, and sealing never reuses the masking key.
    const std::string blob = sealer(ring_k1()).seal(body, "m");
    EXPECT_EQ(sealer(ring("k1 " + std::string(other_key))).open(blob, "m").error(),
              errc::authentication_failed);
}

TEST(Seal, KeyIdOfASealedBody) {
    auto keys = parse_keyring("kA 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                              "test");
    ASSERT_TRUE(keys);
    const sealer s(*keys);
    EXPECT_EQ(sealed_key_id(s.seal("body", "id")), "kA");
    EXPECT_EQ(sealed_key_id(""), "");
    EXPECT_EQ(sealed_key_id("not sealed at all"), "");
    EXPECT_EQ(sealed_key_id(std::string("s2pg\x01\x10"
                                        "ab",
                                        8)),
              "");                                                  // length past the end
    EXPECT_EQ(sealed_key_id(std::string("s2pg\x02\x02kA", 8)), ""); // unknown version
}

} // namespace
} // namespace sqs2pg::mask
