// SigV4 signing, written to the AWS specification and checked against the 2015 AWS
// test suite and botocore-signed SQS requests (tests/data/sigv4).
#include <sqs2pg/aws/signer.hpp>
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/base/text.hpp>

#include "canonical_path.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>
#include <vector>

namespace sqs2pg::aws {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view amz_date_header = "X-Amz-Date";
constexpr std::string_view security_token_header = "X-Amz-Security-Token";

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Trims and collapses runs of whitespace into one space.
void append_trimall(std::string& out, std::string_view v) {
    bool pending_space = false;
    bool any = false;
    for (char c : v) {
        if (is_space(c)) {
            pending_space = any;
            continue;
        }
        if (pending_space)
            out += ' ';
        pending_space = false;
        any = true;
        out += c;
    }
}

// Appends the canonical form of one header field value. An obs-fold (a line break
// followed by whitespace) separates values, as if the header had been repeated.
void append_canonical_value(std::string& out, std::string_view v, bool& first) {
    std::size_t start = 0;
    while (start <= v.size()) {
        std::size_t nl = v.find('\n', start);
        const std::string_view line =
            v.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        if (!first)
            out += ',';
        first = false;
        append_trimall(out, line);
        if (nl == std::string_view::npos)
            break;
        start = nl + 1;
    }
}

// "20150830T123600Z" into a buffer of its own: sign() formats one per request, and
// snprintf's format parsing cost more than the rest of the date.
using amz_date_text = std::array<char, 16>;

std::string_view write_amz_date(amz_date_text& out, std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto secs = floor<seconds>(t);
    const auto day = floor<days>(secs);
    const year_month_day ymd{day};
    const hh_mm_ss hms{secs - day};
    char* p = out.data();
    const auto put = [&p](unsigned v, int width) {
        for (int i = width - 1; i >= 0; --i, v /= 10)
            p[i] = static_cast<char>('0' + v % 10);
        p += width;
    };
    // Years outside 0000-9999 cannot be sent (SigV4 has four digits); they wrap here as
    // they would be refused by the service anyway.
    put(static_cast<unsigned>(static_cast<int>(ymd.year())) % 10000, 4);
    put(static_cast<unsigned>(ymd.month()), 2);
    put(static_cast<unsigned>(ymd.day()), 2);
    *p++ = 'T';
    put(static_cast<unsigned>(hms.hours().count()), 2);
    put(static_cast<unsigned>(hms.minutes().count()), 2);
    put(static_cast<unsigned>(hms.seconds().count()), 2);
    *p++ = 'Z';
    return {out.data(), out.size()};
}

} // namespace

std::string format_amz_date(std::chrono::system_clock::time_point t) {
    amz_date_text buf;
    return std::string(write_amz_date(buf, t));
}

std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text) {
    using namespace std::chrono;
    if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z')
        return std::nullopt;
    auto num = [&](std::size_t pos, std::size_t len) -> int {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (text[i] < '0' || text[i] > '9')
                return -1;
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    const int y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2),
              s = num(13, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0 || h > 23 || mi > 59 || s > 60)
        return std::nullopt;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                             day{static_cast<unsigned>(d)}};
    if (!ymd.ok())
        return std::nullopt;
    return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

bool is_unsigned_header(std::string_view n) {
    static constexpr std::array<std::string_view, 11> names = {
        "authorization",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "upgrade",
        "user-agent",
        "transfer-encoding",
        "x-amzn-trace-id",
    };
    return std::find(names.begin(), names.end(), n) != names.end();
}

