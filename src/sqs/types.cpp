// Accessors of the SQS value types: typed system attributes, lookups in batch results.
#include <sqs2pg/sqs/types.hpp>

#include <algorithm>
#include <charconv>

namespace sqs2pg::sqs {
namespace {

template <class Int>
std::optional<Int> parse_int(std::optional<std::string_view> text) noexcept {
    if (!text || text->empty())
        return std::nullopt;
    Int value{};
    const char* end = text->data() + text->size();
    const auto [ptr, ec] = std::from_chars(text->data(), end, value);
    if (ec != std::errc() || ptr != end)
        return std::nullopt;
    return value;
}

std::optional<std::chrono::system_clock::time_point>
epoch_ms(std::optional<std::int64_t> ms) noexcept {
    if (!ms)
        return std::nullopt;
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms));
}

template <class Failures>
const batch_failure* find_failure(const Failures& failed, std::string_view id) noexcept {
    const auto it = std::ranges::find(failed, id, &batch_failure::id);
    return it == failed.end() ? nullptr : &*it;
}

} // namespace

message_attribute::message_attribute(std::string name, std::string data_type, std::string value)
    : name(std::move(name))
    , data_type(std::move(data_type))
    , value(std::move(value)) {}

receive_options::receive_options()
    : attribute_names(1, "All")
    , message_attribute_names(1, "All") {}

send_entry::send_entry(std::string id, std::string body, std::optional<int> delay_seconds,
                       std::vector<message_attribute> message_attributes,
                       std::string message_group_id, std::string message_deduplication_id)
    : id(std::move(id))
    , body(std::move(body))
    , delay_seconds(delay_seconds)
    , message_attributes(std::move(message_attributes))
    , message_group_id(std::move(message_group_id))
    , message_deduplication_id(std::move(message_deduplication_id)) {}

rejected_message::rejected_message(std::string message_id, std::string receipt_handle,
                                   std::string_view reason,
                                   std::optional<std::uint32_t> receive_count)
    : message_id(std::move(message_id))
    , receipt_handle(std::move(receipt_handle))
    , reason(reason)
    , receive_count(receive_count) {}

delete_entry::delete_entry(std::string id, std::string receipt_handle)
    : id(std::move(id))
    , receipt_handle(std::move(receipt_handle)) {}

visibility_entry::visibility_entry(std::string id, std::string receipt_handle,
                                   int visibility_timeout)
    : id(std::move(id))
    , receipt_handle(std::move(receipt_handle))
    , visibility_timeout(visibility_timeout) {}

bool message_attribute::is_binary() const noexcept {
    return data_type.starts_with("Binary");
}

std::optional<std::string_view> message::attribute(std::string_view name) const noexcept {
    for (const auto& [key, value] : attributes)
        if (key == name)
            return std::string_view(value);
    return std::nullopt;
}

const message_attribute* message::find_message_attribute(std::string_view name) const noexcept {
    const auto it = std::ranges::find(message_attributes, name, &message_attribute::name);
    return it == message_attributes.end() ? nullptr : &*it;
}

std::optional<std::int64_t> message::sent_timestamp_ms() const noexcept {
    return parse_int<std::int64_t>(attribute("SentTimestamp"));
}

std::optional<std::chrono::system_clock::time_point> message::sent_timestamp() const noexcept {
    return epoch_ms(sent_timestamp_ms());
}

std::optional<std::uint32_t> message::approximate_receive_count() const noexcept {
    return parse_int<std::uint32_t>(attribute("ApproximateReceiveCount"));
}

std::optional<std::chrono::system_clock::time_point>
message::approximate_first_receive_timestamp() const noexcept {
    return epoch_ms(parse_int<std::int64_t>(attribute("ApproximateFirstReceiveTimestamp")));
}

std::optional<std::string_view> message::sender_id() const noexcept {
    return attribute("SenderId");
}

std::optional<std::string_view> message::aws_trace_header() const noexcept {
    return attribute("AWSTraceHeader");
}

std::optional<std::string_view> message::message_group_id() const noexcept {
    return attribute("MessageGroupId");
}

std::optional<std::string_view> message::message_deduplication_id() const noexcept {
    return attribute("MessageDeduplicationId");
}

std::optional<std::string_view> message::sequence_number() const noexcept {
    return attribute("SequenceNumber");
}

const batch_failure* batch_result::failure(std::string_view id) const noexcept {
    return find_failure(failed, id);
}

const batch_failure* send_batch_result::failure(std::string_view id) const noexcept {
    return find_failure(failed, id);
}

std::optional<std::uint64_t> attribute_as_number(const queue_attributes& attrs,
                                                 std::string_view name) noexcept {
    const auto it = attrs.find(name);
    if (it == attrs.end())
        return std::nullopt;
    return parse_int<std::uint64_t>(std::string_view(it->second));
}

} // namespace sqs2pg::sqs
