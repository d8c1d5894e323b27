// The requests' limit checks (validate): what SQS itself would refuse, refused before
// anything is sent, with the codes SQS would use.
#include <sqs2pg/sqs/codec.hpp>

#include <algorithm>
#include <string>

namespace sqs2pg::sqs {
namespace {

error invalid(std::string_view action, std::string code, std::string message) {
    error e;
    e.kind = errc::invalid_argument;
    e.code = std::move(code);
    e.message = std::move(message);
    e.action = action;
    return e;
}

std::optional<error> check_range(std::string_view action, std::string_view what,
                                 std::optional<int> value, int lo, int hi) {
    if (!value || (*value >= lo && *value <= hi))
        return std::nullopt;
    return invalid(action, "InvalidParameterValue",
                   std::string(what) + " must be between " + std::to_string(lo) + " and " +
                       std::to_string(hi));
}

bool valid_batch_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > max_batch_id_length)
        return false;
    return std::ranges::all_of(id, [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

// 1..10 entries with distinct ids of [A-Za-z0-9_-]{1,80}, with the codes SQS would use.
template <class Entries>
std::optional<error> check_batch(std::string_view action, const Entries& entries) {
    if (entries.empty())
        return invalid(action, "AWS.SimpleQueueService.EmptyBatchRequest",
                       "a batch needs at least one entry");
    if (entries.size() > static_cast<std::size_t>(max_batch_entries))
        return invalid(action, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                       "a batch holds at most 10 entries, this one has " +
                           std::to_string(entries.size()));
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (!valid_batch_id(entries[i].id))
            return invalid(action, "AWS.SimpleQueueService.InvalidBatchEntryId",
                           "entry " + std::to_string(i + 1) +
                               ": ids are 1 to 80 characters of A-Z a-z 0-9 _ -");
        for (std::size_t j = 0; j < i; ++j)
            if (entries[j].id == entries[i].id)
                return invalid(action, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                               "entry ids must be distinct within a batch");
    }
    return std::nullopt;
}

std::optional<error> check_queue_url(std::string_view action, const std::string& url) {
    if (url.empty())
        return invalid(action, "MissingParameter", "the queue URL is empty");
    return std::nullopt;
}

} // namespace

std::optional<error> validate(const receive_message_request& r) {
    constexpr auto a = receive_message_request::action;
    if (auto e = check_queue_url(a, r.queue_url))
        return e;
    const auto& o = r.options;
    if (auto e = check_range(a, "MaxNumberOfMessages", o.max_number_of_messages, 1,
                             max_receive_messages))
        return e;
    if (auto e = check_range(a, "WaitTimeSeconds", o.wait_time_seconds, 0, max_wait_time_seconds))
        return e;
    return check_range(a, "VisibilityTimeout", o.visibility_timeout, 0,
                       max_visibility_timeout_seconds);
}

std::optional<error> validate(const send_message_batch_request& r) {
    constexpr auto a = send_message_batch_request::action;
    if (auto e = check_queue_url(a, r.queue_url))
        return e;
    if (auto e = check_batch(a, r.entries))
        return e;
    for (const auto& entry : r.entries)
        if (auto e = check_range(a, "DelaySeconds", entry.delay_seconds, 0, max_delay_seconds))
            return e;
    return std::nullopt;
}

std::optional<error> validate(const delete_message_batch_request& r) {
    constexpr auto a = delete_message_batch_request::action;
    if (auto e = check_queue_url(a, r.queue_url))
        return e;
    return check_batch(a, r.entries);
}

std::optional<error> validate(const change_message_visibility_batch_request& r) {
    constexpr auto a = change_message_visibility_batch_request::action;
    if (auto e = check_queue_url(a, r.queue_url))
        return e;
    if (auto e = check_batch(a, r.entries))
        return e;
    for (const auto& entry : r.entries)
        if (auto e = check_range(a, "VisibilityTimeout", entry.visibility_timeout, 0,
                                 max_visibility_timeout_seconds))
            return e;
    return std::nullopt;
}

std::optional<error> validate(const get_queue_url_request& r) {
    if (r.queue_name.empty())
        return invalid(get_queue_url_request::action, "MissingParameter", "empty queue name");
    return std::nullopt;
}

std::optional<error> validate(const create_queue_request& r) {
    if (r.queue_name.empty())
        return invalid(create_queue_request::action, "MissingParameter", "empty queue name");
    return std::nullopt;
}

std::optional<error> validate(const delete_queue_request& r) {
    return check_queue_url(delete_queue_request::action, r.queue_url);
}

std::optional<error> validate(const purge_queue_request& r) {
    return check_queue_url(purge_queue_request::action, r.queue_url);
}

std::optional<error> validate(const get_queue_attributes_request& r) {
    return check_queue_url(get_queue_attributes_request::action, r.queue_url);
}

std::optional<error> validate(const send_message_request& r) {
    constexpr auto a = send_message_request::action;
    if (auto e = check_queue_url(a, r.queue_url))
        return e;
    return check_range(a, "DelaySeconds", r.message.delay_seconds, 0, max_delay_seconds);
}

std::optional<error> validate(const delete_message_request& r) {
    return check_queue_url(delete_message_request::action, r.queue_url);
}

std::optional<error> validate(const change_message_visibility_request& r) {
    constexpr auto a = change_message_visibility_request::action;
    if (auto e = check_queue_url(a, r.queue_url))
        return e;
    return check_range(a, "VisibilityTimeout", r.visibility_timeout, 0,
                       max_visibility_timeout_seconds);
}

std::optional<error> validate(const set_queue_attributes_request& r) {
    return check_queue_url(set_queue_attributes_request::action, r.queue_url);
}

} // namespace sqs2pg::sqs