namespace {

struct header_entry {
    std::string_view name; // lower-cased, in the names buffer
    std::string_view value;
};

// Appends the canonical headers block of `fields` to `block` and sets `signed_headers`.
// `names` and `entries` are scratch: the lower-cased names share one string (reserved up
// front, so the views stay valid) and the entries a vector, reused from call to call.
// Each header of Beast's fields, or of a list of name/value views (sign_raw), as two
// string views.
template <class F>
void each_header(const boost::beast::http::fields& fields, F&& f) {
    for (const auto& h : fields)
        f(std::string_view(h.name_string()), std::string_view(h.value()));
}
template <class F>
void each_header(std::span<const header_field> headers, F&& f) {
    for (const auto& h : headers)
        f(h.name, h.value);
}

template <class Headers, class Entry>
void build_canonical_headers(const Headers& fields, std::string& names, std::vector<Entry>& entries,
                             std::string& block, std::string& signed_headers) {
    std::size_t total = 0, count = 0;
    each_header(fields, [&](std::string_view name, std::string_view) {
        total += name.size();
        ++count;
    });
    names.clear();
    names.reserve(total);
    entries.clear();
    entries.reserve(count);
    each_header(fields, [&](std::string_view raw_name, std::string_view value) {
        const std::size_t at = names.size();
        for (char c : raw_name)
            names += base::ascii_lower(c);
        const std::string_view name(names.data() + at, names.size() - at);
        if (is_unsigned_header(name)) {
            names.resize(at);
            return;
        }
        entries.push_back({name, value});
    });
    // Stable by name: values of a repeated header keep the order they were sent in. An
    // insertion sort: a request has about ten headers, and std::stable_sort allocates.
    for (std::size_t i = 1; i < entries.size(); ++i)
        for (std::size_t j = i; j > 0 && entries[j].name < entries[j - 1].name; --j)
            std::swap(entries[j], entries[j - 1]);
    std::size_t values = 0;
    for (const auto& e : entries)
        values += e.name.size() + e.value.size() + 2;
    block.reserve(block.size() + values);
    signed_headers.clear();
    signed_headers.reserve(names.size() + entries.size());
    for (std::size_t i = 0; i < entries.size();) {
        const std::string_view name = entries[i].name;
        block += name;
        block += ':';
        if (!signed_headers.empty())
            signed_headers += ';';
        signed_headers += name;
        bool first = true;
        for (; i < entries.size() && entries[i].name == name; ++i)
            append_canonical_value(block, entries[i].value, first);
        block += '\n';
    }
    entries.clear(); // no view outlives the call
}

// The canonical request of a request given by its method, target, headers (Beast's
// fields or views), X-Amz-Content-Sha256 value (empty: the body's hash) and body into
// `out` (its strings cleared first), the payload hash into `payload_hash`; `names` and
// `entries` are build_canonical_headers' scratch.
template <class Headers, class Entry>
void build_canonical_request(std::string_view method, std::string_view target,
                             const Headers& headers, std::string_view content_sha,
                             std::string_view body, std::string& names, std::vector<Entry>& entries,
                             std::string& out, std::string& signed_headers,
                             std::string& payload_hash) {
    const std::size_t q = target.find('?');
    const std::string_view path = target.substr(0, q);
    const std::string_view query =
        q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);

    payload_hash.clear();
    if (!content_sha.empty())
        payload_hash.append(content_sha);
    else
        base::append_hex(payload_hash, base::as_bytes(base::sha256(body)));

    out.clear();
    out.reserve(256 + target.size());
    out.append(method).append("\n");
    if (detail::is_canonical_path(path))
        out += path;
    else
        out += canonical_uri(path);
    out += '\n';
    if (!query.empty())
        out += canonical_query(query);
    out += '\n';
    build_canonical_headers(headers, names, entries, out, signed_headers);
    out += '\n';
    out += signed_headers;
    out += '\n';
    out += payload_hash;
}

// The same for a Beast request.
template <class Entry>
void build_canonical_request(const http::request& req, std::string& names,
                             std::vector<Entry>& entries, std::string& out,
                             std::string& signed_headers, std::string& payload_hash) {
    const auto content_sha = req.base().find("X-Amz-Content-Sha256");
    build_canonical_request(req.method_string(), req.target(), req.base(),
                            content_sha != req.base().end() ? std::string_view(content_sha->value())
                                                            : std::string_view(),
                            req.body(), names, entries, out, signed_headers, payload_hash);
}

void append_credential_scope(std::string& s, std::string_view date, std::string_view region,
                             std::string_view service) {
    s.reserve(s.size() + date.size() + region.size() + service.size() + 16);
    s.append(date).append("/").append(region).append("/").append(service).append("/aws4_request");
}

void append_string_to_sign(std::string& s, std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
    s.reserve(s.size() + algorithm.size() + amz_date.size() + scope.size() + 3 + 64);
    s.append(algorithm).append("\n").append(amz_date).append("\n").append(scope).append("\n");
    base::append_hex(s, base::as_bytes(base::sha256(canonical_request)));
}

void append_authorization(std::string& s, std::string_view access_key_id, std::string_view scope,
                          std::string_view signed_headers, std::string_view signature) {
    s.reserve(s.size() + algorithm.size() + access_key_id.size() + scope.size() +
              signed_headers.size() + signature.size() + 40);
    s.append(algorithm)
        .append(" Credential=")
        .append(access_key_id)
        .append("/")
        .append(scope)
        .append(", SignedHeaders=")
        .append(signed_headers)
        .append(", Signature=")
        .append(signature);
}

} // namespace

canonical_headers_result canonical_headers(const boost::beast::http::fields& fields) {
    canonical_headers_result r;
    std::string names;
    std::vector<header_entry> entries;
    build_canonical_headers(fields, names, entries, r.block, r.signed_headers);
    return r;
}

std::string credential_scope(std::string_view date, std::string_view region,
                             std::string_view service) {
    std::string s;
    append_credential_scope(s, date, region, service);
    return s;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
    std::string s;
    append_string_to_sign(s, amz_date, scope, canonical_request);
    return s;
}

