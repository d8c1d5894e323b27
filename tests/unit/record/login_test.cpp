// parse_login: the take-home message shape, every reject reason, type rules, limits in
// characters, flattening with a field map, and the field map syntax.
#include <sqs2pg/record/login.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

namespace sqs2pg::record {
namespace {

constexpr std::string_view good = R"({"user_id": "424cdd21-063a-43a7-b91b-7ca1a833afae",
    "app_version": "2.3.0", "device_type": "android", "ip": "199.172.111.135",
    "locale": "RU", "device_id": "593-47-5928"})";

// `good` with field `name` replaced by the JSON text `value` (or removed when empty).
std::string with(std::string_view name, std::string_view value) {
    auto obj = boost::json::parse(good).as_object();
    if (value.empty())
        obj.erase(name);
    else
        obj[name] = boost::json::parse(value);
    return boost::json::serialize(obj);
}

reject rejected(std::string_view body, const field_map& map = field_map::defaults()) {
    auto r = parse_login(body, map);
    EXPECT_FALSE(r.has_value()) << body;
    return r ? reject{} : r.error();
}

TEST(ParseLogin, TakeHomeMessage) {
    auto r = parse_login(good);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->user_id, "424cdd21-063a-43a7-b91b-7ca1a833afae");
    EXPECT_EQ(r->device_type, "android");
    EXPECT_EQ(r->ip, "199.172.111.135");
    EXPECT_EQ(r->device_id, "593-47-5928");
    EXPECT_EQ(r->locale, "RU");
    EXPECT_EQ(r->app_version, 2'003'000);
}

TEST(ParseLogin, LocaleMayBeNullOrAbsentOrEmpty) {
    EXPECT_EQ(parse_login(with("locale", "null"))->locale, std::nullopt);
    EXPECT_EQ(parse_login(with("locale", ""))->locale, std::nullopt);
    EXPECT_EQ(parse_login(with("locale", R"("")"))->locale, "");
}

TEST(ParseLogin, NotJson) {
    for (std::string_view body :
         {std::string_view(""), std::string_view("{"), std::string_view("{\"a\":1} trailing"),
          std::string_view("{'user_id': 1}"), std::string_view("{\"a\":\"\xff\"}"),
          std::string_view(R"({"a":"\ud800"})"), std::string_view("{\"a\":1,}")})
        EXPECT_EQ(rejected(body), (reject{reject_reason::not_json, ""})) << body;
    std::string deep(40, '[');
    deep += std::string(40, ']');
    EXPECT_EQ(rejected(R"({"x":)" + deep + "}").reason, reject_reason::not_json);
}

TEST(ParseLogin, NotObject) {
    for (std::string_view body : {"[]", "\"text\"", "42", "null", "true", "[{\"user_id\":1}]"})
        EXPECT_EQ(rejected(body), (reject{reject_reason::not_object, ""})) << body;
}

TEST(ParseLogin, MissingAndNullRequiredFields) {
    for (const char* name : {"user_id", "device_type", "ip", "device_id", "app_version"}) {
        EXPECT_EQ(rejected(with(name, "")), (reject{reject_reason::missing_field, name}));
        EXPECT_EQ(rejected(with(name, "null")), (reject{reject_reason::null_field, name}));
    }
    // The sample's odd message: the first field in validation order is reported.
    EXPECT_EQ(rejected(R"({"foo": "oops_wrong_msg_type", "bar": "123"})"),
              (reject{reject_reason::missing_field, "user_id"}));
}

TEST(ParseLogin, WrongTypes) {
    const std::pair<const char*, const char*> cases[] = {
        {"user_id", "true"},   {"user_id", "1.5"},      {"user_id", "[]"},   {"device_type", "1"},
        {"device_type", "{}"}, {"ip", "3232235777"},    {"ip", "[\"1.2\"]"}, {"device_id", "false"},
        {"device_id", "1e3"},  {"locale", "7"},         {"locale", "{}"},    {"app_version", "2.3"},
        {"app_version", "[]"}, {"app_version", "true"},
    };
    for (const auto& [name, value] : cases)
        EXPECT_EQ(rejected(with(name, value)), (reject{reject_reason::wrong_type, name}))
            << name << '=' << value;
}

