// The fast paths of query-protocol answers: ReceiveMessage and the batch actions read in
// one pass over the text, straight into the messages or the lists, for the plain shape
// every SQS answer has. Like the JSON fast paths (json_receive.cpp, json_batch.cpp),
// anything else - an element the shape does not have or has once, an attribute (but on
// the document element), a comment, CDATA, a processing instruction or DOCTYPE, a
// namespace prefix, an entity other than the five XML ones and plain character
// references, a NUL byte, text in a container - makes them give up, and the general
// decoder (xml_codec.cpp, pugixml) decides instead. tests/unit/sqs/xml_fast_test.cpp
// checks both agree.
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/base/text.hpp>

#include "codec_detail.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace sqs2pg::sqs::detail {
namespace {

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// What may start a name here: an ASCII letter or '_' (XML also allows ':' and non-ASCII
// letters; the fast path leaves those to the general decoder).
bool is_name_start(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

// A cursor over the document. Every reading function returns false to give up; the
// position is then meaningless.
class reader {
public:
    explicit reader(std::string_view s) noexcept
        : s_(s) {}

    // The XML declaration, if any, and the whitespace around it. No byte-order mark,
    // processing instruction, comment or DOCTYPE (the general decoder's business).
    bool prolog() noexcept {
        if (s_.find('\0') != std::string_view::npos)
            return false;
        if (s_.substr(0, 5) == "<?xml" && s_.size() > 5 && is_space(s_[5])) {
            const auto end = s_.find("?>");
            if (end == std::string_view::npos)
                return false;
            i_ = end + 2;
        }
        skip_space();
        return true;
    }

    // Only whitespace is left.
    bool at_end() noexcept {
        skip_space();
        return i_ == s_.size();
    }

    // A start tag at the cursor (after whitespace): its name, whether it is empty
    // (`<a/>`). Attributes only where `attributes_ok` (the document element's xmlns).
    bool open(std::string_view& name, bool& empty, bool attributes_ok) noexcept {
        skip_space();
        if (i_ >= s_.size() || s_[i_] != '<' || i_ + 1 >= s_.size() || !is_name_start(s_[i_ + 1]))
            return false;
        ++i_;
        name = read_name();
        for (;;) {
            const bool spaced = i_ < s_.size() && is_space(s_[i_]);
            skip_space();
            if (i_ >= s_.size())
                return false;
            if (s_[i_] == '>') {
                ++i_;
                empty = false;
                return true;
            }
            if (s_[i_] == '/') {
                if (i_ + 1 >= s_.size() || s_[i_ + 1] != '>')
                    return false;
                i_ += 2;
                empty = true;
                return true;
            }
            if (!attributes_ok || !spaced || !skip_attribute())
                return false;
        }
    }

    // At the cursor (after whitespace): is the next thing the end tag of the current
    // element? (Reads nothing.)
    bool at_close() noexcept {
        skip_space();
        return s_.substr(i_, 2) == "</";
    }

    // The end tag `</name>` at the cursor (after whitespace).
    bool close(std::string_view name) noexcept {
        skip_space();
        if (s_.substr(i_, 2) != "</")
            return false;
        i_ += 2;
        if (read_name() != name)
            return false;
        skip_space();
        if (i_ >= s_.size() || s_[i_] != '>')
            return false;
        ++i_;
        return true;
    }

    // The text content of a leaf element that has been opened (not empty), appended to
    // `out` with references decoded, then its end tag. memchr finds the end of the text
    // and each '&' in it (find_first_of("<&") tested every byte against the set, which
    // cost more than pugixml's whole parse). The text is written through a pointer into
    // room made once: a reference is never shorter than what it stands for ("&lt;" is
    // 4 bytes for 1, "&#x10000;" 9 for 4), so the raw length bounds the decoded one.
    bool leaf_text(std::string_view name, std::string& out) {
        const char* base = s_.data();
        const auto* lt = static_cast<const char*>(std::memchr(base + i_, '<', s_.size() - i_));
        if (lt == nullptr)
            return false;
        const std::size_t end = static_cast<std::size_t>(lt - base);
        const std::size_t at = out.size();
        out.resize(at + (end - i_));
        char* const first = out.data();
        char* w = first + at;
        while (i_ < end) {
            const auto* amp = static_cast<const char*>(std::memchr(base + i_, '&', end - i_));
            const std::size_t stop = amp == nullptr ? end : static_cast<std::size_t>(amp - base);
            std::memcpy(w, base + i_, stop - i_);
            w += stop - i_;
            i_ = stop;
            if (i_ < end && (w = reference(w)) == nullptr) // a ';' past the '<': unknown
                return false;
        }
        out.resize(static_cast<std::size_t>(w - first));
        return close(name); // a child element or anything else: not a leaf
    }

private:
    void skip_space() noexcept {
        while (i_ < s_.size() && is_space(s_[i_]))
            ++i_;
    }

    // A name without a namespace prefix (a colon ends it, and the caller gives up).
    std::string_view read_name() noexcept {
        const std::size_t start = i_;
        while (i_ < s_.size() && is_name_char(s_[i_]))
            ++i_;
        return s_.substr(start, i_ - start);
    }

    // name="value" or name='value' (no '<' or '&' in the value: nothing to decode).
    bool skip_attribute() noexcept {
        if (i_ >= s_.size() || !is_name_start(s_[i_]))
            return false; // "..." or "1a" is no name (sqs_fuzz found the first)
        while (i_ < s_.size() && (is_name_char(s_[i_]) || s_[i_] == ':'))
            ++i_;
        skip_space();
        if (i_ >= s_.size() || s_[i_] != '=')
            return false;
        ++i_;
        skip_space();
        if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\''))
            return false;
        const char quote = s_[i_++];
        const std::size_t end = s_.find(quote, i_);
        if (end == std::string_view::npos)
            return false;
        const std::string_view value = s_.substr(i_, end - i_);
        if (value.find_first_of("<&") != std::string_view::npos)
            return false;
        i_ = end + 1;
        return true;
    }

