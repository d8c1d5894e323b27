// The rekey windows (sans-io): they walk every block once, grow over blocks with nothing
// to rewrite, shrink before rewriting a window with much more than a batch, and never pass
// the largest block number; and the rekey SQL names the table and column.
#include <sqs2pg/pg/rekey.hpp>

#include <gtest/gtest.h>

#include <regex>

namespace {

using namespace sqs2pg::pg;

TEST(BlockWindows, CoverEveryBlockOnceAndGrowWhereNothingIsToBeDone) {
    block_windows w(1000);
    std::uint64_t expected_lo = 0;
    std::uint64_t last_width = 0;
    for (int i = 0; i < 20; ++i) {
        const auto win = w.next();
        EXPECT_EQ(win.lo, expected_lo) << "contiguous, no gap, no overlap";
        EXPECT_GT(win.hi, win.lo);
        EXPECT_GE(win.hi - win.lo, last_width) << "empty windows never shrink the next";
        last_width = win.hi - win.lo;
        ASSERT_TRUE(w.fits(0));
        w.done(0);
        expected_lo = win.hi;
        EXPECT_EQ(w.position(), win.hi);
    }
    EXPECT_EQ(w.width(), 8192u) << "capped";
}

TEST(BlockWindows, AWindowWithMuchMoreThanABatchIsNarrowedBeforeAnyWrite) {
    block_windows w(100, 50, 64);
    const auto wide = w.next();
    EXPECT_EQ(wide.lo, 50u);
    EXPECT_EQ(wide.hi, 114u);
    EXPECT_FALSE(w.fits(6400)) << "64 times the batch";
    const auto narrow = w.next();
    EXPECT_EQ(narrow.lo, 50u) << "the same start: nothing was skipped";
    EXPECT_EQ(narrow.hi - narrow.lo, 1u);
    EXPECT_TRUE(w.fits(6400)) << "one block is as narrow as it gets";
    w.done(6400);
    EXPECT_EQ(w.position(), 51u);
    // Up to twice the batch is rewritten as it is, and keeps the width.
    block_windows k(100, 0, 16);
    EXPECT_TRUE(k.fits(200));
    k.done(200);
    EXPECT_EQ(k.width(), 16u);
    EXPECT_TRUE(k.fits(20));
    k.done(20);
    EXPECT_EQ(k.width(), 32u) << "few rows: wider next time";
}

TEST(BlockWindows, StopAtTheLargestBlockNumber) {
    block_windows w(10, max_blocks - 3, 8);
    const auto last = w.next();
    EXPECT_EQ(last.lo, max_blocks - 3);
    EXPECT_EQ(last.hi, max_blocks);
    w.done(0);
    EXPECT_EQ(w.position(), max_blocks);
}

TEST(RekeySql, NamesTheQuotedTableAndColumnAndBoundsTheScanByCtid) {
    const auto t = *parse_qualified_name("\"Odd\"\"Schema\".logins");
    const std::string c = rekey_sql::candidates(t, masked_column::masked_ip);
    EXPECT_NE(c.find("FROM \"Odd\"\"Schema\".\"logins\""), std::string::npos) << c;
    EXPECT_NE(c.find("ctid >= $1::tid AND ctid < $2::tid"), std::string::npos) << c;
    EXPECT_NE(c.find("substring(masked_ip FROM '^([A-Za-z0-9_-]{1,16})[:~]') <> $3"),
              std::string::npos)
        << c;
    const std::string u = rekey_sql::rewrite(t, masked_column::masked_device_id);
    EXPECT_TRUE(u.starts_with("UPDATE \"Odd\"\"Schema\".\"logins\" AS t SET masked_device_id ="))
        << u;
    EXPECT_NE(u.find("t.ctid >= $3::tid AND t.ctid < $4::tid AND t.masked_device_id = "
                     "m.old_value"),
              std::string::npos)
        << u;
    const std::string n = rekey_sql::census(t, masked_column::masked_ip);
    EXPECT_NE(n.find("{64}"), std::string::npos) << "braces survive the formatting: " << n;
    EXPECT_NE(n.find("FROM (SELECT masked_ip AS v FROM \"Odd\"\"Schema\".\"logins\")"),
              std::string::npos)
        << n;
}

TEST(RekeySql, TheKeyIdPatternMatchesEveryReversibleFormatAndNothingElse) {
    // The same pattern as PostgreSQL applies it (POSIX ERE).
    const std::regex re(std::string(rekey_sql::key_id_pattern), std::regex::extended);
    std::smatch m;
    for (const auto& [value, kid] : std::vector<std::pair<std::string, std::string>>{
             {"k1:kSepRnFT6XRCDsZ3kWCtog5RkDB3UkxaaCLJ64T0jQ", "k1"},
             {"k2025_b-x:203.0.113.77", "k2025_b-x"},
             {"k1:2001:db8::1", "k1"},
             {"a_sixteen_char_k~2001:db8::1", "a_sixteen_char_k"}}) {
        ASSERT_TRUE(std::regex_search(value, m, re)) << value;
        EXPECT_EQ(m[1].str(), kid);
    }
    for (const std::string value :
         {"3fa5fafd523078897704b932bf2a2d769a4a7c7c45fa360533fc0f2ce4f1a573", "10.0.0.1",
          "seventeen_chars_k:1.2.3.4", ":1.2.3.4"})
        EXPECT_FALSE(std::regex_search(value, m, re)) << value;
}

} // namespace
