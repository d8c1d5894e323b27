// parse_login: Boost.JSON into a stack-backed monotonic buffer, a flattening walk that
// only looks at mapped keys, then per-field validation in field order.
#include <sqs2pg/record/app_version.hpp>
#include <sqs2pg/record/login.hpp>

#include "login_detail.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <stdexcept>

namespace sqs2pg::record {
namespace json = boost::json;
namespace {

using detail::result;
using detail::scalar;
using detail::scalars;

constexpr std::array<std::string_view, field_count> names{
    "user_id", "device_type", "ip", "device_id", "app_version", "locale",
};

constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

// Finds the JSON values of the mapped keys in the flattened view of the body without
// building the flattened map: nested objects are entered only when some mapped key
// lies below them, and the dotted path is built in one reused buffer.
class flattener {
public:
    explicit flattener(const field_map& map)
        : map_(map) {}

    void walk(const json::object& obj) {
        for (const auto& kv : obj) {
            const std::size_t mark = path_.size();
            if (mark != 0)
                path_ += '.';
            path_.append(kv.key().data(), kv.key().size());
            offer(kv.value());
            if (kv.value().is_object() && has_mapped_below())
                walk(kv.value().get_object());
            path_.resize(mark);
        }
    }

    const json::value* found(field f) const noexcept { return found_[index(f)]; }
    bool ambiguous(field f) const noexcept { return ambiguous_[index(f)]; }

private:
    static std::size_t index(field f) noexcept { return static_cast<std::size_t>(f); }

    void offer(const json::value& v) {
        for (std::size_t i = 0; i < field_count; ++i) {
            if (map_.key(static_cast<field>(i)) != path_)
                continue;
            if (found_[i] != nullptr)
                ambiguous_[i] = true;
            found_[i] = &v;
        }
    }

    bool has_mapped_below() const noexcept {
        for (std::size_t i = 0; i < field_count; ++i) {
            const std::string& key = map_.key(static_cast<field>(i));
            if (key.size() > path_.size() && key[path_.size()] == '.' && key.starts_with(path_))
                return true;
        }
        return false;
    }

