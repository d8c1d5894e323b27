// The credential sources' pure decisions: reading a credentials document, when to
// refresh, and where the container and IMDS endpoints are (from the environment). The
// providers that act on them are in credentials_provider.cpp.
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/base/time.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sqs2pg::aws {
namespace {

namespace asio = boost::asio;
using sys_clock = std::chrono::system_clock;
using namespace std::chrono_literals;

error make_error(errc e, std::string message) {
    return {make_error_code(e), std::move(message)};
}

} // namespace

result<credentials> parse_credentials_document(std::string_view json) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(json, ec);
    if (ec || !v.is_object())
        return make_error(errc::invalid_document, "a document that is not a JSON object");
    const auto& o = v.as_object();
    auto text = [&](const char* key) -> std::optional<std::string> {
        const auto* f = o.if_contains(key);
        if (f == nullptr || !f->is_string())
            return std::nullopt;
        return std::string(f->as_string());
    };
    if (const auto* code = o.if_contains("Code")) {
        if (!code->is_string() || code->as_string() != "Success")
            return make_error(errc::invalid_document,
                              "a document whose Code is " +
                                  (code->is_string() ? std::string(code->as_string())
                                                     : std::string("not a string")) +
                                  ", not Success");
    }
    credentials c;
    auto id = text("AccessKeyId");
    auto secret = text("SecretAccessKey");
    if (!id || id->empty())
        return make_error(errc::invalid_document, "a document without AccessKeyId");
    if (!secret || secret->empty())
        return make_error(errc::invalid_document, "a document without SecretAccessKey");
    c.access_key_id = std::move(*id);
    c.secret_access_key = std::move(*secret);
    if (auto tok = text("Token"))
        c.session_token = std::move(*tok);
    if (const auto* exp = o.if_contains("Expiration")) {
        const auto t = exp->is_string() ? base::parse_iso8601(exp->as_string()) : std::nullopt;
        if (!t)
            return make_error(errc::invalid_document,
                              "a document whose Expiration is not an ISO 8601 time");
        c.expiration = *t;
    }
    return c;
}

sys_clock::time_point refresh_time(sys_clock::time_point obtained, sys_clock::time_point expiration,
                                   sys_clock::duration ahead, sys_clock::duration jitter) {
    const auto lifetime = expiration - obtained;
    if (lifetime <= sys_clock::duration::zero())
        return obtained;
    return expiration - std::min<sys_clock::duration>(ahead + jitter, lifetime / 2);
}

bool is_allowed_container_host(std::string_view host) {
    if (base::ascii_lower(host) == "localhost")
        return true;
    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(std::string(host), ec);
    if (ec)
        return false;
    if (addr.is_loopback())
        return true;
    for (const char* allowed : {"169.254.170.2", "169.254.170.23", "fd00:ec2::23"})
        if (addr == asio::ip::make_address(allowed))
            return true;
    return false;
}

result<container_target> container_endpoint(const environment& env) {
    if (auto rel = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
        container_target t;
        t.endpoint = http::endpoint::parse("http://169.254.170.2").value();
        t.target = rel->front() == '/' ? *rel : "/" + *rel;
        return t;
    }
    const auto full = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!full)
        return make_error(errc::invalid_configuration,
                          "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI is set");
    const std::size_t q = full->find('?');
    auto ep = http::endpoint::parse(std::string_view(*full).substr(0, q));
    if (!ep)
        return make_error(errc::invalid_configuration,
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL");
    if (!ep->tls && !is_allowed_container_host(ep->host))
        return make_error(errc::invalid_configuration,
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI uses plain http to " + ep->host +
                              ", which is allowed only for loopback addresses and the ECS/EKS "
                              "addresses 169.254.170.2, 169.254.170.23 and fd00:ec2::23: use "
                              "https");
    container_target t;
    t.target = ep->path.empty() ? "/" : ep->path;
    if (q != std::string::npos)
        t.target += full->substr(q);
    ep->path.clear();
    t.endpoint = std::move(*ep);
    return t;
}

result<std::optional<std::string>> container_authorization(const environment& env) {
    std::string token;
    if (auto file = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
        std::ifstream in(*file, std::ios::binary);
        if (!in)
            return make_error(errc::invalid_configuration,
                              "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + *file + ": " +
                                  std::strerror(errno));
        std::ostringstream text;
        text << in.rdbuf();
        token = text.str();
        while (!token.empty() && (token.back() == '\n' || token.back() == '\r' ||
                                  token.back() == ' ' || token.back() == '\t'))
            token.pop_back();
        if (token.empty())
            return make_error(errc::invalid_configuration,
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + *file + " is empty");
    } else if (auto t = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
        token = *t;
    } else {
        return std::optional<std::string>{};
    }
    if (token.find_first_of("\r\n") != std::string::npos)
        return make_error(errc::invalid_configuration,
                          "the container authorization token holds a line break");
    return std::optional<std::string>(std::move(token));
}

result<http::endpoint> imds_endpoint(const environment& env) {
    if (auto url = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
        auto ep = http::endpoint::parse(*url);
        if (!ep)
            return make_error(errc::invalid_configuration, "AWS_EC2_METADATA_SERVICE_ENDPOINT=" +
                                                               *url + " is not an http(s) URL");
        return *ep;
    }
    const auto mode = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (mode && base::ascii_lower(*mode) == "ipv6")
        return http::endpoint::parse("http://[fd00:ec2::254]").value();
    return http::endpoint::parse("http://169.254.169.254").value();
}

} // namespace sqs2pg::aws
