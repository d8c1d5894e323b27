// --listen values: the forms users write, and a clear reason for the ones refused.
#include <sqs2pg/ops/endpoint.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::ops {
namespace {

listen_address ok(std::string_view s) {
    auto r = parse_listen_address(s);
    EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().reason);
    return r ? *r : listen_address{};
}

std::string why(std::string_view s) {
    auto r = parse_listen_address(s);
    EXPECT_FALSE(r.has_value()) << s;
    return r ? std::string() : r.error().reason;
}

TEST(ListenAddress, AcceptsIpLiteralsAndLocalhost) {
    EXPECT_EQ(ok("127.0.0.1:9464"), (listen_address{"127.0.0.1", 9464}));
    EXPECT_EQ(ok("0.0.0.0:80"), (listen_address{"0.0.0.0", 80}));
    EXPECT_EQ(ok("[::1]:9464"), (listen_address{"::1", 9464}));
    EXPECT_EQ(ok("[::]:1"), (listen_address{"::", 1}));
    EXPECT_EQ(ok("localhost:8080"), (listen_address{"127.0.0.1", 8080}));
    EXPECT_EQ(ok("127.0.0.1:0"), (listen_address{"127.0.0.1", 0}));
    EXPECT_EQ(ok("127.0.0.1:65535").port, 65535);
}

TEST(ListenAddress, RefusesWhatItCannotBind) {
    EXPECT_NE(why("9464").find("HOST:PORT"), std::string::npos);
    EXPECT_NE(why(":9464").find("host is missing"), std::string::npos);
    EXPECT_NE(why("127.0.0.1:").find("port is missing"), std::string::npos);
    EXPECT_NE(why("127.0.0.1:65536").find("0 to 65535"), std::string::npos);
    EXPECT_NE(why("127.0.0.1:-1").find("0 to 65535"), std::string::npos);
    EXPECT_NE(why("127.0.0.1:80x").find("0 to 65535"), std::string::npos);
    EXPECT_NE(why("::1:9464").find("brackets"), std::string::npos);
    EXPECT_NE(why("[::1:9464").find("']'"), std::string::npos);
    EXPECT_NE(why("[::1]9464").find("':PORT'"), std::string::npos);
    EXPECT_NE(why("example.com:80").find("IP address or localhost"), std::string::npos);
    EXPECT_NE(why("[127.0.0.1]:80").find("IP address"), std::string::npos);
    EXPECT_NE(why("300.1.1.1:80").find("IP address"), std::string::npos);
}

TEST(ListenAddress, ValueThrowsWithTheReason) {
    EXPECT_THROW((void)parse_listen_address("nope").value(), std::invalid_argument);
}

} // namespace
} // namespace sqs2pg::ops
