// The logger writes one parseable JSON object per line, escapes what needs escaping,
// and drops lines below the configured level.
#include <sqs2pg/ops/log.hpp>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <future>
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

// Everything that can be read from `fd` within `quiet` of silence.
std::string read_all(int fd, std::chrono::milliseconds quiet = std::chrono::milliseconds(200)) {
    std::string out;
    char buf[65536];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0)
            return out;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0)
            return out;
        out.append(buf, static_cast<std::size_t>(n));
    }
}

TEST(Log, APipeNobodyReadsNeverBlocksAndTheDropIsReportedLater) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::FILE* w = ::fdopen(fds[1], "w");
    configure_logging(level::info, log_format::json, w);
    const auto before = log_lines_dropped();
    const std::string pad(100, 'x');
    // 50,000 lines of ~200 bytes: far more than the pipe (64 KiB) and the logger's own
    // buffer (1 MiB) hold. A blocking writer would wait here for ever.
    auto writing = std::async(std::launch::async, [&] {
        for (int i = 0; i < 50'000; ++i)
            log(level::info, "test.line", {{"i", i}, {"pad", std::string_view(pad)}});
    });
    const bool finished = writing.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
    if (!finished)
        (void)read_all(fds[0]); // let it go, then fail
    writing.wait();
    EXPECT_TRUE(finished) << "logging blocked on a full pipe";
    EXPECT_GT(log_lines_dropped(), before);

    // The reader comes back: what waited is written, then a line says what was missed.
    auto reading = std::async(std::launch::async, [&] {
        std::string got;
        char buf[65536];
        for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
            got.append(buf, static_cast<std::size_t>(n));
        return got;
    });
    log(level::warn, "test.after", {});
    flush_logs(std::chrono::seconds(10));
    configure_logging(level::info, log_format::json, stderr);
    std::fclose(w); // the reader sees the end
    const std::string got = reading.get();
    EXPECT_NE(got.find("\"event\":\"log.lines_dropped\""), std::string::npos);
    EXPECT_NE(got.find("\"event\":\"test.after\""), std::string::npos);
    ::close(fds[0]);
}

TEST(Log, AReaderThatWentAwayCostsNothing) {
    const auto old = std::signal(SIGPIPE, SIG_IGN); // as main() does
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ::close(fds[0]);
    std::FILE* w = ::fdopen(fds[1], "w");
    configure_logging(level::info, log_format::json, w);
    const auto before = log_lines_dropped();
    for (int i = 0; i < 100; ++i)
        log(level::info, "test.line", {{"i", i}});
    EXPECT_GE(log_lines_dropped(), before + 1);
    configure_logging(level::info, log_format::json, stderr);
    std::fclose(w);
    std::signal(SIGPIPE, old);
}

} // namespace
} // namespace sqs2pg::ops
