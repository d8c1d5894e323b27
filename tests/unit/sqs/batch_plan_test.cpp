// SendMessageBatch planning: what an entry counts against the payload limit, how entries
// split into calls (10 each, the payload limit, a large one alone), what a FIFO queue
// needs, and how a failed entry is classified.
#include <sqs2pg/sqs/batch_plan.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sqs2pg::sqs {
namespace {

TEST(BatchPlan, TenPerCallAndAQuarterMebibyteAtMost) {
    std::vector<std::size_t> sizes(23, 100);
    EXPECT_EQ(plan_send_batches(sizes), (std::vector<std::size_t>{10, 10, 3}));
    EXPECT_TRUE(plan_send_batches({}).empty());
    // 100 KiB bodies: two fit (200 KiB), the third would pass 256 KiB.
    sizes.assign(5, std::size_t{100} * 1024);
    EXPECT_EQ(plan_send_batches(sizes), (std::vector<std::size_t>{2, 2, 1}));
    // A body larger than the limit goes alone; what follows starts a new call.
    sizes = {10, std::size_t{300} * 1024, 10, 10};
    EXPECT_EQ(plan_send_batches(sizes), (std::vector<std::size_t>{1, 1, 2}));
    sizes = {max_send_batch_payload / 2, max_send_batch_payload / 2, 1};
    EXPECT_EQ(plan_send_batches(sizes), (std::vector<std::size_t>{2, 1}));
}

TEST(BatchPlan, TheLimitCanBeGiven) {
    const std::vector<std::size_t> sizes{40, 40, 40, 100, 1};
    EXPECT_EQ(plan_send_batches(sizes, 100), (std::vector<std::size_t>{2, 1, 1, 1}));
    EXPECT_EQ(plan_send_batches(sizes, 121), (std::vector<std::size_t>{3, 2}));
}

TEST(BatchPlan, PayloadCountsTheBodyAndEveryAttribute) {
    send_entry e("r0", std::string(1000, 'x'));
    EXPECT_EQ(payload_bytes(e), 1000u);
    e.message_attributes.emplace_back("sqs2pg-replay-of", "String", "0123456789");
    EXPECT_EQ(payload_bytes(e), 1000u + 16 + 6 + 10);
    e.message_attributes.emplace_back("sqs2pg-receive-count", "Number", "3");
    EXPECT_EQ(payload_bytes(e), 1000u + 16 + 6 + 10 + 20 + 6 + 1);
    // The entry id, delay and FIFO ids are request parameters, not payload.
    e.delay_seconds = 5;
    set_fifo_ids(e, "key");
    EXPECT_EQ(payload_bytes(e), 1000u + 16 + 6 + 10 + 20 + 6 + 1);
}

TEST(BatchPlan, AttributesCanPushAnEntryIntoTheNextCall) {
    // Two bodies that fit alone as bodies, but not with their attributes.
    const std::size_t half = max_send_batch_payload / 2;
    send_entry a("a", std::string(half, 'a'));
    send_entry b("b", std::string(half, 'b'));
    const std::vector<std::size_t> bodies{a.body.size(), b.body.size()};
    EXPECT_EQ(plan_send_batches(bodies), (std::vector<std::size_t>{2}));
    b.message_attributes.emplace_back("sqs2pg-replay-of", "String", "id");
    const std::vector<std::size_t> payloads{payload_bytes(a), payload_bytes(b)};
    EXPECT_EQ(plan_send_batches(payloads), (std::vector<std::size_t>{1, 1}));
}

TEST(BatchPlan, FifoQueuesAndTheirIds) {
    EXPECT_TRUE(is_fifo_queue("https://sqs.eu-west-1.amazonaws.com/1/logins.fifo"));
    EXPECT_FALSE(is_fifo_queue("https://sqs.eu-west-1.amazonaws.com/1/logins"));
    EXPECT_FALSE(is_fifo_queue("https://sqs.eu-west-1.amazonaws.com/1/fifo"));
    send_entry e("r0", "body");
    EXPECT_TRUE(e.message_group_id.empty());
    EXPECT_TRUE(e.message_deduplication_id.empty());
    set_fifo_ids(e, "msg-1");
    EXPECT_EQ(e.message_group_id, "msg-1");
    EXPECT_EQ(e.message_deduplication_id, "msg-1");
}

TEST(BatchPlan, FailedEntriesClassify) {
    // Codes this client made up: the outcome is unknown, never a refusal.
    for (const char* code : {"sqs2pg.MissingBatchResultEntry", "sqs2pg.MD5OfMessageBodyMismatch",
                             "sqs2pg.MD5OfMessageAttributesMismatch"}) {
        EXPECT_EQ(classify(batch_failure{"0", code, true, ""}), errc::bad_response) << code;
        EXPECT_EQ(classify(batch_failure{"0", code, false, ""}), errc::bad_response) << code;
    }
    // Known codes keep their kind whoever is blamed.
    EXPECT_EQ(classify(batch_failure{"0", "RequestThrottled", false, ""}), errc::throttled);
    EXPECT_EQ(classify(batch_failure{"0", "AWS.SimpleQueueService.NonExistentQueue", true, ""}),
              errc::not_found);
    // Unknown codes: a sender fault counts as a client error (400), others as the
    // server's (500).
    EXPECT_EQ(classify(batch_failure{"0", "SomethingNew", true, ""}), errc::invalid_request);
    EXPECT_EQ(classify(batch_failure{"0", "SomethingNew", false, ""}), errc::server);
}

} // namespace
} // namespace sqs2pg::sqs
