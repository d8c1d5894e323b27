// The fast path of a JSON ReceiveMessage answer: one pass of a scanner written for the
// plain shape every SQS answer has, straight into the messages. Anything else (an unknown
// or repeated key, a value of another type, MessageAttributes, an error, a lone
// surrogate, bytes that are not UTF-8, a comment, trailing text) makes it give up, and
// the general decoder (json_codec.cpp), which builds a json::value and reads it, decides
// instead. So the fast path never decides anything the general one would decide
// differently; tests/unit/sqs/json_receive_test.cpp checks both agree.
//
// It replaced a pass of Boost.JSON's SAX parser: its scanner (base/json_scanner.hpp) halves
// the time of a fauxqs answer of ten (8.6 -> 4.3 us) and cuts its instructions by 29 %
// (docs/performance.md, the fourth round).
#include <sqs2pg/base/json_scanner.hpp>

#include "codec_detail.hpp"

#include <array>
#include <cstdint>

namespace sqs2pg::sqs::detail {
namespace {

using base::scanner;

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
    static_assert(names.size() == none); // so a key not found is `none`
    return static_cast<member>(position_of(names, key));
}

// A message's Attributes object: string values under distinct names.
bool read_attributes(scanner& s, message& m, std::string& key) {
    // The usual two (what sqs2pg asks for) fit in the message itself: no reserve.
    return s.object(key, [&](std::string_view name) {
        // A repeated name is the general decoder's to settle.
        for (const auto& [other, value] : m.attributes)
            if (other == name)
                return false;
        return s.string(m.attributes.emplace_back(std::string(name), std::string()).second);
    });
}

bool read_message(scanner& s, message& m, std::string& key) {
    std::uint32_t seen = 0;
    return s.object(key, [&](std::string_view name) {
        const member k = member_of(name);
        if (k == none || (seen & (1u << k)) != 0)
            return false;
        seen |= 1u << k;
        switch (k) {
        case message_id:
            return s.string(m.message_id);
        case receipt_handle:
            return s.string(m.receipt_handle);
        case body:
            return m.has_body = s.string(m.body);
        case md5_of_body:
            return m.has_md5_of_body = s.string(m.md5_of_body);
        case md5_of_message_attributes:
            return s.string(m.md5_of_message_attributes);
        case attributes:
            return read_attributes(s, m, key);
        case none:
            break;
        }
        return false;
    });
}

} // namespace

std::optional<std::vector<message>> json_receive_fast(std::string_view body) {
    scanner s(body);
    std::vector<message> messages;
    std::string key;
    bool listed = false;
    // The only member of the plain shape: Messages, an array of message objects.
    const bool plain = s.object(key, [&](std::string_view name) {
        if (name != "Messages" || listed)
            return false;
        listed = true;
        messages.reserve(max_receive_messages); // what one answer can hold
        return s.array([&] { return read_message(s, messages.emplace_back(), key); });
    });
    if (!plain || !s.at_end())
        return std::nullopt;
    return messages;
}

} // namespace sqs2pg::sqs::detail
