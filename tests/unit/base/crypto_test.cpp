// Digests and HMAC against published vectors (FIPS 180, RFC 1321, RFC 4231).
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/encoding.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::base {
namespace {

TEST(Digest, Sha256AndMd5KnownAnswers) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(md5_hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST(Hmac, Rfc4231Case1And2) {
    EXPECT_EQ(to_hex(as_bytes(hmac_sha256(std::string(20, '\x0b'), "Hi There"))),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    EXPECT_EQ(to_hex(as_bytes(hmac_sha256("Jefe", "what do ya want for nothing?"))),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hmac, PreparedKeyMatchesOneShotAndSurvivesCopies) {
    const hmac_sha256_key key("Jefe");
    const auto expected = hmac_sha256("Jefe", "what do ya want for nothing?");
    EXPECT_EQ(key.compute("what do ya want for nothing?"), expected);
    EXPECT_EQ(key.compute("what do ya want for nothing?"), expected); // reusable
    hmac_sha256_key copy = key;
    EXPECT_EQ(copy.compute("what do ya want for nothing?"), expected);
    hmac_sha256_key moved = std::move(copy);
    EXPECT_EQ(moved.compute("x"), hmac_sha256("Jefe", "x"));
    EXPECT_EQ(hmac_sha256_key("").compute("x"), hmac_sha256("", "x"));
}

TEST(Random, ProducesRequestedLengthAndDiffers) {
    const auto a = random_bytes(32);
    const auto b = random_bytes(32);
    EXPECT_EQ(a.size(), 32u);
    EXPECT_NE(a, b);
}

TEST(Cleanse, ZeroesAndEmpties) {
    std::string secret = "s3cr3t";
    cleanse(secret);
    EXPECT_TRUE(secret.empty());
}

} // namespace
} // namespace sqs2pg::base
