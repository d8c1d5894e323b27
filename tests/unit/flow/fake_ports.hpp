// In-memory ports for pipeline tests: a queue with SQS's visibility semantics (receipt
// handles, invisibility, receive counts, stale handles refused) and a sink with an
// idempotency ledger. Faults are switches: a sink that stops answering, a disconnected
// sink, a sink that throws.
#pragma once

#include <sqs2pg/flow/ports.hpp>
#include <sqs2pg/pg/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace sqs2pg::flow::testing {

namespace asio = boost::asio;
using fake_clock = std::chrono::steady_clock;

class fake_queue final : public queue {
public:
    struct entry {
        std::string id;
        std::string body;
        fake_clock::time_point visible_at{};
        std::uint64_t generation = 0; ///< the receipt handle names the latest receive
        std::uint32_t receives = 0;
    };

    explicit fake_queue(asio::any_io_executor ex,
                        std::chrono::seconds visibility = std::chrono::seconds(30))
        : ex_(std::move(ex))
        , visibility_(visibility) {}

    void send(std::string id, std::string body) { entries_[id] = entry{id, std::move(body)}; }

    std::size_t size() const { return entries_.size(); }
    std::size_t visible(fake_clock::time_point now = fake_clock::now()) const {
        std::size_t n = 0;
        for (const auto& [id, e] : entries_)
            n += e.visible_at <= now ? 1 : 0;
        return n;
    }
    std::size_t receive_calls = 0;
    std::size_t released = 0; ///< visibility set to 0
    std::vector<sqs::send_entry> dead_letters;

    /// Up to ten visible messages, made invisible for the visibility timeout. A plain
    /// function: the messages it builds stay out of async_receive's coroutine frame.
    sqs::receive_result take_visible() {
        sqs::receive_result r;
        const auto now = fake_clock::now();
        for (auto& [id, e] : entries_) {
            if (r.messages.size() == 10)
                break;
            if (e.visible_at > now)
                continue;
            e.visible_at = now + visibility_;
            ++e.generation;
            ++e.receives;
            sqs::message m;
            m.message_id = e.id;
            m.receipt_handle = e.id + "#" + std::to_string(e.generation);
            m.body = e.body;
            m.attributes = {{"SentTimestamp", "1700000000000"},
                            {"ApproximateReceiveCount", std::to_string(e.receives)}};
            r.messages.push_back(std::move(m));
        }
        return r;
    }

    asio::awaitable<sqs::result<sqs::receive_result>> async_receive() override {
        ++receive_calls;
        sqs::receive_result r = take_visible();
        if (r.messages.empty()) {
            // A short long poll.
            asio::steady_timer t(ex_, std::chrono::milliseconds(5));
            auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                sqs::error e;
                e.kind = sqs::errc::cancelled;
                co_return e;
            }
        }
        co_return r;
    }

    asio::awaitable<sqs::result<sqs::batch_result>>
    async_delete(std::vector<sqs::delete_entry> entries) override {
        sqs::batch_result r;
        for (const auto& d : entries) {
            auto* e = find(d.receipt_handle);
            if (e == nullptr) {
                r.failed.push_back({d.id, "ReceiptHandleIsInvalid", true, ""});
                continue;
            }
            entries_.erase(e->id);
            r.successful.push_back(d.id);
        }
        co_return r;
    }

    asio::awaitable<sqs::result<sqs::batch_result>>
    async_change_visibility(std::vector<sqs::visibility_entry> entries) override {
        sqs::batch_result r;
        for (const auto& v : entries) {
            auto* e = find(v.receipt_handle);
            if (e == nullptr) {
                r.failed.push_back({v.id, "ReceiptHandleIsInvalid", true, ""});
                continue;
            }
            e->visible_at = fake_clock::now() + std::chrono::seconds(v.visibility_timeout);
            if (v.visibility_timeout == 0)
                ++released;
            r.successful.push_back(v.id);
        }
        co_return r;
    }

    asio::awaitable<sqs::result<sqs::send_batch_result>>
    async_send_dead_letters(std::vector<sqs::send_entry> entries) override {
        sqs::send_batch_result r;
        for (auto& e : entries) {
            sqs::sent_message m;
            m.id = e.id;
            m.message_id = "dlq-" + e.id;
            r.successful.push_back(std::move(m));
            dead_letters.push_back(std::move(e));
        }
        co_return r;
    }

    asio::awaitable<sqs::result<sqs::queue_attributes>> async_depth() override {
        const auto now = fake_clock::now();
        const auto v = visible(now);
        co_return sqs::queue_attributes{
            {"ApproximateNumberOfMessages", std::to_string(v)},
            {"ApproximateNumberOfMessagesNotVisible", std::to_string(entries_.size() - v)},
            {"ApproximateNumberOfMessagesDelayed", "0"}};
    }

    std::string explain(const sqs::error& e) const override { return "fake queue: " + e.code; }
    std::uint64_t client_retries() const override { return 0; }
    void stop_receive_retries() override { retries_stopped = true; }
    bool retries_stopped = false;

