// A hand for stepping flow::core in tests: a clock, a keyring, and shorthands for the
// results the drivers would report (receives, batch outcomes, SQS batch answers).
#pragma once

#include <sqs2pg/flow/core.hpp>
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/mask/seal.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sqs2pg::flow::testing {

inline mask::keyring test_keys() {
    auto r = mask::parse_keyring(
        "k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "test");
    if (!r)
        throw std::runtime_error(r.error().message);
    return std::move(*r);
}

struct stepper {
    core_config cfg;
    mask::keyring keys = test_keys();
    mask::sealer seal{keys};
    clock::time_point now = clock::time_point{} + std::chrono::hours(1);
    std::optional<core> c;
    int next_id = 0;

    stepper() { start(); }

    /// (Re)creates the core with `cfg` (with the sealer unless `with_key` is false).
    void start(bool with_key = true) {
        c.emplace(cfg, with_key ? &seal : nullptr, now);
        next_id = 0;
    }

    /// A body of `bytes` bytes, different per message.
    static std::string body_of(int k, std::size_t bytes) {
        std::string b = "{\"n\":" + std::to_string(k) + "}";
        b.resize(std::max(bytes, b.size()), ' ');
        return b;
    }

    /// A ReceiveMessage answer with `n` messages m<k>, receipt handles h<k>.
    sqs::receive_result messages(int n, std::size_t bytes = 100) {
        sqs::receive_result r;
        for (int i = 0; i < n; ++i) {
            const int k = next_id++;
            sqs::message m;
            m.message_id = "m" + std::to_string(k);
            m.receipt_handle = "h" + std::to_string(k);
            m.body = body_of(k, bytes);
            m.attributes = {{"SentTimestamp", "1700000000000"}, {"ApproximateReceiveCount", "2"}};
            r.messages.push_back(std::move(m));
        }
        return r;
    }

    /// The ticket of message m<k>.
    ticket ticket_of(int k) const {
        for (ticket t : c->held().tickets())
            if (c->copy(t)->message_id == "m" + std::to_string(k))
                return t;
        ADD_FAILURE() << "m" << k << " is not held";
        return 0;
    }

    /// Starts a receive and reports `n` messages; returns their tickets in order.
    std::vector<ticket> receive(int n, std::size_t bytes = 100) {
        const auto step = c->next_receive(now);
        EXPECT_EQ(step.kind, step_kind::go);
        const int first = next_id;
        c->received(messages(n, bytes), now, std::chrono::system_clock::now());
        std::vector<ticket> out;
        for (int k = first; k < next_id; ++k)
            out.push_back(ticket_of(k));
        return out;
    }

    /// Processes every waiting copy as a row (user_id = its message id).
    void process_all_rows() {
        for (ticket t : c->take_unprocessed(1'000'000))
            c->processed(t, row_for(t), now);
    }

    /// Processes every waiting copy: `bad` as a reject with `reason`, the others as rows.
    void process_reject(ticket bad, record::reject_reason reason) {
        for (ticket t : c->take_unprocessed(1'000'000)) {
            if (t == bad)
                c->processed(t, {std::nullopt, reason}, now);
            else
                c->processed(t, row_for(t), now);
        }
    }

    process_result row_for(ticket t) const {
        record::login_row row;
        row.user_id = c->copy(t)->message_id;
        return {row, record::reject_reason::not_json};
    }

    /// Writes whatever is queued, every item committed.
    void commit_all() {
        for (;;) {
            auto w = c->next_write(now + cfg.batch_max_delay);
            if (w.kind != step_kind::go)
                return;
            c->written(std::move(w.call), outcome(w.call, pg::item_status::inserted), now);
        }
    }

    /// Every item of `call` with `status` (rejects `rejected` when status is inserted).
    static pg::batch_outcome outcome(const write_call& call, pg::item_status status,
                                     boost::system::error_code error = {}) {
        pg::batch_outcome o;
        o.rows.assign(call.batch.rows.size(), {status, ""});
        o.rejects.assign(
            call.batch.rejects.size(),
            {status == pg::item_status::inserted ? pg::item_status::rejected : status, ""});
        o.error = error;
        return o;
    }

    /// A batch answer in which entries "0".."n-1" succeeded.
    static sqs::batch_result batch_ok(std::size_t n) {
        sqs::batch_result r;
        for (std::size_t i = 0; i < n; ++i)
            r.successful.push_back(std::to_string(i));
        return r;
    }

    static sqs::batch_result delete_ok(const sqs_call<sqs::delete_entry>& call, std::size_t n) {
        EXPECT_EQ(call.entries.size(), n);
        return batch_ok(n);
    }

    static sqs::send_batch_result sent_ok(std::size_t n) {
        sqs::send_batch_result r;
        for (std::size_t i = 0; i < n; ++i) {
            sqs::sent_message m;
            m.id = std::to_string(i);
            m.message_id = "dlq-" + std::to_string(i);
            r.successful.push_back(std::move(m));
        }
        return r;
    }

    static sqs::error error(sqs::errc kind, std::string code, unsigned status) {
        sqs::error e;
        e.kind = kind;
        e.code = std::move(code);
        e.http_status = status;
        return e;
    }

    static sqs::queue_attributes depth(std::uint64_t visible, std::uint64_t hidden,
                                       std::uint64_t delayed) {
        return {{"ApproximateNumberOfMessages", std::to_string(visible)},
                {"ApproximateNumberOfMessagesNotVisible", std::to_string(hidden)},
                {"ApproximateNumberOfMessagesDelayed", std::to_string(delayed)}};
    }
};

} // namespace sqs2pg::flow::testing
