// An SQS call in HTTP terms (http_exchange.hpp).
#include "http_exchange.hpp"

#include <array>
#include <span>

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

http::raw_request signed_request(aws::signer& signer, std::string_view host, const wire_request& w,
                                 const aws::credentials& creds,
                                 std::chrono::system_clock::time_point now) {
    std::array<aws::header_field, 3> fields{{{"Host", host}, {"Content-Type", w.content_type}}};
    std::size_t n = 2;
    if (!w.amz_target.empty())
        fields[n++] = {"X-Amz-Target", w.amz_target};
    const std::span<const aws::header_field> signed_fields(fields.data(), n);
    const aws::raw_signature sig =
        signer.sign_raw("POST", w.target, signed_fields, w.body, creds, now);
    http::raw_request req;
    std::string& h = req.head;
    h.reserve(160 + w.target.size() + host.size() + w.amz_target.size() + sig.authorization.size() +
              sig.security_token.size());
    h.append("POST ").append(w.target).append(" HTTP/1.1\r\n");
    for (const auto& f : signed_fields)
        h.append(f.name).append(": ").append(f.value).append("\r\n");
    h.append("X-Amz-Date: ").append(sig.amz_date).append("\r\n");
    if (!sig.security_token.empty())
        h.append("X-Amz-Security-Token: ").append(sig.security_token).append("\r\n");
    h.append("Authorization: ").append(sig.authorization).append("\r\n");
    req.body = w.body;
    return req;
}

} // namespace sqs2pg::sqs::detail
