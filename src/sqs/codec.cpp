// Protocol-neutral half of the codec: form encoding, dispatch to the wire format, and
// the checks every decoded result gets (MD5s, batch completeness). The limit checks of
// the requests are in validate.cpp.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/sqs/integrity.hpp>

#include "codec_detail.hpp"

#include <algorithm>
#include <array>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sqs2pg::sqs {
namespace {

// Bytes Python's quote_plus leaves alone (urlencode's default): A-Z a-z 0-9 _ . - ~
constexpr std::array<bool, 256> unreserved_table = [] {
    std::array<bool, 256> t{};
    for (int c = 'A'; c <= 'Z'; ++c)
        t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c)
        t[c] = true;
    for (int c = '0'; c <= '9'; ++c)
        t[c] = true;
    for (unsigned char c : std::string_view("_.-~"))
        t[c] = true;
    return t;
}();

// The first byte at or after `i` that is not unreserved (or s.size()). Sixteen bytes at
// a time where SSE2 is there (receipt handles run for dozens of bytes between escapes):
// a byte is unreserved when it falls in one of three ranges or is one of four others.
std::size_t plain_run(std::string_view s, std::size_t i) noexcept {
#if defined(__SSE2__)
    const auto in_range = [](__m128i v, char lo, char hi) {
        const __m128i t = _mm_sub_epi8(v, _mm_set1_epi8(lo));
        return _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(static_cast<char>(hi - lo))), t);
    };
    while (s.size() - i >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
        const __m128i ranges = _mm_or_si128(
            _mm_or_si128(in_range(v, 'A', 'Z'), in_range(v, 'a', 'z')), in_range(v, '0', '9'));
        const __m128i others = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('_')),
                                                         _mm_cmpeq_epi8(v, _mm_set1_epi8('.'))),
                                            _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')),
                                                         _mm_cmpeq_epi8(v, _mm_set1_epi8('~'))));
        const auto plain = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(ranges, others)));
        if (plain != 0xffffu)
            return i + static_cast<std::size_t>(__builtin_ctz(~plain));
        i += 16;
    }
#endif
    while (i < s.size() && unreserved_table[static_cast<unsigned char>(s[i])])
        ++i;
    return i;
}

void append_encoded(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    // Runs of unreserved bytes (most of a receipt handle or a body) are copied at once.
    std::size_t plain = 0;
    for (std::size_t i = plain_run(s, 0); i < s.size(); i = plain_run(s, plain)) {
        const auto c = static_cast<unsigned char>(s[i]);
        out.append(s.data() + plain, i - plain);
        plain = i + 1;
        if (c == ' ') {
            out += '+';
        } else {
            const char escaped[3] = {'%', hex[c >> 4], hex[c & 15]};
            out.append(escaped, 3);
        }
    }
    out.append(s.data() + plain, s.size() - plain);
}

detail::output_shape shape_of(const get_queue_url_request&) {
    return detail::output_shape::queue_url;
}
detail::output_shape shape_of(const create_queue_request&) {
    return detail::output_shape::queue_url;
}
detail::output_shape shape_of(const delete_queue_request&) {
    return detail::output_shape::none;
}
detail::output_shape shape_of(const purge_queue_request&) {
    return detail::output_shape::none;
}
detail::output_shape shape_of(const get_queue_attributes_request&) {
    return detail::output_shape::attributes;
}
detail::output_shape shape_of(const send_message_request&) {
    return detail::output_shape::sent;
}
detail::output_shape shape_of(const delete_message_request&) {
    return detail::output_shape::none;
}
detail::output_shape shape_of(const change_message_visibility_request&) {
    return detail::output_shape::none;
}
detail::output_shape shape_of(const set_queue_attributes_request&) {
    return detail::output_shape::none;
}
detail::output_shape shape_of(const receive_message_request&) {
    return detail::output_shape::messages;
}
template <class R>
requires requires(R r) {
    r.entries;
}
detail::output_shape shape_of(const R&) {
    return detail::output_shape::batch;
}

