// The two things the pipeline talks to, as small interfaces: the queue (SQS: receive,
// delete, extend, dead-letter, depth) and the sink (Postgres: write a batch, say whether
// it is connected). A run plugs in sqs_queue and pg_sink; tests plug in fakes.
#pragma once

#include <sqs2pg/pg/batch.hpp>
#include <sqs2pg/sqs/error.hpp>
#include <sqs2pg/sqs/types.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sqs2pg::sqs {
class client;
}
namespace sqs2pg::pg {
class writer;
}

namespace sqs2pg::flow {

/// The queue a pipeline reads. Calls may be in flight at once and complete with
/// sqs::errc::cancelled when the awaiting coroutine is cancelled.
class queue {
public:
    virtual ~queue() = default;

    /// One ReceiveMessage on the source queue (up to 10 messages, long poll).
    virtual boost::asio::awaitable<sqs::result<sqs::receive_result>> async_receive() = 0;
    /// DeleteMessageBatch on the source queue.
    virtual boost::asio::awaitable<sqs::result<sqs::batch_result>>
    async_delete(std::vector<sqs::delete_entry> entries) = 0;
    /// ChangeMessageVisibilityBatch on the source queue.
    virtual boost::asio::awaitable<sqs::result<sqs::batch_result>>
    async_change_visibility(std::vector<sqs::visibility_entry> entries) = 0;
    /// SendMessageBatch on the dead-letter queue.
    virtual boost::asio::awaitable<sqs::result<sqs::send_batch_result>>
    async_send_dead_letters(std::vector<sqs::send_entry> entries) = 0;
    /// The source queue's ApproximateNumberOfMessages, ...NotVisible and ...Delayed.
    virtual boost::asio::awaitable<sqs::result<sqs::queue_attributes>> async_depth() = 0;

    /// The line to show for a fatal error (no server text).
    virtual std::string explain(const sqs::error& e) const = 0;
    /// Attempts the client repeated on its own (for the retries metric).
    virtual std::uint64_t client_retries() const = 0;
    /// The run is stopping: receives under way may finish, but none is retried any more
    /// (a retry is a new receive, which would hide messages again).
    virtual void stop_receive_retries() = 0;
};

/// Where rows go. async_write waits while disconnected and never throws for database
/// problems: the outcome says per item what happened (pg::writer::async_write). The
/// batch is borrowed: it lives in the caller's frame until the write completes.
class sink {
public:
    virtual ~sink() = default;

    virtual boost::asio::awaitable<pg::batch_outcome> async_write(const pg::batch& b) = 0;
    virtual bool connected() const = 0;
    /// `f(connected)` is called whenever the connection comes up or goes down.
    virtual void on_connection_change(std::function<void(bool)> f) = 0;
};

/// What ReceiveMessage asks for.
struct receive_settings {
    std::string queue_url;
    std::optional<std::string> dead_letter_queue_url;
    int wait_time_seconds = 20;
    std::optional<int> visibility_timeout; ///< sent with each receive when set
};

/// The queue on an sqs::client (which must outlive it).
class sqs_queue final : public queue {
public:
    sqs_queue(sqs::client& client, receive_settings settings);

    boost::asio::awaitable<sqs::result<sqs::receive_result>> async_receive() override;
    boost::asio::awaitable<sqs::result<sqs::batch_result>>
    async_delete(std::vector<sqs::delete_entry> entries) override;
    boost::asio::awaitable<sqs::result<sqs::batch_result>>
    async_change_visibility(std::vector<sqs::visibility_entry> entries) override;
    boost::asio::awaitable<sqs::result<sqs::send_batch_result>>
    async_send_dead_letters(std::vector<sqs::send_entry> entries) override;
    boost::asio::awaitable<sqs::result<sqs::queue_attributes>> async_depth() override;
    std::string explain(const sqs::error& e) const override;
    std::uint64_t client_retries() const override;
    void stop_receive_retries() override { retries_stopped_ = true; }

private:
    sqs::client& client_;
    receive_settings settings_;
    sqs::receive_options options_;
    bool retries_stopped_ = false;
};

/// The sink on a started pg::writer (which must outlive it).
class pg_sink final : public sink {
public:
    explicit pg_sink(pg::writer& w);

    boost::asio::awaitable<pg::batch_outcome> async_write(const pg::batch& b) override;
    bool connected() const override;
    void on_connection_change(std::function<void(bool)> f) override;

private:
    pg::writer& writer_;
};

} // namespace sqs2pg::flow