    // A reference at the cursor ('&'): one of the five XML entities or &#N; / &#xH; of a
    // Unicode scalar value (not NUL, not a surrogate), written at `w`; the position after
    // it, or nullptr to give up.
    char* reference(char* w) noexcept {
        const std::size_t semi = s_.find(';', i_);
        if (semi == std::string_view::npos || semi - i_ > 10)
            return nullptr;
        const std::string_view ref = s_.substr(i_ + 1, semi - i_ - 1);
        i_ = semi + 1;
        if (ref == "quot")
            *w++ = '"';
        else if (ref == "lt")
            *w++ = '<';
        else if (ref == "gt")
            *w++ = '>';
        else if (ref == "amp")
            *w++ = '&';
        else if (ref == "apos")
            *w++ = '\'';
        else if (ref.size() >= 2 && ref[0] == '#') {
            const bool hex = ref[1] == 'x';
            const std::string_view digits = ref.substr(hex ? 2 : 1);
            if (digits.empty())
                return nullptr;
            std::uint32_t cp = 0;
            for (const char c : digits) {
                const int d = base::hex_digit_value(c);
                if (d < 0 || (!hex && d > 9))
                    return nullptr;
                cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(d);
                if (cp > 0x10FFFF)
                    return nullptr;
            }
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                return nullptr;
            w = base::encode_utf8(cp, w);
        } else {
            return nullptr;
        }
        return w;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

// One leaf into `out`, allowed once per parent (bit `bit` of `seen`).
bool take_leaf(reader& r, std::string_view name, bool empty, std::string& out, std::uint32_t& seen,
               std::uint32_t bit) {
    if ((seen & bit) != 0)
        return false;
    seen |= bit;
    return empty || r.leaf_text(name, out);
}

// The children of an element opened already (`parent`, `empty`): leaves only, each one
// of `names` at most once, read into the string of `targets` at the same index.
template <std::size_t N>
bool leaves(reader& r, std::string_view parent, bool empty,
            const std::array<std::string_view, N>& names,
            const std::array<std::string*, N>& targets) {
    if (empty)
        return true;
    std::uint32_t seen = 0;
    while (!r.at_close()) {
        std::string_view name;
        bool leaf_empty = false;
        if (!r.open(name, leaf_empty, false))
            return false;
        const std::size_t i = position_of(names, name);
        if (i == N || !take_leaf(r, name, leaf_empty, *targets[i], seen, 1u << i))
            return false;
    }
    return r.close(parent);
}

// <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata>, opened already.
bool response_metadata(reader& r, bool empty) {
    std::string ignored;
    return leaves<1>(r, "ResponseMetadata", empty, {"RequestId"}, {&ignored});
}

// <Attribute><Name>..</Name><Value>..</Value></Attribute>, opened already.
bool attribute(reader& r, bool empty, message& m) {
    auto& [name, value] = m.attributes.emplace_back();
    return leaves<2>(r, "Attribute", empty, {"Name", "Value"}, {&name, &value});
}

// <Message>...</Message>, opened already.
bool read_message(reader& r, bool empty, message& m) {
    if (empty)
        return true;
    std::uint32_t seen = 0; // the usual two attributes fit in the message: no reserve
    while (!r.at_close()) {
        std::string_view name;
        bool leaf_empty = false;
        if (!r.open(name, leaf_empty, false))
            return false;
        bool ok = false;
        if (name == "MessageId")
            ok = take_leaf(r, name, leaf_empty, m.message_id, seen, 1);
        else if (name == "ReceiptHandle")
            ok = take_leaf(r, name, leaf_empty, m.receipt_handle, seen, 2);
        else if (name == "Body")
            ok = m.has_body = take_leaf(r, name, leaf_empty, m.body, seen, 4);
        else if (name == "MD5OfBody")
            ok = m.has_md5_of_body = take_leaf(r, name, leaf_empty, m.md5_of_body, seen, 8);
        else if (name == "MD5OfMessageAttributes")
            ok = take_leaf(r, name, leaf_empty, m.md5_of_message_attributes, seen, 16);
        else if (name == "Attribute")
            ok = attribute(r, leaf_empty, m);
        if (!ok) // MessageAttribute (with its digest) and anything else: the general one
            return false;
    }
    return r.close("Message");
}

// The document element `<Action>Response` with at most one `<Action>Result` (read by
// `result`) and at most one ResponseMetadata, and nothing after it.
template <class ReadResult>
bool document(std::string_view body, std::string_view action, ReadResult&& read_result) {
    reader r(body);
    std::string_view name;
    bool empty = false;
    if (!r.prolog() || !r.open(name, empty, true) || empty || !name.starts_with(action) ||
        name.substr(action.size()) != "Response")
        return false;
    const std::string_view root = name;
    bool seen_result = false, seen_metadata = false;
    while (!r.at_close()) {
        bool child_empty = false;
        if (!r.open(name, child_empty, false))
            return false;
        if (name.starts_with(action) && name.substr(action.size()) == "Result" && !seen_result) {
            seen_result = true;
            if (!read_result(r, child_empty, name))
                return false;
        } else if (name == "ResponseMetadata" && !seen_metadata) {
            seen_metadata = true;
            if (!response_metadata(r, child_empty))
                return false;
        } else {
            return false;
        }
    }
    return r.close(root) && r.at_end();
}

} // namespace

std::optional<std::vector<message>> xml_receive_fast(std::string_view body) {
    std::vector<message> messages;
    const bool ok =
        document(body, "ReceiveMessage", [&](reader& r, bool empty, std::string_view result) {
            if (empty)
                return true;
            messages.reserve(max_receive_messages);
            while (!r.at_close()) {
                std::string_view name;
                bool message_empty = false;
                if (!r.open(name, message_empty, false) || name != "Message" ||
                    !read_message(r, message_empty, messages.emplace_back()))
                    return false;
            }
            return r.close(result);
        });
    if (!ok)
        return std::nullopt;
    return messages;
}

std::optional<raw_batch> xml_batch_fast(std::string_view action, std::string_view body) {
    raw_batch batch;
    std::string ok_name(action);
    ok_name += "ResultEntry";
    const bool ok = document(body, action, [&](reader& r, bool empty, std::string_view result) {
        if (empty)
            return true;
        batch.successful.reserve(max_batch_entries);
        while (!r.at_close()) {
            std::string_view name;
            bool entry_empty = false;
            if (!r.open(name, entry_empty, false))
                return false;
            if (name == ok_name) {
                sent_message& m = batch.successful.emplace_back();
                if (!leaves<5>(r, name, entry_empty,
                               {"Id", "MessageId", "MD5OfMessageBody", "MD5OfMessageAttributes",
                                "SequenceNumber"},
                               {&m.id, &m.message_id, &m.md5_of_message_body,
                                &m.md5_of_message_attributes, &m.sequence_number}))
                    return false;
            } else if (name == "BatchResultErrorEntry") {
                batch_failure& f = batch.failed.emplace_back();
                std::string fault; // absent: false, as the general decoder reads it
                if (!leaves<4>(r, name, entry_empty, {"Id", "Code", "SenderFault", "Message"},
                               {&f.id, &f.code, &fault, &f.message}))
                    return false;
                f.sender_fault = fault == "true" || fault == "True" || fault == "1";
            } else {
                return false;
            }
        }
        return r.close(result);
    });
    if (!ok)
        return std::nullopt;
    return batch;
}

} // namespace sqs2pg::sqs::detail
