// libFuzzer target: arbitrary bytes as the 200 answer of ReceiveMessage and
// DeleteMessageBatch, in both protocols. Each fast path that reads the answer must read it
// as the general decoder does; neither may crash on anything.
#include "codec_detail.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace sqs2pg::sqs;
using namespace sqs2pg::sqs::detail;

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

wire_response ok(std::string_view body, std::string_view content_type) {
    wire_response w;
    w.status = 200;
    w.body = body;
    w.content_type = content_type;
    return w;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto json = ok(body, "application/x-amz-json-1.0");
    const auto xml = ok(body, "text/xml");

    const auto jr = json_receive_fast(body);
    const auto jrg = json_decode_general("ReceiveMessage", output_shape::messages, json);
    if (jr) {
        check(jrg.has_value(), "json receive: the general decoder reads what the fast path read");
        check(*jr == jrg->messages, "json receive: the same messages");
    }
    const auto jb = json_batch_fast(body);
    const auto jbg = json_decode_general("DeleteMessageBatch", output_shape::batch, json);
    if (jb) {
        check(jbg.has_value(), "json batch: the general decoder reads what the fast path read");
        check(*jb == jbg->batch, "json batch: the same lists");
    }
    const auto xr = xml_receive_fast(body);
    const auto xrg = xml_decode_general("ReceiveMessage", output_shape::messages, xml);
    if (xr) {
        check(xrg.has_value(), "xml receive: the general decoder reads what the fast path read");
        check(*xr == xrg->messages, "xml receive: the same messages");
    }
    const auto xb = xml_batch_fast("DeleteMessageBatch", body);
    const auto xbg = xml_decode_general("DeleteMessageBatch", output_shape::batch, xml);
    if (xb) {
        check(xbg.has_value(), "xml batch: the general decoder reads what the fast path read");
        check(*xb == xbg->batch, "xml batch: the same lists");
    }
    return 0;
}
