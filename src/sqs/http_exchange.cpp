// An SQS request in HTTP terms (http_exchange.hpp): written out and signed.
#include "http_exchange.hpp"

#include <array>
#include <span>

namespace sqs2pg::sqs::detail {

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