base::sha256_digest derive_signing_key(std::string_view secret_access_key, std::string_view date,
                                       std::string_view region, std::string_view service) {
    std::string k0 = "AWS4";
    k0.append(secret_access_key);
    auto k = base::hmac_sha256(k0, date);
    base::cleanse(k0);
    k = base::hmac_sha256(base::as_bytes(k), region);
    k = base::hmac_sha256(base::as_bytes(k), service);
    return base::hmac_sha256(base::as_bytes(k), "aws4_request");
}

std::string authorization_header(std::string_view access_key_id, std::string_view scope,
                                 std::string_view signed_headers, std::string_view signature) {
    std::string s;
    append_authorization(s, access_key_id, scope, signed_headers, signature);
    return s;
}

canonical_request_result canonical_request(const http::request& req) {
    canonical_request_result r;
    std::string names;
    std::vector<header_entry> entries;
    build_canonical_request(req, names, entries, r.text, r.signed_headers, r.payload_hash);
    return r;
}

signer::signer(std::string region, std::string service, signer_options options)
    : region_(std::move(region))
    , service_(std::move(service))
    , options_(options) {}

const base::hmac_sha256_key& signer::signing_key(const credentials& creds, std::string_view date) {
    // Keyed by a digest of the secret so the cache holds no second copy of it.
    const auto secret_digest = base::sha256(creds.secret_access_key);
    if (!cache_ || cache_->date != date || cache_->secret_digest != secret_digest) {
        auto k = derive_signing_key(creds.secret_access_key, date, region_, service_);
        cache_.emplace(
            cached_key{std::string(date), secret_digest, base::hmac_sha256_key(base::as_bytes(k))});
        k.fill(0);
    }
    return cache_->key;
}

void signer::sign(http::request& req, const credentials& creds,
                  std::chrono::system_clock::time_point now) {
    (void)sign_in_place(req, creds, now);
}

signature_details signer::sign_with_details(http::request& req, const credentials& creds,
                                            std::chrono::system_clock::time_point now) {
    return sign_in_place(req, creds, now);
}

const signature_details& signer::sign_in_place(http::request& req, const credentials& creds,
                                               std::chrono::system_clock::time_point now) {
    if (req.find(bhttp::field::host) == req.end() || req[bhttp::field::host].empty())
        throw std::invalid_argument("SigV4: the request has no Host header");

    amz_date_text date_buf;
    const std::string_view amz_date = write_amz_date(date_buf, now);
    req.erase(bhttp::field::authorization);
    req.set(amz_date_header, amz_date);
    req.erase(security_token_header);
    const bool has_token = !creds.session_token.empty();
    if (has_token && options_.sign_security_token)
        req.set(security_token_header, creds.session_token);

    build_canonical_request(req, names_, headers_, last_.canonical_request, last_.signed_headers,
                            payload_hash_);
    const signature_details& d = finish(creds, amz_date);
    if (has_token && !options_.sign_security_token)
        req.set(security_token_header, creds.session_token);
    req.set(bhttp::field::authorization, d.authorization);
    return d;
}

const signature_details& signer::finish(const credentials& creds, std::string_view amz_date) {
    signature_details& d = last_;
    const std::string_view date = amz_date.substr(0, 8);
    scope_.clear();
    append_credential_scope(scope_, date, region_, service_);
    d.string_to_sign.clear();
    append_string_to_sign(d.string_to_sign, amz_date, scope_, d.canonical_request);
    d.signature.clear();
    base::append_hex(d.signature,
                     base::as_bytes(signing_key(creds, date).compute(d.string_to_sign)));
    d.authorization.clear();
    append_authorization(d.authorization, creds.access_key_id, scope_, d.signed_headers,
                         d.signature);
    return d;
}

raw_signature signer::sign_raw(std::string_view method, std::string_view target,
                               std::span<const header_field> headers, std::string_view body,
                               const credentials& creds,
                               std::chrono::system_clock::time_point now) {
    const bool has_host = std::any_of(headers.begin(), headers.end(), [](const header_field& h) {
        return base::iequals_ascii(h.name, "host") && !h.value.empty();
    });
    if (!has_host)
        throw std::invalid_argument("SigV4: the request has no Host header");
    raw_signature out;
    out.amz_date = write_amz_date(amz_date_, now);
    const bool has_token = !creds.session_token.empty();
    out.token_signed = has_token && options_.sign_security_token;
    if (has_token)
        out.security_token = creds.session_token;
    raw_headers_.assign(headers.begin(), headers.end());
    raw_headers_.push_back({amz_date_header, out.amz_date});
    if (out.token_signed)
        raw_headers_.push_back({security_token_header, creds.session_token});
    build_canonical_request(method, target, std::span<const header_field>(raw_headers_), {}, body,
                            names_, headers_, last_.canonical_request, last_.signed_headers,
                            payload_hash_);
    raw_headers_.clear(); // no view outlives the call
    out.authorization = finish(creds, out.amz_date).authorization;
    return out;
}

} // namespace sqs2pg::aws
