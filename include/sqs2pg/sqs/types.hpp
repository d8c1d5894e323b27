// Values that go in and out of SQS calls: received messages with their system and
// message attributes, receive options, batch entries and per-entry batch results.
#pragma once

#include <boost/container/small_vector.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sqs2pg::sqs {

// The types passed to client calls (message_attribute, receive_options and the batch
// entries) have constructors on purpose: GCC 12 destroys a braced *aggregate* temporary
// that appears inside a co_await expression twice (also one made for an `= {}` default
// argument), so as aggregates `co_await c.async_receive_message(url, {})` would corrupt
// the heap. With constructors, braces call a constructor and are safe.

/// Limits SQS enforces; the client checks them before sending (docs/sqs.md).
inline constexpr int max_batch_entries = 10;
inline constexpr std::size_t max_batch_id_length = 80;
inline constexpr int max_receive_messages = 10;
inline constexpr int max_wait_time_seconds = 20;
inline constexpr int max_visibility_timeout_seconds = 43'200;
inline constexpr int max_delay_seconds = 900;

/// A message attribute (user metadata sent with the message). `data_type` is
/// "String", "Number" or "Binary", optionally with a custom suffix ("Number.int",
/// "Binary.gif"); `value` is the text for String/Number and the raw bytes for Binary
/// (base64 only on the wire).
struct message_attribute {
    message_attribute() = default;
    message_attribute(std::string name, std::string data_type, std::string value);

    std::string name;
    std::string data_type;
    std::string value;

    /// True for "Binary" and "Binary.<custom>".
    bool is_binary() const noexcept;
    friend bool operator==(const message_attribute&, const message_attribute&) = default;
};

/// A message's system attributes, name and value. Two are held in place: sqs2pg asks for
/// two (SentTimestamp, ApproximateReceiveCount), and a vector on the heap was one more
/// allocation per message received.
using system_attributes = boost::container::small_vector<std::pair<std::string, std::string>, 2>;

/// A received message. Strings are exactly what SQS holds (XML and JSON escaping undone).
struct message {
    std::string message_id;
    std::string receipt_handle;
    std::string body;                      ///< empty when absent: see has_body
    std::string md5_of_body;               ///< hex, as sent by SQS (verified on receipt)
    std::string md5_of_message_attributes; ///< hex or empty (verified when present)
    /// System attributes as returned (SentTimestamp, ApproximateReceiveCount, ...).
    system_attributes attributes;
    std::vector<message_attribute> message_attributes;
    friend bool operator==(const message&, const message&) = default;

    /// A system attribute's raw value, or nullopt when SQS did not return it. The view
    /// is valid while this message lives and is not modified.
    std::optional<std::string_view> attribute(std::string_view name) const noexcept;
    /// The message attribute called `name`, or nullptr.
    const message_attribute* find_message_attribute(std::string_view name) const noexcept;

    // Typed system attributes; nullopt when not requested, not returned or malformed.
    std::optional<std::chrono::system_clock::time_point> sent_timestamp() const noexcept;
    std::optional<std::int64_t> sent_timestamp_ms() const noexcept;
    std::optional<std::uint32_t> approximate_receive_count() const noexcept;
    std::optional<std::chrono::system_clock::time_point>
    approximate_first_receive_timestamp() const noexcept;
    std::optional<std::string_view> sender_id() const noexcept;
    std::optional<std::string_view> aws_trace_header() const noexcept;
    std::optional<std::string_view> message_group_id() const noexcept;         ///< FIFO
    std::optional<std::string_view> message_deduplication_id() const noexcept; ///< FIFO
    std::optional<std::string_view> sequence_number() const noexcept;          ///< FIFO

    /// Whether the response carried a Body / an MD5OfBody at all (an empty element or
    /// string is present, a missing or null one is not). SQS always sends both, so the
    /// integrity check rejects a message that lacks either: every message a receive
    /// returns has both set. The decoder sets them; a message built by hand starts with
    /// neither.
    bool has_body = false;
    bool has_md5_of_body = false;
};

/// A received message that failed the integrity check (or could not be read). Its body
/// is not kept: it must never be processed. The client makes it visible again.
struct rejected_message {
    rejected_message() = default;
    rejected_message(std::string message_id, std::string receipt_handle, std::string_view reason,
                     std::optional<std::uint32_t> receive_count = {});

    std::string message_id;     ///< may be empty if the response lacked it
    std::string receipt_handle; ///< empty if the response lacked it (then it reappears
                                ///< after the visibility timeout)
    std::string_view reason;    ///< static text: "MD5OfBody mismatch", "missing Body", ...
    /// ApproximateReceiveCount, when the receive asked for it ("All" or the name in
    /// attribute_names) and SQS returned a number; it sets the release timeout.
    std::optional<std::uint32_t> receive_count;
};

