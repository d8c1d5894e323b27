// Writing JSON text directly, for the requests that go out for every ten messages
// (DeleteMessageBatch, ChangeMessageVisibilityBatch, ReceiveMessage): building a
// json::object for each cost six allocations per entry (keys, values, the hash table).
// Strings are escaped as json::serialize does (quote, backslash and control characters;
// other bytes verbatim).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::sqs::detail {

/// Appends `s` to `out` as a JSON string, quotes included.
void append_json_string(std::string& out, std::string_view s);

/// Writes one JSON object member after another: `"name":value`, commas in between.
class object_writer {
public:
    explicit object_writer(std::string& out)
        : out_(out) {
        out_ += '{';
    }

    object_writer& string(std::string_view name, std::string_view value) {
        key(name);
        append_json_string(out_, value);
        return *this;
    }
    object_writer& number(std::string_view name, std::int64_t value) {
        key(name);
        out_ += std::to_string(value);
        return *this;
    }
    object_writer& strings(std::string_view name, const std::vector<std::string>& values) {
        key(name);
        out_ += '[';
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (i > 0)
                out_ += ',';
            append_json_string(out_, values[i]);
        }
        out_ += ']';
        return *this;
    }
    /// `"name":[` - the caller writes the elements and calls end_array().
    void begin_array(std::string_view name) {
        key(name);
        out_ += '[';
    }
    void end_array() { out_ += ']'; }
    void end() { out_ += '}'; }

private:
    void key(std::string_view name) {
        if (!first_)
            out_ += ',';
        first_ = false;
        append_json_string(out_, name);
        out_ += ':';
    }
    std::string& out_;
    bool first_ = true;
};

} // namespace sqs2pg::sqs::detail
