// What `sqs2pg rejects` prints: the table and JSON forms of a reject, and bodies made
// safe for a terminal. Pure.
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/base/time.hpp>

#include "rejects_detail.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace sqs2pg::app {

namespace json = boost::json;

namespace rejects_detail {

std::string time_or_dash(const std::optional<pg::time_point>& t) {
    return t ? base::format_iso8601(*t, false) : std::string("-");
}

std::string replayed_text(const pg::reject_record& r) {
    if (!r.replayed_at)
        return "no";
    return fmt::format("{} as {}", base::format_iso8601(*r.replayed_at, false),
                       base::printable(r.replayed_message_id.value_or("?")));
}

} // namespace rejects_detail

namespace {

using namespace rejects_detail;

json::value json_time(const std::optional<pg::time_point>& t) {
    if (!t)
        return nullptr;
    return json::string(base::format_iso8601(*t, true));
}

} // namespace

std::string format_reject_table(std::span<const pg::reject_record> records, bool replayed_column) {
    if (records.empty())
        return {};
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header{"MESSAGE ID", "REASON",    "RECEIVES", "SENT AT",
                                    "FIRST SEEN", "LAST SEEN", "REPLAYED"};
    if (replayed_column)
        header.emplace_back("REPLAYED AS");
    rows.push_back(std::move(header));
    for (const auto& r : records) {
        std::vector<std::string> row{base::printable(r.message_id),
                                     base::printable(r.reason),
                                     std::to_string(r.receive_count),
                                     time_or_dash(r.sent_at),
                                     base::format_iso8601(r.first_seen, false),
                                     base::format_iso8601(r.last_seen, false),
                                     time_or_dash(r.replayed_at)};
        if (replayed_column)
            row.push_back(r.replayed_message_id ? base::printable(*r.replayed_message_id) : "-");
        rows.push_back(std::move(row));
    }
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i)
            width[i] = std::max(width[i], row[i].size());
    std::string out;
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out += row[i];
            if (i + 1 < row.size())
                out.append(width[i] - row[i].size() + 2, ' ');
        }
        out += '\n';
    }
    return out;
}

std::string format_reject_json(const pg::reject_record& r,
                               const std::optional<std::string_view>& body,
                               std::string_view body_error) {
    json::object o;
    o["message_id"] = r.message_id;
    o["reason"] = r.reason;
    o["receive_count"] = r.receive_count;
    o["sent_at"] = json_time(r.sent_at);
    o["first_seen"] = json_time(r.first_seen);
    o["last_seen"] = json_time(r.last_seen);
    o["replayed_at"] = json_time(r.replayed_at);
    if (r.replayed_message_id)
        o["replayed_message_id"] = *r.replayed_message_id;
    else
        o["replayed_message_id"] = nullptr;
    if (body)
        o["body"] = *body;
    else if (!body_error.empty())
        o["body"] = nullptr;
    if (!body_error.empty())
        o["body_error"] = body_error;
    return json_for_terminal(json::serialize(o));
}

std::string json_for_terminal(std::string_view json) {
    std::string out;
    out.reserve(json.size());
    for (std::size_t i = 0; i < json.size(); ++i) {
        const auto c = static_cast<unsigned char>(json[i]);
        const auto next = i + 1 < json.size() ? static_cast<unsigned char>(json[i + 1]) : 0u;
        if (c == 0x7f) {
            out += "\\u007f";
        } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
            // U+0080..U+009F in UTF-8; 0xc2 only ever starts a sequence, so this never
            // splits one.
            out += fmt::format("\\u{:04x}", next);
            ++i;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string escape_for_terminal(std::string_view body, bool single_line) {
    std::string out;
    out.reserve(body.size());
    const auto hex = [&](unsigned char c) { out += fmt::format("\\x{:02x}", c); };
    for (std::size_t i = 0; i < body.size();) {
        const auto c = static_cast<unsigned char>(body[i]);
        if (c < 0x80) {
            if ((c < 0x20 && (single_line || (c != '\n' && c != '\t'))) || c == 0x7f)
                hex(c);
            else if (single_line && c == '\\')
                out += "\\\\";
            else
                out += static_cast<char>(c);
            ++i;
            continue;
        }
        // A UTF-8 sequence: its length, the smallest code point of that length, and
        // surrogates excluded (RFC 3629). Anything else goes out byte by byte as \xNN,
        // since a lone byte such as 0x9b is a control sequence introducer to some terminals.
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07u;
        }
        bool valid = len != 0 && i + len <= body.size();
        for (std::size_t k = 1; valid && k < len; ++k) {
            const auto cc = static_cast<unsigned char>(body[i + k]);
            valid = (cc & 0xc0u) == 0x80u;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        if (valid)
            valid = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
                    !(cp >= 0xd800 && cp <= 0xdfff);
        if (!valid) {
            hex(c);
            ++i;
            continue;
        }
        if (cp >= 0x80 && cp <= 0x9f) // C1 controls, e.g. U+009B (CSI)
            out += fmt::format("\\u{:04x}", cp);
        else
            out.append(body.substr(i, len));
        i += len;
    }
    return out;
}

} // namespace sqs2pg::app
