// AWS JSON 1.0: request objects named as in the current SQS model, responses and errors
// read with Boost.JSON (`__type` plus the query-compatible x-amzn-query-error header).
#include <sqs2pg/base/encoding.hpp>

#include "codec_detail.hpp"
#include "json_writer.hpp"

#include <boost/json/error.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace sqs2pg::sqs::detail {
namespace json = boost::json;
namespace {

constexpr std::string_view json_content_type = "application/x-amz-json-1.0";

wire_request finish(std::string_view action, std::string body) {
    std::string target = "AmazonSQS.";
    target += action;
    return {"/", json_content_type, std::move(target), std::move(body)};
}

wire_request finish(std::string_view action, const json::object& body) {
    return finish(action, json::serialize(body));
}

json::array string_array(const std::vector<std::string>& values) {
    json::array a;
    a.reserve(values.size());
    for (const auto& v : values)
        a.emplace_back(v);
    return a;
}

json::object string_map(const std::vector<std::pair<std::string, std::string>>& values) {
    json::object o;
    for (const auto& [k, v] : values)
        o[k] = v;
    return o;
}

json::object message_attributes(const std::vector<message_attribute>& attributes) {
    json::object o;
    for (const auto& a : attributes) {
        json::object v;
        v["DataType"] = a.data_type;
        if (a.is_binary())
            v["BinaryValue"] = base::to_base64(a.value);
        else
            v["StringValue"] = a.value;
        o[a.name] = std::move(v);
    }
    return o;
}

// {"QueueUrl":...,"Entries":[{...},...]} with each entry's members written by
// `members(writer, entry)`; the entries of both batch requests hold an id and a handle.
template <class Entry, class Members>
std::string entries_body(std::string_view queue_url, const std::vector<Entry>& entries,
                         Members members) {
    std::string body;
    std::size_t size = 64 + queue_url.size();
    for (const auto& e : entries)
        size += 72 + e.id.size() + e.receipt_handle.size();
    body.reserve(size);
    object_writer o(body);
    o.string("QueueUrl", queue_url);
    o.begin_array("Entries");
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i > 0)
            body += ',';
        object_writer entry(body);
        members(entry, entries[i]);
        entry.end();
    }
    o.end_array();
    o.end();
    return body;
}

// ---- reading -------------------------------------------------------------------------

// Text of a scalar, tolerant of emulators that send numbers or booleans unquoted.
std::string text(const json::value* v) {
    if (v == nullptr)
        return {};
    switch (v->kind()) {
    case json::kind::string:
        return std::string(v->get_string());
    case json::kind::int64:
        return std::to_string(v->get_int64());
    case json::kind::uint64:
        return std::to_string(v->get_uint64());
    case json::kind::double_:
        return json::serialize(*v);
    case json::kind::bool_:
        return v->get_bool() ? "true" : "false";
    default:
        return {};
    }
}

std::string text(const json::object& o, std::string_view key) {
    return text(o.if_contains(key));
}

// Whether `key` holds a value text() reads (null, objects and arrays count as absent).
bool has_scalar(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && !v->is_null() && !v->is_object() && !v->is_array();
}

bool boolean(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr)
        return false;
    if (v->is_bool())
        return v->get_bool();
    const auto t = text(v);
    return t == "true" || t == "True";
}

const json::object* object_at(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr ? v->if_object() : nullptr;
}

const json::array* array_at(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr ? v->if_array() : nullptr;
}

