// Query protocol requests: form bodies with flattened 1-based lists. The XML answers
// are read in xml_codec.cpp.
#include <sqs2pg/base/encoding.hpp>

#include "codec_detail.hpp"

namespace sqs2pg::sqs::detail {
namespace {

constexpr std::string_view form_content_type = "application/x-www-form-urlencoded; charset=utf-8";
constexpr std::string_view api_version = "2012-11-05";

// A form body under construction: Action first, Version last (as the SQS docs' examples
// and our captures have them; the order is covered by the signature either way).
class form {
public:
    explicit form(std::string_view action) { add("Action", action); }

    /// Room for `bytes` more (escaping makes a value longer than its text).
    void reserve(std::size_t bytes) { body_.reserve(body_.size() + bytes); }

    void add(std::string_view name, std::string_view value) {
        append_form_field(body_, name, value);
    }
    void add(std::string_view name, int value) {
        add(name, std::string_view(std::to_string(value)));
    }

    /// `prefix` + "." + index (1-based) + suffix, e.g. ("AttributeName", 2, "") ->
    /// "AttributeName.2".
    void add_indexed(std::string_view prefix, std::size_t index, std::string_view suffix,
                     std::string_view value) {
        name_.assign(prefix);
        name_ += '.';
        name_ += std::to_string(index);
        name_ += suffix;
        add(name_, value);
    }

