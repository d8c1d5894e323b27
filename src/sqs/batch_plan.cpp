// SendMessageBatch planning: payload sizes, splitting into calls, FIFO ids.
#include <sqs2pg/sqs/batch_plan.hpp>

namespace sqs2pg::sqs {

std::size_t payload_bytes(const send_entry& e) noexcept {
    std::size_t n = e.body.size();
    for (const auto& a : e.message_attributes)
        n += a.name.size() + a.data_type.size() + a.value.size();
    return n;
}

std::vector<std::size_t> plan_send_batches(std::span<const std::size_t> payloads,
                                           std::size_t max_payload) {
    std::vector<std::size_t> out;
    std::size_t n = 0;
    std::size_t bytes = 0;
    for (const auto s : payloads) {
        if (n > 0 &&
            (n == static_cast<std::size_t>(max_batch_entries) || bytes + s > max_payload)) {
            out.push_back(n);
            n = 0;
            bytes = 0;
        }
        ++n;
        bytes += s;
    }
    if (n > 0)
        out.push_back(n);
    return out;
}

bool is_fifo_queue(std::string_view queue_url) noexcept {
    return queue_url.ends_with(".fifo");
}

void set_fifo_ids(send_entry& e, std::string_view key) {
    e.message_group_id = std::string(key);
    e.message_deduplication_id = std::string(key);
}

errc classify(const batch_failure& f) noexcept {
    if (f.code.starts_with("sqs2pg."))
        return errc::bad_response;
    return classify(f.code, f.sender_fault ? 400 : 500);
}

} // namespace sqs2pg::sqs
