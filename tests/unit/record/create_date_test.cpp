// create_date: UTC date of SentTimestamp, attribute parsing, and the counted fallback.
#include <sqs2pg/record/create_date.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::record {
namespace {

using namespace std::chrono;

TEST(CreateDate, UtcDateOfEpochMilliseconds) {
    EXPECT_EQ(utc_date_from_epoch_ms(0), sys_days(1970y / January / 1));
    EXPECT_EQ(utc_date_from_epoch_ms(86'399'999), sys_days(1970y / January / 1));
    EXPECT_EQ(utc_date_from_epoch_ms(86'400'000), sys_days(1970y / January / 2));
    EXPECT_EQ(utc_date_from_epoch_ms(-1), sys_days(1969y / December / 31));
    // 1700000000 s = 2023-11-14T22:13:20Z: late evening UTC stays on the 14th.
    EXPECT_EQ(utc_date_from_epoch_ms(1'700'000'000'000), sys_days(2023y / November / 14));
    EXPECT_EQ(utc_date_from_epoch_ms(max_sent_timestamp_ms), sys_days(9999y / December / 31));
}

TEST(CreateDate, ParsesOnlyDecimalMillisecondsInRange) {
    EXPECT_EQ(parse_sent_timestamp("1700000000000"), 1'700'000'000'000);
    EXPECT_EQ(parse_sent_timestamp("0"), 0);
    EXPECT_EQ(parse_sent_timestamp("253402300799999"), max_sent_timestamp_ms);
    for (const char* bad : {"", "-1", "+1", "1.5", "17e11", " 1700000000000", "1700000000000 ",
                            "abc", "253402300800000", "9999999999999999"})
        EXPECT_FALSE(parse_sent_timestamp(bad)) << bad;
}

TEST(CreateDate, SentTimestampWinsOverReceiveTime) {
    const auto received = sys_days(2024y / March / 3) + hours(1);
    const dated d = create_date("1700000000000", received);
    EXPECT_EQ(d.date, sys_days(2023y / November / 14));
    EXPECT_EQ(d.source, date_source::sent_timestamp);
}

TEST(CreateDate, FallsBackToReceiveTimeAndSaysWhy) {
    const auto received = sys_days(2024y / March / 3) + hours(23) + minutes(59);
    const dated missing = create_date(std::nullopt, received);
    EXPECT_EQ(missing.date, sys_days(2024y / March / 3));
    EXPECT_EQ(missing.source, date_source::receive_time_missing);
    const dated invalid = create_date("yesterday", received);
    EXPECT_EQ(invalid.date, sys_days(2024y / March / 3));
    EXPECT_EQ(invalid.source, date_source::receive_time_invalid);
}

} // namespace
} // namespace sqs2pg::record
