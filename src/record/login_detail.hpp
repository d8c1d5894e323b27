// Internal interface of parse_login: the two ways to find the mapped fields' values (the
// general one through a json::value and the flattening walk, login.cpp; the fast SAX pass
// for flat maps, login_fast.cpp) and the validation both feed.
#pragma once

#include <sqs2pg/record/login.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sqs2pg::record::detail {

using result = boost::system::result<login, reject>;

/// A mapped field's JSON value, as validation sees it.
struct scalar {
    enum class kind : std::uint8_t { absent, null, string, int64, uint64, other };
    kind k = kind::absent;
    std::string_view text; ///< kind::string: the unescaped text (valid during the call)
    std::int64_t i = 0;    ///< kind::int64
    std::uint64_t u = 0;   ///< kind::uint64
};
using scalars = std::array<scalar, field_count>;

/// The login the fields' values make, or the first field's (in field order) reason to
/// reject it; an ambiguous field is rejected before its value is looked at.
result validate(const scalars& values, const std::array<bool, field_count>& ambiguous,
                const field_map& map);

/// Any body: a json::value, then the flattening walk (the behaviour the fast path must
/// match).
result parse_login_general(std::string_view body, const field_map& map);

/// A body whose mapped fields can be read in one SAX pass: a JSON object, a map without
/// dotted keys, each mapped key once with a scalar value (other keys' values, nested or
/// not, are skipped). nullopt for anything else (including any JSON error), which
/// parse_login_general then decides.
std::optional<result> parse_login_fast(std::string_view body, const field_map& map);

} // namespace sqs2pg::record::detail