template <class Request>
wire_request dispatch_encode(protocol p, const Request& r) {
    return p == protocol::json ? detail::json_encode(r) : detail::query_encode(r);
}

char leading_char(std::string_view body) noexcept {
    const auto first = body.find_first_not_of(" \t\r\n");
    return first == std::string_view::npos ? '\0' : body[first];
}

// A failure status goes to decode_error; a 2xx body is read in the format it is in (one
// parse, which also catches an error document sent with 200), whatever protocol `p` was
// asked for: some front ends answer JSON requests with XML errors.
template <class Request>
result<detail::raw_output> dispatch_decode(protocol p, const Request& r, const wire_response& w) {
    if (w.status < 200 || w.status >= 300)
        return *decode_error(Request::action, w);
    const auto shape = shape_of(r);
    switch (leading_char(w.body)) {
    case '<':
        return detail::xml_decode(Request::action, shape, w);
    case '{':
        return detail::json_decode(Request::action, shape, w);
    default:
        return p == protocol::json ? detail::json_decode(Request::action, shape, w)
                                   : detail::xml_decode(Request::action, shape, w);
    }
}

const std::string_view missing_entry_code = "sqs2pg.MissingBatchResultEntry";

// Every request entry ends in exactly one list; entries the response left out are
// failures (nothing proves they were done), ids the request did not have are dropped.
template <class Entries>
void complete_batch(const Entries& entries, detail::raw_batch& raw,
                    std::vector<batch_failure>& failed, auto&& on_success) {
    // Marks by request position (a request has at most 10 entries): a set of ids
    // allocated a node per entry, one allocation per message deleted.
    std::vector<char> seen(entries.size(), 0);
    const auto first_time = [&](auto it) {
        char& mark = seen[static_cast<std::size_t>(it - entries.begin())];
        return std::exchange(mark, 1) == 0;
    };
    for (auto& f : raw.failed) {
        const auto it = std::ranges::find(entries, f.id,
                                          [](const auto& e) -> const std::string& { return e.id; });
        if (it == entries.end() || !first_time(it))
            continue;
        failed.push_back(std::move(f));
    }
    for (auto& s : raw.successful) {
        const auto it = std::ranges::find(entries, s.id,
                                          [](const auto& e) -> const std::string& { return e.id; });
        if (it == entries.end() || !first_time(it))
            continue;
        on_success(*it, s);
    }
    for (const auto& e : entries)
        if (!seen[static_cast<std::size_t>(
                std::ranges::find(entries, e.id,
                                  [](const auto& x) -> const std::string& { return x.id; }) -
                entries.begin())])
            failed.push_back({e.id, std::string(missing_entry_code), false,
                              "the response did not report this entry"});
}

result<batch_result> finish_batch(const auto& request, result<detail::raw_output> raw) {
    if (!raw)
        return raw.error();
    batch_result out;
    out.successful.reserve(request.entries.size());
    complete_batch(request.entries, raw->batch, out.failed,
                   [&](const auto& entry, sent_message&) { out.successful.push_back(entry.id); });
    return out;
}

} // namespace

std::string_view protocol_name(protocol p) noexcept {
    return p == protocol::json ? "json" : "query";
}

std::optional<protocol> parse_protocol(std::string_view text) noexcept {
    if (text == "query")
        return protocol::query;
    if (text == "json")
        return protocol::json;
    return std::nullopt;
}

void append_form_field(std::string& out, std::string_view name, std::string_view value) {
    if (!out.empty())
        out += '&';
    append_encoded(out, name);
    out += '=';
    append_encoded(out, value);
}

