// Error kinds for both protocols' codes, what is retried or fatal, the backoff schedule
// (capped exponential, full jitter) and the release timeout of rejected messages.
#include <sqs2pg/sqs/client.hpp>
#include <sqs2pg/sqs/error.hpp>
#include <sqs2pg/sqs/retry.hpp>

#include <boost/asio/error.hpp>
#include <gtest/gtest.h>

#include <limits>

namespace sqs2pg::sqs {
namespace {

using std::chrono::milliseconds;

error make(errc kind, std::string code = {}, unsigned status = 0) {
    error e;
    e.kind = kind;
    e.code = std::move(code);
    e.http_status = status;
    return e;
}

TEST(ErrorKinds, BothProtocolSpellingsMapToOneKind) {
    EXPECT_EQ(classify("AWS.SimpleQueueService.NonExistentQueue", 400), errc::not_found);
    EXPECT_EQ(classify("QueueDoesNotExist", 400), errc::not_found);
    EXPECT_EQ(classify("AWS.SimpleQueueService.PurgeQueueInProgress", 403), errc::conflict);
    EXPECT_EQ(classify("PurgeQueueInProgress", 403), errc::conflict);
    EXPECT_EQ(classify("QueueAlreadyExists", 400), errc::conflict);
    EXPECT_EQ(classify("QueueNameExists", 400), errc::conflict);
    EXPECT_EQ(classify("AWS.SimpleQueueService.MessageNotInflight", 400), errc::receipt_invalid);
    EXPECT_EQ(classify("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400),
              errc::invalid_request);
    EXPECT_EQ(classify("BatchEntryIdsNotDistinct", 400), errc::invalid_request);
    EXPECT_EQ(classify("RequestThrottled", 403), errc::throttled);
    EXPECT_EQ(classify("ThrottlingException", 400), errc::throttled);
    EXPECT_EQ(classify("KmsThrottled", 400), errc::throttled);
    EXPECT_EQ(classify("OverLimit", 403), errc::over_limit);
    for (const char* auth : {"SignatureDoesNotMatch", "InvalidClientTokenId", "IncompleteSignature",
                             "MissingAuthenticationToken", "RequestExpired", "AccessDenied",
                             "AccessDeniedException", "InvalidSecurity", "ExpiredToken",
                             "UnrecognizedClientException", "InvalidSignatureException"})
        EXPECT_EQ(classify(auth, 400), errc::auth) << auth;
    EXPECT_EQ(classify("KmsDisabled", 400), errc::invalid_request);
}

TEST(ErrorKinds, UnknownCodesFallBackOnTheStatus) {
    EXPECT_EQ(classify("SomethingNew", 400), errc::invalid_request);
    EXPECT_EQ(classify("SomethingNew", 403), errc::auth);
    EXPECT_EQ(classify("", 401), errc::auth);
    EXPECT_EQ(classify("", 404), errc::not_found);
    EXPECT_EQ(classify("", 429), errc::throttled);
    EXPECT_EQ(classify("", 500), errc::server);
    EXPECT_EQ(classify("", 503), errc::server);
    EXPECT_EQ(classify("", 0), errc::bad_response);
}

TEST(ErrorKinds, RetryableAndFatalSets) {
    for (auto k :
         {errc::throttled, errc::over_limit, errc::server, errc::transport, errc::timeout}) {
        EXPECT_TRUE(is_retryable(k)) << kind_name(k);
        EXPECT_FALSE(is_fatal(k)) << kind_name(k);
    }
    for (auto k : {errc::auth, errc::credentials, errc::not_found, errc::configuration}) {
        EXPECT_FALSE(is_retryable(k)) << kind_name(k);
        EXPECT_TRUE(is_fatal(k)) << kind_name(k);
        EXPECT_FALSE(hint(k).empty());
    }
    for (auto k : {errc::invalid_request, errc::invalid_argument, errc::receipt_invalid,
                   errc::conflict, errc::bad_response, errc::cancelled}) {
        EXPECT_FALSE(is_retryable(k)) << kind_name(k);
        EXPECT_FALSE(is_fatal(k)) << kind_name(k);
    }
}

TEST(ErrorKinds, ErrorCodeIntegrationAndDescription) {
    const boost::system::error_code ec = errc::throttled;
    EXPECT_EQ(ec.category().name(), std::string("sqs2pg.sqs"));
    EXPECT_EQ(ec.message(), "throttled");
    auto e = make(errc::auth, "SignatureDoesNotMatch", 403);
    e.request_id = "rid-1";
    e.action = "ReceiveMessage";
    e.message = "user data: 10.0.0.1";
    const auto text = describe(e);
    EXPECT_EQ(
        text.rfind(
            "ReceiveMessage failed: auth (SignatureDoesNotMatch), HTTP 403, request id rid-1: "
            "authentication failed",
            0),
        0u)
        << text;
    EXPECT_EQ(text.find("10.0.0.1"), std::string::npos);
    result<int> r = e;
    EXPECT_THROW((void)r.value(), boost::system::system_error);
}

TEST(RetryPolicy, CeilingDoublesFromTheBaseUpToTheCap) {
    retry_policy p({10, milliseconds(200), milliseconds(20'000)});
    const long expected[] = {200, 400, 800, 1600, 3200, 6400, 12'800, 20'000, 20'000};
    for (unsigned i = 0; i < std::size(expected); ++i)
        EXPECT_EQ(p.ceiling(i + 1).count(), expected[i]) << i + 1;
    EXPECT_EQ(p.ceiling(1000).count(), 20'000); // no overflow
}

TEST(RetryPolicy, FullJitterSpansZeroToTheCeiling) {
    retry_policy p({8, milliseconds(100), milliseconds(1000)});
    const auto throttled = make(errc::throttled, "RequestThrottled", 403);
    EXPECT_EQ(p.next_delay(throttled, 1, true, 0), milliseconds(0));
    EXPECT_EQ(p.next_delay(throttled, 1, true, 100), milliseconds(100));
    EXPECT_EQ(p.next_delay(throttled, 1, true, 101), milliseconds(0));
    EXPECT_EQ(p.next_delay(throttled, 3, true, 399), milliseconds(399));
    for (std::uint64_t r :
         {std::uint64_t{1}, std::uint64_t{12345}, std::numeric_limits<std::uint64_t>::max()}) {
        for (unsigned a = 1; a < 8; ++a) {
            const auto d = p.next_delay(throttled, a, true, r);
            ASSERT_TRUE(d);
            EXPECT_LE(*d, p.ceiling(a));
            EXPECT_GE(d->count(), 0);
        }
    }
}

TEST(RetryPolicy, GivesUpAfterMaxAttempts) {
    retry_policy p({3, milliseconds(10), milliseconds(100)});
    const auto e = make(errc::server, "InternalError", 500);
    EXPECT_TRUE(p.next_delay(e, 1, true, 5));
    EXPECT_TRUE(p.next_delay(e, 2, true, 5));
    EXPECT_FALSE(p.next_delay(e, 3, true, 5));
    retry_policy never({1, milliseconds(10), milliseconds(100)});
    EXPECT_FALSE(never.next_delay(e, 1, true, 5));
}

TEST(RetryPolicy, NeverRetriesAuthRequestErrorsOrCancellation) {
    retry_policy p;
    for (auto k : {errc::auth, errc::credentials, errc::not_found, errc::configuration,
                   errc::invalid_request, errc::invalid_argument, errc::receipt_invalid,
                   errc::conflict, errc::bad_response, errc::cancelled})
        EXPECT_FALSE(p.next_delay(make(k, "X", 400), 1, true, 7)) << kind_name(k);
    EXPECT_FALSE(p.next_delay(make(errc::auth, "SignatureDoesNotMatch", 403), 1, true, 7));
}

TEST(RetryPolicy, ExpiredTokenIsRetriedOnceAtOnce) {
    retry_policy p;
    const auto e = make(errc::auth, "ExpiredToken", 400);
    EXPECT_EQ(p.next_delay(e, 1, true, 999), milliseconds(0));
    EXPECT_FALSE(p.next_delay(e, 2, true, 999));
}

TEST(RetryPolicy, TransportErrorsOnlyWhenRepeatingIsSafe) {
    retry_policy p;
    auto reset = make(errc::transport);
    reset.transport_error = boost::asio::error::connection_reset;
    EXPECT_TRUE(p.next_delay(reset, 1, true, 1));
    EXPECT_FALSE(p.next_delay(reset, 1, false, 1)); // a send may have happened
    auto refused = make(errc::transport);
    refused.transport_error = boost::asio::error::connection_refused;
    refused.request_sent = false;
    EXPECT_TRUE(p.next_delay(refused, 1, false, 1)); // never left the machine
    EXPECT_TRUE(p.next_delay(make(errc::timeout), 1, true, 1));
    EXPECT_FALSE(p.next_delay(make(errc::timeout), 1, false, 1));
    // Throttling and 503 mean "not processed": safe for any call; 500 is not.
    EXPECT_TRUE(p.next_delay(make(errc::throttled, "RequestThrottled", 403), 1, false, 1));
    EXPECT_TRUE(p.next_delay(make(errc::server, "", 503), 1, false, 1));
    EXPECT_FALSE(p.next_delay(make(errc::server, "InternalError", 500), 1, false, 1));
    EXPECT_TRUE(p.next_delay(make(errc::server, "InternalError", 500), 1, true, 1));
    EXPECT_TRUE(p.next_delay(make(errc::over_limit, "OverLimit", 403), 1, true, 1));
}

TEST(RejectedRelease, TheTimeoutDoublesWithTheReceiveCountUpToFifteenMinutes) {
    const rejected_release_options r;
    EXPECT_TRUE(r.enabled);
    EXPECT_EQ(r.timeout(1u), 2);
    EXPECT_EQ(r.timeout(2u), 4);
    EXPECT_EQ(r.timeout(3u), 8);
    EXPECT_EQ(r.timeout(5u), 32);
    EXPECT_EQ(r.timeout(9u), 512);
    EXPECT_EQ(r.timeout(10u), 900);
    EXPECT_EQ(r.timeout(20u), 900);
    EXPECT_EQ(r.timeout(std::numeric_limits<std::uint32_t>::max()), 900);
    EXPECT_EQ(r.timeout(0u), 2); // SQS counts from 1
    EXPECT_EQ(r.timeout(std::nullopt), 30);
}

TEST(RejectedRelease, SettingsAreKeptWithinWhatSqsAccepts) {
    rejected_release_options r;
    r.first = std::chrono::seconds(0); // released at once, every time
    EXPECT_EQ(r.timeout(7u), 0);
    r.first = std::chrono::seconds(10);
    r.max = std::chrono::hours(24); // beyond SQS's 12 hours
    EXPECT_EQ(r.timeout(1u), 10);
    EXPECT_EQ(r.timeout(4u), 80);
    EXPECT_EQ(r.timeout(100u), 43'200);
    r.max = std::chrono::seconds(5); // below `first`: the cap wins
    EXPECT_EQ(r.timeout(1u), 5);
    r.unknown_count = std::chrono::seconds(-3);
    EXPECT_EQ(r.timeout(std::nullopt), 0);
}

} // namespace
} // namespace sqs2pg::sqs
