// Endpoint URL parsing and the error classification callers rely on for retries.
#include <sqs2pg/http/endpoint.hpp>
#include <sqs2pg/http/error.hpp>

#include <gtest/gtest.h>

namespace sqs2pg::http {
namespace {

TEST(Endpoint, ParsesSchemeHostPortAndPath) {
    auto ep = endpoint::parse("https://sqs.us-east-1.amazonaws.com/123456789012/orders");
    ASSERT_TRUE(ep);
    EXPECT_TRUE(ep->tls);
    EXPECT_EQ(ep->host, "sqs.us-east-1.amazonaws.com");
    EXPECT_EQ(ep->port, 443);
    EXPECT_EQ(ep->path, "/123456789012/orders");
    EXPECT_EQ(ep->host_header(), "sqs.us-east-1.amazonaws.com");
    EXPECT_EQ(ep->origin(), "https://sqs.us-east-1.amazonaws.com");

    ep = endpoint::parse("HTTP://localhost:4566");
    ASSERT_TRUE(ep);
    EXPECT_FALSE(ep->tls);
    EXPECT_EQ(ep->port, 4566);
    EXPECT_EQ(ep->path, "");
    EXPECT_EQ(ep->host_header(), "localhost:4566");

    ep = endpoint::parse("http://127.0.0.1/");
    ASSERT_TRUE(ep);
    EXPECT_EQ(ep->port, 80);
    EXPECT_EQ(ep->path, "/");
    EXPECT_EQ(ep->host_header(), "127.0.0.1");
}

TEST(Endpoint, DefaultPortIsLeftOutOfHostOnlyForItsScheme) {
    EXPECT_EQ(endpoint::parse("https://h:80")->host_header(), "h:80");
    EXPECT_EQ(endpoint::parse("http://h:443")->host_header(), "h:443");
    EXPECT_EQ(endpoint::parse("https://h:443")->host_header(), "h");
}

TEST(Endpoint, Ipv6InBrackets) {
    auto ep = endpoint::parse("http://[fd00:ec2::254]/latest");
    ASSERT_TRUE(ep);
    EXPECT_EQ(ep->host, "fd00:ec2::254");
    EXPECT_EQ(ep->host_header(), "[fd00:ec2::254]");
    ep = endpoint::parse("https://[::1]:8443");
    ASSERT_TRUE(ep);
    EXPECT_EQ(ep->port, 8443);
    EXPECT_EQ(ep->host_header(), "[::1]:8443");
}

TEST(Endpoint, RejectsWhatItCannotUse) {
    for (const char* bad :
         {"", "sqs.amazonaws.com", "ftp://h", "https://", "https://:443", "http://h:", "http://h:0",
          "http://h:65536", "http://h:12ab", "http://user:pw@h", "http://h/p?q=1", "http://h/#f",
          "http://[::1", "http://[]", "http://[::1]x", "http://h h", "http://[zz::1]"}) {
        auto ep = endpoint::parse(bad);
        EXPECT_FALSE(ep) << bad;
        if (!ep) {
            EXPECT_EQ(ep.error(), make_error_code(errc::invalid_url)) << bad;
        }
    }
}

TEST(HttpErrors, RetryableFatalAndHints) {
    for (auto e : {errc::timeout, errc::resolve_failed, errc::connect_failed, errc::tls_failed,
                   errc::closed}) {
        EXPECT_TRUE(is_retryable(e)) << make_error_code(e).message();
        EXPECT_FALSE(is_fatal(e));
    }
    for (auto e : {errc::tls_verify_failed, errc::invalid_url, errc::body_too_large}) {
        EXPECT_TRUE(is_fatal(e)) << make_error_code(e).message();
        EXPECT_FALSE(is_retryable(e));
    }
    EXPECT_FALSE(is_retryable(errc::cancelled));
    EXPECT_FALSE(is_fatal(errc::cancelled));
    EXPECT_FALSE(is_retryable(errc::protocol));
    EXPECT_FALSE(is_retryable(make_error_code(boost::system::errc::timed_out))); // not ours
    EXPECT_NE(hint(errc::tls_verify_failed).find("CA"), std::string_view::npos);
    EXPECT_EQ(make_error_code(errc::timeout).message(), "request deadline passed");
}

} // namespace
} // namespace sqs2pg::http