std::string_view queue_url_path(std::string_view queue_url) noexcept {
    std::string_view rest = queue_url;
    if (const auto scheme = rest.find("://"); scheme != std::string_view::npos) {
        rest.remove_prefix(scheme + 3);
        const auto slash = rest.find('/');
        if (slash == std::string_view::npos)
            return "/";
        rest.remove_prefix(slash);
    }
    rest = rest.substr(0, rest.find_first_of("?#"));
    if (rest.empty() || rest.front() != '/')
        return "/";
    return rest;
}

// ---- encoding ------------------------------------------------------------------------

wire_request encode(protocol p, const get_queue_url_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const create_queue_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const delete_queue_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const purge_queue_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const get_queue_attributes_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const receive_message_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const send_message_batch_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const delete_message_batch_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const change_message_visibility_batch_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const send_message_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const delete_message_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const change_message_visibility_request& r) {
    return dispatch_encode(p, r);
}
wire_request encode(protocol p, const set_queue_attributes_request& r) {
    return dispatch_encode(p, r);
}

// ---- decoding ------------------------------------------------------------------------

std::optional<error> decode_error(std::string_view action, const wire_response& w) {
    const char lead = leading_char(w.body);
    // Sniff the body instead of trusting Content-Type: moto's auth errors are XML labelled
    // text/html, and a JSON request may be answered by an XML-only front end.
    if (lead == '<') {
        if (auto e = detail::xml_error(action, w))
            return e;
    } else if (lead == '{' || !w.query_error.empty() || !w.error_type.empty()) {
        if (auto e = detail::json_error(action, w))
            return e;
    }
    if (w.status >= 200 && w.status < 300)
        return std::nullopt;
    // A failure status without a readable error (a proxy's HTML page, an empty body).
    return detail::make_error(action, classify({}, w.status), w);
}

result<std::string> decode_response(protocol p, const get_queue_url_request& r,
                                    const wire_response& w) {
    auto raw = dispatch_decode(p, r, w);
    if (!raw)
        return raw.error();
    return std::move(raw->queue_url);
}

result<std::string> decode_response(protocol p, const create_queue_request& r,
                                    const wire_response& w) {
    auto raw = dispatch_decode(p, r, w);
    if (!raw)
        return raw.error();
    return std::move(raw->queue_url);
}

result<empty_result> decode_response(protocol p, const delete_queue_request& r,
                                     const wire_response& w) {
    auto raw = dispatch_decode(p, r, w);
    if (!raw)
        return raw.error();
    return empty_result{};
}

result<empty_result> decode_response(protocol p, const purge_queue_request& r,
                                     const wire_response& w) {
    auto raw = dispatch_decode(p, r, w);
    if (!raw)
        return raw.error();
    return empty_result{};
}

result<queue_attributes> decode_response(protocol p, const get_queue_attributes_request& r,
                                         const wire_response& w) {
    auto raw = dispatch_decode(p, r, w);
    if (!raw)
        return raw.error();
    return std::move(raw->attributes);
}

result<receive_result> decode_response(protocol p, const receive_message_request& r,
                                       const wire_response& w) {
    auto raw = dispatch_decode(p, r, w);
    if (!raw)
        return raw.error();
    // A receive count the request did not ask for is not trusted: SQS would not send it.
    const auto& names = r.options.attribute_names;
    const bool asked_count = std::ranges::find(names, "All") != names.end() ||
                             std::ranges::find(names, "ApproximateReceiveCount") != names.end();
    // The messages that pass stay in the decoder's vector, in order (no second vector).
    receive_result out;
    auto& messages = raw->messages;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        message& m = messages[i];
        if (const auto problem = integrity_problem(m); !problem.empty()) {
            const auto count = asked_count ? m.approximate_receive_count() : std::nullopt;
            out.rejected.emplace_back(std::move(m.message_id), std::move(m.receipt_handle), problem,
                                      count);
        } else {
            if (kept != i)
                messages[kept] = std::move(m);
            ++kept;
        }
    }
    messages.erase(messages.begin() + static_cast<std::ptrdiff_t>(kept), messages.end());
    out.messages = std::move(messages);
    return out;
}

