// An SQS answer in HTTP terms (http_exchange.hpp): the header fields the codec reads.
// A file of its own, without the signer, so the answer fuzzer decodes what wire_of gives.
#include "http_exchange.hpp"

#include <array>

namespace sqs2pg::sqs::detail {
namespace {

namespace hdr {
constexpr std::string_view content_type = "Content-Type";
constexpr std::string_view request_id = "x-amzn-RequestId";
constexpr std::string_view request_id_alt = "x-amz-request-id";
constexpr std::string_view query_error = "x-amzn-query-error";
constexpr std::string_view error_type = "X-Amzn-ErrorType";
} // namespace hdr
constexpr std::array<std::string_view, 5> read_headers{
    hdr::content_type, hdr::request_id, hdr::request_id_alt, hdr::query_error, hdr::error_type};

std::string_view header(const http::response& res, std::string_view name) {
    const auto it = res.find(name);
    return it == res.end() ? std::string_view() : std::string_view(it->value());
}

} // namespace

http::client_options transport_options(http::client_options o) {
    o.kept_headers.assign(read_headers.begin(), read_headers.end());
    return o;
}

wire_response wire_of(const http::response& res) {
    wire_response wr;
    wr.status = res.result_int();
    wr.body = res.body();
    wr.content_type = header(res, hdr::content_type);
    wr.request_id = header(res, hdr::request_id);
    if (wr.request_id.empty())
        wr.request_id = header(res, hdr::request_id_alt);
    wr.query_error = header(res, hdr::query_error);
    wr.error_type = header(res, hdr::error_type);
    return wr;
}

} // namespace sqs2pg::sqs::detail
