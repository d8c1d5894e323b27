// What the fast-path tests share (json_receive_test.cpp, json_batch_test.cpp,
// xml_fast_test.cpp): a 2xx answer, the comparisons of a fast path's output with the
// general decoder's, random strings over every byte class, and the same JSON document as
// a pretty printer writes it.
#pragma once

#include "codec_detail.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sqs2pg::sqs::detail {

/// A 200 answer with `body`.
inline wire_response ok(std::string_view body) {
    wire_response w;
    w.status = 200;
    w.body = body;
    return w;
}

/// The same messages, field by field (`body` names the answer in a failure).
inline void expect_same_messages(const std::vector<message>& fast,
                                 const std::vector<message>& general, const std::string& body) {
    ASSERT_EQ(fast.size(), general.size()) << body;
    for (std::size_t i = 0; i < fast.size(); ++i) {
        const auto& a = fast[i];
        const auto& b = general[i];
        EXPECT_EQ(a.message_id, b.message_id) << body;
        EXPECT_EQ(a.receipt_handle, b.receipt_handle) << body;
        EXPECT_EQ(a.body, b.body) << body;
        EXPECT_EQ(a.has_body, b.has_body) << body;
        EXPECT_EQ(a.md5_of_body, b.md5_of_body) << body;
        EXPECT_EQ(a.has_md5_of_body, b.has_md5_of_body) << body;
        EXPECT_EQ(a.md5_of_message_attributes, b.md5_of_message_attributes) << body;
        EXPECT_EQ(a.attributes, b.attributes) << body;
        EXPECT_TRUE(a.message_attributes.empty());
        EXPECT_EQ(b.message_attributes.size(), 0u) << body;
    }
}

/// The same lists, entry by entry.
inline void expect_same_batch(const raw_batch& fast, const raw_batch& general,
                              const std::string& body) {
    ASSERT_EQ(fast.successful.size(), general.successful.size()) << body;
    for (std::size_t i = 0; i < fast.successful.size(); ++i) {
        const auto& a = fast.successful[i];
        const auto& b = general.successful[i];
        EXPECT_EQ(a.id, b.id) << body;
        EXPECT_EQ(a.message_id, b.message_id) << body;
        EXPECT_EQ(a.md5_of_message_body, b.md5_of_message_body) << body;
        EXPECT_EQ(a.md5_of_message_attributes, b.md5_of_message_attributes) << body;
        EXPECT_EQ(a.sequence_number, b.sequence_number) << body;
    }
    ASSERT_EQ(fast.failed.size(), general.failed.size()) << body;
    for (std::size_t i = 0; i < fast.failed.size(); ++i) {
        const auto& a = fast.failed[i];
        const auto& b = general.failed[i];
        EXPECT_EQ(a.id, b.id) << body;
        EXPECT_EQ(a.code, b.code) << body;
        EXPECT_EQ(a.sender_fault, b.sender_fault) << body;
        EXPECT_EQ(a.message, b.message) << body;
    }
}

/// Whether a fast path read `body` (`fast`; false: it gave up). When it did, the general
/// decoder (`general`) must have read it too, to the same messages or lists.
template <class Fast>
bool fast_agrees(const std::optional<Fast>& fast, const result<raw_output>& general,
                 const std::string& body) {
    if (!fast)
        return false;
    EXPECT_TRUE(general) << body;
    if (!general)
        return true;
    if constexpr (std::is_same_v<Fast, raw_batch>)
        expect_same_batch(*fast, general->batch, body);
    else
        expect_same_messages(*fast, general->messages, body);
    return true;
}

/// Up to `max_len` bytes of quote, backslash, control characters, DEL, JSON punctuation
/// and multi-byte UTF-8, in random order.
inline std::string random_text(std::mt19937& rng, std::size_t max_len) {
    // Every ASCII byte (controls, quote, backslash, slash), and multi-byte UTF-8.
    static const std::vector<std::string> pieces = {"\"",
                                                    "\\",
                                                    "/",
                                                    "\n",
                                                    "\r",
                                                    "\t",
                                                    "\b",
                                                    "\f",
                                                    std::string(1, '\0'),
                                                    "\x01",
                                                    "\x1f",
                                                    "\x7f",
                                                    "a",
                                                    "Z",
                                                    "0",
                                                    " ",
                                                    "{",
                                                    "}",
                                                    "[",
                                                    "]",
                                                    ":",
                                                    ",",
                                                    "\u00e9",
                                                    "\u65e5",
                                                    "\U0001F680",
                                                    "\\u0041",
                                                    "user_id",
                                                    "\"ip\": \"10.0.0.1\""};
    std::uniform_int_distribution<std::size_t> len(0, max_len), pick(0, pieces.size() - 1);
    std::string s;
    for (std::size_t n = len(rng); s.size() < n;)
        s += pieces[pick(rng)];
    return s;
}

// The same document with whitespace after every ',', '{', '[' and ':' outside strings,
// as a pretty printer writes it.
inline std::string spaced_out(std::string_view body) {
    std::string out;
    bool in_string = false, escaped = false;
    for (char c : body) {
        out += c;
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"')
            in_string = true;
        else if (c == ',' || c == '{' || c == '[' || c == ':')
            out += "\n\t ";
    }
    return out;
}

} // namespace sqs2pg::sqs::detail
