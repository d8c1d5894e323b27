// ASCII helpers: case folding that ignores the locale, hex digit values.
#include <sqs2pg/base/text.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::base {
namespace {

TEST(Text, LowersOnlyAsciiLetters) {
    EXPECT_EQ(ascii_lower("Content-Type: ABC xyz 09_\xC3\x84"),
              "content-type: abc xyz 09_\xC3\x84");
    EXPECT_EQ(ascii_lower('Q'), 'q');
    EXPECT_EQ(ascii_lower('@'), '@'); // one below 'A'
    EXPECT_EQ(ascii_lower('['), '['); // one above 'Z'
}

TEST(Text, PrintableReplacesEveryControlCharacterAndNothingElse) {
    std::string all;
    for (int c = 0; c < 256; ++c)
        all += static_cast<char>(c);
    const std::string p = printable(all);
    ASSERT_EQ(p.size(), all.size());
    for (int c = 0; c < 256; ++c) {
        const bool control = c < 0x20 || c == 0x7f;
        EXPECT_EQ(p[static_cast<std::size_t>(c)], control ? '?' : static_cast<char>(c)) << c;
    }
    EXPECT_EQ(printable("id\x1b[2J\nx"), "id?[2J?x"); // no escape sequence, one line
}

TEST(Text, ComparesIgnoringAsciiCase) {
    EXPECT_TRUE(iequals_ascii("d41D8cd98F00", "D41d8CD98f00"));
    EXPECT_FALSE(iequals_ascii("abc", "abd"));
    EXPECT_FALSE(iequals_ascii("abc", "abcd"));
}

TEST(Text, HexDigitValues) {
    EXPECT_EQ(hex_digit_value('0'), 0);
    EXPECT_EQ(hex_digit_value('9'), 9);
    EXPECT_EQ(hex_digit_value('a'), 10);
    EXPECT_EQ(hex_digit_value('F'), 15);
    EXPECT_EQ(hex_digit_value('g'), -1);
    EXPECT_EQ(hex_digit_value('/'), -1);
}

} // namespace
} // namespace sqs2pg::base
