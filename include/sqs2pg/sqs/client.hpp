// The asynchronous SQS client: each call encodes a request (query or JSON protocol),
// signs it with fresh credentials, sends it on the keep-alive HTTP transport, decodes
// the answer and retries throttling, 5xx and transport failures with backoff.
#pragma once

#include <sqs2pg/http/client.hpp>
#include <sqs2pg/sqs/codec.hpp>
#include <sqs2pg/sqs/error.hpp>
#include <sqs2pg/sqs/retry.hpp>
#include <sqs2pg/sqs/types.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sqs2pg::aws {
class credentials_provider;
}

namespace sqs2pg::sqs {

/// How long a message that failed the integrity check stays invisible when the client
/// releases it (ChangeMessageVisibilityBatch right after the receive). Released at once,
/// such a message came straight back - about 11 receives a second, for ever, on a queue
/// without a redrive policy - so the timeout grows with how often SQS handed it out:
/// min(first * 2^(n-1), max) seconds for ApproximateReceiveCount n (by default 2, 4, 8,
/// ... 512, then 900 s = 15 min), `unknown_count` when n is unknown. n is known when the
/// receive asked for it (attribute_names holds "All" or "ApproximateReceiveCount") and
/// SQS returned it as a number.
struct rejected_release_options {
    /// false: rejected messages are not released; they reappear after the visibility
    /// timeout of the queue (or of the receive).
    bool enabled = true;
    std::chrono::seconds first{2};          ///< after the first receive (n = 1)
    std::chrono::seconds max{900};          ///< the growth stops here
    std::chrono::seconds unknown_count{30}; ///< n not asked for, not returned, malformed

    /// The timeout for a message received `receive_count` times (nullopt: unknown; 0 is
    /// taken as 1), in whole seconds within SQS's 0..43,200.
    int timeout(std::optional<std::uint32_t> receive_count) const noexcept;
};

struct client_options {
    protocol wire = protocol::query;
    std::string region; ///< signing region, e.g. "us-east-1" (required)
    http::client_options http;
    retry_options retry;
    /// Deadline of one attempt of a call that does not long-poll; a ReceiveMessage gets
    /// its wait time (20 s when the queue default applies) on top.
    std::chrono::milliseconds call_timeout{20'000};
    /// Messages that fail the integrity check are made visible again after a pause that
    /// grows with their receive count (see rejected_release_options), so they are retried
    /// - a transient corruption heals - without spinning, and on a queue with a redrive
    /// policy end in the dead-letter queue after maxReceiveCount.
    rejected_release_options rejected_release;
};

/// Counters since construction, for logs and metrics.
struct client_stats {
    std::uint64_t requests = 0;          ///< attempts sent (retries included)
    std::uint64_t retries = 0;           ///< attempts that were retries
    std::uint64_t failures = 0;          ///< calls that returned an error
    std::uint64_t rejected_messages = 0; ///< received messages that failed the checks
    std::uint64_t released_messages = 0; ///< of those, made visible again
};

/// A client for one SQS endpoint. Several calls may be in flight at once (each on its
/// own keep-alive connection); use it from the executor's single thread. Every call
/// returns the result or an error value (error.hpp): kind, AWS code, HTTP status,
/// request id. Arguments are taken by value, so nothing needs to outlive the call but
/// the client (which must outlive every call in flight). Cancelling a call (terminal cancellation
/// through the awaiting coroutine) closes its connection and completes it with errc::cancelled; for
/// a ReceiveMessage the messages SQS may have handed out stay in flight until their visibility
/// timeout, nothing is lost.
class client {
public:
    /// `credentials` must outlive the client; it is asked before every attempt (it caches
    /// and refreshes on its own). Throws std::invalid_argument when `options.region` is
    /// empty, and what http::client throws for an unusable TLS configuration.
    client(boost::asio::any_io_executor ex, http::endpoint endpoint,
           aws::credentials_provider& credentials, client_options options);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// The URL of queue `queue_name` (optionally owned by another account).
    boost::asio::awaitable<result<std::string>>
    async_get_queue_url(std::string queue_name, std::string owner_account_id = {});

    /// Creates the queue (or returns the URL of an identical existing one).
    boost::asio::awaitable<result<std::string>>
    async_create_queue(std::string queue_name,
                       std::vector<std::pair<std::string, std::string>> attributes = {});

    /// Deletes the queue. Not retried after a lost response.
    boost::asio::awaitable<result<empty_result>> async_delete_queue(std::string queue_url);

    /// Deletes every message in the queue. Not retried after a lost response.
    boost::asio::awaitable<result<empty_result>> async_purge_queue(std::string queue_url);

    /// The queue attributes `names` ("All", "ApproximateNumberOfMessages", ...).
    boost::asio::awaitable<result<queue_attributes>>
    async_get_queue_attributes(std::string queue_url, std::vector<std::string> names);
    /// All queue attributes.
    boost::asio::awaitable<result<queue_attributes>>
    async_get_queue_attributes(std::string queue_url);

    boost::asio::awaitable<result<empty_result>>
    async_set_queue_attributes(std::string queue_url,
                               std::vector<std::pair<std::string, std::string>> attributes);

    /// Up to `options.max_number_of_messages` messages, waiting up to WaitTimeSeconds.
    /// Messages that fail the MD5 checks are not in `messages` but in `rejected` (without
    /// body), counted, logged by id and made visible again (client_options).
    boost::asio::awaitable<result<receive_result>>
    async_receive_message(std::string queue_url, receive_options options = {});

    /// Sends 1..10 messages; the result says per entry. Only throttling and 503 are
    /// retried (a repeat after a lost response would duplicate messages).
    boost::asio::awaitable<result<send_batch_result>>
    async_send_message_batch(std::string queue_url, std::vector<send_entry> entries);

    /// Sends one message (`message.id` is ignored).
    boost::asio::awaitable<result<sent_message>> async_send_message(std::string queue_url,
                                                                    send_entry message);

    /// Deletes 1..10 messages; every entry id ends in `successful` or `failed`.
    boost::asio::awaitable<result<batch_result>>
    async_delete_message_batch(std::string queue_url, std::vector<delete_entry> entries);

    boost::asio::awaitable<result<empty_result>> async_delete_message(std::string queue_url,
                                                                      std::string receipt_handle);

    /// Sets the visibility timeout of 1..10 in-flight messages, per entry.
    boost::asio::awaitable<result<batch_result>>
    async_change_message_visibility_batch(std::string queue_url,
                                          std::vector<visibility_entry> entries);

    boost::asio::awaitable<result<empty_result>>
    async_change_message_visibility(std::string queue_url, std::string receipt_handle,
                                    int visibility_timeout);

    /// describe(e) plus where this client talks to (endpoint, region, protocol): the
    /// line to log or show when a fatal error stops the process. No server text.
    std::string explain(const error& e) const;

    protocol wire_protocol() const noexcept;
    const http::endpoint& endpoint() const noexcept;
    const client_stats& stats() const noexcept;
    http::client_stats transport_stats() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace sqs2pg::sqs
