// The http error category and the retry/fatal classification.
#include <sqs2pg/http/error.hpp>

#include <string>

namespace sqs2pg::http {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sqs2pg.http"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::timeout:
            return "request deadline passed";
        case errc::resolve_failed:
            return "host name did not resolve";
        case errc::connect_failed:
            return "could not connect";
        case errc::tls_failed:
            return "TLS handshake failed";
        case errc::tls_verify_failed:
            return "server certificate rejected";
        case errc::closed:
            return "connection closed before the response was complete";
        case errc::protocol:
            return "invalid HTTP response";
        case errc::body_too_large:
            return "response body larger than the limit";
        case errc::invalid_url:
            return "invalid endpoint URL";
        case errc::cancelled:
            return "cancelled";
        }
        return "unknown http error";
    }
};

} // namespace

const boost::system::error_category& http_category() noexcept {
    static const category c;
    return c;
}

bool is_retryable(boost::system::error_code ec) noexcept {
    if (ec.category() != http_category())
        return false;
    switch (static_cast<errc>(ec.value())) {
    case errc::timeout:
    case errc::resolve_failed:
    case errc::connect_failed:
    case errc::tls_failed:
    case errc::closed:
        return true;
    default:
        return false;
    }
}

bool is_fatal(boost::system::error_code ec) noexcept {
    if (ec.category() != http_category())
        return false;
    switch (static_cast<errc>(ec.value())) {
    case errc::tls_verify_failed:
    case errc::invalid_url:
    case errc::body_too_large:
        return true;
    default:
        return false;
    }
}

std::string_view hint(boost::system::error_code ec) noexcept {
    if (ec.category() != http_category())
        return {};
    switch (static_cast<errc>(ec.value())) {
    case errc::timeout:
        return "the server did not answer in time: check the endpoint and the network path";
    case errc::resolve_failed:
        return "check the endpoint's host name and DNS";
    case errc::connect_failed:
        return "check the endpoint's host and port, that the service runs, and firewalls";
    case errc::tls_failed:
        return "check that the endpoint speaks TLS (https) on that port";
    case errc::tls_verify_failed:
        return "check the host name in the endpoint URL, the system CA store or the extra "
               "CA file; switch verification off only for test servers";
    case errc::body_too_large:
        return "raise the response body limit";
    case errc::invalid_url:
        return "write the endpoint as http(s)://host[:port][/path]";
    default:
        return {};
    }
}

} // namespace sqs2pg::http
