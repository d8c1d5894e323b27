// One JSON ReceiveMessage answer of ten messages, written as SQS and fauxqs write it (the
// bodies of tests/data/sample_data.json, each an escaped JSON string, with MessageId,
// ReceiptHandle, MD5OfBody and two attributes), decoded again and again through the fast
// path (src/sqs/json_receive.cpp) and through the general decoder (a json::value): CPU
// microseconds per answer for each, then one line of JSON. Instructions come from
// running it under valgrind --tool=callgrind (docs/performance.md, the fourth round).
//
//   build-release/bench/json_receive_bench [ITERATIONS]   # default 20,000
#include <sqs2pg/base/crypto.hpp>

#include "codec_detail.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace {

namespace json = boost::json;
using namespace sqs2pg;

double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// The answer: bodies serialized with ", " and ": " between members, as the sample script
// and the benchmark loader send them.
std::string make_answer() {
    std::ifstream in(SQS2PG_SAMPLE_DATA);
    std::stringstream text;
    text << in.rdbuf();
    const json::array records = json::parse(text.str()).as_array();
    json::array messages;
    for (std::size_t i = 0; i < 10; ++i) {
        std::string body = "{";
        for (const auto& [key, value] : records.at(i).as_object())
            body += fmt::format("{}\"{}\": {}", body.size() > 1 ? ", " : "", std::string_view(key),
                                json::serialize(value));
        body += "}";
        json::object m;
        m["MessageId"] = fmt::format("d569e65d-e0b4-41e4-8df4-c5b3fe3d98{:02}", i);
        m["ReceiptHandle"] = fmt::format("ae6a1de3-dc24-4b7d-980a-573d5a811f{:02}", i);
        m["MD5OfBody"] = base::md5_hex(body);
        m["Body"] = body;
        m["Attributes"] = {{"SentTimestamp", "1796462537228"}, {"ApproximateReceiveCount", "1"}};
        messages.push_back(std::move(m));
    }
    return json::serialize(json::object{{"Messages", std::move(messages)}});
}

template <class Decode>
double per_answer_us(int iterations, Decode&& decode) {
    const double t0 = cpu_seconds();
    for (int i = 0; i < iterations; ++i)
        if (decode() != 10)
            throw std::runtime_error("the answer did not decode to ten messages");
    return (cpu_seconds() - t0) * 1e6 / iterations;
}

} // namespace

int main(int argc, char** argv) {
    const int iterations = argc > 1 ? std::atoi(argv[1]) : 20000;
    const std::string answer = make_answer();
    sqs::wire_response w;
    w.status = 200;
    w.body = answer;
    const double fast = per_answer_us(iterations, [&] {
        const auto r = sqs::detail::json_receive_fast(answer);
        return r ? r->size() : 0;
    });
    const double general = per_answer_us(iterations, [&] {
        const auto r = sqs::detail::json_decode_general("ReceiveMessage",
                                                        sqs::detail::output_shape::messages, w);
        return r ? r->messages.size() : 0;
    });
    std::printf("answer of 10 messages, %zu bytes, %d iterations\n", answer.size(), iterations);
    std::printf("fast path        %8.2f us per answer\n", fast);
    std::printf("general decoder  %8.2f us per answer\n", general);
    std::printf("{\"answer_bytes\":%zu,\"iterations\":%d,\"fast_us\":%.3f,\"general_us\":%.3f}\n",
                answer.size(), iterations, fast, general);
}
