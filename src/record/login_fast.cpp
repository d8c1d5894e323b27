// The fast path of parse_login: one pass of the JSON fast paths' scanner
// (base/json_scanner.hpp) over the body, keeping only the mapped top-level keys' values,
// for a field map without dotted keys (the default). Nothing is built for the other keys
// (their values are checked and passed over); strings without escapes are read in place
// in the body. Anything it does not follow - a body that is not a JSON object, a mapped
// key twice or with an object, array, boolean or fraction as its value, an integer it
// cannot read exactly as Boost.JSON does, an exponent, nesting deeper than 16, anything
// that is not JSON - makes it give up, and parse_login_general (login.cpp) decides
// instead, so both always agree (tests/unit/record/login_fast_test.cpp checks it).
//
// It replaced a pass of Boost.JSON's SAX parser (docs/performance.md, the fifth round).
#include <sqs2pg/base/json_scanner.hpp>

#include "login_detail.hpp"

#include <array>
#include <string>

namespace sqs2pg::record::detail {
namespace {

constexpr std::size_t none = field_count;

// The field `key` maps to; `twice` when two fields read it (a map parse_field_map
// refuses, left to the general path as the SAX pass left it).
std::size_t field_of(const field_map& map, std::string_view key, bool& twice) {
    std::size_t found = none;
    for (std::size_t i = 0; i < field_count; ++i) {
        if (map.key(static_cast<field>(i)) != key)
            continue;
        if (found != none)
            twice = true;
        found = i;
    }
    return found;
}

// The value of mapped field `i`: a string, null or an integer; nullopt-worthy (false)
// otherwise.
bool read_scalar(base::scanner& s, scalar& v, std::string& owned) {
    if (s.next_is('"')) {
        v.k = scalar::kind::string;
        return s.string_view(v.text, owned);
    }
    if (s.next_is('n')) {
        v.k = scalar::kind::null;
        return s.literal("null");
    }
    v.k = scalar::kind::int64;
    return s.integer(v.i);
}

} // namespace

std::optional<result> parse_login_fast(std::string_view body, const field_map& map) {
    for (std::size_t i = 0; i < field_count; ++i)
        if (map.key(static_cast<field>(i)).find('.') != std::string::npos)
            return std::nullopt; // dotted keys reach into nested objects: the general walk
    base::scanner s(body);
    scalars values;
    std::array<std::string, field_count> owned; // escaped strings' text
    std::string key;
    const bool plain = s.object(key, [&](std::string_view name) {
        bool twice = false;
        const std::size_t i = field_of(map, name, twice);
        if (i == none)
            return s.skip_value(key, 16); // the name is read: its buffer is scratch now
        return !twice && values[i].k == scalar::kind::absent && read_scalar(s, values[i], owned[i]);
    });
    if (!plain || !s.at_end())
        return std::nullopt;
    return validate(values, {}, map);
}

} // namespace sqs2pg::record::detail
