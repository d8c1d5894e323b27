// Every case under tests/data/sigv4 as a test: the AWS SigV4 suite (.req → .creq, .sts,
// .authz, .sreq byte for byte) and the botocore-signed SQS vectors (sqs/*.json). Cases are
// found by listing the directory, so a case dropped in there is tested without code changes.
#include <sqs2pg/aws/signer.hpp>

#include "test_env.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace sqs2pg::aws {
namespace {

namespace fs = std::filesystem;
namespace bhttp = boost::beast::http;

// The suite's constants (tests/data/sigv4/README.md).
constexpr std::string_view suite_access_key = "AKIDEXAMPLE";
constexpr std::string_view suite_secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view suite_region = "us-east-1";
constexpr std::string_view suite_service = "service";
constexpr std::string_view suite_date = "20150830T123600Z";

struct raw_header {
    std::string name;
    std::string value; // continuation lines kept, joined by '\n' (obs-fold)
};

// A .req or .sreq file: request line, header lines (a line starting with whitespace
// continues the previous header), then optionally an empty line and the body.
struct raw_request {
    std::string method, target, version;
    std::vector<raw_header> headers;
    std::string header_text; // the request line and header lines as written
    std::optional<std::string> body;
};

raw_request parse_raw_request(const std::string& text) {
    raw_request r;
    const std::size_t blank = text.find("\n\n");
    r.header_text = text.substr(0, blank);
    if (blank != std::string::npos)
        r.body = text.substr(blank + 2);
    std::vector<std::string> lines;
    for (std::size_t start = 0; start <= r.header_text.size();) {
        std::size_t nl = r.header_text.find('\n', start);
        if (nl == std::string::npos)
            nl = r.header_text.size();
        std::string line = r.header_text.substr(start, nl - start);
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        lines.push_back(std::move(line));
        start = nl + 1;
    }
    // The target may hold spaces (get-space): method is up to the first space, version
    // after the last.
    const std::string& rl = lines.at(0);
    const std::size_t sp1 = rl.find(' '), sp2 = rl.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1)
        throw std::runtime_error("bad request line: " + rl);
    r.method = rl.substr(0, sp1);
    r.target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
    r.version = rl.substr(sp2 + 1);
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
            if (r.headers.empty())
                throw std::runtime_error("continuation line before any header");
            r.headers.back().value += '\n';
            r.headers.back().value += line;
            continue;
        }
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos)
            throw std::runtime_error("bad header line: " + line);
        r.headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
    }
    return r;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

const raw_header* find_header(const std::vector<raw_header>& hs, std::string_view name) {
    for (const auto& h : hs)
        if (iequals(h.name, name))
            return &h;
    return nullptr;
}

std::string sigv4_dir() {
    return sqs2pg::test::data_path("sigv4");
}

// A suite case is a directory D holding D/<name of D>.req; the suite nests some cases
// (normalize-path/, post-sts-token/), so the search is recursive.
std::vector<std::string> suite_cases() {
    std::vector<std::string> cases;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(sigv4_dir(), ec), end; !ec && it != end;
         it.increment(ec)) {
        if (!it->is_directory())
            continue;
        const fs::path req = it->path() / (it->path().filename().string() + ".req");
        if (fs::exists(req))
            cases.push_back(fs::relative(it->path(), sigv4_dir()).string());
    }
    std::sort(cases.begin(), cases.end());
    return cases;
}

std::vector<std::string> sqs_vectors() {
    std::vector<std::string> files;
    std::error_code ec;
    for (fs::directory_iterator it(sigv4_dir() + "/sqs", ec), end; !ec && it != end;
         it.increment(ec))
        if (it->path().extension() == ".json")
            files.push_back(it->path().filename().string());
    std::sort(files.begin(), files.end());
    return files;
}

std::string test_name(std::string s) {
    for (char& c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)))
            c = '_';
    return s;
}

std::string read_case_file(const std::string& rel, std::string_view ext) {
    const fs::path dir = fs::path(sigv4_dir()) / rel;
    return sqs2pg::test::read_file((dir / (dir.filename().string() + std::string(ext))).string());
}

TEST(Sigv4Data, AllSharedCasesArePresent) {
    // Guards against a test run that silently finds nothing (wrong data directory).
    EXPECT_GE(suite_cases().size(), 20u);
    EXPECT_GE(sqs_vectors().size(), 5u);
}

class Sigv4Suite : public ::testing::TestWithParam<std::string> {};

