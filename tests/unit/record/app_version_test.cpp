// app_version encoding: the sample's values, the documented ambiguous forms, limits,
// and the order/round-trip properties on random versions.
#include <sqs2pg/record/app_version.hpp>

#include <gtest/gtest.h>

#include <random>

namespace sqs2pg::record {
namespace {

TEST(AppVersion, SampleValuesEncodeAsDocumented) {
    // The table in docs/records.md.
    const std::pair<const char*, std::int32_t> table[] = {
        {"2.3.0", 2'003'000}, {"0.2.6", 2'006},    {"0.96", 96'000},    {"3.7", 3'007'000},
        {"2.0", 2'000'000},   {"2.00", 2'000'000}, {"0.60", 60'000},    {"0.6.6", 6'006},
        {"0.61", 61'000},     {"6.02", 6'002'000}, {"9.10", 9'010'000}, {"9.6", 9'006'000},
        {"1.1", 1'001'000},   {"5.60", 5'060'000}, {"0.5.0", 5'000},    {"9.8.0", 9'008'000},
    };
    for (const auto& [text, expected] : table)
        EXPECT_EQ(encode_app_version(text), expected) << text;
}

TEST(AppVersion, AmbiguousFormsFollowIntegerComponents) {
    // "2.0" and "2.00" are the same version; "0.60" is minor 60, above "0.6.6".
    EXPECT_EQ(encode_app_version("2.0"), encode_app_version("2.00"));
    EXPECT_EQ(encode_app_version("2"), encode_app_version("2.0.0"));
    EXPECT_GT(*encode_app_version("0.60"), *encode_app_version("0.6.6"));
    EXPECT_GT(*encode_app_version("9.10"), *encode_app_version("9.6"));
    EXPECT_EQ(encode_app_version("6.02"), encode_app_version("6.2"));
    EXPECT_EQ(format_version(*decode_app_version(*encode_app_version("2.00"))), "2.0.0");
    EXPECT_EQ(format_version(*decode_app_version(*encode_app_version("0.96"))), "0.96.0");
}

TEST(AppVersion, LimitsAndInvalidForms) {
    EXPECT_EQ(encode_app_version("2146.999.999"), 2'146'999'999);
    EXPECT_EQ(encode_app_version("0"), 0);
    EXPECT_EQ(encode_app_version("0000000000002.1"), 2'001'000); // leading zeros only pad
    for (const char* bad : {"2147", "2147.0.0", "1.1000", "1.0.1000", "1.2.3.4",
                            "",     ".",        "1.",     ".1",       "1..2",
                            "v1.2", "1.2-beta", "-1",     "+1",       " 1.2",
                            "1.2 ", "1,2",      "1.2.3.", "１.２",    "99999999999999999999"})
        EXPECT_FALSE(encode_app_version(bad)) << '"' << bad << '"';
}

TEST(AppVersion, DecodeRejectsIntegersOutsideTheRule) {
    EXPECT_FALSE(decode_app_version(-1));
    EXPECT_FALSE(decode_app_version(2'147'000'000));
    EXPECT_EQ(decode_app_version(2'146'999'999), (version{2146, 999, 999}));
    EXPECT_EQ(decode_app_version(0), (version{0, 0, 0}));
}

TEST(AppVersion, RandomVersionsKeepOrderAndRoundTrip) {
    std::mt19937 rng(4231);
    std::uniform_int_distribution<std::uint32_t> major(0, max_major), small(0, 999);
    for (int i = 0; i < 5000; ++i) {
        const version a{major(rng) % (i % 2 ? 10 : max_major + 1), small(rng), small(rng)};
        const version b{major(rng) % (i % 2 ? 10 : max_major + 1), small(rng), small(rng)};
        const auto ea = encode_version(a);
        const auto eb = encode_version(b);
        ASSERT_TRUE(ea && eb);
        EXPECT_EQ(a < b, *ea < *eb);
        EXPECT_EQ(a == b, *ea == *eb);
        EXPECT_EQ(decode_app_version(*ea), a);
        EXPECT_EQ(encode_app_version(format_version(a)), ea);
    }
}

} // namespace
} // namespace sqs2pg::record