    const field_map& map_;
    std::string path_;
    std::array<const json::value*, field_count> found_{};
    std::array<bool, field_count> ambiguous_{};
};

enum class accept { text, text_or_integer };

struct field_rule {
    bool required;
    accept types;
    std::size_t max_chars; // 0: no limit at this stage (masked fields are checked masked)
};

constexpr field_rule rule_for(field f) noexcept {
    switch (f) {
    case field::user_id:
        return {true, accept::text_or_integer, max_user_id_chars};
    case field::device_type:
        return {true, accept::text, max_device_type_chars};
    case field::ip:
        return {true, accept::text, 0};
    case field::device_id:
        return {true, accept::text_or_integer, 0};
    case field::locale:
        return {false, accept::text, max_locale_chars};
    case field::app_version:
        break;
    }
    return {true, accept::text, 0};
}

template <class Int>
std::string integer_text(Int v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

// The text of a text field, or the reason it has none. `out` is left empty when the
// optional field is absent or null (the caller tells from `present`).
std::optional<reject_reason> take_text(field f, const scalar& v, std::string& out, bool& present) {
    const field_rule rule = rule_for(f);
    present = false;
    if (v.k == scalar::kind::absent)
        return rule.required ? std::optional(reject_reason::missing_field) : std::nullopt;
    if (v.k == scalar::kind::null)
        return rule.required ? std::optional(reject_reason::null_field) : std::nullopt;
    present = true;
    if (v.k == scalar::kind::string) {
        const std::string_view text = v.text;
        if (text.find('\0') != std::string_view::npos)
            return reject_reason::invalid_text;
        if (rule.required && trim(text).empty())
            return reject_reason::empty_field;
        if (rule.max_chars != 0 && text.size() > rule.max_chars &&
            utf8_length(text) > rule.max_chars)
            return reject_reason::too_long;
        out.assign(text);
        return std::nullopt;
    }
    if (rule.types == accept::text_or_integer) {
        // Integers are exact in JSON and common for ids; their decimal text is the value.
        if (v.k == scalar::kind::int64) {
            out = integer_text(v.i);
            return std::nullopt;
        }
        if (v.k == scalar::kind::uint64) {
            out = integer_text(v.u);
            return std::nullopt;
        }
    }
    return reject_reason::wrong_type;
}

std::optional<reject_reason> take_app_version(const scalar& v, std::int32_t& out) {
    if (v.k == scalar::kind::absent)
        return reject_reason::missing_field;
    if (v.k == scalar::kind::null)
        return reject_reason::null_field;
    std::optional<std::int32_t> encoded;
    if (v.k == scalar::kind::string) {
        if (trim(v.text).empty())
            return reject_reason::empty_field;
        encoded = encode_app_version(v.text);
    } else if (v.k == scalar::kind::int64 || v.k == scalar::kind::uint64) {
        // A JSON integer N is version N (N.0.0). Fractions are refused as wrong_type:
        // the parser has already turned 2.10 into 2.1, so the version is lost.
        const bool in_range =
            v.k == scalar::kind::int64 ? v.i >= 0 && v.i <= max_major : v.u <= max_major;
        if (in_range)
            encoded = encode_version({static_cast<std::uint32_t>(
                v.k == scalar::kind::int64 ? static_cast<std::uint64_t>(v.i) : v.u)});
    } else {
        return reject_reason::wrong_type;
    }
    if (!encoded)
        return reject_reason::invalid_app_version;
    out = *encoded;
    return std::nullopt;
}

scalar view_of(const json::value* v) noexcept {
    scalar s;
    if (v == nullptr)
        return s;
    switch (v->kind()) {
    case json::kind::null:
        s.k = scalar::kind::null;
        break;
    case json::kind::string:
        s.k = scalar::kind::string;
        s.text = std::string_view(v->get_string().data(), v->get_string().size());
        break;
    case json::kind::int64:
        s.k = scalar::kind::int64;
        s.i = v->get_int64();
        break;
    case json::kind::uint64:
        s.k = scalar::kind::uint64;
        s.u = v->get_uint64();
        break;
    default: // bool, double, object, array
        s.k = scalar::kind::other;
        break;
    }
    return s;
}

} // namespace

std::string_view field_name(field f) noexcept {
    return names[static_cast<std::size_t>(f)];
}

field_map::field_map() {
    for (std::size_t i = 0; i < field_count; ++i)
        keys_[i] = std::string(names[i]);
}

const field_map& field_map::defaults() {
    static const field_map instance;
    return instance;
}

field_map parse_field_map(std::string_view spec) {
    field_map map;
    std::array<bool, field_count> given{};
    while (!trim(spec).empty()) {
        const std::size_t comma = spec.find(',');
        const std::string_view item = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
        const std::size_t eq = item.find('=');
        if (eq == std::string_view::npos)
            throw std::invalid_argument("field map: '" + std::string(trim(item)) +
                                        "' is not FIELD=KEY");
        const std::string_view name = trim(item.substr(0, eq));
        const std::string_view key = trim(item.substr(eq + 1));
        std::size_t i = 0;
        while (i < field_count && names[i] != name)
            ++i;
        if (i == field_count)
            throw std::invalid_argument(
                "field map: unknown field '" + std::string(name) +
                "' (fields: user_id, device_type, ip, device_id, app_version, locale)");
        if (key.empty())
            throw std::invalid_argument("field map: empty key for " + std::string(name));
        if (given[i])
            throw std::invalid_argument("field map: " + std::string(name) + " is given twice");
        given[i] = true;
        map.set(static_cast<field>(i), std::string(key));
    }
    for (std::size_t i = 0; i < field_count; ++i)
        for (std::size_t j = i + 1; j < field_count; ++j)
            if (map.key(static_cast<field>(i)) == map.key(static_cast<field>(j)))
                throw std::invalid_argument("field map: " + std::string(names[i]) + " and " +
                                            std::string(names[j]) + " both read key '" +
                                            map.key(static_cast<field>(i)) + "'");
    return map;
}

std::string format_field_map(const field_map& map) {
    std::string out;
    for (std::size_t i = 0; i < field_count; ++i) {
        const std::string& key = map.key(static_cast<field>(i));
        if (key == names[i])
            continue;
        if (!out.empty())
            out += ',';
        out.append(names[i]).append("=").append(key);
    }
    return out;
}

void throw_exception_from_error(const reject& r, const boost::source_location&) {
    throw std::runtime_error("message rejected: " + std::string(reject_code(r.reason)) +
                             (r.field.empty() ? "" : " (" + r.field + ")"));
}

std::size_t utf8_length(std::string_view text) noexcept {
    std::size_t n = 0;
    for (unsigned char c : text)
        n += (c & 0xC0) != 0x80;
    return n;
}

namespace detail {

result validate(const scalars& values, const std::array<bool, field_count>& ambiguous,
                const field_map& map) {
    login out;
    for (std::size_t i = 0; i < field_count; ++i) {
        const auto f = static_cast<field>(i);
        if (ambiguous[i])
            return reject{reject_reason::ambiguous_field, map.key(f)};
        std::optional<reject_reason> failed;
        bool present = false;
        switch (f) {
        case field::user_id:
            failed = take_text(f, values[i], out.user_id, present);
            break;
        case field::device_type:
            failed = take_text(f, values[i], out.device_type, present);
            break;
        case field::ip:
            failed = take_text(f, values[i], out.ip, present);
            break;
        case field::device_id:
            failed = take_text(f, values[i], out.device_id, present);
            break;
        case field::app_version:
            failed = take_app_version(values[i], out.app_version);
            break;
        case field::locale: {
            std::string locale;
            failed = take_text(f, values[i], locale, present);
            if (!failed && present)
                out.locale = std::move(locale);
            break;
        }
        }
        if (failed)
            return reject{*failed, map.key(f)};
    }
    return out;
}

result parse_login_general(std::string_view body, const field_map& map) {
    // Typical bodies (~250 bytes) fit in the stack buffer; larger ones spill to the heap.
    alignas(std::max_align_t) unsigned char buffer[4096];
    json::monotonic_resource resource(buffer, sizeof buffer);
    boost::system::error_code ec;
    const json::value doc =
        json::parse(json::string_view(body.data(), body.size()), ec, json::storage_ptr(&resource));
    if (ec)
        return reject{reject_reason::not_json, {}};
    if (!doc.is_object())
        return reject{reject_reason::not_object, {}};

    flattener flat(map);
    flat.walk(doc.get_object());
    scalars values;
    std::array<bool, field_count> ambiguous{};
    for (std::size_t i = 0; i < field_count; ++i) {
        values[i] = view_of(flat.found(static_cast<field>(i)));
        ambiguous[i] = flat.ambiguous(static_cast<field>(i));
    }
    return validate(values, ambiguous, map);
}

} // namespace detail

result parse_login(std::string_view body, const field_map& map) {
    if (auto fast = detail::parse_login_fast(body, map))
        return std::move(*fast);
    return detail::parse_login_general(body, map);
}

} // namespace sqs2pg::record
