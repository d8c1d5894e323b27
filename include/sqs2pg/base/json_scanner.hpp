// The scanner under the JSON fast paths (SQS answers: src/sqs/json_receive.cpp and
// json_batch.cpp; message bodies: src/record/login_fast.cpp): a cursor over JSON text that
// reads the few things a plain document is made of - structural characters, strings,
// literals, integers - and returns false wherever the text leaves what its caller
// follows, so that the caller gives up and its general path (a json::value) decides. It
// never decides that a document is malformed.
//
// Strings are where the time goes (a body is an escaped quote every few bytes): each
// string's next special byte is found 16 bytes at a time (SSE2), and escapes are undone
// into one scratch buffer, so each string is allocated once, at its size
// (docs/performance.md, the fourth round). Strings are checked as JSON wants them: no raw
// control characters, well-formed UTF-8 only, no lone surrogate.
#pragma once

#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/base/text.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sqs2pg::base {

// The length of the well-formed UTF-8 sequence at [p, end) that starts with a byte above
// 0x7f (Unicode's table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF),
// or 0 when it is not one.
inline std::size_t utf8_sequence(const unsigned char* p, const unsigned char* end) noexcept {
    const auto n = static_cast<std::size_t>(end - p);
    const auto cont = [](unsigned char c) { return (c & 0xc0) == 0x80; };
    const unsigned char c = p[0];
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && cont(p[1]) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || !cont(p[2]))
            return 0;
        const unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return p[1] >= lo && p[1] <= hi ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || !cont(p[2]) || !cont(p[3]))
            return 0;
        const unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return p[1] >= lo && p[1] <= hi ? 4 : 0;
    }
    return 0;
}

// A cursor over the answer. Every reader returns false where the plain shape ends (the
// caller gives up); none of them ever decides that the answer is malformed.
class scanner {
public:
    explicit scanner(std::string_view s)
        : p_(s.data())
        , end_(s.data() + s.size()) {}

    void skip_space() noexcept {
        while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
            ++p_;
    }

    // The next character after whitespace is `c` (and is consumed).
    bool take(char c) noexcept {
        skip_space();
        if (p_ == end_ || *p_ != c)
            return false;
        ++p_;
        return true;
    }

    // Whether the next character after whitespace is `c` (not consumed).
    bool next_is(char c) noexcept {
        skip_space();
        return p_ != end_ && *p_ == c;
    }

    bool at_end() noexcept {
        skip_space();
        return p_ == end_;
    }

    // The literal `word` (true, false) after whitespace, consumed. What follows it is the
    // caller's to check (a ',' or the end of the object).
    bool literal(std::string_view word) noexcept {
        skip_space();
        if (static_cast<std::size_t>(end_ - p_) < word.size() ||
            std::string_view(p_, word.size()) != word)
            return false;
        p_ += word.size();
        return true;
    }

    // An object (after whitespace): for each member, its key is undone into `key` and
    // `value(key)` reads the value; false as soon as either fails. `value` may use `key`
    // as a buffer of its own once it has read the name (the next member clears it).
    template <class Value>
    bool object(std::string& key, Value&& value) {
        if (!take('{'))
            return false;
        if (take('}'))
            return true;
        do {
            key.clear();
            if (!string(key) || !take(':') || !value(std::string_view(key)))
                return false;
        } while (take(','));
        return take('}');
    }

    // An array (after whitespace): `element()` reads each element; false as soon as one
    // fails.
    template <class Element>
    bool array(Element&& element) {
        if (!take('['))
            return false;
        if (take(']'))
            return true;
        do {
            if (!element())
                return false;
        } while (take(','));
        return take(']');
    }

    // A string (after whitespace) as a view: into the text when it has no escape and is
    // ASCII, else into `owned` (replaced), where string() has undone it.
    bool string_view(std::string_view& out, std::string& owned) {
        if (!take('"'))
            return false;
        const char* r = plain_run(p_);
        if (r != end_ && *r == '"') {
            out = std::string_view(p_, static_cast<std::size_t>(r - p_));
            p_ = r + 1;
            return true;
        }
        --p_; // back to the quote, for string()
        owned.clear();
        if (!string(owned))
            return false;
        out = owned;
        return true;
    }

