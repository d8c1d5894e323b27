// The fast path of a JSON ReceiveMessage answer: one pass of Boost.JSON's SAX parser
// straight into the messages, for the plain shape every SQS answer has. Anything else
// (an unknown or repeated key, a value of another type, MessageAttributes, an error) makes
// it give up, and the general decoder (json_codec.cpp), which builds a json::value and
// reads it, decides instead. So the fast path never decides anything the general one
// would decide differently; tests/unit/sqs/json_receive_test.cpp checks both agree.
#include <sqs2pg/base/json_sax.hpp>

#include "codec_detail.hpp"

#include <array>
#include <cstdint>

namespace sqs2pg::sqs::detail {
namespace json = boost::json;
namespace {

// Where the parser is in the one shape it follows.
enum class at : std::uint8_t {
    start,      // before the document
    root,       // in the top-level object
    messages,   // in the Messages array
    message,    // in one message object
    attributes, // in a message's Attributes object
    done,       // the top-level object has ended
};

// The members of a message the fast path reads, each allowed once.
enum member : std::uint8_t {
    message_id,
    receipt_handle,
    body,
    md5_of_body,
    md5_of_message_attributes,
    attributes,
    none,
};

member member_of(std::string_view key) noexcept {
    static constexpr std::array<std::string_view, 6> names{
        "MessageId", "ReceiptHandle", "Body", "MD5OfBody", "MD5OfMessageAttributes", "Attributes",
    };
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == key)
            return static_cast<member>(i);
    return none;
}

class handler : public base::sax_fast_path<handler> {
public:
    std::vector<message> messages;

    bool finished() const noexcept { return at_ == at::done; }

    bool on_object_begin(error_code& ec) {
        switch (at_) {
        case at::start:
            at_ = at::root;
            return true;
        case at::messages:
            at_ = at::message;
            seen_ = 0;
            messages.emplace_back();
            return true;
        case at::message:
            if (pending_ != attributes)
                return give_up(ec);
            at_ = at::attributes;
            pending_ = none;
            // One allocation for the usual few (sqs2pg asks for two), not one per growth.
            messages.back().attributes.reserve(4);
            return true;
        default:
            return give_up(ec);
        }
    }

    bool on_object_end(std::size_t, error_code& ec) {
        switch (at_) {
        case at::root:
            at_ = at::done;
            return true;
        case at::message:
            at_ = at::messages;
            return true;
        case at::attributes:
            at_ = at::message;
            return true;
        default:
            return give_up(ec);
        }
    }

    bool on_array_begin(error_code& ec) {
        if (at_ != at::root || !messages_key_)
            return give_up(ec);
        messages_key_ = false;
        at_ = at::messages;
        messages.reserve(max_receive_messages); // what one answer can hold
        return true;
    }

    bool on_array_end(std::size_t, error_code& ec) {
        if (at_ != at::messages)
            return give_up(ec);
        at_ = at::root;
        return true;
    }

    bool on_string_part(json::string_view s, std::size_t, error_code& ec) {
        std::string* t = target(ec);
        if (t == nullptr)
            return false;
        t->append(s.data(), s.size());
        return true;
    }

    bool on_string(json::string_view s, std::size_t, error_code& ec) {
        std::string* t = target(ec);
        if (t == nullptr)
            return false;
        t->append(s.data(), s.size());
        if (at_ == at::message) {
            if (pending_ == body)
                messages.back().has_body = true;
            else if (pending_ == md5_of_body)
                messages.back().has_md5_of_body = true;
            pending_ = none;
        }
        return true;
    }

    // Numbers, booleans, nulls and comments are not in the plain shape.
    bool on_number_part(json::string_view, error_code& ec) { return give_up(ec); }
    bool on_int64(std::int64_t, json::string_view, error_code& ec) { return give_up(ec); }
    bool on_uint64(std::uint64_t, json::string_view, error_code& ec) { return give_up(ec); }
    bool on_double(double, json::string_view, error_code& ec) { return give_up(ec); }
    bool on_bool(bool, error_code& ec) { return give_up(ec); }
    bool on_null(error_code& ec) { return give_up(ec); }

private:
    friend class base::sax_fast_path<handler>;

    bool take_key(std::string_view key, error_code& ec) {
        switch (at_) {
        case at::root:
            if (key != "Messages" || messages_seen_)
                return give_up(ec); // __type, anything else, or a second Messages
            messages_seen_ = true;
            messages_key_ = true;
            return true;
        case at::message: {
            const member m = member_of(key);
            if (m == none || (seen_ & (1u << m)) != 0)
                return give_up(ec);
            seen_ |= 1u << m;
            pending_ = m;
            return true;
        }
        case at::attributes:
            // A repeated name is the general decoder's to settle.
            for (const auto& [name, value] : messages.back().attributes)
                if (name == key)
                    return give_up(ec);
            messages.back().attributes.emplace_back(key, std::string());
            return true;
        default:
            return give_up(ec);
        }
    }

    // The string a value goes into, or nullptr (having given up) when no string belongs
    // here.
    std::string* target(error_code& ec) {
        if (at_ == at::attributes) {
            if (messages.back().attributes.empty())
                return give_up(ec), nullptr;
            return &messages.back().attributes.back().second;
        }
        if (at_ != at::message)
            return give_up(ec), nullptr;
        message& m = messages.back();
        switch (pending_) {
        case message_id:
            return &m.message_id;
        case receipt_handle:
            return &m.receipt_handle;
        case body:
            return &m.body;
        case md5_of_body:
            return &m.md5_of_body;
        case md5_of_message_attributes:
            return &m.md5_of_message_attributes;
        default:
            return give_up(ec), nullptr;
        }
    }

    at at_ = at::start;
    std::uint32_t seen_ = 0;
    member pending_ = none;
    bool messages_key_ = false;  // the key just read was Messages: its array comes next
    bool messages_seen_ = false; // Messages was in the document
};

} // namespace

std::optional<std::vector<message>> json_receive_fast(std::string_view body) {
    json::parse_options options;
    options.max_depth = max_response_depth;
    json::basic_parser<handler> p(options);
    if (!base::run_sax(p, body))
        return std::nullopt;
    return std::move(p.handler().messages);
}

} // namespace sqs2pg::sqs::detail
