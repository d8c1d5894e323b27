// Endpoint URL parsing (sans-io).
#include <sqs2pg/http/endpoint.hpp>
#include <sqs2pg/http/error.hpp>

#include <charconv>

namespace sqs2pg::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = static_cast<char>(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

bool valid_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

} // namespace

boost::system::result<endpoint> endpoint::parse(std::string_view url) {
    const auto bad = make_error_code(errc::invalid_url);
    endpoint ep;
    const std::size_t sep = url.find("://");
    if (sep == std::string_view::npos)
        return bad;
    const std::string_view scheme = url.substr(0, sep);
    if (iequals(scheme, "https"))
        ep.tls = true;
    else if (!iequals(scheme, "http"))
        return bad;
    std::string_view rest = url.substr(sep + 3);
    if (rest.find_first_of("?#") != std::string_view::npos)
        return bad;
    const std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos)
        ep.path = std::string(rest.substr(slash));
    if (authority.find('@') != std::string_view::npos)
        return bad;

    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos || close == 1)
            return bad;
        ep.host = std::string(authority.substr(1, close - 1));
        for (char c : ep.host)
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.'))
                return bad;
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                return bad;
            port_text = after.substr(1);
            if (port_text.empty())
                return bad;
        }
    } else {
        const std::size_t colon = authority.find(':');
        ep.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty())
                return bad;
        }
        if (ep.host.empty())
            return bad;
        for (char c : ep.host)
            if (!valid_host_char(c))
                return bad;
    }
    if (port_text.empty()) {
        ep.port = ep.tls ? 443 : 80;
    } else {
        unsigned port = 0;
        const auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
            port > 65535)
            return bad;
        ep.port = static_cast<std::uint16_t>(port);
    }
    return ep;
}

std::string endpoint::host_header() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (port != (tls ? 443 : 80))
        h += ":" + std::to_string(port);
    return h;
}

std::string endpoint::origin() const {
    return (tls ? "https://" : "http://") + host_header();
}

} // namespace sqs2pg::http
