// Where the HTTP client connects: scheme, host, port and base path, parsed from a URL.
#pragma once

#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace sqs2pg::http {

/// An HTTP(S) origin plus an optional base path, parsed from "http(s)://host[:port][/path]".
struct endpoint {
    bool tls = false;
    std::string host; ///< a name or an IP address; an IPv6 address without brackets
    std::uint16_t port = 0;
    std::string path; ///< "" or "/...", as written (no query or fragment)

    /// Parses `url`. The scheme (http or https, any case) is required; the port defaults to
    /// 80 / 443; IPv6 addresses go in brackets. Fails with http::errc::invalid_url on
    /// anything else: other schemes, user info, a query or fragment, a bad port.
    static boost::system::result<endpoint> parse(std::string_view url);

    /// The Host header value: host (IPv6 in brackets), plus ":port" unless it is the
    /// scheme's default.
    std::string host_header() const;

    /// "https://host[:port]" (no path), for messages and SigV4 endpoint comparison.
    std::string origin() const;

    friend bool operator==(const endpoint&, const endpoint&) = default;
};

} // namespace sqs2pg::http
