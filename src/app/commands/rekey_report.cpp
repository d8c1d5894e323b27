// How `sqs2pg rekey` tells what it did: the summary's JSON per column, the failure lines,
// the progress line on a terminal. The run is rekey.cpp.
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/mask/normalize.hpp>
#include <sqs2pg/ops/progress.hpp>
#include <sqs2pg/pg/error.hpp>

#include "rekey_detail.hpp"

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace sqs2pg::app::rekey_detail {

namespace json = boost::json;

pg::qualified_name qualified(const table_name& t) {
    pg::qualified_name q;
    if (!t.schema.empty())
        q.schema = t.schema;
    q.name = t.name;
    return q;
}

std::string table_text(const table_name& t) {
    return t.schema.empty() ? t.name : t.schema + "." + t.name;
}

std::string pg_failure(const pg::connection& conn, const table_name& t,
                       boost::system::error_code ec) {
    const std::string& state = conn.last_sqlstate();
    switch (const auto problem = pg::object_problem_of(state)) {
    case pg::object_problem::missing:
        return fmt::format("PostgreSQL: {} or one of its columns {} (is --table the table run "
                           "writes?)",
                           qualified(t).quoted(), pg::describe(problem));
    case pg::object_problem::permission_denied:
        return fmt::format("PostgreSQL: {} on {} (SQLSTATE {})", pg::describe(problem),
                           qualified(t).quoted(), state);
    case pg::object_problem::other:
        break;
    }
    if (state == "42703")
        return fmt::format("PostgreSQL: {} has no such column (is --table the table run writes?)",
                           qualified(t).quoted());
    if (!state.empty())
        return fmt::format("PostgreSQL: {} (SQLSTATE {})", ec.message(), state);
    return fmt::format("PostgreSQL: {}", ec.message());
}

void progress_line::update(std::string_view column, std::uint64_t block, std::uint64_t blocks,
                           std::uint64_t rows, bool force) {
    if (!enabled_)
        return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && last_ && now - *last_ < std::chrono::milliseconds(200))
        return;
    last_ = now;
    const std::uint64_t shown = std::min(block, blocks);
    const auto pct = blocks == 0 ? 100 : shown * 100 / blocks;
    std::string line = fmt::format("rekey {}: block {} / {} ({}%)  {} rows moved", column,
                                   ops::format_count(shown), ops::format_count(blocks), pct,
                                   ops::format_count(rows));
    const std::size_t width = std::max(line.size(), drawn_);
    line.resize(width, ' ');
    err_ << '\r' << line << std::flush;
    drawn_ = line.size();
}

void progress_line::finish() {
    if (enabled_ && drawn_ > 0)
        err_ << '\n' << std::flush;
    drawn_ = 0;
    last_.reset();
}

std::string joined(const std::set<std::string>& items) {
    std::string out;
    for (const auto& i : items)
        out += (out.empty() ? "" : ", ") + base::printable(i);
    return out;
}

std::string_view failure_code(boost::system::error_code ec) {
    if (ec == mask::errc::key_unknown_id)
        return "key_not_in_keyring";
    if (ec == mask::errc::authentication_failed)
        return "does_not_authenticate";
    if (ec == mask::errc::wrong_field)
        return "other_field";
    if (ec == mask::errc::too_long)
        return "too_long_for_active_key_id";
    if (ec == mask::errc::not_reversible)
        return "one_way";
    return "malformed";
}

std::string key_id_of(std::string_view value) {
    const auto f = mask::read_masked_format(value);
    return f ? std::string(f->key_id) : std::string();
}

json::object column_json(const column_result& r, mask::mode configured) {
    json::object o;
    o["mode"] = mask::mode_name(configured);
    o["rows_rekeyed"] = r.rows_rekeyed;
    o["values_rekeyed"] = r.values_rekeyed;
    json::object by_mode;
    for (const auto& [m, n] : r.rows_by_mode)
        by_mode[m] = n;
    o["rows_rekeyed_by_mode"] = std::move(by_mode);
    o["rows_failed"] = r.rows_failed;
    json::object failures;
    for (const auto& [why, n] : r.failures)
        failures[why] = n;
    o["failures"] = std::move(failures);
    json::array unknown;
    for (const auto& k : r.unknown_keys)
        unknown.emplace_back(k);
    o["keys_not_in_keyring"] = std::move(unknown);
    o["blocks_scanned"] = r.blocks;
    o["complete"] = r.finished;
    return o;
}

} // namespace sqs2pg::app::rekey_detail