TEST(ParseLogin, IntegersAreAcceptedWhereIdsAreExpected) {
    auto r = parse_login(with("user_id", "12345678901234567890"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->user_id, "12345678901234567890");
    r = parse_login(with("device_id", "-42"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->device_id, "-42");
    r = parse_login(with("app_version", "3"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->app_version, 3'000'000);
    EXPECT_EQ(rejected(with("app_version", "-1")).reason, reject_reason::invalid_app_version);
    EXPECT_EQ(rejected(with("app_version", "2147")).reason, reject_reason::invalid_app_version);
}

TEST(ParseLogin, LengthLimitsCountCharactersNotBytes) {
    const auto quoted = [](const std::string& s) { return '"' + s + '"'; };
    EXPECT_TRUE(parse_login(with("user_id", quoted(std::string(128, 'u')))));
    EXPECT_EQ(rejected(with("user_id", quoted(std::string(129, 'u')))),
              (reject{reject_reason::too_long, "user_id"}));
    std::string e_acute;
    for (int i = 0; i < 32; ++i)
        e_acute += "\xc3\xa9"; // 32 characters, 64 bytes
    EXPECT_TRUE(parse_login(with("device_type", quoted(e_acute))));
    EXPECT_EQ(rejected(with("device_type", quoted(e_acute + "x"))),
              (reject{reject_reason::too_long, "device_type"}));
    EXPECT_TRUE(parse_login(with("locale", quoted(std::string(32, 'l')))));
    EXPECT_EQ(rejected(with("locale", quoted(std::string(33, 'l')))),
              (reject{reject_reason::too_long, "locale"}));
    EXPECT_EQ(utf8_length("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), 4u);
}

TEST(ParseLogin, InvalidAppVersion) {
    for (const char* v : {R"("1.2.3.4")", R"("v1.2")", R"("1.")", R"("2147.0")", R"("1.1000")",
                          R"("beta")", R"(" 1.2")"})
        EXPECT_EQ(rejected(with("app_version", v)),
                  (reject{reject_reason::invalid_app_version, "app_version"}))
            << v;
}

TEST(ParseLogin, NulCharactersAreInvalidText) {
    for (const char* name : {"user_id", "device_type", "ip", "device_id", "locale"})
        EXPECT_EQ(rejected(with(name, R"("a\u0000b")")),
                  (reject{reject_reason::invalid_text, name}))
            << name;
}

TEST(ParseLogin, EmptyOrBlankRequiredText) {
    for (const char* name : {"user_id", "device_type", "ip", "device_id", "app_version"}) {
        EXPECT_EQ(rejected(with(name, R"("")")), (reject{reject_reason::empty_field, name}));
        EXPECT_EQ(rejected(with(name, R"(" \t\n")")), (reject{reject_reason::empty_field, name}));
    }
}

TEST(ParseLogin, ValuesAreKeptAsSent) {
    // Only the mask stage normalizes (ip, device_id); stored text fields are verbatim.
    auto r = parse_login(with("user_id", R"("  Mixed Case  ")"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->user_id, "  Mixed Case  ");
    r = parse_login(with("ip", R"(" ::FFFF:1.2.3.4 ")"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->ip, " ::FFFF:1.2.3.4 ");
}

TEST(ParseLogin, DuplicateJsonKeysKeepTheLast) {
    auto r = parse_login(R"({"user_id":"a","user_id":"b","device_type":"ios","ip":"1.2.3.4",
        "device_id":"d","app_version":"1"})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->user_id, "b");
}

TEST(ParseLogin, NestedObjectsFlattenToDottedKeys) {
    const field_map map =
        parse_field_map("device_id=device.id,ip=client.net.ip,locale=meta.locale");
    const std::string body = R"({"user_id":"u1","device_type":"ios","app_version":"1.0",
        "device":{"id":"D-1","model":{"name":"x"}},"client":{"net":{"ip":"10.0.0.1"}},
        "unrelated":{"deep":{"deeper":[1,2,{"a":null}]}}})";
    auto r = parse_login(body, map);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->device_id, "D-1");
    EXPECT_EQ(r->ip, "10.0.0.1");
    EXPECT_EQ(r->locale, std::nullopt);
    // A literal dotted key is the same flattened key.
    auto literal = parse_login(R"({"user_id":"u1","device_type":"ios","app_version":"1",
        "device.id":"D-2","client.net.ip":"10.0.0.2"})",
                               map);
    ASSERT_TRUE(literal);
    EXPECT_EQ(literal->device_id, "D-2");
    // ...so both spellings at once are ambiguous.
    EXPECT_EQ(rejected(R"({"user_id":"u1","device_type":"ios","app_version":"1",
        "device.id":"D-2","device":{"id":"D-3"},"client.net.ip":"10.0.0.2"})",
                       map),
              (reject{reject_reason::ambiguous_field, "device.id"}));
    // A mapped key that names an object is the wrong type; a missing one names its key.
    EXPECT_EQ(rejected(R"({"user_id":"u1","device_type":"ios","app_version":"1",
        "device":{"id":{"x":1}},"client":{"net":{"ip":"1"}}})",
                       map),
              (reject{reject_reason::wrong_type, "device.id"}));
    EXPECT_EQ(rejected(good, map), (reject{reject_reason::missing_field, "client.net.ip"}));
}