TEST_P(Sigv4Suite, ProducesTheExpectedFiles) {
    const std::string& name = GetParam();
    const raw_request in = parse_raw_request(read_case_file(name, ".req"));
    const raw_request expected_signed = parse_raw_request(read_case_file(name, ".sreq"));

    credentials creds{std::string(suite_access_key), std::string(suite_secret), {}, {}};
    signer_options options;

    http::request req;
    req.method_string(in.method);
    req.target(in.target);
    req.version(11);
    for (const auto& h : in.headers) {
        // The token in a .req (post-sts-header-before) comes in through the credentials,
        // so the signer's own token handling is what gets tested.
        if (iequals(h.name, "X-Amz-Security-Token")) {
            creds.session_token = h.value;
            continue;
        }
        req.insert(h.name, h.value);
    }
    if (in.body)
        req.body() = *in.body;
    // A header the .sreq has beyond the .req and Authorization was added after signing:
    // in the suite, only the unsigned session token (post-sts-header-after).
    for (const auto& h : expected_signed.headers) {
        if (iequals(h.name, "Authorization") || find_header(in.headers, h.name))
            continue;
        ASSERT_TRUE(iequals(h.name, "X-Amz-Security-Token"))
            << "the .sreq adds a header the signer cannot know: " << h.name;
        creds.session_token = h.value;
        options.sign_security_token = false;
    }

    const raw_header* date = find_header(in.headers, "X-Amz-Date");
    const auto now = parse_amz_date(date ? std::string_view(date->value) : suite_date);
    ASSERT_TRUE(now.has_value());

    signer s(std::string(suite_region), std::string(suite_service), options);
    const signature_details d = s.sign_with_details(req, creds, *now);

    EXPECT_EQ(d.canonical_request, read_case_file(name, ".creq"));
    EXPECT_EQ(d.string_to_sign, read_case_file(name, ".sts"));
    EXPECT_EQ(d.authorization, read_case_file(name, ".authz"));
    EXPECT_EQ(req[bhttp::field::authorization], d.authorization);

    // The .sreq is the .req plus what the signer added: headers the caller set keep their
    // values, new ones follow as "Name:value", Authorization last as "Authorization: value".
    for (const auto& h : in.headers) {
        if (!iequals(h.name, "X-Amz-Security-Token")) {
            EXPECT_NE(req.find(h.name), req.end()) << h.name;
        }
    }
    std::string sreq = in.header_text;
    for (const auto& f : req) {
        if (f.name() == bhttp::field::authorization || find_header(in.headers, f.name_string()))
            continue;
        sreq.append("\n").append(f.name_string()).append(":").append(f.value());
    }
    sreq.append("\nAuthorization: ").append(req[bhttp::field::authorization]);
    if (in.body)
        sreq.append("\n\n").append(*in.body);
    EXPECT_EQ(sreq, read_case_file(name, ".sreq"));
}

INSTANTIATE_TEST_SUITE_P(Aws2015, Sigv4Suite, ::testing::ValuesIn(suite_cases()),
                         [](const auto& info) { return test_name(info.param); });

class Sigv4Sqs : public ::testing::TestWithParam<std::string> {};

TEST_P(Sigv4Sqs, MatchesBotocore) {
    const auto doc =
        boost::json::parse(sqs2pg::test::read_file(sigv4_dir() + "/sqs/" + GetParam()));
    const auto& v = doc.as_object();
    auto str = [](const boost::json::value& x) { return std::string(x.as_string()); };

    const std::string url = str(v.at("url"));
    const std::size_t path_at = url.find('/', url.find("://") + 3);
    http::request req;
    req.method_string(str(v.at("method")));
    req.target(path_at == std::string::npos ? "/" : url.substr(path_at));
    req.version(11);
    for (const auto& [name, value] : v.at("headers").as_object())
        req.set(name, str(value));
    req.body() = str(v.at("body"));

    credentials creds{str(v.at("access_key")), str(v.at("secret_key")), {}, {}};
    if (const auto* tok = v.if_contains("session_token"))
        creds.session_token = str(*tok);
    const auto now = parse_amz_date(str(v.at("amz_date")));
    ASSERT_TRUE(now.has_value());

    signer s(str(v.at("region")), str(v.at("service")));
    const signature_details d = s.sign_with_details(req, creds, *now);

    const auto& e = v.at("expected").as_object();
    EXPECT_EQ(canonical_request(req).payload_hash, str(e.at("payload_hash")));
    EXPECT_EQ(d.canonical_request, str(e.at("canonical_request")));
    EXPECT_EQ(d.signed_headers, str(e.at("signed_headers")));
    EXPECT_EQ(d.string_to_sign, str(e.at("string_to_sign")));
    EXPECT_EQ(d.signature, str(e.at("signature")));
    EXPECT_EQ(d.authorization, str(e.at("authorization")));

    // Exactly these headers, in this order, with these values: what goes on the wire.
    std::vector<std::pair<std::string, std::string>> actual, expected;
    for (const auto& f : req)
        actual.emplace_back(std::string(f.name_string()), std::string(f.value()));
    for (const auto& [name, value] : e.at("headers_after_signing").as_object())
        expected.emplace_back(std::string(name), str(value));
    EXPECT_EQ(actual, expected);
}

INSTANTIATE_TEST_SUITE_P(Botocore, Sigv4Sqs, ::testing::ValuesIn(sqs_vectors()),
                         [](const auto& info) {
                             return test_name(fs::path(info.param).stem().string());
                         });

} // namespace
} // namespace sqs2pg::aws