private:
    entry* find(const std::string& receipt) {
        const auto hash = receipt.find('#');
        if (hash == std::string::npos)
            return nullptr;
        auto it = entries_.find(receipt.substr(0, hash));
        if (it == entries_.end() ||
            std::to_string(it->second.generation) != receipt.substr(hash + 1))
            return nullptr; // a stale handle: the message was received again since
        return &it->second;
    }

    asio::any_io_executor ex_;
    std::chrono::seconds visibility_;
    std::map<std::string, entry> entries_;
};

class fake_sink final : public sink {
public:
    explicit fake_sink(asio::any_io_executor ex)
        : ex_(std::move(ex))
        , gate_(ex_, fake_clock::time_point::max()) {}

    std::set<std::string> ledger;
    std::map<std::string, int> rows;            ///< user_id -> times written
    std::map<std::string, std::string> rejects; ///< message id -> reason
    std::size_t writes = 0;
    bool frozen = false; ///< writes wait until cancelled (a server that stops answering)
    bool throws = false;

    void set_connected(bool up) {
        connected_ = up;
        gate_.cancel(); // waiting writes look again
        if (observer_)
            observer_(up);
    }

    asio::awaitable<pg::batch_outcome> async_write(const pg::batch& b) override {
        ++writes;
        if (throws)
            throw std::runtime_error("the fake sink broke");
        pg::batch_outcome o;
        const auto cs = co_await asio::this_coro::cancellation_state;
        while (frozen || !connected_) {
            // Like the writer: wait for the connection; a cancelled wait commits nothing.
            co_await gate_.async_wait(asio::as_tuple(asio::use_awaitable));
            if (cs.cancelled() != asio::cancellation_type::none) {
                // Like the real writer, it awaits once more on its way out after a cancel.
                co_await asio::post(ex_, asio::use_awaitable);
                o.rows.assign(b.rows.size(), {pg::item_status::retry, ""});
                o.rejects.assign(b.rejects.size(), {pg::item_status::retry, ""});
                o.retry = b.rows.size() + b.rejects.size();
                o.error = pg::errc::stopped;
                co_return o;
            }
        }
        for (const auto& r : b.rows) {
            if (ledger.insert(r.message_id).second) {
                ++rows[r.row.user_id];
                o.rows.push_back({pg::item_status::inserted, ""});
                ++o.inserted;
            } else {
                o.rows.push_back({pg::item_status::duplicate, ""});
                ++o.duplicates;
            }
        }
        for (const auto& r : b.rejects) {
            rejects[r.message_id] = r.reason;
            o.rejects.push_back({pg::item_status::rejected, ""});
            ++o.rejected;
        }
        co_return o;
    }

    bool connected() const override { return connected_; }
    void on_connection_change(std::function<void(bool)> f) override { observer_ = std::move(f); }

private:
    asio::any_io_executor ex_;
    asio::steady_timer gate_; // never expires: frozen writes wait on it
    bool connected_ = true;
    std::function<void(bool)> observer_;
};

} // namespace sqs2pg::flow::testing
