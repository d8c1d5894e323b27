// Text generators shared by the JSON fast-path tests (json_receive_test.cpp,
// json_batch_test.cpp): random strings over every byte class, and the same document as a
// pretty printer writes it.
#pragma once

#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::sqs::detail {

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
