// libFuzzer target: arbitrary bytes as a whole HTTP answer (status line, header fields,
// body) to every SQS action sqs2pg sends, decoded in both protocols as the client does
// (decode_response). sqs_fuzz compares the fast paths with the general decoders on 200
// answers; this one covers what answers in general may do to the decoding, the header
// fields picked by the client's own wire_of:
// - nothing crashes, whatever the status, the header fields or the body (the error
//   decoders read the body of any failure, and of a 2xx that holds an error document);
// - an answer whose status is not 2xx never decodes as a success;
// - an error names the action it answers;
// - a batch that decodes accounts for every entry sent exactly once, as succeeded or as
//   failed: an entry the answer does not report is a failure, never dropped (a message
//   whose delete is lost would be deleted by no one);
// - a receive that decodes gives only messages that pass the integrity checks (id,
//   receipt handle, body and its MD5), the others as rejected.
#include <sqs2pg/http/message.hpp>
#include <sqs2pg/sqs/integrity.hpp>

#include "codec_detail.hpp"
#include "http_exchange.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using namespace sqs2pg::sqs;

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// The input as the HTTP client would hand it over: "HTTP/1.1 NNN ..." and header lines up
// to an empty line, then the body. Input that does not start with a status line is a
// 200 answer's body. False for what the client's parser would not hand over at all (a
// header field Beast refuses).
bool parse(std::string_view in, sqs2pg::http::response& res) {
    res.result(200);
    if (in.substr(0, 5) != "HTTP/") {
        res.body().assign(in);
        return true;
    }
    std::size_t at = in.find('\n');
    const std::string_view status_line = in.substr(0, at);
    if (const auto sp = status_line.find(' '); sp != std::string_view::npos) {
        unsigned code = 0;
        std::size_t i = sp + 1;
        for (;
             i < status_line.size() && i < sp + 4 && status_line[i] >= '0' && status_line[i] <= '9';
             ++i)
            code = code * 10 + static_cast<unsigned>(status_line[i] - '0');
        res.result(code);
    }
    while (at != std::string_view::npos) {
        const std::size_t start = at + 1;
        at = in.find('\n', start);
        const std::string_view line = trim(in.substr(start, at - start));
        if (line.empty()) { // the end of the header: the body follows
            if (at != std::string_view::npos)
                res.body().assign(in.substr(at + 1));
            break;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            continue;
        try {
            res.insert(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
        } catch (const std::exception&) {
            return false;
        }
    }
    return true;
}

template <class Request, class Result>
void common(const Request&, const wire_response& w, const result<Result>& r) {
    if (w.status < 200 || w.status >= 300)
        check(!r.has_value(), "an answer with a failure status is an error");
    if (!r)
        check(r.error().action == Request::action, "an error names its action");
}

template <class Entries, class Successful>
void every_entry_once(const Entries& entries, const Successful& successful,
                      const std::vector<batch_failure>& failed) {
    check(successful.size() + failed.size() == entries.size(),
          "a batch reports as many outcomes as entries sent");
    for (const auto& e : entries) {
        const auto ok = std::count_if(successful.begin(), successful.end(), [&](const auto& s) {
            if constexpr (std::is_same_v<std::decay_t<decltype(s)>, std::string>)
                return s == e.id;
            else
                return s.id == e.id;
        });
        const auto bad = std::count_if(failed.begin(), failed.end(),
                                       [&](const batch_failure& f) { return f.id == e.id; });
        check(ok + bad == 1, "every entry of a batch is reported once");
    }
}

struct requests {
    get_queue_url_request get_url{"q", {}};
    get_queue_attributes_request attributes{"http://h/1/q", {"All"}};
    receive_message_request receive;
    delete_message_batch_request deletes;
    change_message_visibility_batch_request visibility;
    send_message_batch_request send;
    delete_message_request delete_one{"http://h/1/q", "AQEB0/handle=="};
    change_message_visibility_request visibility_one{"http://h/1/q", "AQEB0/handle==", 30};
    send_message_request send_one;

    requests() {
        receive.queue_url = "http://h/1/q";
        receive.options.attribute_names = {"SentTimestamp", "ApproximateReceiveCount"};
        deletes.queue_url = visibility.queue_url = send.queue_url = "http://h/1/q";
        for (int i = 0; i < 10; ++i) {
            const std::string id = std::to_string(i);
            deletes.entries.emplace_back(id, "AQEB" + id + "/handle==");
            visibility.entries.emplace_back(id, "AQEB" + id + "/handle==", 60);
            send.entries.emplace_back(id, "{\"user_id\":\"" + id + "\"}");
        }
        send_one.queue_url = "http://h/1/q";
        send_one.message.body = "{\"user_id\":\"0\"}";
    }
};

const requests& all() {
    static const requests r;
    return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sqs2pg::http::response res;
    if (!parse(std::string_view(reinterpret_cast<const char*>(data), size), res))
        return 0;
    // The header fields the codec reads, taken as the client takes them.
    const wire_response w = sqs2pg::sqs::detail::wire_of(res);
    const requests& q = all();
    for (const protocol p : {protocol::json, protocol::query}) {
        common(q.get_url, w, decode_response(p, q.get_url, w));
        common(q.attributes, w, decode_response(p, q.attributes, w));
        common(q.delete_one, w, decode_response(p, q.delete_one, w));
        common(q.visibility_one, w, decode_response(p, q.visibility_one, w));
        common(q.send_one, w, decode_response(p, q.send_one, w));

        const auto received = decode_response(p, q.receive, w);
        common(q.receive, w, received);
        if (received)
            for (const message& m : received->messages)
                check(integrity_problem(m).empty(), "a received message passes the checks");

        const auto deleted = decode_response(p, q.deletes, w);
        common(q.deletes, w, deleted);
        if (deleted)
            every_entry_once(q.deletes.entries, deleted->successful, deleted->failed);
        const auto extended = decode_response(p, q.visibility, w);
        common(q.visibility, w, extended);
        if (extended)
            every_entry_once(q.visibility.entries, extended->successful, extended->failed);
        const auto sent = decode_response(p, q.send, w);
        common(q.send, w, sent);
        if (sent)
            every_entry_once(q.send.entries, sent->successful, sent->failed);
    }
    return 0;
}
