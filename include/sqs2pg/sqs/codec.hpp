// Sans-io SQS codec: one request type per action, encoded for the query protocol (form
// POST, XML answers) or AWS JSON 1.0, and the matching response decoders.
#pragma once

#include <sqs2pg/sqs/error.hpp>
#include <sqs2pg/sqs/types.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sqs2pg::sqs {

/// The wire protocol. Query (form POST, XML) is the default; JSON is what current AWS
/// SDKs send. Both reach the same SQS API.
enum class protocol { query, json };

/// "query" or "json".
std::string_view protocol_name(protocol p) noexcept;
/// Parses "query" / "json"; nullopt otherwise.
std::optional<protocol> parse_protocol(std::string_view text) noexcept;

/// The deepest nesting a response body may have: elements in XML (the document element
/// is level 1), objects and arrays in JSON (the top-level value is level 1). SQS's own
/// answers stay under 10. A deeper body, under any HTTP status, is errc::bad_response
/// with code "sqs2pg.ResponseTooDeep"; nothing in the codec recurses with the depth.
inline constexpr std::size_t max_response_depth = 64;

/// An encoded request, before the transport adds Host and the signer its headers.
struct wire_request {
    std::string target;            ///< request-target: the queue URL's path or "/"
    std::string_view content_type; ///< static storage
    std::string amz_target;        ///< X-Amz-Target (JSON), empty for query
    std::string body;
};

/// A response as the codec needs it; all views are owned by the caller's response.
struct wire_response {
    unsigned status = 0;
    std::string_view body;
    std::string_view content_type;
    std::string_view request_id;  ///< x-amzn-RequestId header, used when the body lacks one
    std::string_view query_error; ///< x-amzn-query-error: "<legacy code>;Sender|Receiver"
    std::string_view error_type;  ///< X-Amzn-ErrorType, used when a JSON body lacks __type
};

// One request type per action. `action` names it on the wire, `idempotent` says whether
// repeating it after a lost response is harmless (so transport errors may be retried),
// `result_type` is what decode_response() yields.

struct get_queue_url_request {
    static constexpr std::string_view action = "GetQueueUrl";
    static constexpr bool idempotent = true;
    using result_type = std::string; ///< the queue URL
    std::string queue_name;
    std::string queue_owner_account_id; ///< empty: not sent
};

struct create_queue_request {
    static constexpr std::string_view action = "CreateQueue";
    static constexpr bool idempotent = true; ///< same name and attributes: same queue
    using result_type = std::string;         ///< the queue URL
    std::string queue_name;
    std::vector<std::pair<std::string, std::string>> attributes;
    std::vector<std::pair<std::string, std::string>> tags;
};

struct delete_queue_request {
    static constexpr std::string_view action = "DeleteQueue";
    static constexpr bool idempotent = false; ///< a repeat fails with NonExistentQueue
    using result_type = empty_result;
    std::string queue_url;
};

struct purge_queue_request {
    static constexpr std::string_view action = "PurgeQueue";
    static constexpr bool idempotent = false; ///< a repeat fails with PurgeQueueInProgress
    using result_type = empty_result;
    std::string queue_url;
};

struct get_queue_attributes_request {
    static constexpr std::string_view action = "GetQueueAttributes";
    static constexpr bool idempotent = true;
    using result_type = queue_attributes;
    std::string queue_url;
    std::vector<std::string> attribute_names{"All"};
};

struct receive_message_request {
    static constexpr std::string_view action = "ReceiveMessage";
    /// A lost response leaves its messages in flight until their visibility timeout:
    /// delayed, not lost, so a repeat is acceptable.
    static constexpr bool idempotent = true;
    using result_type = receive_result;
    std::string queue_url;
    receive_options options;
};

struct send_message_batch_request {
    static constexpr std::string_view action = "SendMessageBatch";
    static constexpr bool idempotent = false; ///< a repeat may send duplicates
    using result_type = send_batch_result;
    std::string queue_url;
    std::vector<send_entry> entries;
};

struct send_message_request {
    static constexpr std::string_view action = "SendMessage";
    static constexpr bool idempotent = false; ///< a repeat may send a duplicate
    using result_type = sent_message;         ///< `id` is empty
    std::string queue_url;
    send_entry message; ///< `id` is not sent
};

struct delete_message_request {
    static constexpr std::string_view action = "DeleteMessage";
    static constexpr bool idempotent = true;
    using result_type = empty_result;
    std::string queue_url;
    std::string receipt_handle;
};

struct change_message_visibility_request {
    static constexpr std::string_view action = "ChangeMessageVisibility";
    static constexpr bool idempotent = true;
    using result_type = empty_result;
    std::string queue_url;
    std::string receipt_handle;
    int visibility_timeout = 0;
};

struct set_queue_attributes_request {
    static constexpr std::string_view action = "SetQueueAttributes";
    static constexpr bool idempotent = true;
    using result_type = empty_result;
    std::string queue_url;
    std::vector<std::pair<std::string, std::string>> attributes;
};

struct delete_message_batch_request {
    static constexpr std::string_view action = "DeleteMessageBatch";
    static constexpr bool idempotent = true; ///< deleting twice with a handle succeeds
    using result_type = batch_result;
    std::string queue_url;
    std::vector<delete_entry> entries;
};

