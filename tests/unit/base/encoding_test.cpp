// Hex and base64 against the RFC 4648 test vectors, plus strictness on bad input.
#include <sqs2pg/base/encoding.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace sqs2pg::base {
namespace {

TEST(Hex, EncodesLowercaseAndDecodesEitherCase) {
    EXPECT_EQ(to_hex(std::string_view("\x00\x01\xab\xff", 4)), "0001abff");
    EXPECT_EQ(from_hex("0001ABff"), std::string("\x00\x01\xab\xff", 4));
    EXPECT_EQ(from_hex(""), std::string());
}

TEST(Hex, AppendsAfterWhatIsThere) {
    std::string s = "sig=";
    append_hex(s, std::string_view("\x00\x7f\x80\xff", 4));
    EXPECT_EQ(s, "sig=007f80ff");
    append_hex(s, {});
    EXPECT_EQ(s, "sig=007f80ff");
}

TEST(Hex, RejectsOddLengthAndNonDigits) {
    EXPECT_EQ(from_hex("abc"), std::nullopt);
    EXPECT_EQ(from_hex("zz"), std::nullopt);
    EXPECT_EQ(from_hex("0g"), std::nullopt);
}

TEST(Base64, Rfc4648Vectors) {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(to_base64(plain), encoded);
        EXPECT_EQ(from_base64(encoded), plain) << encoded;
    }
}

TEST(Base64, UrlAlphabetUnpaddedRoundTrips) {
    const std::string bytes("\xfb\xff\xfe\x00\x3e", 5);
    EXPECT_EQ(to_base64(bytes), "+//+AD4=");
    EXPECT_EQ(to_base64url(bytes), "-__-AD4");
    EXPECT_EQ(from_base64("-__-AD4"), bytes);
    EXPECT_EQ(from_base64("+//+AD4="), bytes);
}

TEST(Base64, RejectsMalformedInput) {
    EXPECT_EQ(from_base64("Zm9v!"), std::nullopt); // outside the alphabet
    EXPECT_EQ(from_base64("Z"), std::nullopt);     // impossible length
    EXPECT_EQ(from_base64("Zm9=v"), std::nullopt); // padding in the middle
    EXPECT_EQ(from_base64("Zg="), std::nullopt);   // wrong padded length
    EXPECT_EQ(from_base64("Zh=="), std::nullopt);  // non-zero trailing bits
}

TEST(Utf8, EncodesEachLengthAtItsBoundaries) {
    const auto utf8 = [](std::uint32_t cp) {
        char buf[4];
        return std::string(buf, encode_utf8(cp, buf));
    };
    EXPECT_EQ(utf8(0x00), std::string(1, '\0'));
    EXPECT_EQ(utf8(0x7f), "\x7f");
    EXPECT_EQ(utf8(0x80), "\xc2\x80");
    EXPECT_EQ(utf8(0xe9), "\u00e9");
    EXPECT_EQ(utf8(0x7ff), "\xdf\xbf");
    EXPECT_EQ(utf8(0x800), "\xe0\xa0\x80");
    EXPECT_EQ(utf8(0x65e5), "\u65e5");
    EXPECT_EQ(utf8(0xffff), "\xef\xbf\xbf");
    EXPECT_EQ(utf8(0x10000), "\xf0\x90\x80\x80");
    EXPECT_EQ(utf8(0x1f680), "\U0001F680");
    EXPECT_EQ(utf8(0x10ffff), "\xf4\x8f\xbf\xbf");
}

} // namespace
} // namespace sqs2pg::base
