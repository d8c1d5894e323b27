// ISO 8601 / RFC 3339 times: the forms credential documents and operators write, dates,
// and the UTC form outputs use.
#include <sqs2pg/base/time.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::base {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

TEST(Iso8601, FormsCredentialDocumentsUse) {
    const auto t = sys_days{year{2024} / 1 / 15} + 8h + 30min + 5s;
    EXPECT_EQ(parse_iso8601("2024-01-15T08:30:05Z"), t);
    EXPECT_EQ(parse_iso8601("2024-01-15t08:30:05z"), t);
    EXPECT_EQ(parse_iso8601("2024-01-15T08:30:05.250Z"), t + 250ms);
    EXPECT_EQ(parse_iso8601("2024-01-15T10:30:05+02:00"), t);
    EXPECT_EQ(parse_iso8601("2024-01-15T03:00:05-05:30"), t);
    for (const char* bad : {"", "2024-01-15", "2024-01-15T08:30:05", "2024-01-15 08:30:05Z",
                            "2024-02-30T08:30:05Z", "2024-01-15T25:30:05Z", "2024-01-15T08:30:05.Z",
                            "2024-01-15T08:30:05Zjunk", "2024-01-15T08:30:05+0200"})
        EXPECT_FALSE(parse_iso8601(bad)) << bad;
}

TEST(Iso8601, FractionsToTheMicrosecond) {
    EXPECT_EQ(parse_iso8601("2024-03-01T12:30:00.000250Z"),
              sys_days(year(2024) / 3 / 1) + 12h + 30min + 250us);
}

TEST(Iso8601, Dates) {
    EXPECT_EQ(parse_iso8601_date("2024-03-01"), sys_days(year(2024) / 3 / 1));
    EXPECT_EQ(parse_iso8601_date("2024-02-29"), sys_days(year(2024) / 2 / 29));
    for (const char* bad : {"", "2024-02-30", "2023-02-29", "2024-3-1", "2024-03-01T00:00:00Z",
                            "2024-03-1x", "-024-03-01", "2024/03/01", "2024-13-01", "2024-00-10"})
        EXPECT_FALSE(parse_iso8601_date(bad)) << bad;
}

TEST(Iso8601, Formats) {
    const auto t = sys_time<microseconds>(sys_days(year(2024) / 3 / 1) + 1h + 2min + 3s + 4005us);
    EXPECT_EQ(format_iso8601(t, false), "2024-03-01T01:02:03Z");
    EXPECT_EQ(format_iso8601(t, true), "2024-03-01T01:02:03.004005Z");
    EXPECT_EQ(format_iso8601(sys_time<microseconds>(sys_days(year(1969) / 12 / 31) + 23h), false),
              "1969-12-31T23:00:00Z");
}

TEST(Iso8601, FormatReadsBack) {
    const auto t =
        sys_time<microseconds>(sys_days(year(2024) / 2 / 29) + 23h + 59min + 59s + 999999us);
    EXPECT_EQ(parse_iso8601(format_iso8601(t, true)), t);
}

} // namespace
} // namespace sqs2pg::base