    // An integer (after whitespace) that fits an int64 however it is written: "0" or an
    // optional '-' and 1 to 18 digits, the first not 0. Anything else - "-0", a leading
    // zero, a fraction, an exponent, more digits - is left to the caller's general path,
    // which knows how its JSON library reads those.
    bool integer(std::int64_t& out) noexcept {
        skip_space();
        const char* r = p_;
        const bool negative = r != end_ && *r == '-';
        if (negative)
            ++r;
        const char* const digits = r;
        while (r != end_ && *r >= '0' && *r <= '9')
            ++r;
        const auto n = static_cast<std::size_t>(r - digits);
        if (n == 0 || n > 18 || (digits[0] == '0' && (n > 1 || negative)))
            return false;
        if (r != end_ && (*r == '.' || *r == 'e' || *r == 'E'))
            return false;
        std::int64_t v = 0;
        for (const char* d = digits; d != r; ++d)
            v = v * 10 + (*d - '0');
        out = negative ? -v : v;
        p_ = r;
        return true;
    }

    // Any value (after whitespace), checked and passed over: strings (undone into
    // `scratch`), numbers without an exponent of at most 32 characters, the literals,
    // objects and arrays nested at most `depth` deep. Anything else is the caller's
    // general path's to judge.
    bool skip_value(std::string& scratch, int depth) {
        skip_space();
        if (p_ == end_)
            return false;
        switch (*p_) {
        case '"':
            scratch.clear();
            return string(scratch);
        case '{':
            return depth > 0 && object(scratch, [&](std::string_view) {
                       return skip_value(scratch, depth - 1);
                   });
        case '[':
            return depth > 0 && array([&] { return skip_value(scratch, depth - 1); });
        case 't':
            return literal("true");
        case 'f':
            return literal("false");
        case 'n':
            return literal("null");
        default:
            return number();
        }
    }

    // A string (after whitespace), its escapes undone, appended to `out`. A string with
    // no escape is appended straight from the answer; one with escapes is undone into a
    // scratch buffer first (the rest of the answer bounds its length), so `out` grows
    // once, to its size, whatever the number of escapes.
    bool string(std::string& out) {
        if (!take('"'))
            return false;
        const char* r = plain_run(p_);
        if (r != end_ && *r == '"') {
            out.append(p_, static_cast<std::size_t>(r - p_));
            p_ = r + 1;
            return true;
        }
        if (!scratch_) // as long as the rest of the answer, and 16 bytes for copy()
            scratch_ =
                std::make_unique_for_overwrite<char[]>(static_cast<std::size_t>(end_ - p_) + 16);
        char* const first = scratch_.get();
        char* w = copy(first, p_, static_cast<std::size_t>(r - p_));
        for (;;) {
            if (r == end_)
                return false;
            const auto c = static_cast<unsigned char>(*r);
            if (c == '"') {
                out.append(first, static_cast<std::size_t>(w - first));
                p_ = r + 1;
                return true;
            }
            if (c < 0x20)
                return false; // a raw control character: not JSON
            if (c > 0x7f) {
                const std::size_t n = utf8_sequence(reinterpret_cast<const unsigned char*>(r),
                                                    reinterpret_cast<const unsigned char*>(end_));
                if (n == 0)
                    return false;
                w = copy(w, r, n);
                r += n;
            } else if (!escape(r, w)) {
                return false;
            }
            const char* run = r;
            r = plain_run(r);
            w = copy(w, run, static_cast<std::size_t>(r - run));
        }
    }

private:
    // A JSON number without an exponent, at most 32 characters: -?(0|[1-9][0-9]*)(.[0-9]+)?
    bool number() noexcept {
        const char* r = p_;
        const auto digits = [&r, this] {
            const char* from = r;
            while (r != end_ && *r >= '0' && *r <= '9')
                ++r;
            return static_cast<std::size_t>(r - from);
        };
        if (r != end_ && *r == '-')
            ++r;
        const char* const first = r;
        const std::size_t whole = digits();
        if (whole == 0 || (*first == '0' && whole > 1))
            return false;
        if (r != end_ && *r == '.') {
            ++r;
            if (digits() == 0)
                return false;
        }
        if ((r != end_ && (*r == 'e' || *r == 'E')) || r - p_ > 32)
            return false;
        p_ = r;
        return true;
    }

