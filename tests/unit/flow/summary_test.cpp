// The summary line is one parseable JSON object with the fields harnesses read.
#include <sqs2pg/flow/summary.hpp>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace sqs2pg::flow {
namespace {

TEST(Summary, IsOneJsonObjectWithEveryField) {
    run_summary s;
    s.received = 100;
    s.inserted = 99;
    s.rejected = 1;
    s.deleted = 100;
    s.seconds = 2.5;
    s.msgs_per_sec = 40;
    s.p50_ms = 12.25;
    s.peak_rss_kb = 15000;
    const auto text = s.to_json();
    EXPECT_EQ(text.find('\n'), std::string::npos);
    const auto v = boost::json::parse(text).as_object();
    for (const char* k : {"received", "inserted", "duplicates_skipped", "rejected", "deleted",
                          "seconds", "msgs_per_sec", "p50_ms", "p99_ms", "peak_rss_kb"})
        EXPECT_TRUE(v.contains(k)) << k;
    EXPECT_EQ(v.at("received").as_int64(), 100);
    EXPECT_EQ(v.at("inserted").as_int64(), 99);
    EXPECT_DOUBLE_EQ(v.at("seconds").as_double(), 2.5);
    EXPECT_DOUBLE_EQ(v.at("p50_ms").as_double(), 12.25);
    EXPECT_TRUE(v.at("p99_ms").is_null()); // nothing measured: null, not 0
}

TEST(Summary, PeakRssIsMeasured) {
    EXPECT_GT(peak_rss_kb(), 1000);
}

} // namespace
} // namespace sqs2pg::flow
