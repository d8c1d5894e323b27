// Generic AWS calls: query and JSON 1.1 encoding, error decoding, endpoint resolution, and
// the async client that signs, sends and retries them.
#include <sqs2pg/aws/service.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/http/error.hpp>
#include <sqs2pg/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <pugixml.hpp>

#include <array>
#include <random>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete" // GCC bug 109224, as elsewhere
#endif

namespace sqs2pg::aws {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

error make_error(errc e, std::string message, std::string service_code = {}) {
    return {make_error_code(e), std::move(message), std::move(service_code)};
}

// Python's urllib.parse.quote_plus: A-Za-z0-9 _.-~ kept, space '+', the rest %XX.
void append_form_encoded(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-' || c == '~') {
            out += ch;
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    if (!out.empty())
        out += '&';
    append_form_encoded(out, name);
    out += '=';
    append_form_encoded(out, value);
}

std::string trim(std::string_view s) {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    return std::string(s);
}

// "com.amazonaws.kms#NotFoundException" and "NotFoundException:http://..." -> the name.
std::string bare_code(std::string_view code) {
    if (const auto colon = code.find(':'); colon != std::string_view::npos)
        code = code.substr(0, colon);
    if (const auto hash = code.rfind('#'); hash != std::string_view::npos)
        code = code.substr(hash + 1);
    return trim(code);
}

// Keeps a service's message on one short line for an operator.
std::string one_line(std::string_view s) {
    std::string out;
    for (const char c : s.substr(0, 600))
        out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    if (s.size() > 600)
        out += "...";
    return out;
}

std::string_view header(const http::response& res, std::string_view name) {
    const auto it = res.find(name);
    return it == res.end() ? std::string_view() : std::string_view(it->value());
}

} // namespace

// ---- requests ----

service_request encode_query(std::string_view action, std::string_view version,
                             const std::vector<std::pair<std::string, std::string>>& params) {
    service_request r;
    r.action = std::string(action);
    r.content_type = "application/x-www-form-urlencoded; charset=utf-8";
    append_field(r.body, "Action", action);
    append_field(r.body, "Version", version);
    for (const auto& [name, value] : params)
        append_field(r.body, name, value);
    return r;
}

service_request encode_json(std::string_view target_prefix, std::string_view action,
                            std::string json_body) {
    service_request r;
    r.action = std::string(action);
    r.content_type = "application/x-amz-json-1.1";
    r.amz_target = std::string(target_prefix) + "." + std::string(action);
    r.body = std::move(json_body);
    return r;
}

// ---- answers ----

std::optional<std::string> xml_text(std::string_view xml, std::string_view name) {
    pugi::xml_document doc;
    if (!doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8))
        return std::nullopt;
    const std::string wanted(name);
    const pugi::xml_node n = doc.find_node([&](const pugi::xml_node& node) {
        return node.type() == pugi::node_element && wanted == node.name();
    });
    if (!n)
        return std::nullopt;
    return std::string(n.text().get());
}

std::optional<service_fault> decode_fault(const service_response& r) {
    if (r.status >= 200 && r.status < 300)
        return std::nullopt;
    service_fault f;
    if (!r.error_type.empty())
        f.code = bare_code(r.error_type);
    else if (!r.query_error.empty())
        f.code = bare_code(std::string_view(r.query_error).substr(0, r.query_error.find(';')));
    const std::string body = trim(r.body);
    if (body.starts_with('<')) {
        if (f.code.empty())
            f.code = bare_code(xml_text(body, "Code").value_or(""));
        f.message = xml_text(body, "Message").value_or("");
    } else if (body.starts_with('{')) {
        boost::system::error_code ec;
        const auto v = boost::json::parse(body, ec);
        if (!ec && v.is_object()) {
            const auto& o = v.as_object();
            for (const char* key : {"__type", "code", "Code"}) {
                if (!f.code.empty())
                    break;
                if (const auto* c = o.if_contains(key); c != nullptr && c->is_string())
                    f.code = bare_code(c->as_string());
            }
            for (const char* key : {"message", "Message"}) {
                if (const auto* m = o.if_contains(key); m != nullptr && m->is_string()) {
                    f.message = std::string(m->as_string());
                    break;
                }
            }
        }
    }
    f.message = one_line(f.message);
    return f;
}