/// What ReceiveMessage returned: the messages that passed the checks, and those that
/// did not.
struct receive_result {
    std::vector<message> messages;
    std::vector<rejected_message> rejected;
};

/// ReceiveMessage parameters. Defaults: 10 messages, the queue's own wait and
/// visibility timeout, all system and message attributes.
struct receive_options {
    receive_options(); ///< the defaults below (out of line: see the note at the top)

    int max_number_of_messages = max_receive_messages; ///< 1..10
    std::optional<int> wait_time_seconds;              ///< 0..20; nullopt: queue default
    std::optional<int> visibility_timeout;             ///< 0..43,200; nullopt: queue default
    /// System attributes to return ("All", "SentTimestamp", ...); sent as
    /// AttributeName.N (query) and as both AttributeNames and MessageSystemAttributeNames
    /// (JSON: old emulators read the first, the current model prefers the second).
    std::vector<std::string> attribute_names;
    /// Message attributes to return: "All", ".*", exact names or prefixes ("trace.*").
    std::vector<std::string> message_attribute_names;
    std::string receive_request_attempt_id; ///< FIFO only; empty: not sent
    /// Asked before each retry of this receive, before the backoff pause and again after
    /// it; when it returns false the call returns the last attempt's error at once. The
    /// attempt under way is never cut short by it. For a stopping process: SQS completes a
    /// receive server-side, so cancelling a long poll leaves its messages invisible for a
    /// visibility timeout; instead let the outstanding polls finish and have this say no,
    /// so a poll that timed out or failed is not tried again. Empty: always allowed. Called
    /// on the executor's thread; must not throw.
    std::function<bool()> retry_allowed;
};

/// One SendMessageBatch entry.
struct send_entry {
    send_entry() = default;
    send_entry(std::string id, std::string body, std::optional<int> delay_seconds = {},
               std::vector<message_attribute> message_attributes = {},
               std::string message_group_id = {}, std::string message_deduplication_id = {});

    std::string id; ///< unique in the batch, [A-Za-z0-9_-]{1,80}
    std::string body;
    std::optional<int> delay_seconds; ///< 0..900
    std::vector<message_attribute> message_attributes;
    std::string message_group_id;         ///< FIFO; empty: not sent
    std::string message_deduplication_id; ///< FIFO; empty: not sent
};

/// One DeleteMessageBatch entry.
struct delete_entry {
    delete_entry() = default;
    delete_entry(std::string id, std::string receipt_handle);

    std::string id;
    std::string receipt_handle;
};

/// One ChangeMessageVisibilityBatch entry.
struct visibility_entry {
    visibility_entry() = default;
    visibility_entry(std::string id, std::string receipt_handle, int visibility_timeout);

    std::string id;
    std::string receipt_handle;
    int visibility_timeout = 0; ///< 0..43,200 seconds from now
};

/// A batch entry SQS (or this client) did not carry out. `message` is server text that
/// may echo the receipt handle or a parameter value: do not log it.
struct batch_failure {
    std::string id;
    std::string code; ///< "ReceiptHandleIsInvalid", "InvalidParameterValue", ...
    bool sender_fault = true;
    std::string message;
    friend bool operator==(const batch_failure&, const batch_failure&) = default;
};

/// A sent message as SendMessageBatch reported it.
struct sent_message {
    std::string id;
    std::string message_id;
    std::string md5_of_message_body;
    std::string md5_of_message_attributes;
    std::string sequence_number; ///< FIFO
    friend bool operator==(const sent_message&, const sent_message&) = default;
};

/// Per-entry outcome of DeleteMessageBatch / ChangeMessageVisibilityBatch: every entry
/// id of the request is in exactly one of the two lists.
struct batch_result {
    std::vector<std::string> successful;
    std::vector<batch_failure> failed;

    bool all_succeeded() const noexcept { return failed.empty(); }
    /// The failure of entry `id`, or nullptr if it succeeded (or was not in the batch).
    const batch_failure* failure(std::string_view id) const noexcept;
};

/// Per-entry outcome of SendMessageBatch: every entry id is in exactly one list.
struct send_batch_result {
    std::vector<sent_message> successful;
    std::vector<batch_failure> failed;

    bool all_succeeded() const noexcept { return failed.empty(); }
    const batch_failure* failure(std::string_view id) const noexcept;
};

/// Queue attributes by name ("ApproximateNumberOfMessages" -> "12").
using queue_attributes = std::map<std::string, std::string, std::less<>>;

/// A queue attribute parsed as an unsigned integer; nullopt if absent or malformed.
std::optional<std::uint64_t> attribute_as_number(const queue_attributes& attrs,
                                                 std::string_view name) noexcept;

/// Result of calls that return nothing but success (DeleteQueue, PurgeQueue).
struct empty_result {};

} // namespace sqs2pg::sqs
