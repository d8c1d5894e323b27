// Array parameter encoding (PostgreSQL's array_send / array_in formats) for the rows and
// rejects statements.
#include <sqs2pg/pg/params.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstring>

namespace sqs2pg::pg {
namespace {

// Days from 1970-01-01 (sys_days) to 2000-01-01 (PostgreSQL's date epoch).
constexpr std::int32_t pg_epoch_days = 10957;
constexpr std::size_t binary_header = 20; // ndim, flags, element oid, length, lower bound

void put_be32(std::string& out, std::uint32_t v) {
    const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
    out.append(b, 4);
}
void put_be64(std::string& out, std::uint64_t v) {
    put_be32(out, static_cast<std::uint32_t>(v >> 32));
    put_be32(out, static_cast<std::uint32_t>(v));
}
void patch_be32(std::string& out, std::size_t at, std::uint32_t v) {
    out[at] = static_cast<char>(v >> 24);
    out[at + 1] = static_cast<char>(v >> 16);
    out[at + 2] = static_cast<char>(v >> 8);
    out[at + 3] = static_cast<char>(v);
}

void append_quoted(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    out += '"';
}

} // namespace

std::string refused_reason(std::string_view sqlstate) {
    return "db_refused:" + std::string(sqlstate);
}

std::uint32_t array_oid(element_type t) noexcept {
    switch (t) {
    case element_type::text:
        return 1009;
    case element_type::int4:
        return 1007;
    case element_type::int8:
        return 1016;
    case element_type::date:
        return 1182;
    case element_type::bytea:
        return 1001;
    }
    return 0;
}

array_builder::array_builder(param_format format, element_type type, std::size_t expected)
    : format_(format)
    , type_(type) {
    if (format_ == param_format::binary) {
        out_.reserve(binary_header + expected * 8);
        out_.assign(binary_header, '\0');
    } else {
        out_.reserve(2 + expected * 8);
        out_ += '{';
    }
}

void array_builder::begin_element() {
    if (format_ == param_format::text && count_ > 0)
        out_ += ',';
    ++count_;
}

void array_builder::add_text(std::string_view s) {
    begin_element();
    if (format_ == param_format::binary) {
        put_be32(out_, static_cast<std::uint32_t>(s.size()));
        out_.append(s);
    } else {
        append_quoted(out_, s);
    }
}

void array_builder::add_int4(std::int32_t v) {
    begin_element();
    if (format_ == param_format::binary) {
        put_be32(out_, 4);
        put_be32(out_, static_cast<std::uint32_t>(v));
    } else {
        fmt::format_to(std::back_inserter(out_), "{}", v);
    }
}

void array_builder::add_int8(std::int64_t v) {
    begin_element();
    if (format_ == param_format::binary) {
        put_be32(out_, 8);
        put_be64(out_, static_cast<std::uint64_t>(v));
    } else {
        fmt::format_to(std::back_inserter(out_), "{}", v);
    }
}

void array_builder::add_date(std::chrono::sys_days d) {
    begin_element();
    if (format_ == param_format::binary) {
        put_be32(out_, 4);
        put_be32(out_,
                 static_cast<std::uint32_t>(
                     static_cast<std::int32_t>(d.time_since_epoch().count()) - pg_epoch_days));
        return;
    }
    const std::chrono::year_month_day ymd(d);
    const int y = static_cast<int>(ymd.year());
    // ISO input is accepted whatever DateStyle says; there is no year 0, 1 BC comes first.
    fmt::format_to(std::back_inserter(out_), "{:04}-{:02}-{:02}{}", y > 0 ? y : 1 - y,
                   static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                   y > 0 ? "" : " BC");
}

void array_builder::add_bytea(std::string_view bytes) {
    begin_element();
    if (format_ == param_format::binary) {
        put_be32(out_, static_cast<std::uint32_t>(bytes.size()));
        out_.append(bytes);
        return;
    }
    static constexpr char digits[] = "0123456789abcdef";
    out_ += "\"\\\\x"; // the element text is \x..., and the backslash is escaped in the literal
    for (unsigned char c : bytes) {
        out_ += digits[c >> 4];
        out_ += digits[c & 15];
    }
    out_ += '"';
}

void array_builder::add_null() {
    begin_element();
    has_null_ = true;
    if (format_ == param_format::binary)
        put_be32(out_, 0xffffffffu); // length -1
    else
        out_ += "NULL";
}

std::string array_builder::finish() {
    if (format_ == param_format::binary) {
        if (count_ == 0) {
            out_.resize(12); // ndim 0: no dimension fields
            patch_be32(out_, 0, 0);
        } else {
            patch_be32(out_, 0, 1);
            patch_be32(out_, 12, static_cast<std::uint32_t>(count_));
            patch_be32(out_, 16, 1);
        }
        patch_be32(out_, 4, has_null_ ? 1 : 0);
        patch_be32(out_, 8, static_cast<std::uint32_t>(type_));
    } else {
        out_ += '}';
    }
    std::string done = std::move(out_);
    out_.clear();
    count_ = 0;
    has_null_ = false;
    return done;
}

void param_set::add(std::string value, param_format format) {
    buffers.push_back(std::move(value));
    // Rebuild the pointers: push_back may have moved the strings (SSO ones move their bytes).
    values.clear();
    lengths.clear();
    for (const auto& b : buffers) {
        values.push_back(b.data());
        lengths.push_back(static_cast<int>(b.size()));
    }
    formats.push_back(format == param_format::binary ? 1 : 0);
}

namespace {

// Years 1970..9999: anything else is not an SQS SentTimestamp and could overflow.
std::optional<std::int64_t> valid_sent_ms(std::optional<std::int64_t> ms) {
    constexpr std::int64_t max_sent_ms = 253402300799999;
    if (ms && *ms >= 0 && *ms <= max_sent_ms)
        return ms;
    return std::nullopt;
}

} // namespace

param_set encode_rows(std::span<const row_item> rows, std::span<const std::uint32_t> which,
                      param_format format) {
    const std::size_t n = which.size();
    array_builder ids(format, element_type::text, n * 40);
    array_builder user(format, element_type::text, n * 16);
    array_builder device(format, element_type::text, n * 12);
    array_builder ip(format, element_type::text, n * 70);
    array_builder dev_id(format, element_type::text, n * 70);
    array_builder locale(format, element_type::text, n * 10);
    array_builder version(format, element_type::int4, n * 8);
    array_builder date(format, element_type::date, n * 8);
    array_builder sent(format, element_type::int8, n * 12);
    for (std::uint32_t i : which) {
        const row_item& item = rows[i];
        ids.add_text(item.message_id);
        user.add_text(item.row.user_id);
        device.add_text(item.row.device_type);
        ip.add_text(item.row.masked_ip);
        dev_id.add_text(item.row.masked_device_id);
        if (item.row.locale)
            locale.add_text(*item.row.locale);
        else
            locale.add_null();
        version.add_int4(item.row.app_version);
        date.add_date(item.row.create_date);
        sent.add_int8(valid_sent_ms(item.sent_timestamp_ms).value_or(0));
    }
    param_set p;
    p.buffers.reserve(9);
    for (auto* b : {&ids, &user, &device, &ip, &dev_id, &locale, &version, &date, &sent})
        p.add(b->finish(), format);
    return p;
}

param_set encode_rejects(std::span<const reject_item* const> items, param_format format) {
    const std::size_t n = items.size();
    array_builder ids(format, element_type::text, n * 40);
    array_builder reason(format, element_type::text, n * 24);
    array_builder count(format, element_type::int4, n * 8);
    array_builder sent(format, element_type::int8, n * 12);
    array_builder body(format, element_type::bytea, n * 256);
    for (const reject_item* r : items) {
        ids.add_text(r->message_id);
        reason.add_text(r->reason);
        count.add_int4(r->receive_count);
        if (const auto ms = valid_sent_ms(r->sent_timestamp_ms))
            sent.add_int8(*ms);
        else
            sent.add_null();
        if (r->sealed_body.empty())
            body.add_null();
        else
            body.add_bytea(r->sealed_body);
    }
    param_set p;
    p.buffers.reserve(5);
    for (auto* b : {&ids, &reason, &count, &sent, &body})
        p.add(b->finish(), format);
    return p;
}

bool parse_int_array(std::string_view text, std::vector<std::uint32_t>& out) {
    out.clear();
    if (text.size() < 2 || text.front() != '{' || text.back() != '}')
        return false;
    text = text.substr(1, text.size() - 2);
    while (!text.empty()) {
        std::uint32_t v = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || ptr == text.data())
            return false;
        out.push_back(v);
        text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
        if (text.empty())
            break;
        if (text.front() != ',' || text.size() == 1)
            return false;
        text.remove_prefix(1);
    }
    return true;
}

} // namespace sqs2pg::pg
