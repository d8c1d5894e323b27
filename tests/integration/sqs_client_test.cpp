// The SQS client against moto_server with SigV4 checking on, in both wire protocols:
// signatures, the send -> receive -> change visibility -> delete cycle with per-entry
// results, bodies that stress every encoder, redelivery and queue attribute counts.
// Each test works on a fresh queue (test::unique_name), deleted at the end.
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/sqs/client.hpp>
#include <sqs2pg/sqs/integrity.hpp>

#include "test_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>

namespace sqs2pg::sqs {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs `aw` on `ioc` until it completes (the transport may keep idle connections with
// pending work, so run() alone might not return).
template <class T>
T run(asio::io_context& ioc, asio::awaitable<T> aw) {
    auto fut = asio::co_spawn(ioc, std::move(aw), asio::use_future);
    ioc.restart();
    while (fut.wait_for(0s) != std::future_status::ready)
        ioc.run_one();
    return fut.get();
}

aws::credentials test_credentials() {
    return {sqs2pg::test::require_env("SQS2PG_TEST_AWS_ACCESS_KEY_ID"),
            sqs2pg::test::require_env("SQS2PG_TEST_AWS_SECRET_ACCESS_KEY"),
            {},
            {}};
}

http::endpoint test_endpoint() {
    return http::endpoint::parse(sqs2pg::test::require_env("SQS2PG_TEST_SQS_ENDPOINT")).value();
}

class SqsClient : public ::testing::TestWithParam<protocol> {
protected:
    void SetUp() override {
        provider_ = aws::make_static_provider(test_credentials());
        client_ = make_client(*provider_);
        queue_name_ = sqs2pg::test::unique_name("it_sqs_");
        auto url =
            run(ioc_, client_->async_create_queue(queue_name_, {{"VisibilityTimeout", "30"}}));
        ASSERT_TRUE(url) << client_->explain(url.error());
        queue_url_ = *url;
    }

    void TearDown() override {
        if (!queue_url_.empty()) {
            auto deleted = run(ioc_, client_->async_delete_queue(queue_url_));
            EXPECT_TRUE(deleted) << client_->explain(deleted.error());
        }
    }

    std::unique_ptr<client> make_client(aws::credentials_provider& provider) {
        client_options options;
        options.wire = GetParam();
        options.region = sqs2pg::test::require_env("SQS2PG_TEST_AWS_REGION");
        options.retry.base_delay = 50ms;
        return std::make_unique<client>(ioc_.get_executor(), test_endpoint(), provider, options);
    }

    // Receives until `count` messages arrived (moto may return fewer per call).
    std::vector<message> receive_all(std::size_t count, receive_options options = {}) {
        std::vector<message> out;
        options.wait_time_seconds = options.wait_time_seconds.value_or(1);
        for (int round = 0; round < 20 && out.size() < count; ++round) {
            auto res = run(ioc_, client_->async_receive_message(queue_url_, options));
            EXPECT_TRUE(res) << client_->explain(res.error());
            if (!res)
                break;
            EXPECT_TRUE(res->rejected.empty());
            for (auto& m : res->messages)
                out.push_back(std::move(m));
        }
        return out;
    }

    queue_attributes attributes() {
        auto attrs = run(ioc_, client_->async_get_queue_attributes(queue_url_));
        EXPECT_TRUE(attrs) << client_->explain(attrs.error());
        return attrs ? *attrs : queue_attributes{};
    }

    asio::io_context ioc_;
    std::unique_ptr<aws::credentials_provider> provider_;
    std::unique_ptr<client> client_;
    std::string queue_name_;
    std::string queue_url_;
};

TEST_P(SqsClient, TheRightKeyIsAccepted) {
    auto url = run(ioc_, client_->async_get_queue_url(queue_name_));
    ASSERT_TRUE(url) << client_->explain(url.error());
    EXPECT_EQ(*url, queue_url_);
    EXPECT_EQ(client_->stats().retries, 0u);
}

TEST_P(SqsClient, AWrongSecretIsAFatalSignatureDoesNotMatchThatSaysWhatToCheck) {
    auto creds = test_credentials();
    creds.secret_access_key = "not-the-secret-" + creds.secret_access_key;
    auto wrong_provider = aws::make_static_provider(creds);
    auto wrong = make_client(*wrong_provider);

    auto url = run(ioc_, wrong->async_get_queue_url(queue_name_));
    ASSERT_FALSE(url);
    const auto& e = url.error();
    EXPECT_EQ(e.code, "SignatureDoesNotMatch");
    EXPECT_EQ(e.kind, errc::auth);
    EXPECT_EQ(e.http_status, 403u);
    EXPECT_TRUE(is_fatal(e));
    EXPECT_EQ(wrong->stats().retries, 0u); // fatal errors are not retried
    const auto text = wrong->explain(e);
    const std::string region = sqs2pg::test::require_env("SQS2PG_TEST_AWS_REGION");
    for (const char* what : {"SignatureDoesNotMatch", "secret access key", "clock", "region",
                             region.c_str(), "endpoint"})
        EXPECT_NE(text.find(what), std::string::npos) << what << " missing in: " << text;

    // Queue-level calls fail the same way (and never reach the queue).
    auto received = run(ioc_, wrong->async_receive_message(queue_url_, {}));
    ASSERT_FALSE(received);
    EXPECT_EQ(received.error().code, "SignatureDoesNotMatch");
}

TEST_P(SqsClient, AnUnknownAccessKeyIsAFatalAuthError) {
    auto creds = test_credentials();
    creds.access_key_id = "AKIAUNKNOWNUNKNOWN00";
    auto unknown_provider = aws::make_static_provider(creds);
    auto unknown = make_client(*unknown_provider);
    auto url = run(ioc_, unknown->async_get_queue_url(queue_name_));
    ASSERT_FALSE(url);
    EXPECT_EQ(url.error().kind, errc::auth);
    EXPECT_EQ(url.error().code, "InvalidClientTokenId");
}

TEST_P(SqsClient, AMissingQueueIsAFatalNotFound) {
    auto url = run(ioc_, client_->async_get_queue_url(queue_name_ + "_missing"));
    ASSERT_FALSE(url);
    EXPECT_EQ(url.error().kind, errc::not_found);
    EXPECT_TRUE(is_fatal(url.error()));
    EXPECT_EQ(url.error().http_status, 400u);
    EXPECT_FALSE(url.error().request_id.empty());
}

TEST_P(SqsClient, SendReceiveChangeVisibilityDeleteWithOneBadHandle) {
    const std::string binary("\x00\x01\xfe\xff binary", 10);
    std::vector<send_entry> entries;
    for (int i = 0; i < 10; ++i)
        entries.push_back({"m" + std::to_string(i),
                           R"({"event":"login","n":)" + std::to_string(i) + "}",
                           {},
                           {{"trace-id", "String", "trace-" + std::to_string(i)},
                            {"attempt", "Number", std::to_string(i)},
                            {"blob", "Binary", binary}},
                           {},
                           {}});
    const auto before = std::chrono::system_clock::now();
    auto sent = run(ioc_, client_->async_send_message_batch(queue_url_, entries));
    ASSERT_TRUE(sent) << client_->explain(sent.error());
    ASSERT_TRUE(sent->all_succeeded()) << sent->failed.front().code;
    ASSERT_EQ(sent->successful.size(), 10u);
    for (const auto& s : sent->successful)
        EXPECT_FALSE(s.message_id.empty());

    auto got = receive_all(10);
    ASSERT_EQ(got.size(), 10u);
    std::map<std::string, const message*> by_body;
    for (const auto& m : got) {
        by_body[m.body] = &m;
        ASSERT_TRUE(m.sent_timestamp()) << m.message_id;
        EXPECT_LT(std::chrono::abs(*m.sent_timestamp() - before), 60s);
        EXPECT_EQ(m.approximate_receive_count(), 1u);
        EXPECT_TRUE(m.sender_id());
        EXPECT_TRUE(m.approximate_first_receive_timestamp());
        EXPECT_FALSE(m.md5_of_message_attributes.empty());
        ASSERT_EQ(m.message_attributes.size(), 3u);
        EXPECT_EQ(m.find_message_attribute("blob")->value, binary);
        EXPECT_TRUE(m.find_message_attribute("blob")->is_binary());
    }
    for (const auto& e : entries) {
        ASSERT_TRUE(by_body.contains(e.body)) << e.body;
        const auto* m = by_body[e.body];
        EXPECT_EQ(m->find_message_attribute("trace-id")->value, e.message_attributes[0].value);
        EXPECT_EQ(m->find_message_attribute("attempt")->data_type, "Number");
        const auto it = std::ranges::find(sent->successful, e.id, &sent_message::id);
        EXPECT_EQ(it->message_id, m->message_id);
    }

    std::vector<visibility_entry> vis;
    for (std::size_t i = 0; i < got.size(); ++i)
        vis.push_back({"v" + std::to_string(i), got[i].receipt_handle, 120});
    auto changed = run(ioc_, client_->async_change_message_visibility_batch(queue_url_, vis));
    ASSERT_TRUE(changed) << client_->explain(changed.error());
    EXPECT_EQ(changed->successful.size(), 10u);
    EXPECT_TRUE(changed->all_succeeded());
    auto attrs = attributes();
    EXPECT_EQ(attribute_as_number(attrs, "ApproximateNumberOfMessages"), 0u);
    EXPECT_EQ(attribute_as_number(attrs, "ApproximateNumberOfMessagesNotVisible"), 10u);

    // Nine real handles and one that is not: nine deleted, one reported.
    std::vector<delete_entry> del;
    for (std::size_t i = 0; i < 9; ++i)
        del.push_back({"d" + std::to_string(i), got[i].receipt_handle});
    del.push_back({"bad", "AQEBbogus+receipt/handle=="});
    auto deleted = run(ioc_, client_->async_delete_message_batch(queue_url_, del));
    ASSERT_TRUE(deleted) << client_->explain(deleted.error());
    EXPECT_EQ(deleted->successful.size(), 9u);
    ASSERT_EQ(deleted->failed.size(), 1u);
    EXPECT_EQ(deleted->failed[0].id, "bad");
    EXPECT_EQ(deleted->failed[0].code, "ReceiptHandleIsInvalid");
    EXPECT_TRUE(deleted->failed[0].sender_fault);
    EXPECT_EQ(classify(deleted->failed[0].code, 0), errc::receipt_invalid);
    EXPECT_EQ(deleted->failure("d0"), nullptr);

    attrs = attributes();
    EXPECT_EQ(attribute_as_number(attrs, "ApproximateNumberOfMessages"), 0u);
    EXPECT_EQ(attribute_as_number(attrs, "ApproximateNumberOfMessagesNotVisible"), 1u);
    auto last = run(
        ioc_, client_->async_delete_message_batch(queue_url_, {{"last", got[9].receipt_handle}}));
    ASSERT_TRUE(last);
    EXPECT_TRUE(last->all_succeeded());
    attrs = attributes();
    EXPECT_EQ(attribute_as_number(attrs, "ApproximateNumberOfMessagesNotVisible"), 0u);
}

TEST_P(SqsClient, BodiesWithSpecialCharactersAndOneMebibyteRoundTripWithMd5Verified) {
    const std::vector<std::string> bodies = {
        "plus+sign and space",
        "amp&ersand=equals%percent%20not-an-escape",
        "h\u00e9llo w\u00f6rld \u2013 \u65e5\u672c\u8a9e \U0001F680",
        "<tag attr=\"v\">a & b 'q'</tag>\r\nline2\ttab\rcr-only",
        "  leading and trailing spaces  ",
        "~!@#$^*()_-{}[]|\\:;\"'<>,.?/`",
    };
    std::vector<send_entry> entries;
    for (std::size_t i = 0; i < bodies.size(); ++i)
        entries.push_back({"b" + std::to_string(i), bodies[i], {}, {}, {}, {}});
    auto sent = run(ioc_, client_->async_send_message_batch(queue_url_, entries));
    ASSERT_TRUE(sent) << client_->explain(sent.error());
    ASSERT_TRUE(sent->all_succeeded()) << sent->failed.front().code;
    for (const auto& s : sent->successful) {
        const auto& body = bodies[std::stoul(s.id.substr(1))];
        EXPECT_EQ(s.md5_of_message_body, base::md5_hex(body)) << body;
    }

    // Exactly the SQS maximum, 1,048,576 bytes, with characters every encoder escapes.
    std::string big;
    const std::string pattern = "a+b&c=d%e <f>\"g'\r\n\u00e9";
    while (big.size() + pattern.size() <= 1'048'576)
        big += pattern;
    big.append(1'048'576 - big.size(), 'z');
    ASSERT_EQ(big.size(), 1'048'576u);
    auto sent_big = run(ioc_, client_->async_send_message(queue_url_, {"", big, {}, {}, {}, {}}));
    ASSERT_TRUE(sent_big) << client_->explain(sent_big.error());
    EXPECT_EQ(sent_big->md5_of_message_body, base::md5_hex(big));

    receive_options options;
    options.max_number_of_messages = 10;
    auto got = receive_all(bodies.size() + 1, options);
    ASSERT_EQ(got.size(), bodies.size() + 1);
    std::vector<std::string> received;
    for (const auto& m : got) {
        EXPECT_EQ(m.md5_of_body, base::md5_hex(m.body));
        EXPECT_EQ(integrity_problem(m), "");
        received.push_back(m.body);
    }
    std::vector<std::string> expected = bodies;
    expected.push_back(big);
    std::ranges::sort(expected);
    std::ranges::sort(received);
    EXPECT_TRUE(expected == received);
    EXPECT_EQ(client_->stats().rejected_messages, 0u);
}

TEST_P(SqsClient, RedeliveryIncrementsTheReceiveCount) {
    auto sent = run(ioc_, client_->async_send_message(queue_url_, {"", "again", {}, {}, {}, {}}));
    ASSERT_TRUE(sent) << client_->explain(sent.error());
    auto first = receive_all(1);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].approximate_receive_count(), 1u);
    // Made visible again (as the pipeline does for a message it could not finish).
    auto released = run(ioc_, client_->async_change_message_visibility_batch(
                                  queue_url_, {{"r", first[0].receipt_handle, 0}}));
    ASSERT_TRUE(released) << client_->explain(released.error());
    EXPECT_TRUE(released->all_succeeded());
    auto second = receive_all(1);
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].message_id, first[0].message_id);
    EXPECT_EQ(second[0].approximate_receive_count(), 2u);
    EXPECT_NE(second[0].receipt_handle, first[0].receipt_handle);
    EXPECT_EQ(second[0].sent_timestamp(), first[0].sent_timestamp());
}

