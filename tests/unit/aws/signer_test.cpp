// The signer's rules one by one (path, query, header canonicalisation, dates, keys) and
// its behaviour on requests: token handling, re-signing, the key cache, redaction.
#include <sqs2pg/aws/signer.hpp>
#include <sqs2pg/base/encoding.hpp>

#include <gtest/gtest.h>

#include <sstream>

namespace sqs2pg::aws {
namespace {

namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

TEST(UriEncode, KeepsUnreservedAndEncodesTheRestUppercase) {
    EXPECT_EQ(uri_encode("AZaz09-._~", false), "AZaz09-._~");
    EXPECT_EQ(uri_encode("a b+c/d=e&f%", false), "a%20b%2Bc%2Fd%3De%26f%25");
    EXPECT_EQ(uri_encode("a b/c", true), "a%20b/c");
    EXPECT_EQ(uri_encode("\xe1\x88\xb4", false), "%E1%88%B4");
    EXPECT_EQ(uri_encode(std::string_view("\0\xff", 2), false), "%00%FF");
}

TEST(CanonicalUri, RemovesDotSegmentsAndEmptySegments) {
    EXPECT_EQ(canonical_uri(""), "/");
    EXPECT_EQ(canonical_uri("/"), "/");
    EXPECT_EQ(canonical_uri("//"), "/");
    EXPECT_EQ(canonical_uri("//example//"), "/example/");
    EXPECT_EQ(canonical_uri("/a//b///c"), "/a/b/c");
    EXPECT_EQ(canonical_uri("/./"), "/");
    EXPECT_EQ(canonical_uri("/./example"), "/example");
    EXPECT_EQ(canonical_uri("/example/.."), "/");
    EXPECT_EQ(canonical_uri("/example1/example2/../.."), "/");
    EXPECT_EQ(canonical_uri("/a/b/../c"), "/a/c");
    EXPECT_EQ(canonical_uri("/a/b/.."), "/a/");
    EXPECT_EQ(canonical_uri("/a/b/."), "/a/b/");
    EXPECT_EQ(canonical_uri("/../../a"), "/a");
    EXPECT_EQ(canonical_uri("/a/..b/.c"), "/a/..b/.c"); // only whole segments are dots
    EXPECT_EQ(canonical_uri("/123456789012/orders-queue"), "/123456789012/orders-queue");
}

TEST(CanonicalUri, EncodesThePathAsSentSoEncodedPathsAreEncodedTwice) {
    EXPECT_EQ(canonical_uri("/example space/"), "/example%20space/");
    EXPECT_EQ(canonical_uri("/\xe1\x88\xb4"), "/%E1%88%B4");
    // Non-S3 services compare against the path as it arrived, encoded once more.
    EXPECT_EQ(canonical_uri("/example%20space/"), "/example%2520space/");
    EXPECT_EQ(canonical_uri("/a+b:c@d"), "/a%2Bb%3Ac%40d");
}

// canonical_request() takes paths that are already canonical as they are (a queue's
// path) and gives every other path to canonical_uri(): both must give the same line.
TEST(CanonicalUri, TheRequestsShortcutAgreesWithCanonicalUri) {
    for (const std::string path : {"/",
                                   "",
                                   "/a",
                                   "/a/",
                                   "/123456789012/orders-queue",
                                   "/a-b_c.d~e/f",
                                   "//",
                                   "/a//b",
                                   "/a/b//",
                                   "/.",
                                   "/./",
                                   "/a/.",
                                   "/a/..",
                                   "/a/../b",
                                   "/..",
                                   "/a/..b/.c",
                                   "/.a/b.",
                                   "/a b",
                                   "/a%20b",
                                   "/\xe1\x88\xb4",
                                   "/a+b",
                                   "a/b",
                                   "/a/./b"}) {
        http::request req{bhttp::verb::get, path.empty() ? "/" : path, 11};
        if (path.empty())
            req.target("");
        req.set(bhttp::field::host, "example.com");
        const std::string text = canonical_request(req).text;
        const auto first = text.find('\n');
        const auto second = text.find('\n', first + 1);
        EXPECT_EQ(text.substr(first + 1, second - first - 1), canonical_uri(path)) << path;
    }
}

TEST(CanonicalQuery, SortsByEncodedNameThenValue) {
    EXPECT_EQ(canonical_query(""), "");
    EXPECT_EQ(canonical_query("Param2=value2&Param1=value1"), "Param1=value1&Param2=value2");
    EXPECT_EQ(canonical_query("Param1=value2&Param1=Value1"), "Param1=Value1&Param1=value2");
    EXPECT_EQ(canonical_query("b=1&B=2&a=3"), "B=2&a=3&b=1"); // byte order: uppercase first
    // Sorting happens on the encoded form: '%' (0x25) sorts before letters.
    EXPECT_EQ(canonical_query("a=1&%21=2"), "%21=2&a=1");
}

TEST(CanonicalQuery, EmptyValuesAndMissingEquals) {
    EXPECT_EQ(canonical_query("Param1"), "Param1=");
    EXPECT_EQ(canonical_query("Param1="), "Param1=");
    EXPECT_EQ(canonical_query("a=&b"), "a=&b=");
    EXPECT_EQ(canonical_query("a=1&&b=2&"), "a=1&b=2");
    EXPECT_EQ(canonical_query("a=b=c"), "a=b%3Dc");
}

TEST(CanonicalQuery, DecodesThenEncodesSoRawAndEncodedAgree) {
    EXPECT_EQ(canonical_query("\xe1\x88\xb4=bar"), "%E1%88%B4=bar");
    EXPECT_EQ(canonical_query("%e1%88%b4=bar"), "%E1%88%B4=bar");
    EXPECT_EQ(canonical_query("q=a b"), "q=a%20b");
    EXPECT_EQ(canonical_query("q=a%20b"), "q=a%20b");
    EXPECT_EQ(canonical_query("q=a+b"), "q=a%2Bb"); // '+' is a plus, not a space
    EXPECT_EQ(canonical_query("q=%7E%2d"), "q=~-");
    EXPECT_EQ(canonical_query("q=100%"), "q=100%25"); // a malformed escape is literal
    EXPECT_EQ(canonical_query("q=%zz"), "q=%25zz");
}

bhttp::fields make_fields(std::initializer_list<std::pair<const char*, const char*>> hs) {
    bhttp::fields f;
    for (const auto& [n, v] : hs)
        f.insert(n, v);
    return f;
}

TEST(CanonicalHeaders, LowercasesSortsAndListsSignedHeaders) {
    const auto r = canonical_headers(make_fields({{"X-Amz-Date", "20150830T123600Z"},
                                                  {"Host", "example.amazonaws.com"},
                                                  {"My-Header1", "VALUE1"}}));
    EXPECT_EQ(r.block, "host:example.amazonaws.com\nmy-header1:VALUE1\n"
                       "x-amz-date:20150830T123600Z\n");
    EXPECT_EQ(r.signed_headers, "host;my-header1;x-amz-date");
}

TEST(CanonicalHeaders, TrimsAndCollapsesWhitespace) {
    const auto r = canonical_headers(
        make_fields({{"My-Header1", "  value1  "}, {"My-Header2", "\"a   b \t  c\""}}));
    EXPECT_EQ(r.block, "my-header1:value1\nmy-header2:\"a b c\"\n");
}

TEST(CanonicalHeaders, RepeatedHeadersJoinInSendingOrder) {
    const auto r = canonical_headers(make_fields({{"My-Header1", "value4"},
                                                  {"Host", "h"},
                                                  {"my-header1", "value1"},
                                                  {"My-Header1", "value3"},
                                                  {"MY-HEADER1", "value1"}}));
    EXPECT_EQ(r.block, "host:h\nmy-header1:value4,value1,value3,value1\n");
    EXPECT_EQ(r.signed_headers, "host;my-header1");
}

TEST(CanonicalHeaders, FoldedLinesAreSeparateValues) {
    bhttp::fields f;
    f.insert("My-Header1", "value1\n  value2\n     value3");
    f.insert("My-Header2", "a\r\n\tb");
    const auto r = canonical_headers(f);
    EXPECT_EQ(r.block, "my-header1:value1,value2,value3\nmy-header2:a,b\n");
}

TEST(CanonicalHeaders, SkipsHeadersAProxyMayRewrite) {
    const auto r = canonical_headers(make_fields({{"Host", "h"},
                                                  {"User-Agent", "sqs2pg"},
                                                  {"Connection", "keep-alive"},
                                                  {"Authorization", "old"},
                                                  {"Expect", "100-continue"},
                                                  {"Content-Length", "13"}}));
    EXPECT_EQ(r.signed_headers, "content-length;host");
}

TEST(AmzDate, FormatsAndParses) {
    const auto t = std::chrono::sys_days{std::chrono::year{2015} / 8 / 30} + 12h + 36min;
    EXPECT_EQ(format_amz_date(t), "20150830T123600Z");
    EXPECT_EQ(format_amz_date(t + 999ms), "20150830T123600Z"); // whole seconds
    EXPECT_EQ(format_amz_date(std::chrono::sys_days{std::chrono::year{1999} / 12 / 31} + 23h +
                              59min + 59s),
              "19991231T235959Z");
    EXPECT_EQ(
        format_amz_date(std::chrono::sys_days{std::chrono::year{2024} / 2 / 29} + 1h + 2min + 3s),
        "20240229T010203Z");
    EXPECT_EQ(format_amz_date(std::chrono::sys_days{std::chrono::year{2000} / 1 / 1}),
              "20000101T000000Z");
    EXPECT_EQ(parse_amz_date("20150830T123600Z"), t);
    EXPECT_EQ(parse_amz_date("20240229T235959Z"),
              std::chrono::sys_days{std::chrono::year{2024} / 2 / 29} + 23h + 59min + 59s);
    EXPECT_FALSE(parse_amz_date("20230229T000000Z")); // not a leap year
    EXPECT_FALSE(parse_amz_date("20150830T123600"));
    EXPECT_FALSE(parse_amz_date("2015-08-30T12:36:00Z"));
    EXPECT_FALSE(parse_amz_date("20150830T246000Z"));
}

TEST(SigningKey, MatchesTheAwsDocumentationExample) {
    // "Examples of how to derive a signing key for Signature Version 4" (AWS docs).
    const auto k = derive_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                      "us-east-1", "iam");
    EXPECT_EQ(base::to_hex(base::as_bytes(k)),
              "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

http::request sqs_request(std::string body = "Action=ListQueues&Version=2012-11-05") {
    http::request req{bhttp::verb::post, "/", 11};
    req.set(bhttp::field::host, "sqs.us-east-1.amazonaws.com");
    req.set(bhttp::field::content_type, "application/x-www-form-urlencoded; charset=utf-8");
    req.body() = std::move(body);
    return req;
}

const auto t0 = std::chrono::sys_days{std::chrono::year{2024} / 1 / 15} + 8h + 30min;

TEST(Signer, AddsDateAndAuthorizationOnly) {
    signer s("us-east-1", "sqs");
    auto req = sqs_request();
    s.sign(req, {"AKIAIOSFODNN7EXAMPLE", "secret", {}, {}}, t0);
    EXPECT_EQ(req["X-Amz-Date"], "20240115T083000Z");
    EXPECT_EQ(req.find("X-Amz-Security-Token"), req.end());
    const std::string authz(req[bhttp::field::authorization]);
    EXPECT_EQ(authz.rfind("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240115/us-east-1/"
                          "sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date, "
                          "Signature=",
                          0),
              0u)
        << authz;
    EXPECT_EQ(std::distance(req.begin(), req.end()), 4);
}

TEST(Signer, SessionTokenIsSetBeforeSigningAndSigned) {
    signer s("us-east-1", "sqs");
    auto req = sqs_request();
    const auto d = s.sign_with_details(req, {"AKID", "secret", "TOKEN+/=", {}}, t0);
    EXPECT_EQ(req["X-Amz-Security-Token"], "TOKEN+/=");
    EXPECT_EQ(d.signed_headers, "content-type;host;x-amz-date;x-amz-security-token");
    EXPECT_NE(d.canonical_request.find("\nx-amz-security-token:TOKEN+/=\n"), std::string::npos);
}

TEST(Signer, UnsignedTokenModeAddsTheTokenAfterSigning) {
    signer s("us-east-1", "sqs", signer_options{.sign_security_token = false});
    auto req = sqs_request();
    const auto d = s.sign_with_details(req, {"AKID", "secret", "TOKEN", {}}, t0);
    EXPECT_EQ(req["X-Amz-Security-Token"], "TOKEN");
    EXPECT_EQ(d.signed_headers, "content-type;host;x-amz-date");
    // Same signature as a request signed without any token.
    auto plain = sqs_request();
    EXPECT_EQ(signer("us-east-1", "sqs")
                  .sign_with_details(plain, {"AKID", "secret", {}, {}}, t0)
                  .signature,
              d.signature);
}

TEST(Signer, SigningAgainReplacesDateTokenAndAuthorization) {
    signer s("us-east-1", "sqs");
    auto req = sqs_request();
    s.sign(req, {"AKID", "secret", "OLDTOKEN", {}}, t0);
    s.sign(req, {"AKID", "secret", {}, {}}, t0 + 5s);
    EXPECT_EQ(req.count(bhttp::field::authorization), 1u);
    EXPECT_EQ(req.count("X-Amz-Date"), 1u);
    EXPECT_EQ(req["X-Amz-Date"], "20240115T083005Z");
    EXPECT_EQ(req.find("X-Amz-Security-Token"), req.end()); // stale token removed
    // The result equals signing a fresh request at that time.
    auto fresh = sqs_request();
    signer("us-east-1", "sqs").sign(fresh, {"AKID", "secret", {}, {}}, t0 + 5s);
    EXPECT_EQ(req[bhttp::field::authorization], fresh[bhttp::field::authorization]);
}

TEST(Signer, CachedKeyFollowsTheSecretAndTheDay) {
    signer cached("us-east-1", "sqs");
    for (const auto& [secret, when] : {std::pair{"s1", t0}, std::pair{"s2", t0},
                                       std::pair{"s2", t0 + 24h}, std::pair{"s1", t0 + 24h}}) {
        auto a = sqs_request(), b = sqs_request();
        cached.sign(a, {"AKID", secret, {}, {}}, when);
        signer("us-east-1", "sqs").sign(b, {"AKID", secret, {}, {}}, when); // fresh, no cache
        EXPECT_EQ(a[bhttp::field::authorization], b[bhttp::field::authorization])
            << secret << " day " << (when == t0 ? 0 : 1);
    }
}

TEST(Signer, SignatureCoversBodyAndRegion) {
    auto sig = [](std::string region, std::string body) {
        auto req = sqs_request(std::move(body));
        return signer(std::move(region), "sqs")
            .sign_with_details(req, {"AKID", "secret", {}, {}}, t0)
            .signature;
    };
    EXPECT_NE(sig("us-east-1", "a=1"), sig("us-east-1", "a=2"));
    EXPECT_NE(sig("us-east-1", "a=1"), sig("eu-west-1", "a=1"));
}

TEST(Signer, RequiresAHostHeader) {
    http::request req{bhttp::verb::post, "/", 11};
    EXPECT_THROW(signer("us-east-1", "sqs").sign(req, {"AKID", "secret", {}, {}}, t0),
                 std::invalid_argument);
}

// sign_raw() signs what sign() signs: the same Authorization for the same method,
// target, headers and body, with and without a token, signed or not, in any header
// order and case, and on a signer that signed something else before.
TEST(Signer, RawSigningAgreesWithSigningTheRequest) {
    struct variant {
        const char* target;
        std::vector<std::pair<std::string, std::string>> headers;
        std::string body;
    };
    const std::vector<variant> variants{
        {"/",
         {{"Host", "sqs.us-east-1.amazonaws.com"},
          {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
         "Action=ReceiveMessage&QueueUrl=x"},
        {"/123456789012/q",
         {{"Content-Type", "application/x-amz-json-1.0"},
          {"X-Amz-Target", "AmazonSQS.DeleteMessageBatch"},
          {"host", "127.0.0.1:4566"}},
         R"({"QueueUrl":"q","Entries":[]})"},
        {"/a%20b/./c?b=2&a=1",
         {{"Host", "h"}, {"X-Custom", "  two   spaces "}, {"User-Agent", "not signed"}},
         ""},
    };
    const std::vector<credentials> creds{{"AKID", "secret", {}, {}},
                                         {"AKID", "secret", "TOKEN+/=", {}}};
    for (const bool sign_token : {true, false}) {
        signer raw("us-east-1", "sqs", signer_options{.sign_security_token = sign_token});
        for (const auto& v : variants) {
            for (const auto& c : creds) {
                http::request req{bhttp::verb::post, v.target, 11};
                std::vector<header_field> fields;
                for (const auto& [name, value] : v.headers) {
                    req.insert(name, value);
                    fields.push_back({name, value});
                }
                req.body() = v.body;
                signer("us-east-1", "sqs", signer_options{.sign_security_token = sign_token})
                    .sign(req, c, t0);
                const raw_signature got = raw.sign_raw("POST", v.target, fields, v.body, c, t0);
                EXPECT_EQ(got.authorization, req[bhttp::field::authorization]) << v.target;
                EXPECT_EQ(got.amz_date, req["X-Amz-Date"]);
                EXPECT_EQ(got.security_token, req["X-Amz-Security-Token"]);
                EXPECT_EQ(got.token_signed, sign_token && !c.session_token.empty());
            }
        }
    }
    signer raw("us-east-1", "sqs");
    const std::vector<header_field> no_host{{"Content-Type", "x"}};
    EXPECT_THROW(raw.sign_raw("POST", "/", no_host, "", creds[0], t0), std::invalid_argument);
}

TEST(Credentials, PrintOnlyRedacted) {
    const credentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG", "SESSIONTOKENVALUE",
                        std::chrono::sys_days{std::chrono::year{2024} / 1 / 15} + 8h + 30min + 5s};
    std::ostringstream os;
    os << c;
    EXPECT_EQ(os.str(), "credentials{access_key_id=AKIA...MPLE, secret=<redacted>, "
                        "session_token=<present>, expiration=2024-01-15T08:30:05Z}");
    EXPECT_EQ(os.str().find("wJalr"), std::string::npos);
    EXPECT_EQ(describe({"test", "test", {}, {}}),
              "credentials{access_key_id=test, secret=<redacted>, session_token=<none>}");
}

} // namespace
} // namespace sqs2pg::aws