    // Where the plain bytes from `r` end: at a quote, a backslash, a control character,
    // a byte above 0x7f, or the end of the answer. Sixteen bytes at a time where SSE2 is
    // there (every x86-64): one signed comparison with 0x20 finds both the control
    // characters and the bytes above 0x7f, and the first special byte's position comes
    // out of the mask. The byte loop finishes the last bytes (and is all there is
    // elsewhere, so the tests on x86-64 run every line of it).
    const char* plain_run(const char* r) const noexcept {
#if defined(__SSE2__)
        const __m128i quote = _mm_set1_epi8('"');
        const __m128i backslash = _mm_set1_epi8('\\');
        const __m128i space = _mm_set1_epi8(0x20);
        while (end_ - r >= 16) {
            const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r));
            const __m128i hit =
                _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                             _mm_cmplt_epi8(v, space));
            const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
            if (mask != 0)
                return r + __builtin_ctz(mask);
            r += 16;
        }
#endif
        while (r != end_ && !special[static_cast<unsigned char>(*r)])
            ++r;
        return r;
    }

    // Copies the `n` bytes at `from` (inside the answer) to `w` (inside the scratch
    // buffer, which has 16 bytes to spare): a short run in one 16-byte move when the
    // answer has 16 bytes from `from` to read.
    char* copy(char* w, const char* from, std::size_t n) const noexcept {
#if defined(__SSE2__)
        if (n <= 16 && end_ - from >= 16) {
            _mm_storeu_si128(reinterpret_cast<__m128i*>(w),
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(from)));
            return w + n;
        }
#endif
        std::memcpy(w, from, n);
        return w + n;
    }

    static constexpr std::array<bool, 256> special = [] {
        std::array<bool, 256> t{};
        for (std::size_t c = 0; c < 256; ++c)
            t[c] = c < 0x20 || c > 0x7f || c == '"' || c == '\\';
        return t;
    }();

    // The escape at `r` (a backslash), written at `w`; both move past it. An escape is
    // never shorter than what it stands for: \uXXXX (6 bytes) is at most 3 in UTF-8, a
    // pair of them (12) 4, so the scratch buffer, as long as the rest of the answer,
    // holds every string in it.
    bool escape(const char*& r, char*& w) noexcept {
        if (end_ - r < 2)
            return false;
        const char e = r[1];
        r += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            *w++ = e;
            return true;
        case 'b':
            *w++ = '\b';
            return true;
        case 'f':
            *w++ = '\f';
            return true;
        case 'n':
            *w++ = '\n';
            return true;
        case 'r':
            *w++ = '\r';
            return true;
        case 't':
            *w++ = '\t';
            return true;
        case 'u':
            break;
        default:
            return false;
        }
        std::uint32_t cp = 0;
        if (!hex4(r, cp))
            return false;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return false; // a low surrogate first
        if (cp >= 0xd800 && cp <= 0xdbff) {
            // Only a high surrogate followed by the escape of a low one is a code point.
            std::uint32_t low = 0;
            if (end_ - r < 2 || r[0] != '\\' || r[1] != 'u')
                return false;
            r += 2;
            if (!hex4(r, low) || low < 0xdc00 || low > 0xdfff)
                return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        w = base::encode_utf8(cp, w);
        return true;
    }

    bool hex4(const char*& r, std::uint32_t& cp) const noexcept {
        if (end_ - r < 4)
            return false;
        for (int i = 0; i < 4; ++i) {
            const int v = base::hex_digit_value(r[i]);
            if (v < 0)
                return false;
            cp = cp * 16 + static_cast<std::uint32_t>(v);
        }
        r += 4;
        return true;
    }

    const char* p_;
    const char* end_;
    std::unique_ptr<char[]> scratch_; // strings with escapes are undone here first
};

} // namespace sqs2pg::base