TEST_P(SqsClient, QueueAttributesCountVisibleAndInFlightMessages) {
    std::vector<send_entry> entries;
    for (int i = 0; i < 3; ++i)
        entries.push_back({"c" + std::to_string(i), "count " + std::to_string(i), {}, {}, {}, {}});
    ASSERT_TRUE(run(ioc_, client_->async_send_message_batch(queue_url_, entries)));
    auto attrs = attributes();
    EXPECT_EQ(attribute_as_number(attrs, "ApproximateNumberOfMessages"), 3u);
    EXPECT_EQ(attribute_as_number(attrs, "ApproximateNumberOfMessagesNotVisible"), 0u);
    EXPECT_EQ(attribute_as_number(attrs, "VisibilityTimeout"), 30u);
    EXPECT_TRUE(attrs.contains("QueueArn"));

    receive_options two;
    two.max_number_of_messages = 2;
    auto got = receive_all(2, two);
    ASSERT_EQ(got.size(), 2u);
    attrs = attributes();
    EXPECT_EQ(attribute_as_number(attrs, "ApproximateNumberOfMessages"), 1u);
    EXPECT_EQ(attribute_as_number(attrs, "ApproximateNumberOfMessagesNotVisible"), 2u);

    auto some =
        run(ioc_, client_->async_get_queue_attributes(queue_url_, {"ApproximateNumberOfMessages"}));
    ASSERT_TRUE(some);
    EXPECT_EQ(some->size(), 1u);
}

TEST_P(SqsClient, OutOfLimitBatchesFailBeforeAnyRequest) {
    const auto requests = client_->stats().requests;
    std::vector<delete_entry> eleven;
    for (int i = 0; i < 11; ++i)
        eleven.push_back({"e" + std::to_string(i), "h"});
    auto res = run(ioc_, client_->async_delete_message_batch(queue_url_, eleven));
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().kind, errc::invalid_argument);
    EXPECT_EQ(res.error().code, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest");
    auto dup = run(ioc_, client_->async_change_message_visibility_batch(
                             queue_url_, {{"x", "h", 1}, {"x", "h", 1}}));
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct");
    EXPECT_EQ(client_->stats().requests, requests);
}

INSTANTIATE_TEST_SUITE_P(BothProtocols, SqsClient,
                         ::testing::Values(protocol::query, protocol::json),
                         [](const auto& info) { return std::string(protocol_name(info.param)); });

} // namespace
} // namespace sqs2pg::sqs