message read_message(const json::object& m) {
    message out;
    out.message_id = text(m, "MessageId");
    out.receipt_handle = text(m, "ReceiptHandle");
    out.body = text(m, "Body");
    out.has_body = has_scalar(m, "Body");
    out.md5_of_body = text(m, "MD5OfBody");
    out.has_md5_of_body = has_scalar(m, "MD5OfBody");
    out.md5_of_message_attributes = text(m, "MD5OfMessageAttributes");
    if (const auto* attrs = object_at(m, "Attributes")) {
        out.attributes.reserve(attrs->size());
        for (const auto& kv : *attrs)
            out.attributes.emplace_back(std::string(kv.key()), text(&kv.value()));
    }
    if (const auto* attrs = object_at(m, "MessageAttributes")) {
        for (const auto& kv : *attrs) {
            const auto* v = kv.value().if_object();
            if (v == nullptr)
                continue;
            message_attribute a{std::string(kv.key()), text(*v, "DataType"), {}};
            if (v->contains("BinaryValue")) {
                // Kept as text when not base64: the attribute MD5 then rejects the message.
                std::string b64 = text(*v, "BinaryValue");
                auto bytes = base::from_base64(b64);
                a.value = bytes ? std::move(*bytes) : std::move(b64);
            } else {
                a.value = text(*v, "StringValue");
            }
            out.message_attributes.push_back(std::move(a));
        }
    }
    return out;
}

// Parses a response body. Boost.JSON's parser keeps its own stack, and with the depth
// capped neither it nor the destruction of the value (which recurses) goes deeper than
// max_response_depth; a deeper body fails with json::error::too_deep.
//
// The value lives in `arena` (a bump allocator): its many small allocations cost a
// pointer increment each, and destroying it costs nothing. Everything kept is copied out
// before the arena goes.
json::value parse_body(std::string_view body, boost::system::error_code& ec,
                       json::monotonic_resource& arena) {
    json::parse_options options;
    options.max_depth = max_response_depth;
    return json::parse(body, ec, json::storage_ptr(&arena), options);
}

/// An arena for one response: a first block on the stack, larger bodies grow it.
struct response_arena {
    unsigned char first[16 * 1024];
    json::monotonic_resource resource{first, sizeof first};
};

// Bare error name: "com.amazonaws.sqs#QueueDoesNotExist" -> "QueueDoesNotExist"; some
// services append ":<url>" (as botocore strips it too).
std::string_view bare_type(std::string_view type) noexcept {
    if (const auto colon = type.find(':'); colon != std::string_view::npos)
        type = type.substr(0, colon);
    if (const auto hash = type.rfind('#'); hash != std::string_view::npos)
        type.remove_prefix(hash + 1);
    return type;
}

} // namespace

// ---- encoders ------------------------------------------------------------------------

wire_request json_encode(const get_queue_url_request& r) {
    json::object o;
    o["QueueName"] = r.queue_name;
    if (!r.queue_owner_account_id.empty())
        o["QueueOwnerAWSAccountId"] = r.queue_owner_account_id;
    return finish(get_queue_url_request::action, o);
}

wire_request json_encode(const create_queue_request& r) {
    json::object o;
    o["QueueName"] = r.queue_name;
    if (!r.attributes.empty())
        o["Attributes"] = string_map(r.attributes);
    if (!r.tags.empty())
        o["tags"] = string_map(r.tags); // lower-case in the model
    return finish(create_queue_request::action, o);
}

wire_request json_encode(const delete_queue_request& r) {
    json::object o;
    o["QueueUrl"] = r.queue_url;
    return finish(delete_queue_request::action, o);
}

wire_request json_encode(const purge_queue_request& r) {
    json::object o;
    o["QueueUrl"] = r.queue_url;
    return finish(purge_queue_request::action, o);
}

wire_request json_encode(const get_queue_attributes_request& r) {
    json::object o;
    o["QueueUrl"] = r.queue_url;
    if (!r.attribute_names.empty())
        o["AttributeNames"] = string_array(r.attribute_names);
    return finish(get_queue_attributes_request::action, o);
}

wire_request json_encode(const receive_message_request& r) {
    const auto& opt = r.options;
    std::string body;
    body.reserve(160 + r.queue_url.size());
    object_writer o(body);
    o.string("QueueUrl", r.queue_url);
    if (!opt.attribute_names.empty()) {
        // The current model's name and the deprecated one it replaced: SQS and moto read
        // either (moto merges both), older emulators only know AttributeNames.
        o.strings("MessageSystemAttributeNames", opt.attribute_names);
        o.strings("AttributeNames", opt.attribute_names);
    }
    if (!opt.message_attribute_names.empty())
        o.strings("MessageAttributeNames", opt.message_attribute_names);
    o.number("MaxNumberOfMessages", opt.max_number_of_messages);
    if (opt.visibility_timeout)
        o.number("VisibilityTimeout", *opt.visibility_timeout);
    if (opt.wait_time_seconds)
        o.number("WaitTimeSeconds", *opt.wait_time_seconds);
    if (!opt.receive_request_attempt_id.empty())
        o.string("ReceiveRequestAttemptId", opt.receive_request_attempt_id);
    o.end();
    return finish(receive_message_request::action, std::move(body));
}

