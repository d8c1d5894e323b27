// parse_login's fast path (src/record/login_fast.cpp) against the general one it stands in
// for: on random bodies - every value type under mapped and other keys, escapes, nesting,
// repeated keys, broken JSON - parse_login answers exactly as parse_login_general does,
// and the fast path takes most plain bodies.
#include "login_detail.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace sqs2pg::record {
namespace {

namespace json = boost::json;

std::string random_text(std::mt19937& rng) {
    static const std::vector<std::string> pieces = {
        "a",    "Z",    "0",      " ",      "\t",
        "\"",   "\\",   "/",      "\n",     std::string(1, '\0'),
        "\x01", "\x7f", "\u00e9", "\u65e5", "\U0001F680",
        ".",    "1",    "2.3",    "4.5.6",  "user_id",
        "{",    "]",
    };
    std::string s;
    const std::size_t n = rng() % 6 == 0 ? 150 + rng() % 200 : rng() % 12;
    while (s.size() < n)
        s += pieces[rng() % pieces.size()];
    return s;
}

// Any JSON value, as text; objects may nest and may use the mapped names inside.
std::string random_value(std::mt19937& rng, const std::vector<std::string>& keys, int depth) {
    switch (rng() % 12) {
    case 0:
    case 1:
    case 2:
    case 3:
        return json::serialize(json::value(random_text(rng)));
    case 4: // a version-like or id-like plain string, read in place
        return '"' + std::to_string(rng() % 40) + "." + std::to_string(rng() % 40) + '"';
    case 5:
        return std::to_string(static_cast<std::int64_t>(rng()) - (1ll << 31));
    case 6:
        return rng() % 2 ? "18446744073709551615" : "99999999999999999999"; // uint64, double
    case 7:
        return rng() % 2 ? "2.5" : "-0";
    case 8:
        return rng() % 2 ? "true" : "null";
    case 9:
        if (depth < 3) {
            std::string o = "{";
            for (std::size_t i = 0, n = rng() % 3; i < n; ++i)
                o += (i ? "," : "") + json::serialize(json::value(keys[rng() % keys.size()])) +
                     ":" + random_value(rng, keys, depth + 1);
            return o + "}";
        }
        return "{}";
    case 10:
        return depth < 3 ? "[" + random_value(rng, keys, depth + 1) + ",1]" : "[]";
    default:
        return "\"\"";
    }
}

// A value field i accepts, mostly plain, sometimes escaped or an integer.
std::string valid_value(std::mt19937& rng, std::size_t i) {
    if (static_cast<field>(i) == field::app_version)
        return rng() % 4 ? '"' + std::to_string(rng() % 9) + "." + std::to_string(rng() % 20) +
                               "." + std::to_string(rng() % 20) + '"'
                         : std::to_string(rng() % 30);
    switch (rng() % 4) {
    case 0:
        return json::serialize(json::value("v\u00e9\"" + std::to_string(rng())));
    case 1:
        return std::to_string(rng());
    default:
        return "\"v" + std::to_string(rng()) + '"';
    }
}

std::string random_body(std::mt19937& rng, const std::vector<std::string>& keys) {
    std::string body = rng() % 4 == 0 ? " {\n" : "{";
    bool first = true;
    for (std::size_t k = 0; k < keys.size(); ++k) {
        // Mostly each key once; sometimes absent, sometimes twice. The mapped keys (the
        // first field_count) mostly hold a value their field accepts.
        const unsigned r = rng() % 30;
        for (unsigned copies = r == 0 ? 0 : r == 1 ? 2 : 1; copies > 0; --copies) {
            body += first ? "" : ",";
            first = false;
            const bool valid = k < field_count && rng() % 10 != 0;
            body += json::serialize(json::value(keys[k])) + ":" +
                    (valid ? valid_value(rng, k) : random_value(rng, keys, 1));
        }
    }
    body += "}";
    switch (rng() % 25) { // sometimes broken, or not an object
    case 0:
        return body.substr(0, rng() % body.size());
    case 1:
        return body + " x";
    case 2:
        return "[" + body + "]";
    case 3:
        return random_value(rng, keys, 3);
    default:
        return body;
    }
}

void expect_same(std::string_view body, const field_map& map) {
    const auto both = parse_login(body, map);
    const auto general = detail::parse_login_general(body, map);
    ASSERT_EQ(both.has_value(), general.has_value()) << body;
    if (general)
        EXPECT_EQ(*both, *general) << body;
    else
        EXPECT_EQ(both.error(), general.error()) << body;
}

TEST(ParseLoginFast, AgreesWithTheGeneralPathOnRandomBodies) {
    field_map custom; // a flat map with other names: still the fast path's
    custom.set(field::user_id, "uid");
    custom.set(field::ip, "client ip");
    const field_map* const maps[] = {&field_map::defaults(), &custom};
    for (const field_map* map : maps) {
        std::vector<std::string> keys;
        for (std::size_t i = 0; i < field_count; ++i)
            keys.push_back(map->key(static_cast<field>(i)));
        keys.push_back("extra");
        keys.push_back("nested");
        std::mt19937 rng(map == &custom ? 2 : 1);
        int fast = 0, logins = 0;
        for (int round = 0; round < 3000; ++round) {
            const std::string body = random_body(rng, keys);
            expect_same(body, *map);
            if (detail::parse_login_fast(body, *map))
                ++fast;
            if (parse_login(body, *map))
                ++logins;
        }
        // The generator reaches both paths and both outcomes.
        EXPECT_GT(fast, 500);
        EXPECT_LT(fast, 3000);
        EXPECT_GT(logins, 300);
    }
}

TEST(ParseLoginFast, TakesPlainBodiesAndLeavesTheRestToTheGeneralPath) {
    const std::string plain =
        R"({"user_id":"u1","app_version":"2.3.0","device_type":"android","ip":"10.0.0.1",)"
        R"("locale":"RU","device_id":"d\u0031","extra":{"ip":1,"a":[{"b":null}]}})";
    const auto fast = detail::parse_login_fast(plain, field_map::defaults());
    ASSERT_TRUE(fast && *fast);
    EXPECT_EQ((*fast)->device_id, "d1");
    EXPECT_EQ((*fast)->ip, "10.0.0.1");
    for (const std::string& body : std::vector<std::string>{
             R"({"user_id":"a","user_id":"b"})", // a mapped key twice
             R"({"user_id":{"x":1}})",           // an object under a mapped key
             R"({"ip":[1]})",                    // an array under a mapped key
             R"([{"user_id":"a"}])",
             R"("x")",
             "1",
             "", // not an object
             R"({"user_id":"a"} x)",
             R"({"user_id":"a")",
             // What the scanner leaves to Boost.JSON: numbers it does not read exactly as
             // Boost.JSON does, booleans under a mapped key, exponents, deep nesting.
             R"({"user_id":-0})",
             R"({"user_id":01})",
             R"({"user_id":1.5})",
             R"({"user_id":1e5})",
             R"({"user_id":1234567890123456789})",
             R"({"user_id":true})",
             R"({"extra":2E3,"user_id":"a"})",
             R"({"extra":1.})",
             R"({"extra":-})",
             R"({"extra":)" + std::string(17, '[') + std::string(17, ']') + "}",
             R"({"extra":tru})",
             "{\"extra\":\"\xc3\"}",
         }) {
        EXPECT_FALSE(detail::parse_login_fast(body, field_map::defaults())) << body;
        expect_same(body, field_map::defaults());
    }
    // Nesting 16 deep is still passed over.
    EXPECT_TRUE(detail::parse_login_fast(R"({"extra":)" + std::string(16, '[') +
                                             std::string(16, ']') + R"(,"user_id":"u"})",
                                         field_map::defaults()));
    // A dotted map reaches into nested objects: always the general walk.
    EXPECT_FALSE(detail::parse_login_fast(plain, parse_field_map("device_id=extra.ip")));
    expect_same(plain, parse_field_map("device_id=extra.ip"));
}

} // namespace
} // namespace sqs2pg::record
