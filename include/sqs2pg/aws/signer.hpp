// AWS Signature Version 4 (header-based, AWS4-HMAC-SHA256), sans-io: the canonical
// request, the string to sign, the signing key and the Authorization header.
#pragma once

#include <sqs2pg/aws/credentials.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/http/message.hpp>

#include <boost/beast/http/fields.hpp>

#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::aws {

// ---- Pure pieces of the algorithm (exposed for tests and for other signers) ----

/// The basic ISO 8601 time SigV4 uses, "20150830T123600Z" (UTC, whole seconds).
std::string format_amz_date(std::chrono::system_clock::time_point t);

/// Parses "20150830T123600Z"; nullopt unless it is exactly that shape and a valid time.
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text);

/// RFC 3986 percent-encoding as SigV4 wants it: the unreserved characters
/// A-Z a-z 0-9 - . _ ~ stay, every other byte becomes %XX (uppercase hex, a space is
/// %20, never '+'); '/' stays too when `keep_slash`.
std::string uri_encode(std::string_view bytes, bool keep_slash);

/// The canonical URI of a request path (the target without its query) for every
/// service but S3: dot segments removed (RFC 3986 5.2.4), runs of '/' collapsed, an
/// empty path made "/", then every byte outside unreserved and '/' encoded. The path is
/// taken as sent, so a path that is already percent-encoded gets encoded again ("%20"
/// becomes "%2520"), which is the spec's "encode each segment twice" for non-S3.
std::string canonical_uri(std::string_view path);

/// The canonical query string of `query` (the target after '?', without it): each
/// parameter split at its first '=' (a missing '=' means an empty value), names and
/// values percent-decoded and re-encoded with uri_encode (so a raw "ሴ" and "%e1%88%b4"
/// agree; a '+' is a literal plus, "%2B"), sorted by encoded name then value, joined by '&'.
std::string canonical_query(std::string_view query);

/// Lowercase header names that are never signed: hop-by-hop headers a proxy may rewrite,
/// User-Agent (rewritten by some proxies), Expect, and Authorization itself.
bool is_unsigned_header(std::string_view lowercase_name);

/// The canonical headers block ("name:value\n" per header) and the signed-headers list.
struct canonical_headers_result {
    std::string block;          ///< sorted by lowercase name, each line ending in '\n'
    std::string signed_headers; ///< "host;x-amz-date": the names, sorted, joined by ';'
};

/// Canonicalises every header of `fields` except is_unsigned_header ones: names
/// lowercased; each value trimmed with runs of whitespace collapsed to one space; a value
/// folded over several lines (obs-fold) counts as one value per line; the values of a
/// repeated header joined by ',' in the order they appear.
canonical_headers_result canonical_headers(const boost::beast::http::fields& fields);

/// The credential scope "20150830/us-east-1/service/aws4_request"; `date` is YYYYMMDD.
std::string credential_scope(std::string_view date, std::string_view region,
                             std::string_view service);

/// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical_request>".
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
base::sha256_digest derive_signing_key(std::string_view secret_access_key, std::string_view date,
                                       std::string_view region, std::string_view service);

/// "AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<list>, Signature=<hex>".
std::string authorization_header(std::string_view access_key_id, std::string_view scope,
                                 std::string_view signed_headers, std::string_view signature);

/// The canonical request of `req` and the pieces it is made of.
struct canonical_request_result {
    std::string text;           ///< METHOD\nURI\nQUERY\nHEADERS\n\nSIGNED\nPAYLOAD_HASH
    std::string signed_headers; ///< as in canonical_headers_result
    std::string payload_hash;   ///< lowercase hex
};

/// Builds the canonical request of `req` as it stands (sign() adds X-Amz-Date and the
/// token first). The payload hash is the X-Amz-Content-Sha256 header when present (S3
/// style, e.g. UNSIGNED-PAYLOAD), otherwise hex SHA-256 of the body bytes.
canonical_request_result canonical_request(const http::request& req);

// ---- The signer ----

