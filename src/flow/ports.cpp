// The ports on the real SQS client and Postgres writer.
#include <sqs2pg/flow/ports.hpp>
#include <sqs2pg/pg/writer.hpp>
#include <sqs2pg/sqs/client.hpp>

namespace sqs2pg::flow {

namespace asio = boost::asio;

sqs_queue::sqs_queue(sqs::client& client, receive_settings settings)
    : client_(client)
    , settings_(std::move(settings)) {
    options_.max_number_of_messages = sqs::max_receive_messages;
    options_.wait_time_seconds = settings_.wait_time_seconds;
    options_.visibility_timeout = settings_.visibility_timeout;
    options_.attribute_names.clear();
    options_.attribute_names.push_back("SentTimestamp");
    options_.attribute_names.push_back("ApproximateReceiveCount");
    options_.message_attribute_names.clear();
    options_.retry_allowed = [this] { return !retries_stopped_; };
}

asio::awaitable<sqs::result<sqs::receive_result>> sqs_queue::async_receive() {
    return client_.async_receive_message(settings_.queue_url, options_);
}

asio::awaitable<sqs::result<sqs::batch_result>>
sqs_queue::async_delete(std::vector<sqs::delete_entry> entries) {
    return client_.async_delete_message_batch(settings_.queue_url, std::move(entries));
}

asio::awaitable<sqs::result<sqs::batch_result>>
sqs_queue::async_change_visibility(std::vector<sqs::visibility_entry> entries) {
    return client_.async_change_message_visibility_batch(settings_.queue_url, std::move(entries));
}

asio::awaitable<sqs::result<sqs::send_batch_result>>
sqs_queue::async_send_dead_letters(std::vector<sqs::send_entry> entries) {
    return client_.async_send_message_batch(settings_.dead_letter_queue_url.value_or(""),
                                            std::move(entries));
}

asio::awaitable<sqs::result<sqs::queue_attributes>> sqs_queue::async_depth() {
    std::vector<std::string> names;
    names.push_back("ApproximateNumberOfMessages");
    names.push_back("ApproximateNumberOfMessagesNotVisible");
    names.push_back("ApproximateNumberOfMessagesDelayed");
    return client_.async_get_queue_attributes(settings_.queue_url, std::move(names));
}

std::string sqs_queue::explain(const sqs::error& e) const {
    return client_.explain(e);
}

std::uint64_t sqs_queue::client_retries() const {
    return client_.stats().retries;
}

pg_sink::pg_sink(pg::writer& w)
    : writer_(w) {}

asio::awaitable<pg::batch_outcome> pg_sink::async_write(const pg::batch& b) {
    return writer_.async_write(b);
}

bool pg_sink::connected() const {
    return writer_.connected();
}

void pg_sink::on_connection_change(std::function<void(bool)> f) {
    writer_.on_connection_change(std::move(f));
}

} // namespace sqs2pg::flow
