// The logger writes one parseable JSON object per line, escapes what needs escaping,
// and drops lines below the configured level.
#include <sqs2pg/ops/log.hpp>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace sqs2pg::ops {
namespace {

std::string capture(level min, log_format format, auto&& body) {
    char* buf = nullptr;
    std::size_t len = 0;
    std::FILE* mem = open_memstream(&buf, &len);
    configure_logging(min, format, mem);
    body();
    std::fclose(mem);
    std::string out(buf, len);
    std::free(buf);
    configure_logging(level::info, log_format::json, stderr);
    return out;
}

TEST(Log, JsonLinesCarryEventAndTypedFields) {
    const auto out = capture(level::info, log_format::json, [] {
        log(level::info, "pg.connected", {{"host", "127.0.0.1"}, {"port", 5432}, {"tls", false}});
    });
    ASSERT_EQ(out.back(), '\n');
    const auto v = boost::json::parse(out).as_object();
    EXPECT_EQ(v.at("level").as_string(), "info");
    EXPECT_EQ(v.at("event").as_string(), "pg.connected");
    EXPECT_EQ(v.at("host").as_string(), "127.0.0.1");
    EXPECT_EQ(v.at("port").as_int64(), 5432);
    EXPECT_EQ(v.at("tls").as_bool(), false);
    EXPECT_EQ(v.at("ts").as_string().size(), 24u); // 2026-11-25T02:30:00.123Z
}

TEST(Log, EscapesControlCharactersAndQuotes) {
    const auto out = capture(level::info, log_format::json, [] {
        log(level::warn, "x", {{"detail", "a\"b\\c\nd\x01"}});
    });
    const auto v = boost::json::parse(out).as_object();
    EXPECT_EQ(v.at("detail").as_string(), "a\"b\\c\nd\x01");
}

TEST(Log, DropsLinesBelowTheLevel) {
    const auto out = capture(level::warn, log_format::json, [] {
        log(level::info, "quiet");
        log(level::debug, "quieter");
        log(level::error, "loud");
    });
    EXPECT_EQ(out.find("quiet"), std::string::npos);
    EXPECT_NE(out.find("loud"), std::string::npos);
}

TEST(Log, TextFormatQuotesOnlyWhenNeeded) {
    const auto out = capture(level::info, log_format::text, [] {
        log(level::info, "sqs.receive", {{"queue", "login-queue"}, {"note", "two words"}});
    });
    EXPECT_NE(out.find(" info  sqs.receive queue=login-queue note=\"two words\"\n"),
              std::string::npos)
        << out;
}

TEST(Log, ParsesLevels) {
    level l{};
    EXPECT_TRUE(parse_level("warn", l));
    EXPECT_EQ(l, level::warn);
    EXPECT_FALSE(parse_level("verbose", l));
}

} // namespace
} // namespace sqs2pg::ops