wire_request json_encode(const send_message_batch_request& r) {
    json::array entries;
    entries.reserve(r.entries.size());
    for (const auto& e : r.entries) {
        json::object o;
        o["Id"] = e.id;
        o["MessageBody"] = e.body;
        if (e.delay_seconds)
            o["DelaySeconds"] = *e.delay_seconds;
        if (!e.message_attributes.empty())
            o["MessageAttributes"] = message_attributes(e.message_attributes);
        if (!e.message_group_id.empty())
            o["MessageGroupId"] = e.message_group_id;
        if (!e.message_deduplication_id.empty())
            o["MessageDeduplicationId"] = e.message_deduplication_id;
        entries.emplace_back(std::move(o));
    }
    json::object o;
    o["QueueUrl"] = r.queue_url;
    o["Entries"] = std::move(entries);
    return finish(send_message_batch_request::action, o);
}

wire_request json_encode(const delete_message_batch_request& r) {
    return finish(delete_message_batch_request::action,
                  entries_body(r.queue_url, r.entries, [](object_writer& o, const auto& e) {
                      o.string("Id", e.id).string("ReceiptHandle", e.receipt_handle);
                  }));
}

wire_request json_encode(const change_message_visibility_batch_request& r) {
    return finish(change_message_visibility_batch_request::action,
                  entries_body(r.queue_url, r.entries, [](object_writer& o, const auto& e) {
                      o.string("Id", e.id)
                          .string("ReceiptHandle", e.receipt_handle)
                          .number("VisibilityTimeout", e.visibility_timeout);
                  }));
}

wire_request json_encode(const send_message_request& r) {
    const auto& e = r.message;
    json::object o;
    o["QueueUrl"] = r.queue_url;
    o["MessageBody"] = e.body;
    if (e.delay_seconds)
        o["DelaySeconds"] = *e.delay_seconds;
    if (!e.message_attributes.empty())
        o["MessageAttributes"] = message_attributes(e.message_attributes);
    if (!e.message_group_id.empty())
        o["MessageGroupId"] = e.message_group_id;
    if (!e.message_deduplication_id.empty())
        o["MessageDeduplicationId"] = e.message_deduplication_id;
    return finish(send_message_request::action, o);
}

wire_request json_encode(const delete_message_request& r) {
    json::object o;
    o["QueueUrl"] = r.queue_url;
    o["ReceiptHandle"] = r.receipt_handle;
    return finish(delete_message_request::action, o);
}

wire_request json_encode(const change_message_visibility_request& r) {
    json::object o;
    o["QueueUrl"] = r.queue_url;
    o["ReceiptHandle"] = r.receipt_handle;
    o["VisibilityTimeout"] = r.visibility_timeout;
    return finish(change_message_visibility_request::action, o);
}

wire_request json_encode(const set_queue_attributes_request& r) {
    json::object o;
    o["QueueUrl"] = r.queue_url;
    o["Attributes"] = string_map(r.attributes);
    return finish(set_queue_attributes_request::action, o);
}

// ---- decoders ------------------------------------------------------------------------