result<send_batch_result> decode_response(protocol p, const send_message_batch_request& r,
                                          const wire_response& w) {
    auto raw = dispatch_decode(p, r, w);
    if (!raw)
        return raw.error();
    send_batch_result out;
    out.successful.reserve(r.entries.size());
    complete_batch(r.entries, raw->batch, out.failed, [&](const send_entry& e, sent_message& s) {
        // What SQS stored is not what we sent: report it rather than claim success.
        if (!s.md5_of_message_body.empty() &&
            !base::iequals_ascii(s.md5_of_message_body, base::md5_hex(e.body))) {
            out.failed.push_back({e.id, "sqs2pg.MD5OfMessageBodyMismatch", false,
                                  "MD5OfMessageBody differs from the body sent"});
            return;
        }
        if (!s.md5_of_message_attributes.empty() && !e.message_attributes.empty() &&
            !base::iequals_ascii(s.md5_of_message_attributes,
                                 md5_of_message_attributes(e.message_attributes))) {
            out.failed.push_back({e.id, "sqs2pg.MD5OfMessageAttributesMismatch", false,
                                  "MD5OfMessageAttributes differs from the attributes sent"});
            return;
        }
        out.successful.push_back(std::move(s));
    });
    return out;
}

result<batch_result> decode_response(protocol p, const delete_message_batch_request& r,
                                     const wire_response& w) {
    return finish_batch(r, dispatch_decode(p, r, w));
}

result<batch_result> decode_response(protocol p, const change_message_visibility_batch_request& r,
                                     const wire_response& w) {
    return finish_batch(r, dispatch_decode(p, r, w));
}

result<sent_message> decode_response(protocol p, const send_message_request& r,
                                     const wire_response& w) {
    auto raw = dispatch_decode(p, r, w);
    if (!raw)
        return raw.error();
    const auto& s = raw->sent;
    std::string_view mismatch;
    if (!s.md5_of_message_body.empty() &&
        !base::iequals_ascii(s.md5_of_message_body, base::md5_hex(r.message.body)))
        mismatch = "sqs2pg.MD5OfMessageBodyMismatch";
    else if (!s.md5_of_message_attributes.empty() && !r.message.message_attributes.empty() &&
             !base::iequals_ascii(s.md5_of_message_attributes,
                                  md5_of_message_attributes(r.message.message_attributes)))
        mismatch = "sqs2pg.MD5OfMessageAttributesMismatch";
    if (!mismatch.empty())
        return detail::make_error(send_message_request::action, errc::bad_response, w,
                                  std::string(mismatch));
    return std::move(raw->sent);
}

result<empty_result> decode_response(protocol p, const delete_message_request& r,
                                     const wire_response& w) {
    auto raw = dispatch_decode(p, r, w);
    if (!raw)
        return raw.error();
    return empty_result{};
}

result<empty_result> decode_response(protocol p, const change_message_visibility_request& r,
                                     const wire_response& w) {
    auto raw = dispatch_decode(p, r, w);
    if (!raw)
        return raw.error();
    return empty_result{};
}

result<empty_result> decode_response(protocol p, const set_queue_attributes_request& r,
                                     const wire_response& w) {
    auto raw = dispatch_decode(p, r, w);
    if (!raw)
        return raw.error();
    return empty_result{};
}

namespace detail {

error make_error(std::string_view action, errc kind, const wire_response& w, std::string code) {
    error e;
    e.kind = kind;
    e.code = std::move(code);
    e.http_status = w.status;
    e.request_id = std::string(w.request_id);
    e.sender_fault = w.status < 500;
    e.action = action;
    return e;
}

error too_deep_error(std::string_view action, const wire_response& w) {
    return make_error(action, errc::bad_response, w, "sqs2pg.ResponseTooDeep");
}

} // namespace detail
} // namespace sqs2pg::sqs
