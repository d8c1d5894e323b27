// Queries behind `sqs2pg rekey`, and the window sizing.
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/params.hpp>
#include <sqs2pg/pg/rekey.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace sqs2pg::pg {
namespace {

namespace asio = boost::asio;

std::string tid(std::uint64_t block) {
    return fmt::format("({},0)", block);
}

} // namespace

std::string_view column_name(masked_column c) noexcept {
    return c == masked_column::masked_ip ? "masked_ip" : "masked_device_id";
}

block_windows::block_windows(std::size_t target_rows, std::uint64_t first_block,
                             std::uint64_t initial_width, std::uint64_t max_width)
    : target_(std::max<std::size_t>(target_rows, 1))
    , lo_(std::min(first_block, max_blocks))
    , width_(std::clamp<std::uint64_t>(initial_width, 1, std::max<std::uint64_t>(max_width, 1)))
    , max_width_(std::max<std::uint64_t>(max_width, 1)) {}

block_windows::window block_windows::next() const noexcept {
    return {lo_, std::min(lo_ + width_, max_blocks)};
}

bool block_windows::fits(std::uint64_t rows) noexcept {
    if (rows <= 2 * target_ || width_ == 1)
        return true;
    // Aim at the target, assuming the rows spread evenly over the window.
    width_ = std::max<std::uint64_t>(1, width_ * target_ / rows);
    return false;
}

void block_windows::done(std::uint64_t rows) noexcept {
    lo_ = next().hi;
    if (rows <= target_ / 2)
        width_ = std::min(max_width_, width_ * 2);
}

namespace rekey_sql {

std::string census(const qualified_name& table, masked_column c) {
    return fmt::format("SELECT CASE WHEN v IS NULL THEN 'null'"
                       " WHEN v ~ '^[0-9a-f]{{64}}$' THEN 'one-way'"
                       " WHEN v ~ '^[A-Za-z0-9_-]{{1,16}}~' THEN 'ipcrypt'"
                       " WHEN v ~ '^[A-Za-z0-9_-]{{1,16}}:[A-Za-z0-9_-]+$' THEN 'aes-siv'"
                       " WHEN v ~ '^[A-Za-z0-9_-]{{1,16}}:.*[.:]' THEN 'ipcrypt-pfx'"
                       " ELSE 'other' END AS format, substring(v FROM '{0}') AS key_id, count(*)"
                       " FROM (SELECT {1} AS v FROM {2}) s GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST",
                       key_id_pattern, column_name(c), table.quoted());
}

std::string table_blocks() {
    return "SELECT pg_relation_size($1::text::regclass) / current_setting('block_size')::int8";
}

std::string candidates(const qualified_name& table, masked_column c) {
    // The ctid bounds make this a TID range scan of the window (PostgreSQL 14+).
    return fmt::format("SELECT {0}, count(*) FROM {1} WHERE ctid >= $1::tid AND ctid < $2::tid"
                       " AND substring({0} FROM '{2}') <> $3 GROUP BY 1",
                       column_name(c), table.quoted(), key_id_pattern);
}

std::string rewrite(const qualified_name& table, masked_column c) {
    return fmt::format("UPDATE {1} AS t SET {0} = m.new_value"
                       " FROM unnest($1::text[], $2::text[]) AS m(old_value, new_value)"
                       " WHERE t.ctid >= $3::tid AND t.ctid < $4::tid AND t.{0} = m.old_value",
                       column_name(c), table.quoted());
}

} // namespace rekey_sql

asio::awaitable<boost::system::result<std::vector<census_row>>>
async_census(connection& conn, const qualified_name& table, masked_column c) {
    auto r = co_await conn.async_query(rekey_sql::census(table, c));
    if (!r)
        co_return r.error();
    const PGresult* res = r->get();
    if (PQnfields(res) != 3)
        co_return errc::protocol;
    std::vector<census_row> out;
    for (int i = 0; i < PQntuples(res); ++i) {
        census_row row;
        row.format = PQgetvalue(res, i, 0);
        if (PQgetisnull(res, i, 1) == 0)
            row.key_id = PQgetvalue(res, i, 1);
        row.rows = std::strtoll(PQgetvalue(res, i, 2), nullptr, 10);
        out.push_back(std::move(row));
    }
    co_return out;
}

asio::awaitable<boost::system::result<std::uint64_t>>
async_table_blocks(connection& conn, const qualified_name& table) {
    const std::optional<std::string> params[] = {table.quoted()};
    auto r = co_await conn.async_query_params(rekey_sql::table_blocks(), params);
    if (!r)
        co_return r.error();
    if (PQntuples(r->get()) != 1 || PQnfields(r->get()) != 1)
        co_return errc::protocol;
    co_return std::strtoull(PQgetvalue(r->get(), 0, 0), nullptr, 10);
}

asio::awaitable<boost::system::result<std::vector<candidate>>>
async_candidates(connection& conn, const qualified_name& table, masked_column c,
                 block_windows::window w, std::string_view active_key_id) {
    const std::optional<std::string> params[] = {tid(w.lo), tid(w.hi), std::string(active_key_id)};
    auto r = co_await conn.async_query_params(rekey_sql::candidates(table, c), params);
    if (!r)
        co_return r.error();
    const PGresult* res = r->get();
    if (PQnfields(res) != 2)
        co_return errc::protocol;
    std::vector<candidate> out;
    out.reserve(static_cast<std::size_t>(PQntuples(res)));
    for (int i = 0; i < PQntuples(res); ++i)
        out.push_back(
            candidate{PQgetvalue(res, i, 0), std::strtoll(PQgetvalue(res, i, 1), nullptr, 10)});
    co_return out;
}

asio::awaitable<boost::system::result<std::int64_t>>
async_rewrite(connection& conn, const qualified_name& table, masked_column c,
              block_windows::window w, std::span<const std::string> old_values,
              std::span<const std::string> new_values) {
    if (old_values.size() != new_values.size())
        throw std::invalid_argument("async_rewrite: as many new values as old ones");
    if (old_values.empty())
        co_return std::int64_t{0};
    array_builder olds(param_format::text, element_type::text, old_values.size());
    array_builder news(param_format::text, element_type::text, new_values.size());
    for (std::size_t i = 0; i < old_values.size(); ++i) {
        olds.add_text(old_values[i]);
        news.add_text(new_values[i]);
    }
    const std::optional<std::string> params[] = {olds.finish(), news.finish(), tid(w.lo),
                                                 tid(w.hi)};
    auto r = co_await conn.async_query_params(rekey_sql::rewrite(table, c), params);
    if (!r)
        co_return r.error();
    co_return std::strtoll(PQcmdTuples(r->get()), nullptr, 10);
}

} // namespace sqs2pg::pg