namespace {

// nullopt when the response is a success (2xx and no __type / X-Amzn-ErrorType).
std::optional<error> error_from(std::string_view action, const json::object* o,
                                const wire_response& w) {
    const std::string type = o != nullptr ? text(*o, "__type") : std::string();
    const bool failed_status = w.status < 200 || w.status >= 300;
    if (type.empty() && w.error_type.empty() && !failed_status)
        return std::nullopt;

    // awsQueryCompatible: "<legacy query code>;<Sender|Receiver>", the code query clients
    // know; botocore reports it in place of __type, and so do we.
    std::string_view legacy = w.query_error, fault;
    if (const auto semi = legacy.find(';'); semi != std::string_view::npos) {
        fault = legacy.substr(semi + 1);
        legacy = legacy.substr(0, semi);
    }
    const std::string_view modelled = bare_type(type.empty() ? w.error_type : type);
    const std::string_view code = legacy.empty() ? modelled : legacy;
    // The legacy code decides the kind when it is known; else the modelled name; else
    // the status.
    errc kind = classify(legacy, 0);
    if (kind == errc::bad_response)
        kind = classify(modelled, w.status);

    error e = make_error(action, kind, w, std::string(code));
    e.sender_fault = fault.empty() ? w.status < 500 : fault != "Receiver";
    if (o != nullptr) {
        e.message = text(*o, "message");
        if (e.message.empty())
            e.message = text(*o, "Message");
    }
    return e;
}

} // namespace

std::optional<error> json_error(std::string_view action, const wire_response& w) {
    boost::system::error_code ec;
    response_arena arena;
    const json::value v = parse_body(w.body, ec, arena.resource);
    if (ec == json::error::too_deep)
        return too_deep_error(action, w);
    return error_from(action, ec ? nullptr : v.if_object(), w);
}

result<raw_output> json_decode(std::string_view action, output_shape shape,
                               const wire_response& w) {
    if (auto out = fast_decode(shape, w, json_receive_fast, json_batch_fast))
        return std::move(*out);
    return json_decode_general(action, shape, w);
}

result<raw_output> json_decode_general(std::string_view action, output_shape shape,
                                       const wire_response& w) {
    const auto bad = [&] { return make_error(action, errc::bad_response, w); };
    raw_output out;
    // An empty 2xx body is an empty object: actions without output, and local-aws-sqs's
    // empty ReceiveMessage (mandatory members are still checked below).
    const bool blank = w.body.find_first_not_of(" \t\r\n") == std::string_view::npos;
    boost::system::error_code ec;
    response_arena arena;
    const json::value v =
        blank ? json::value(json::object()) : parse_body(w.body, ec, arena.resource);
    if (ec == json::error::too_deep)
        return too_deep_error(action, w);
    if (ec || !v.is_object())
        return bad();
    const auto& o = v.get_object();
    if (auto e = error_from(action, &o, w))
        return std::move(*e);

    switch (shape) {
    case output_shape::none:
        break;
    case output_shape::sent:
        out.sent = {{},
                    text(o, "MessageId"),
                    text(o, "MD5OfMessageBody"),
                    text(o, "MD5OfMessageAttributes"),
                    text(o, "SequenceNumber")};
        if (out.sent.message_id.empty())
            return bad();
        break;
    case output_shape::queue_url:
        out.queue_url = text(o, "QueueUrl");
        if (out.queue_url.empty())
            return bad();
        break;
    case output_shape::attributes:
        if (const auto* attrs = object_at(o, "Attributes"))
            for (const auto& kv : *attrs)
                out.attributes.insert_or_assign(std::string(kv.key()), text(&kv.value()));
        break;
    case output_shape::messages:
        if (const auto* list = array_at(o, "Messages")) {
            out.messages.reserve(list->size());
            for (const auto& m : *list)
                if (const auto* mo = m.if_object())
                    out.messages.push_back(read_message(*mo));
        }
        break;
    case output_shape::batch:
        if (const auto* list = array_at(o, "Successful")) {
            out.batch.successful.reserve(list->size());
            for (const auto& item : *list)
                if (const auto* s = item.if_object())
                    out.batch.successful.push_back(
                        {text(*s, "Id"), text(*s, "MessageId"), text(*s, "MD5OfMessageBody"),
                         text(*s, "MD5OfMessageAttributes"), text(*s, "SequenceNumber")});
        }
        if (const auto* list = array_at(o, "Failed"))
            for (const auto& item : *list)
                if (const auto* f = item.if_object())
                    out.batch.failed.push_back({text(*f, "Id"), text(*f, "Code"),
                                                boolean(*f, "SenderFault"), text(*f, "Message")});
        break;
    }
    return out;
}

} // namespace sqs2pg::sqs::detail
