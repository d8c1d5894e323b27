// The fast path of parse_login: one pass of Boost.JSON's SAX parser over the body,
// keeping only the mapped top-level keys' values, for a field map without dotted keys
// (the default). Nothing is built for the other keys; strings without escapes are read
// in place in the body. Anything it does not follow - a body that is not a JSON object,
// any JSON error, a mapped key twice or with an object or array value - makes it give up,
// and parse_login_general (login.cpp) decides instead, so both always agree
// (tests/unit/record/login_fast_test.cpp checks it).
#include <sqs2pg/base/json_sax.hpp>

#include "login_detail.hpp"

#include <functional>
#include <string>

namespace sqs2pg::record::detail {
namespace json = boost::json;
namespace {

class handler : public base::sax_fast_path<handler> {
public:
    handler(const field_map& map, std::string_view body)
        : map_(map)
        , body_(body) {}

    scalars values;

    bool finished() const noexcept { return root_done_; }

    bool on_object_begin(error_code& ec) {
        if (depth_ == 1 && pending_ != none)
            return give_up(ec); // a mapped key's value is an object: wrong_type, there
        ++depth_;
        return true;
    }

    bool on_object_end(std::size_t, error_code&) {
        if (--depth_ == 0)
            root_done_ = true;
        return true;
    }

    bool on_array_begin(error_code& ec) {
        if (depth_ == 0 || (depth_ == 1 && pending_ != none))
            return give_up(ec); // not an object, or a mapped key's value is an array
        ++depth_;
        return true;
    }

    bool on_array_end(std::size_t, error_code&) {
        --depth_;
        return true;
    }

    bool on_string_part(json::string_view s, std::size_t, error_code&) {
        if (mapped_value()) {
            owned_[pending_].append(s.data(), s.size());
            in_parts_ = true;
        }
        return true;
    }

    bool on_string(json::string_view s, std::size_t, error_code& ec) {
        if (depth_ == 0)
            return give_up(ec); // the body is a string
        if (!mapped_value())
            return true;
        scalar& v = values[pending_];
        v.k = scalar::kind::string;
        const std::less<const char*> before;
        if (!in_parts_ && !before(s.data(), body_.data()) &&
            !before(body_.data() + body_.size(), s.data() + s.size())) {
            v.text = std::string_view(s.data(), s.size()); // unescaped: in place in the body
        } else {
            // Unescaped by the parser into its own buffer, which the next event reuses.
            std::string& own = owned_[pending_];
            own.append(s.data(), s.size());
            v.text = own;
        }
        in_parts_ = false;
        pending_ = none;
        return true;
    }

    bool on_number_part(json::string_view, error_code&) { return true; }

    bool on_int64(std::int64_t i, json::string_view, error_code& ec) {
        if (depth_ == 0)
            return give_up(ec);
        if (mapped_value())
            take(scalar::kind::int64).i = i;
        return true;
    }

    bool on_uint64(std::uint64_t u, json::string_view, error_code& ec) {
        if (depth_ == 0)
            return give_up(ec);
        if (mapped_value())
            take(scalar::kind::uint64).u = u;
        return true;
    }

    bool on_double(double, json::string_view, error_code& ec) { return other(ec); }
    bool on_bool(bool, error_code& ec) { return other(ec); }

    bool on_null(error_code& ec) {
        if (depth_ == 0)
            return give_up(ec);
        if (mapped_value())
            take(scalar::kind::null);
        return true;
    }

private:
    friend class base::sax_fast_path<handler>;
    static constexpr std::size_t none = field_count;

    bool take_key(std::string_view key, error_code& ec) {
        if (depth_ != 1)
            return true; // a key inside another key's value: never a mapped one here
        pending_ = none;
        for (std::size_t i = 0; i < field_count; ++i) {
            if (map_.key(static_cast<field>(i)) != key)
                continue;
            // A mapped key twice, or a key two fields read (a map parse_field_map refuses).
            if (values[i].k != scalar::kind::absent || pending_ != none)
                return give_up(ec);
            pending_ = i;
        }
        return true;
    }

    // A value of the root object under a mapped key (not inside another value).
    bool mapped_value() const noexcept { return depth_ == 1 && pending_ != none; }

    scalar& take(scalar::kind k) {
        scalar& v = values[pending_];
        v.k = k;
        pending_ = none;
        return v;
    }

    bool other(error_code& ec) { // a boolean or a fraction: neither text nor integer
        if (depth_ == 0)
            return give_up(ec);
        if (mapped_value())
            take(scalar::kind::other);
        return true;
    }

    const field_map& map_;
    std::string_view body_;
    std::array<std::string, field_count> owned_; // escaped strings' text
    std::size_t depth_ = 0;                      // 1: in the root object
    std::size_t pending_ = none;                 // the field whose value comes next
    bool in_parts_ = false;
    bool root_done_ = false;
};

} // namespace

std::optional<result> parse_login_fast(std::string_view body, const field_map& map) {
    for (std::size_t i = 0; i < field_count; ++i)
        if (map.key(static_cast<field>(i)).find('.') != std::string::npos)
            return std::nullopt; // dotted keys reach into nested objects: the general walk
    json::basic_parser<handler> p(json::parse_options{}, map, body);
    if (!base::run_sax(p, body))
        return std::nullopt;
    return validate(p.handler().values, {}, map);
}

} // namespace sqs2pg::record::detail