    wire_request finish(std::string target) && {
        add("Version", api_version);
        return {std::move(target), form_content_type, {}, std::move(body_)};
    }

private:
    std::string body_;
    std::string name_;
};

std::string queue_target(const std::string& queue_url) {
    return std::string(queue_url_path(queue_url));
}

void add_message_attributes(form& f, const std::string& prefix,
                            const std::vector<message_attribute>& attributes) {
    std::size_t i = 0;
    for (const auto& a : attributes) {
        ++i;
        f.add_indexed(prefix, i, ".Name", a.name);
        f.add_indexed(prefix, i, ".Value.DataType", a.data_type);
        if (a.is_binary())
            f.add_indexed(prefix, i, ".Value.BinaryValue", base::to_base64(a.value));
        else
            f.add_indexed(prefix, i, ".Value.StringValue", a.value);
    }
}

} // namespace

// ---- encoders ------------------------------------------------------------------------

wire_request query_encode(const get_queue_url_request& r) {
    form f(get_queue_url_request::action);
    f.add("QueueName", r.queue_name);
    if (!r.queue_owner_account_id.empty())
        f.add("QueueOwnerAWSAccountId", r.queue_owner_account_id);
    return std::move(f).finish("/");
}

wire_request query_encode(const create_queue_request& r) {
    form f(create_queue_request::action);
    f.add("QueueName", r.queue_name);
    std::size_t i = 0;
    for (const auto& [name, value] : r.attributes) {
        ++i;
        f.add_indexed("Attribute", i, ".Name", name);
        f.add_indexed("Attribute", i, ".Value", value);
    }
    i = 0;
    for (const auto& [key, value] : r.tags) {
        ++i;
        f.add_indexed("Tag", i, ".Key", key);
        f.add_indexed("Tag", i, ".Value", value);
    }
    return std::move(f).finish("/");
}

wire_request query_encode(const delete_queue_request& r) {
    form f(delete_queue_request::action);
    f.add("QueueUrl", r.queue_url);
    return std::move(f).finish(queue_target(r.queue_url));
}

wire_request query_encode(const purge_queue_request& r) {
    form f(purge_queue_request::action);
    f.add("QueueUrl", r.queue_url);
    return std::move(f).finish(queue_target(r.queue_url));
}

wire_request query_encode(const get_queue_attributes_request& r) {
    form f(get_queue_attributes_request::action);
    f.add("QueueUrl", r.queue_url);
    std::size_t i = 0;
    for (const auto& name : r.attribute_names)
        f.add_indexed("AttributeName", ++i, "", name);
    return std::move(f).finish(queue_target(r.queue_url));
}

wire_request query_encode(const receive_message_request& r) {
    const auto& o = r.options;
    form f(receive_message_request::action);
    f.add("QueueUrl", r.queue_url);
    std::size_t i = 0;
    for (const auto& name : o.attribute_names)
        f.add_indexed("AttributeName", ++i, "", name);
    i = 0;
    for (const auto& name : o.message_attribute_names)
        f.add_indexed("MessageAttributeName", ++i, "", name);
    f.add("MaxNumberOfMessages", o.max_number_of_messages);
    if (o.visibility_timeout)
        f.add("VisibilityTimeout", *o.visibility_timeout);
    if (o.wait_time_seconds)
        f.add("WaitTimeSeconds", *o.wait_time_seconds);
    if (!o.receive_request_attempt_id.empty())
        f.add("ReceiveRequestAttemptId", o.receive_request_attempt_id);
    return std::move(f).finish(queue_target(r.queue_url));
}

wire_request query_encode(const send_message_batch_request& r) {
    form f(send_message_batch_request::action);
    f.add("QueueUrl", r.queue_url);
    std::size_t i = 0;
    const std::string_view p = "SendMessageBatchRequestEntry";
    for (const auto& e : r.entries) {
        ++i;
        f.add_indexed(p, i, ".Id", e.id);
        f.add_indexed(p, i, ".MessageBody", e.body);
        if (e.delay_seconds)
            f.add_indexed(p, i, ".DelaySeconds", std::to_string(*e.delay_seconds));
        if (!e.message_group_id.empty())
            f.add_indexed(p, i, ".MessageGroupId", e.message_group_id);
        if (!e.message_deduplication_id.empty())
            f.add_indexed(p, i, ".MessageDeduplicationId", e.message_deduplication_id);
        add_message_attributes(f, std::string(p) + "." + std::to_string(i) + ".MessageAttribute",
                               e.message_attributes);
    }
    return std::move(f).finish(queue_target(r.queue_url));
}

wire_request query_encode(const delete_message_batch_request& r) {
    form f(delete_message_batch_request::action);
    std::size_t size = 64 + 3 * r.queue_url.size();
    for (const auto& e : r.entries)
        size += 96 + e.id.size() + e.receipt_handle.size() + e.receipt_handle.size() / 4;
    f.reserve(size);
    f.add("QueueUrl", r.queue_url);
    std::size_t i = 0;
    const std::string_view p = "DeleteMessageBatchRequestEntry";
    for (const auto& e : r.entries) {
        ++i;
        f.add_indexed(p, i, ".Id", e.id);
        f.add_indexed(p, i, ".ReceiptHandle", e.receipt_handle);
    }
    return std::move(f).finish(queue_target(r.queue_url));
}

wire_request query_encode(const change_message_visibility_batch_request& r) {
    form f(change_message_visibility_batch_request::action);
    f.add("QueueUrl", r.queue_url);
    std::size_t i = 0;
    const std::string_view p = "ChangeMessageVisibilityBatchRequestEntry";
    for (const auto& e : r.entries) {
        ++i;
        f.add_indexed(p, i, ".Id", e.id);
        f.add_indexed(p, i, ".ReceiptHandle", e.receipt_handle);
        f.add_indexed(p, i, ".VisibilityTimeout", std::to_string(e.visibility_timeout));
    }
    return std::move(f).finish(queue_target(r.queue_url));
}

wire_request query_encode(const send_message_request& r) {
    const auto& e = r.message;
    form f(send_message_request::action);
    f.add("QueueUrl", r.queue_url);
    f.add("MessageBody", e.body);
    if (e.delay_seconds)
        f.add("DelaySeconds", *e.delay_seconds);
    if (!e.message_group_id.empty())
        f.add("MessageGroupId", e.message_group_id);
    if (!e.message_deduplication_id.empty())
        f.add("MessageDeduplicationId", e.message_deduplication_id);
    add_message_attributes(f, "MessageAttribute", e.message_attributes);
    return std::move(f).finish(queue_target(r.queue_url));
}

wire_request query_encode(const delete_message_request& r) {
    form f(delete_message_request::action);
    f.add("QueueUrl", r.queue_url);
    f.add("ReceiptHandle", r.receipt_handle);
    return std::move(f).finish(queue_target(r.queue_url));
}

wire_request query_encode(const change_message_visibility_request& r) {
    form f(change_message_visibility_request::action);
    f.add("QueueUrl", r.queue_url);
    f.add("ReceiptHandle", r.receipt_handle);
    f.add("VisibilityTimeout", r.visibility_timeout);
    return std::move(f).finish(queue_target(r.queue_url));
}

wire_request query_encode(const set_queue_attributes_request& r) {
    form f(set_queue_attributes_request::action);
    f.add("QueueUrl", r.queue_url);
    std::size_t i = 0;
    for (const auto& [name, value] : r.attributes) {
        ++i;
        f.add_indexed("Attribute", i, ".Name", name);
        f.add_indexed("Attribute", i, ".Value", value);
    }
    return std::move(f).finish(queue_target(r.queue_url));
}

} // namespace sqs2pg::sqs::detail
