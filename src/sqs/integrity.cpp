// MD5 checks of received messages, as SQS computes MD5OfBody and MD5OfMessageAttributes.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/sqs/integrity.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace sqs2pg::sqs {
namespace {

void append_length_prefixed(std::string& out, std::string_view bytes) {
    const auto n = static_cast<std::uint32_t>(bytes.size());
    out += static_cast<char>((n >> 24) & 0xff);
    out += static_cast<char>((n >> 16) & 0xff);
    out += static_cast<char>((n >> 8) & 0xff);
    out += static_cast<char>(n & 0xff);
    out += bytes;
}

// Whether `hex` spells `digest`, in either case; compared in place, since this runs for
// every message received.
bool spells(std::string_view hex, const base::md5_digest& digest) {
    if (hex.size() != 2 * digest.size())
        return false;
    for (std::size_t i = 0; i < digest.size(); ++i) {
        const int hi = base::hex_digit_value(hex[2 * i]);
        const int lo = base::hex_digit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0 || hi * 16 + lo != digest[i])
            return false;
    }
    return true;
}

} // namespace

std::string md5_of_message_attributes(std::span<const message_attribute> attributes) {
    std::vector<const message_attribute*> sorted;
    sorted.reserve(attributes.size());
    std::size_t size = 0;
    for (const auto& a : attributes) {
        sorted.push_back(&a);
        size += 13 + a.name.size() + a.data_type.size() + a.value.size();
    }
    // std::string's ordering compares chars as unsigned: UTF-8 byte order, like Python's
    // sorted() over str (moto) and Java over the ASCII names SQS allows.
    std::ranges::sort(sorted, {}, &message_attribute::name);
    std::string buffer;
    buffer.reserve(size);
    for (const auto* a : sorted) {
        append_length_prefixed(buffer, a->name);
        append_length_prefixed(buffer, a->data_type);
        buffer += a->is_binary() ? '\x02' : '\x01';
        append_length_prefixed(buffer, a->value);
    }
    return base::md5_hex(buffer);
}

std::string_view integrity_problem(const message& m) {
    if (m.message_id.empty())
        return "missing MessageId";
    if (m.receipt_handle.empty())
        return "missing ReceiptHandle";
    // Without a Body the real one is unknown (processing "" would lose it); without a
    // digest nothing vouches for the body. SQS always sends both.
    if (!m.has_body)
        return "missing Body";
    if (!m.has_md5_of_body)
        return "missing MD5OfBody";
    if (!spells(m.md5_of_body, base::md5(m.body)))
        return "MD5OfBody mismatch";
    // SQS digests the attributes it returns; with none returned there is nothing to check.
    if (!m.md5_of_message_attributes.empty() && !m.message_attributes.empty() &&
        !base::iequals_ascii(m.md5_of_message_attributes,
                             md5_of_message_attributes(m.message_attributes)))
        return "MD5OfMessageAttributes mismatch";
    return {};
}

} // namespace sqs2pg::sqs
