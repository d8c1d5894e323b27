// Internal interface between the protocol-neutral codec (codec.cpp) and the two wire
// formats: query (query_codec.cpp, xml_codec.cpp with pugixml) and JSON 1.0 (json_codec.cpp,
// Boost.JSON).
#pragma once

#include <sqs2pg/sqs/codec.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sqs2pg::sqs::detail {

/// What a batch response listed, before it is matched against the request.
struct raw_batch {
    std::vector<sent_message> successful; ///< for delete/visibility only `id` is set
    std::vector<batch_failure> failed;
    friend bool operator==(const raw_batch&, const raw_batch&) = default;
};

/// Where `key` is among `names`, or N when it is not one of them: how the fast paths
/// tell which member or element they are at.
template <std::size_t N>
constexpr std::size_t position_of(const std::array<std::string_view, N>& names,
                                  std::string_view key) noexcept {
    std::size_t i = 0;
    while (i < N && names[i] != key)
        ++i;
    return i;
}

/// Which output a decoder should read; the wire formats differ only in spelling.
enum class output_shape { queue_url, attributes, messages, batch, sent, none };

/// The fields every decoder extracts, whatever the action.
struct raw_output {
    std::string queue_url;
    queue_attributes attributes;
    std::vector<message> messages;
    raw_batch batch;
    sent_message sent;
};

/// The messages of a JSON ReceiveMessage success answer in the plain shape (Messages of
/// MessageId, ReceiptHandle, Body, MD5OfBody, MD5OfMessageAttributes and string
/// Attributes, each once), read in one SAX pass; nullopt for anything else, which the
/// general decoder then reads (json_receive.cpp).
std::optional<std::vector<message>> json_receive_fast(std::string_view body);

/// The lists of a JSON batch answer (DeleteMessageBatch, ChangeMessageVisibilityBatch,
/// SendMessageBatch) in the plain shape (Successful and Failed, each once, of objects with
/// the string members of sent_message and batch_failure, SenderFault a boolean or
/// string), read in one SAX pass; nullopt for anything else, which the general decoder
/// then reads (json_batch.cpp).
std::optional<raw_batch> json_batch_fast(std::string_view body);

/// The fast paths' output for a 2xx answer without an error type: `receive(body)` for
/// ReceiveMessage, `batch(body)` for the batch actions; nullopt when the shape has none,
/// or the fast path gave up, and the general decoder decides.
template <class Receive, class Batch>
std::optional<raw_output> fast_decode(output_shape shape, const wire_response& w, Receive&& receive,
                                      Batch&& batch) {
    if (w.status < 200 || w.status >= 300 || !w.error_type.empty())
        return std::nullopt;
    raw_output out;
    if (shape == output_shape::messages) {
        auto messages = receive(w.body);
        if (!messages)
            return std::nullopt;
        out.messages = std::move(*messages);
    } else if (shape == output_shape::batch) {
        auto lists = batch(w.body);
        if (!lists)
            return std::nullopt;
        out.batch = std::move(*lists);
    } else {
        return std::nullopt;
    }
    return out;
}

/// An error with kind, status, request id and action filled in.
error make_error(std::string_view action, errc kind, const wire_response& w, std::string code = {});

/// The bad_response for a body nested deeper than max_response_depth (any status).
error too_deep_error(std::string_view action, const wire_response& w);

// Query protocol (form POST, XML).
wire_request query_encode(const get_queue_url_request& r);
wire_request query_encode(const create_queue_request& r);
wire_request query_encode(const delete_queue_request& r);
wire_request query_encode(const purge_queue_request& r);
wire_request query_encode(const get_queue_attributes_request& r);
wire_request query_encode(const receive_message_request& r);
wire_request query_encode(const send_message_batch_request& r);
wire_request query_encode(const delete_message_batch_request& r);
wire_request query_encode(const change_message_visibility_batch_request& r);
wire_request query_encode(const send_message_request& r);
wire_request query_encode(const delete_message_request& r);
wire_request query_encode(const change_message_visibility_request& r);
wire_request query_encode(const set_queue_attributes_request& r);
/// The error in an XML body (either AWS's or moto's auth shape); nullopt if the body is
/// not an error document.
std::optional<error> xml_error(std::string_view action, const wire_response& w);
/// Reads `<Action>Response/<Action>Result` of a success response: a plain ReceiveMessage
/// or batch success through the fast paths below, everything else (and whatever a fast
/// path gives up on) through xml_decode_general.
result<raw_output> xml_decode(std::string_view action, output_shape shape, const wire_response& w);
/// Any XML answer, through pugixml (the behaviour the fast paths must match).
result<raw_output> xml_decode_general(std::string_view action, output_shape shape,
                                      const wire_response& w);
/// The messages of a ReceiveMessage success answer in the plain shape (the document
/// element, at most one Result of Message elements whose children are the leaves
/// MessageId, ReceiptHandle, Body, MD5OfBody, MD5OfMessageAttributes, each once, and
/// Attribute elements of Name and Value; at most one ResponseMetadata of RequestId;
/// whitespace between elements; the five XML entities and character references),
/// read in one pass; nullopt for anything else (xml_fast.cpp).
std::optional<std::vector<message>> xml_receive_fast(std::string_view body);
/// The lists of a batch answer of `action` in the plain shape (`<action>ResultEntry` and
/// BatchResultErrorEntry elements of the leaves the general decoder reads, each once);
/// nullopt for anything else (xml_fast.cpp).
std::optional<raw_batch> xml_batch_fast(std::string_view action, std::string_view body);

// AWS JSON 1.0.
wire_request json_encode(const get_queue_url_request& r);
wire_request json_encode(const create_queue_request& r);
wire_request json_encode(const delete_queue_request& r);
wire_request json_encode(const purge_queue_request& r);
wire_request json_encode(const get_queue_attributes_request& r);
wire_request json_encode(const receive_message_request& r);
wire_request json_encode(const send_message_batch_request& r);
wire_request json_encode(const delete_message_batch_request& r);
wire_request json_encode(const change_message_visibility_batch_request& r);
wire_request json_encode(const send_message_request& r);
wire_request json_encode(const delete_message_request& r);
wire_request json_encode(const change_message_visibility_request& r);
wire_request json_encode(const set_queue_attributes_request& r);
/// The error in a JSON body (`__type`, `x-amzn-query-error`); nullopt if it is none.
std::optional<error> json_error(std::string_view action, const wire_response& w);
/// A JSON answer: a plain ReceiveMessage success through json_receive_fast, a plain
/// batch success through json_batch_fast, everything else (and whatever a fast path gives
/// up on) through json_decode_general.
result<raw_output> json_decode(std::string_view action, output_shape shape, const wire_response& w);
/// Any JSON answer, through a json::value (the behaviour the fast path must match).
result<raw_output> json_decode_general(std::string_view action, output_shape shape,
                                       const wire_response& w);

} // namespace sqs2pg::sqs::detail