bool is_retryable_fault(unsigned status, std::string_view code) noexcept {
    if (status >= 500 || status == 429)
        return true;
    static constexpr std::array<std::string_view, 11> transient{"Throttling",
                                                                "ThrottlingException",
                                                                "RequestLimitExceeded",
                                                                "TooManyRequestsException",
                                                                "ServiceUnavailable",
                                                                "InternalFailure",
                                                                "InternalError",
                                                                "KMSInternalException",
                                                                "IDPCommunicationError",
                                                                "RequestTimeout",
                                                                "PriorRequestNotComplete"};
    for (const auto t : transient)
        if (code == t)
            return true;
    return false;
}

// ---- endpoints ----

result<http::endpoint> resolve_service_endpoint(const environment& env, std::string_view env_suffix,
                                                std::string_view host_prefix,
                                                std::string_view region) {
    const auto ignore = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    const bool use_configured = !(ignore && base::ascii_lower(*ignore) == "true");
    const std::string specific = "AWS_ENDPOINT_URL_" + std::string(env_suffix);
    for (const std::string& var : {specific, std::string("AWS_ENDPOINT_URL")}) {
        if (!use_configured)
            break;
        const auto url = env.get(var);
        if (!url)
            continue;
        auto ep = http::endpoint::parse(*url);
        if (!ep)
            return make_error(errc::invalid_endpoint, var + "=" + *url + " is not an http(s) URL");
        const std::string host = base::ascii_lower(ep->host);
        if (!ep->tls && (host.ends_with("amazonaws.com") || host.ends_with("amazonaws.com.cn") ||
                         host.ends_with("api.aws")))
            return make_error(errc::invalid_endpoint,
                              var + " uses plain http:// to an AWS host (" + host +
                                  "): the credentials would travel unencrypted; use https://");
        return *ep;
    }
    if (region.empty())
        return make_error(errc::no_region, "no region for " + std::string(host_prefix) +
                                               ": set AWS_REGION (or --region), or " + specific);
    const std::string suffix = region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
    return http::endpoint::parse("https://" + std::string(host_prefix) + "." + std::string(region) +
                                 "." + suffix)
        .value();
}

// ---- the driver ----

struct service_client::impl {
    impl(asio::any_io_executor ex, http::endpoint ep, credentials_provider* creds,
         service_options opts)
        : executor(ex)
        , endpoint(ep)
        , credentials(creds)
        , options(std::move(opts))
        , transport(ex, std::move(ep), options.http)
        , sign(options.region, options.service) {
        if (options.display.empty())
            options.display = options.service;
        rng.seed(base::random_seed());
    }

    asio::any_io_executor executor;
    http::endpoint endpoint;
    credentials_provider* credentials;
    service_options options;
    http::client transport;
    signer sign;
    std::mt19937_64 rng;

    std::string where(const service_request& r) const {
        return options.display + " " + r.action + " (" + endpoint.origin() + ")";
    }