struct change_message_visibility_batch_request {
    static constexpr std::string_view action = "ChangeMessageVisibilityBatch";
    static constexpr bool idempotent = true;
    using result_type = batch_result;
    std::string queue_url;
    std::vector<visibility_entry> entries;
};

/// Appends `name=value` to a form body (with '&' when `out` is not empty), encoded
/// byte for byte as Python's urllib.parse.urlencode does: A-Za-z0-9 and "_.-~" kept,
/// space as '+', every other byte as %XX with uppercase hex. moto re-encodes the form
/// this way before it checks the SigV4 signature over the body, so nothing else works
/// there; real SQS accepts it as any valid encoding.
void append_form_field(std::string& out, std::string_view name, std::string_view value);

/// The path of a queue URL ("https://host/123/q" -> "/123/q"), "/" when it has none.
std::string_view queue_url_path(std::string_view queue_url) noexcept;

// Checks of the limits SQS enforces, done before sending so a bad batch fails without a
// round trip and with the code SQS would have used. nullopt: fine to send.
std::optional<error> validate(const receive_message_request& r);
std::optional<error> validate(const send_message_batch_request& r);
std::optional<error> validate(const delete_message_batch_request& r);
std::optional<error> validate(const change_message_visibility_batch_request& r);
std::optional<error> validate(const get_queue_url_request& r);
std::optional<error> validate(const create_queue_request& r);
std::optional<error> validate(const delete_queue_request& r);
std::optional<error> validate(const purge_queue_request& r);
std::optional<error> validate(const get_queue_attributes_request& r);
std::optional<error> validate(const send_message_request& r);
std::optional<error> validate(const delete_message_request& r);
std::optional<error> validate(const change_message_visibility_request& r);
std::optional<error> validate(const set_queue_attributes_request& r);

// Encoders: the request as `p` puts it on the wire. Query: POST to the queue URL's path
// (queue actions; QueueUrl is repeated as a form field) or "/", with Action and
// Version=2012-11-05. JSON: POST "/" with X-Amz-Target AmazonSQS.<Action>.
wire_request encode(protocol p, const get_queue_url_request& r);
wire_request encode(protocol p, const create_queue_request& r);
wire_request encode(protocol p, const delete_queue_request& r);
wire_request encode(protocol p, const purge_queue_request& r);
wire_request encode(protocol p, const get_queue_attributes_request& r);
wire_request encode(protocol p, const receive_message_request& r);
wire_request encode(protocol p, const send_message_batch_request& r);
wire_request encode(protocol p, const delete_message_batch_request& r);
wire_request encode(protocol p, const change_message_visibility_batch_request& r);
wire_request encode(protocol p, const send_message_request& r);
wire_request encode(protocol p, const delete_message_request& r);
wire_request encode(protocol p, const change_message_visibility_request& r);
wire_request encode(protocol p, const set_queue_attributes_request& r);

// Decoders: the result, or the error the response carries (any status; a 200 with an
// error body is an error too; a body nested deeper than max_response_depth is
// bad_response). Tolerant of the moto/AWS differences in
// docs/sqs-protocol.md: elements matched by local name, either error shape, either
// body format (a JSON request answered with XML is still understood).
// Receive checks MD5OfBody and MD5OfMessageAttributes and moves failures to `rejected`;
// batch decoders report every request entry as successful or failed (an entry the
// response left out is failed with code "sqs2pg.MissingBatchResultEntry"); send batch
// checks MD5OfMessageBody against the body sent.
result<std::string> decode_response(protocol p, const get_queue_url_request& r,
                                    const wire_response& w);
result<std::string> decode_response(protocol p, const create_queue_request& r,
                                    const wire_response& w);
result<empty_result> decode_response(protocol p, const delete_queue_request& r,
                                     const wire_response& w);
result<empty_result> decode_response(protocol p, const purge_queue_request& r,
                                     const wire_response& w);
result<queue_attributes> decode_response(protocol p, const get_queue_attributes_request& r,
                                         const wire_response& w);
result<receive_result> decode_response(protocol p, const receive_message_request& r,
                                       const wire_response& w);
result<send_batch_result> decode_response(protocol p, const send_message_batch_request& r,
                                          const wire_response& w);
result<batch_result> decode_response(protocol p, const delete_message_batch_request& r,
                                     const wire_response& w);
result<batch_result> decode_response(protocol p, const change_message_visibility_batch_request& r,
                                     const wire_response& w);

/// Send checks MD5OfMessageBody / MD5OfMessageAttributes against what was sent and fails
/// with bad_response ("sqs2pg.MD5OfMessageBodyMismatch") when they differ.
result<sent_message> decode_response(protocol p, const send_message_request& r,
                                     const wire_response& w);
result<empty_result> decode_response(protocol p, const delete_message_request& r,
                                     const wire_response& w);
result<empty_result> decode_response(protocol p, const change_message_visibility_request& r,
                                     const wire_response& w);
result<empty_result> decode_response(protocol p, const set_queue_attributes_request& r,
                                     const wire_response& w);

/// The error carried by a non-2xx response (or a 2xx one with an error body), in
/// either protocol's shape; nullopt if `w` is a success. Used by every decoder.
std::optional<error> decode_error(std::string_view action, const wire_response& w);

} // namespace sqs2pg::sqs