TEST(ParseLogin, LargeBodyWithinSqsLimit) {
    std::string body(good.substr(0, good.size() - 1));
    body += R"(, "padding": ")" + std::string(1000 * 1024, 'p') + "\"}";
    auto r = parse_login(body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->device_id, "593-47-5928");
}

TEST(FieldMap, ParsesAndFormats) {
    const field_map map = parse_field_map(" device_id = device.id , ip=client.ip");
    EXPECT_EQ(map.key(field::device_id), "device.id");
    EXPECT_EQ(map.key(field::ip), "client.ip");
    EXPECT_EQ(map.key(field::user_id), "user_id");
    EXPECT_EQ(format_field_map(map), "ip=client.ip,device_id=device.id");
    EXPECT_EQ(parse_field_map(format_field_map(map)), map);
    EXPECT_EQ(parse_field_map(""), field_map::defaults());
    EXPECT_EQ(format_field_map(field_map::defaults()), "");
}

TEST(FieldMap, RejectsBadSpecsWithAMessage) {
    for (const char* bad :
         {"device", "colour=c", "ip=", "ip=a,ip=b", "ip=device_id", "ip=x,device_id=x", "=x"}) {
        try {
            parse_field_map(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("field map"), std::string::npos);
        }
    }
}

TEST(RejectCodes, AreStableAndRoundTrip) {
    const std::pair<reject_reason, const char*> codes[] = {
        {reject_reason::not_json, "not_json"},
        {reject_reason::not_object, "not_object"},
        {reject_reason::missing_field, "missing_field"},
        {reject_reason::null_field, "null_field"},
        {reject_reason::wrong_type, "wrong_type"},
        {reject_reason::too_long, "too_long"},
        {reject_reason::invalid_app_version, "invalid_app_version"},
        {reject_reason::invalid_text, "invalid_text"},
        {reject_reason::empty_field, "empty_field"},
        {reject_reason::ambiguous_field, "ambiguous_field"},
        {reject_reason::invalid_ip, "invalid_ip"},
    };
    int expected_value = 1;
    for (const auto& [reason, code] : codes) {
        EXPECT_EQ(static_cast<int>(reason), expected_value++); // stored numbers never move
        EXPECT_EQ(reject_code(reason), code);
        EXPECT_EQ(parse_reject_code(code), reason);
        const boost::system::error_code ec = reason;
        EXPECT_EQ(ec.category().name(), std::string("sqs2pg.record"));
        EXPECT_FALSE(ec.message().empty());
        EXPECT_FALSE(is_retryable(reason));
    }
    EXPECT_FALSE(parse_reject_code("nope"));
}

TEST(RejectCodes, ValueThrowsWithCodeAndFieldOnly) {
    auto r = parse_login(with("ip", R"("secret\u0000ip")"));
    try {
        (void)r.value();
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "message rejected: invalid_text (ip)");
    }
}

} // namespace
} // namespace sqs2pg::record