struct signer_options {
    /// true (every service sqs2pg talks to): X-Amz-Security-Token is set before signing
    /// and is a signed header. false: it is added after signing and not signed, as a few
    /// services require (the suite's post-sts-header-after case).
    bool sign_security_token = true;
};

/// What one signing produced; holds no secret (the signature is not one).
struct signature_details {
    std::string canonical_request;
    std::string signed_headers;
    std::string string_to_sign;
    std::string signature; ///< lowercase hex
    std::string authorization;
};

/// A header of a request signed without Beast's fields (signer::sign_raw).
struct header_field {
    std::string_view name;
    std::string_view value;
};

/// What sign_raw() produced: the values of the headers the caller adds to its request.
/// Views into the signer (and the credentials), valid until its next signing.
struct raw_signature {
    std::string_view amz_date;       ///< X-Amz-Date
    std::string_view authorization;  ///< Authorization
    std::string_view security_token; ///< X-Amz-Security-Token; empty: none to send
    bool token_signed = false;       ///< the token was among the signed headers
};

/// Signs requests for one region and service. Keeps the last signing key (per secret
/// and day) so that a request costs one HMAC of the string to sign, not five, and the
/// strings of the last signing, whose capacity the next one reuses: once they have
/// grown, sign() allocates nothing but Beast's two header fields.
/// Not thread-safe (one io_context thread); copyable.
class signer {
public:
    signer(std::string region, std::string service, signer_options options = {});

    /// Sets X-Amz-Date from `now`, sets X-Amz-Security-Token when `creds` have a token (and
    /// removes a stale one when they have not), replaces Authorization. The Host header and
    /// the final body must already be set; headers set afterwards are not covered, and
    /// Content-Length is signed only if it is present now. Signing again (a retry) is safe.
    /// Throws std::invalid_argument if the request has no Host header (a programming error).
    void sign(http::request& req, const credentials& creds,
              std::chrono::system_clock::time_point now);

    /// sign() for a request whose header its caller writes itself (the SQS client: a few
    /// fields, thousands of requests a second, no Beast fields to build): `headers` are
    /// the ones to sign, Host among them, and neither X-Amz-Date, the token nor
    /// Authorization; `target` is the path and query. The caller sends `headers`, then
    /// X-Amz-Date, the token when there is one, and Authorization as returned. The same
    /// signature as sign() gives a request with the same method, target, headers and body.
    /// Throws std::invalid_argument without a non-empty Host header.
    raw_signature sign_raw(std::string_view method, std::string_view target,
                           std::span<const header_field> headers, std::string_view body,
                           const credentials& creds, std::chrono::system_clock::time_point now);

    /// sign(), returning the intermediate strings (tests, debugging).
    signature_details sign_with_details(http::request& req, const credentials& creds,
                                        std::chrono::system_clock::time_point now);

    const std::string& region() const { return region_; }
    const std::string& service() const { return service_; }

private:
    const base::hmac_sha256_key& signing_key(const credentials& creds, std::string_view date);
    const signature_details& sign_in_place(http::request& req, const credentials& creds,
                                           std::chrono::system_clock::time_point now);
    /// The string to sign, the signature and Authorization of last_.canonical_request.
    const signature_details& finish(const credentials& creds, std::string_view amz_date);

    struct cached_key {
        std::string date;
        base::sha256_digest secret_digest{};
        base::hmac_sha256_key key;
    };

    std::string region_;
    std::string service_;
    signer_options options_;
    std::optional<cached_key> cache_;

    // The last signing's strings (sign_in_place); kept for their capacity.
    struct header_view {
        std::string_view name; ///< lower-cased, in names_
        std::string_view value;
    };
    std::string names_;
    std::vector<header_view> headers_;
    std::string scope_;
    std::string payload_hash_;
    signature_details last_;
    std::vector<header_field> raw_headers_; ///< sign_raw's headers with X-Amz-Date (and the token)
    std::array<char, 16> amz_date_{};       ///< sign_raw's X-Amz-Date, which its result views
};

} // namespace sqs2pg::aws