    // One attempt. `retry` tells the caller whether another attempt may help.
    asio::awaitable<result<std::string>> attempt(const service_request& r, bool& retry) {
        retry = false;
        http::request req{bhttp::verb::post, endpoint.path.empty() ? "/" : endpoint.path, 11};
        req.set(bhttp::field::host, endpoint.host_header());
        req.set(bhttp::field::content_type, r.content_type);
        if (!r.amz_target.empty())
            req.set("X-Amz-Target", r.amz_target);
        req.body() = r.body;
        if (!r.anonymous) {
            if (credentials == nullptr)
                co_return make_error(errc::no_credentials,
                                     where(r) + ": no credentials to sign the request with");
            auto creds = co_await credentials->async_get();
            if (!creds) {
                const auto ec = creds.error();
                std::string why = credentials->last_failure();
                if (ec == make_error_code(errc::cancelled) || ec == asio::error::operation_aborted)
                    co_return make_error(errc::cancelled, "cancelled");
                retry = is_retryable(ec);
                co_return error{
                    ec, where(r) + ": no credentials: " + (why.empty() ? ec.message() : why), {}};
            }
            sign.sign(req, *creds, std::chrono::system_clock::now());
        }
        req.prepare_payload();
        auto res = co_await transport.async_send(std::move(req), options.timeout);
        if (!res) {
            if (res.error() == make_error_code(http::errc::cancelled))
                co_return make_error(errc::cancelled, "cancelled");
            retry = http::is_retryable(res.error()) && r.idempotent;
            std::string msg = where(r) + ": " + res.error().message();
            if (const auto h = http::hint(res.error()); !h.empty())
                msg += " (" + std::string(h) + ")";
            co_return make_error(http::is_fatal(res.error()) ? errc::invalid_endpoint
                                                             : errc::service_unavailable,
                                 msg);
        }
        service_response sr;
        sr.status = res->result_int();
        sr.body = std::move(res->body());
        sr.error_type = header(*res, "X-Amzn-ErrorType");
        sr.query_error = header(*res, "x-amzn-query-error");
        sr.request_id = header(*res, "x-amzn-RequestId");
        if (sr.request_id.empty())
            sr.request_id = header(*res, "x-amz-request-id");
        auto fault = decode_fault(sr);
        if (!fault)
            co_return std::move(sr.body);
        if (fault->code == "ExpiredToken" || fault->code == "ExpiredTokenException") {
            if (credentials != nullptr)
                credentials->expire();
            retry = true;
        } else {
            retry = is_retryable_fault(sr.status, fault->code) && r.idempotent;
        }
        std::string msg = where(r) + " refused: HTTP " + std::to_string(sr.status);
        if (!fault->code.empty())
            msg += " " + fault->code;
        if (!fault->message.empty())
            msg += ": " + fault->message;
        if (!sr.request_id.empty())
            msg += " (request id " + sr.request_id + ")";
        const bool client_fault = sr.status >= 400 && sr.status < 500 && sr.status != 429 &&
                                  !is_retryable_fault(sr.status, fault->code);
        co_return make_error(client_fault ? errc::service_rejected : errc::service_unavailable,
                             std::move(msg), fault->code);
    }

    asio::awaitable<result<std::string>> call(service_request r) {
        base::backoff pacing(options.pacing);
        for (int n = 1;; ++n) {
            bool retry = false;
            auto res = co_await attempt(r, retry);
            if (res || !retry || n >= std::max(1, options.max_attempts))
                co_return res;
            const auto delay = pacing.next(rng());
            ops::log(ops::level::warn, "aws.call_retry",
                     {{"service", options.display},
                      {"action", r.action},
                      {"code", res.error().service_code},
                      {"error", res.error().code.message()},
                      {"attempt", n},
                      {"delay_ms", delay.count()}});
            asio::steady_timer timer(executor, delay);
            auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec)
                co_return make_error(errc::cancelled, "cancelled");
        }
    }
};

service_client::service_client(asio::any_io_executor ex, http::endpoint endpoint,
                               credentials_provider* credentials, service_options options)
    : impl_(std::make_unique<impl>(std::move(ex), std::move(endpoint), credentials,
                                   std::move(options))) {}

service_client::~service_client() = default;

asio::awaitable<result<std::string>> service_client::async_call(service_request req) {
    co_return co_await impl_->call(std::move(req));
}

const http::endpoint& service_client::endpoint() const noexcept {
    return impl_->endpoint;
}

const service_options& service_client::options() const noexcept {
    return impl_->options;
}

} // namespace sqs2pg::aws
