// The fast path of a JSON batch answer (DeleteMessageBatch, ChangeMessageVisibilityBatch,
// SendMessageBatch): one pass of Boost.JSON's SAX parser straight into the lists, for the
// plain shape every SQS answer has. As with json_receive.cpp, anything else (an unknown or
// repeated key, a value of another type, an error) makes it give up, and the general
// decoder (json_codec.cpp), which builds a json::value and reads it, decides instead;
// tests/unit/sqs/json_batch_test.cpp checks both agree.
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
    successful, // in the Successful array
    ok_entry,   // in one of its objects
    failed,     // in the Failed array
    bad_entry,  // in one of its objects
    done,       // the top-level object has ended
};

// The members of an entry the fast path reads, each allowed once: those of a success
// (sent_message) first, then those of a failure (batch_failure).
enum member : std::uint8_t {
    id,
    message_id,
    md5_of_message_body,
    md5_of_message_attributes,
    sequence_number,
    code,
    sender_fault,
    message,
    none,
};

member ok_member(std::string_view key) noexcept {
    static constexpr std::array<std::string_view, 5> names{
        "Id", "MessageId", "MD5OfMessageBody", "MD5OfMessageAttributes", "SequenceNumber",
    };
    const std::size_t i = position_of(names, key);
    return i < names.size() ? static_cast<member>(i) : none;
}

member bad_member(std::string_view key) noexcept {
    if (key == "Id")
        return id;
    if (key == "Code")
        return code;
    if (key == "SenderFault")
        return sender_fault;
    if (key == "Message")
        return message;
    return none;
}

class handler : public base::sax_fast_path<handler> {
public:
    raw_batch batch;

    bool finished() const noexcept { return at_ == at::done; }

    bool on_object_begin(error_code& ec) {
        seen_ = 0;
        pending_ = none;
        switch (at_) {
        case at::start:
            at_ = at::root;
            return true;
        case at::successful:
            at_ = at::ok_entry;
            batch.successful.emplace_back();
            return true;
        case at::failed:
            at_ = at::bad_entry;
            batch.failed.emplace_back();
            // The general decoder reads a missing SenderFault as false.
            batch.failed.back().sender_fault = false;
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
        case at::ok_entry:
            at_ = at::successful;
            return true;
        case at::bad_entry:
            at_ = at::failed;
            return true;
        default:
            return give_up(ec);
        }
    }

    bool on_array_begin(error_code& ec) {
        if (at_ != at::root || list_ == at::root)
            return give_up(ec);
        at_ = list_;
        if (at_ == at::successful)
            batch.successful.reserve(max_batch_entries); // what a valid answer holds
        list_ = at::root;
        return true;
    }

    bool on_array_end(std::size_t, error_code& ec) {
        if (at_ != at::successful && at_ != at::failed)
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
        if (pending_ == sender_fault) // a string SenderFault, as some servers send it
            batch.failed.back().sender_fault = *t == "true" || *t == "True";
        pending_ = none;
        return true;
    }

    bool on_bool(bool b, error_code& ec) {
        if (at_ != at::bad_entry || pending_ != sender_fault)
            return give_up(ec);
        batch.failed.back().sender_fault = b;
        pending_ = none;
        return true;
    }

    // Numbers, nulls and comments are not in the plain shape.
    bool on_number_part(json::string_view, error_code& ec) { return give_up(ec); }
    bool on_int64(std::int64_t, json::string_view, error_code& ec) { return give_up(ec); }
    bool on_uint64(std::uint64_t, json::string_view, error_code& ec) { return give_up(ec); }
    bool on_double(double, json::string_view, error_code& ec) { return give_up(ec); }
    bool on_null(error_code& ec) { return give_up(ec); }

private:
    friend class base::sax_fast_path<handler>;

    bool take_key(std::string_view key, error_code& ec) {
        member m = none;
        switch (at_) {
        case at::root: {
            // Each list once; __type, an error's members or anything else: not plain.
            const std::uint32_t bit = key == "Successful" ? 1u : key == "Failed" ? 2u : 0u;
            if (bit == 0 || (lists_seen_ & bit) != 0)
                return give_up(ec);
            lists_seen_ |= bit;
            list_ = bit == 1u ? at::successful : at::failed;
            return true;
        }
        case at::ok_entry:
            m = ok_member(key);
            break;
        case at::bad_entry:
            m = bad_member(key);
            break;
        default:
            return give_up(ec);
        }
        if (m == none || (seen_ & (1u << m)) != 0)
            return give_up(ec);
        seen_ |= 1u << m;
        pending_ = m;
        fault_text_.clear();
        return true;
    }

    // The string a value goes into, or nullptr (having given up) when no string belongs
    // here.
    std::string* target(error_code& ec) {
        if (at_ == at::ok_entry) {
            sent_message& s = batch.successful.back();
            switch (pending_) {
            case id:
                return &s.id;
            case message_id:
                return &s.message_id;
            case md5_of_message_body:
                return &s.md5_of_message_body;
            case md5_of_message_attributes:
                return &s.md5_of_message_attributes;
            case sequence_number:
                return &s.sequence_number;
            default:
                return give_up(ec), nullptr;
            }
        }
        if (at_ == at::bad_entry) {
            batch_failure& f = batch.failed.back();
            switch (pending_) {
            case id:
                return &f.id;
            case code:
                return &f.code;
            case message:
                return &f.message;
            case sender_fault:
                return &fault_text_;
            default:
                return give_up(ec), nullptr;
            }
        }
        return give_up(ec), nullptr;
    }

    at at_ = at::start;
    at list_ = at::root;           // the list whose key was just read: its array comes next
    std::string fault_text_;       // a string SenderFault's text, read as the general one does
    std::uint32_t seen_ = 0;       // the members of this entry already read
    std::uint32_t lists_seen_ = 0; // Successful (1) and Failed (2), each allowed once
    member pending_ = none;
};

} // namespace

std::optional<raw_batch> json_batch_fast(std::string_view body) {
    json::parse_options options;
    options.max_depth = max_response_depth;
    json::basic_parser<handler> p(options);
    if (!base::run_sax(p, body))
        return std::nullopt;
    return std::move(p.handler().batch);
}

} // namespace sqs2pg::sqs::detail
