// The canonical URI and query string of SigV4 (signer.hpp): the path and query rules,
// apart from the signer that uses them.
#include <sqs2pg/aws/signer.hpp>
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/base/text.hpp>

#include "canonical_path.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace sqs2pg::aws {
namespace {

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

// %XX sequences become bytes; anything else (including a malformed '%') stays as is.
std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && base::hex_digit_value(s[i + 1]) >= 0 &&
            base::hex_digit_value(s[i + 2]) >= 0) {
            out += static_cast<char>(base::hex_digit_value(s[i + 1]) * 16 +
                                     base::hex_digit_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

} // namespace

namespace detail {

// A path that is its own canonical URI: starts with '/', only unreserved characters and
// single slashes, no "." or ".." segment (an SQS queue path, "/123456789012/name").
bool is_canonical_path(std::string_view path) {
    if (path.empty() || path[0] != '/')
        return false;
    std::size_t segment = 1; // where the current segment starts
    for (std::size_t i = 1; i <= path.size(); ++i) {
        if (i < path.size() && path[i] != '/') {
            if (!is_unreserved(static_cast<unsigned char>(path[i])))
                return false;
            continue;
        }
        const std::string_view piece = path.substr(segment, i - segment);
        if (piece == "." || piece == ".." || (piece.empty() && i < path.size()))
            return false; // a dot segment, or "//" (an empty segment before the end)
        segment = i + 1;
    }
    return true;
}

} // namespace detail

std::string uri_encode(std::string_view bytes, bool keep_slash) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(bytes.size());
    for (unsigned char c : bytes) {
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

std::string canonical_uri(std::string_view path) {
    std::vector<std::string_view> segments;
    std::string_view piece;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = path.find('/', start);
        piece = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
        if (piece == "..") {
            if (!segments.empty())
                segments.pop_back();
        } else if (!piece.empty() && piece != ".") {
            segments.push_back(piece);
        }
        if (slash == std::string_view::npos)
            break;
        start = slash + 1;
    }
    // A path ending in "/", "/." or "/.." names a directory: it keeps its slash (5.2.4).
    const bool trailing_slash = piece.empty() || piece == "." || piece == "..";
    std::string normalized = "/";
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (i > 0)
            normalized += '/';
        normalized += segments[i];
    }
    if (trailing_slash && !segments.empty())
        normalized += '/';
    return uri_encode(normalized, true);
}

std::string canonical_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> params;
    std::size_t start = 0;
    while (start <= query.size()) {
        std::size_t amp = query.find('&', start);
        if (amp == std::string_view::npos)
            amp = query.size();
        const std::string_view pair = query.substr(start, amp - start);
        if (!pair.empty()) {
            const std::size_t eq = pair.find('=');
            const std::string_view name = pair.substr(0, eq);
            const std::string_view value =
                eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
            params.emplace_back(uri_encode(percent_decode(name), false),
                                uri_encode(percent_decode(value), false));
        }
        start = amp + 1;
    }
    std::sort(params.begin(), params.end());
    std::string out;
    for (const auto& [name, value] : params) {
        if (!out.empty())
            out += '&';
        out += name;
        out += '=';
        out += value;
    }
    return out;
}

} // namespace sqs2pg::aws
