// Array parameters are byte-exact PostgreSQL array_send / array_in encodings.
#include <sqs2pg/pg/params.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace sqs2pg::pg;
using namespace std::chrono;
using namespace std::string_literals;

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}

TEST(BinaryArray, TextWithNull) {
    array_builder b(param_format::binary, element_type::text);
    b.add_text("ab");
    b.add_null();
    const std::string expected =
        be32(1) + be32(1) + be32(25) + be32(2) + be32(1) + be32(2) + "ab" + be32(0xffffffffu);
    EXPECT_EQ(b.finish(), expected);
}

TEST(BinaryArray, EmptyHasNoDimensions) {
    array_builder b(param_format::binary, element_type::int4);
    EXPECT_EQ(b.finish(), be32(0) + be32(0) + be32(23));
}

TEST(BinaryArray, IntegersAreBigEndian) {
    array_builder b(param_format::binary, element_type::int4);
    b.add_int4(-2);
    b.add_int4(0x01020304);
    EXPECT_EQ(b.finish(), be32(1) + be32(0) + be32(23) + be32(2) + be32(1) + be32(4) +
                              be32(0xfffffffeu) + be32(4) + be32(0x01020304));
    array_builder c(param_format::binary, element_type::int8);
    c.add_int8(0x0102030405060708LL);
    EXPECT_EQ(c.finish(), be32(1) + be32(0) + be32(20) + be32(1) + be32(1) + be32(8) +
                              be32(0x01020304) + be32(0x05060708));
}

TEST(BinaryArray, DatesCountDaysFrom2000) {
    array_builder b(param_format::binary, element_type::date);
    b.add_date(sys_days(year(2000) / 1 / 2));
    b.add_date(sys_days(year(1999) / 12 / 31));
    EXPECT_EQ(b.finish(), be32(1) + be32(0) + be32(1082) + be32(2) + be32(1) + be32(4) + be32(1) +
                              be32(4) + be32(0xffffffffu));
}

TEST(BinaryArray, ByteaIsRaw) {
    array_builder b(param_format::binary, element_type::bytea);
    b.add_bytea("\x00\xff"s);
    EXPECT_EQ(b.finish(), be32(1) + be32(0) + be32(17) + be32(1) + be32(1) + be32(2) + "\x00\xff"s);
}

TEST(BinaryArray, BuilderIsReusableAfterFinish) {
    array_builder b(param_format::binary, element_type::int4);
    b.add_null();
    (void)b.finish();
    EXPECT_EQ(b.finish(), be32(0) + be32(0) + be32(23));
}

TEST(TextArray, ElementsAreQuotedAndEscaped) {
    array_builder b(param_format::text, element_type::text);
    b.add_text("a\"b");
    b.add_text("c\\d");
    b.add_text("");
    b.add_text("NULL");
    b.add_null();
    EXPECT_EQ(b.finish(), R"({"a\"b","c\\d","","NULL",NULL})");
}

TEST(TextArray, NumbersDatesAndBytea) {
    array_builder i(param_format::text, element_type::int4);
    i.add_int4(-7);
    i.add_int4(42);
    EXPECT_EQ(i.finish(), "{-7,42}");
    array_builder d(param_format::text, element_type::date);
    d.add_date(sys_days(year(2024) / 1 / 31));
    d.add_date(sys_days(year(0) / 3 / 1));
    EXPECT_EQ(d.finish(), "{2024-01-31,0001-03-01 BC}");
    array_builder y(param_format::text, element_type::bytea);
    y.add_bytea("\x01\xff"s);
    EXPECT_EQ(y.finish(), R"({"\\x01ff"})");
    array_builder e(param_format::text, element_type::text);
    EXPECT_EQ(e.finish(), "{}");
}

row_item sample_row(std::string id, std::optional<std::string> locale) {
    row_item r;
    r.message_id = std::move(id);
    r.row.user_id = "u1";
    r.row.device_type = "ios";
    r.row.masked_ip = std::string(64, 'a');
    r.row.masked_device_id = std::string(64, 'b');
    r.row.locale = std::move(locale);
    r.row.app_version = 230;
    r.row.create_date = sys_days(year(2024) / 5 / 6);
    return r;
}

TEST(EncodeRows, OneArrayPerColumnForTheChosenRows) {
    std::vector<row_item> rows = {sample_row("m0", "en_US"), sample_row("m1", std::nullopt),
                                  sample_row("m2", "fr")};
    rows[1].sent_timestamp_ms = 1700000000123;
    const std::uint32_t which[] = {2, 1};
    param_set p = encode_rows(rows, which, param_format::text);
    ASSERT_EQ(p.size(), 9);
    const auto param = [&](int i) { return std::string(p.values[i], p.lengths[i]); };
    EXPECT_EQ(param(0), R"({"m2","m1"})");
    EXPECT_EQ(param(1), R"({"u1","u1"})");
    EXPECT_EQ(param(5), R"({"fr",NULL})");
    EXPECT_EQ(param(6), "{230,230}");
    EXPECT_EQ(param(7), "{2024-05-06,2024-05-06}");
    EXPECT_EQ(param(8), "{0,1700000000123}"); // m2 has no SentTimestamp: 0, the epoch
    for (int f : p.formats)
        EXPECT_EQ(f, 0);

    param_set b = encode_rows(rows, which, param_format::binary);
    ASSERT_EQ(b.size(), 9);
    for (int f : b.formats)
        EXPECT_EQ(f, 1);
    // message ids: header + two 2-byte elements
    EXPECT_EQ(std::string(b.values[0], b.lengths[0]),
              be32(1) + be32(0) + be32(25) + be32(2) + be32(1) + be32(2) + "m2" + be32(2) + "m1");
}

TEST(EncodeRejects, OutOfRangeSentTimestampsAndEmptyBodiesAreNull) {
    reject_item a{"m1", "invalid_json", 3, 1700000000123, "sealed"};
    reject_item b{"m2", "too_long", 1, -5, ""};
    reject_item c{"m3", "x", 1, std::nullopt, "z"};
    const reject_item* items[] = {&a, &b, &c};
    param_set p = encode_rejects(items, param_format::text);
    ASSERT_EQ(p.size(), 5);
    EXPECT_EQ(std::string(p.values[3], p.lengths[3]), "{1700000000123,NULL,NULL}");
    EXPECT_EQ(std::string(p.values[4], p.lengths[4]), R"({"\\x7365616c6564",NULL,"\\x7a"})");
    EXPECT_EQ(std::string(p.values[2], p.lengths[2]), "{3,1,1}");
}

TEST(ParseIntArray, AcceptsPostgresOutput) {
    std::vector<std::uint32_t> v;
    ASSERT_TRUE(parse_int_array("{}", v));
    EXPECT_TRUE(v.empty());
    ASSERT_TRUE(parse_int_array("{1,5,700}", v));
    EXPECT_EQ(v, (std::vector<std::uint32_t>{1, 5, 700}));
    for (const char* bad : {"", "{", "1,2", "{1,}", "{,1}", "{a}", "{1 2}", "{-1}"})
        EXPECT_FALSE(parse_int_array(bad, v)) << bad;
}

} // namespace
