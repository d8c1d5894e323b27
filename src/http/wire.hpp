// Inside the http module: the two ends of an exchange that need no socket - the response
// parser that keeps only the fields its client reads, and the request head written out.
#pragma once
#include <sqs2pg/http/message.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace sqs2pg::http::detail {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

// A response parser that stores only the header fields its client keeps
// (client_options::kept_headers; all when the list is empty). Beast's own parser stores
// every field in an ordered set, each field a heap allocation: an SQS answer from an
// emulator carries about fifteen, of which the SQS client reads at most four. Otherwise
// it is Beast's `http::parser` for a string body: the framing (Content-Length, chunked,
// Connection) is the base parser's, which reads those fields whether they are kept or not.
class response_parser final : public bhttp::basic_parser<false> {
public:
    explicit response_parser(const std::vector<std::string>& kept)
        : kept_(kept) {}

    response release() { return std::move(res_); }

private:
    using string_view = beast::string_view;

    bool keep(string_view name) const noexcept {
        if (kept_.empty())
            return true;
        return std::any_of(kept_.begin(), kept_.end(), [name](const std::string& k) {
            return beast::iequals(name, string_view(k.data(), k.size()));
        });
    }

    void on_request_impl(bhttp::verb, string_view, string_view, int, error_code&) override {}

    void on_response_impl(int code, string_view reason, int version, error_code&) override {
        res_.result(code);
        res_.version(version);
        if (kept_.empty())
            res_.reason(reason); // sqs2pg never reads it: kept only with every field
    }

    void on_field_impl(bhttp::field name, string_view name_string, string_view value,
                       error_code&) override {
        if (keep(name_string))
            res_.insert(name, name_string, value);
    }

    void on_header_impl(error_code& ec) override { ec = {}; }

    // The base parser has checked Content-Length and every chunk against body_limit.
    void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                           error_code& ec) override {
        ec = {};
        if (content_length)
            res_.body().reserve(static_cast<std::size_t>(*content_length));
    }

    std::size_t on_body_impl(string_view body, error_code& ec) override {
        ec = {};
        res_.body().append(body.data(), body.size());
        return body.size();
    }

    void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}

    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
        return on_body_impl(body, ec);
    }

    void on_finish_impl(error_code& ec) override { ec = {}; }

    const std::vector<std::string>& kept_;
    response res_;
};

/// The request line and header fields of `req`, in their order, into `out` (cleared).
void write_head(const request& req, std::string& out);

/// "sqs2pg/<version>".
const std::string& user_agent();

} // namespace sqs2pg::http::detail
