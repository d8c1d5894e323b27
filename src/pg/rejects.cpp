// Queries behind the rejects subcommands.
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/params.hpp>
#include <sqs2pg/pg/rejects.hpp>

#include <fmt/format.h>

#include <cstdlib>

namespace sqs2pg::pg {
namespace {

namespace asio = boost::asio;

// Timestamps travel as integer microseconds since the Unix epoch: exact, and independent
// of the session's DateStyle and TimeZone.
constexpr const char* columns =
    "message_id, reason, receive_count, (extract(epoch FROM sent_at) * 1000000)::int8,"
    " (extract(epoch FROM first_seen) * 1000000)::int8,"
    " (extract(epoch FROM last_seen) * 1000000)::int8,"
    " (extract(epoch FROM replayed_at) * 1000000)::int8, replayed_message_id";

std::optional<time_point> get_time(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col) != 0)
        return std::nullopt;
    return time_point(
        std::chrono::microseconds(std::strtoll(PQgetvalue(r, row, col), nullptr, 10)));
}

reject_record read_record(const PGresult* r, int row) {
    reject_record rec;
    rec.message_id = PQgetvalue(r, row, 0);
    rec.reason = PQgetvalue(r, row, 1);
    rec.receive_count = static_cast<std::int32_t>(std::strtol(PQgetvalue(r, row, 2), nullptr, 10));
    rec.sent_at = get_time(r, row, 3);
    rec.first_seen = get_time(r, row, 4).value_or(time_point{});
    rec.last_seen = get_time(r, row, 5).value_or(time_point{});
    rec.replayed_at = get_time(r, row, 6);
    if (PQgetisnull(r, row, 7) == 0)
        rec.replayed_message_id = PQgetvalue(r, row, 7);
    return rec;
}

// read_record plus the sealed body, hex-encoded in column `body_col`.
boost::system::result<reject_record> read_record_with_body(const PGresult* r, int row,
                                                           int body_col) {
    reject_record rec = read_record(r, row);
    if (PQgetisnull(r, row, body_col) == 0) {
        auto body = base::from_hex(PQgetvalue(r, row, body_col));
        if (!body)
            return errc::protocol;
        rec.sealed_body = std::move(*body);
    }
    return rec;
}

std::optional<std::string> micros(const std::optional<time_point>& t) {
    if (!t)
        return std::nullopt;
    return std::to_string(t->time_since_epoch().count());
}

} // namespace

asio::awaitable<boost::system::result<std::vector<reject_record>>>
async_list_rejects(connection& conn, const table_names& tables, const reject_filter& filter) {
    const std::string sql = fmt::format("SELECT {} FROM {} WHERE ($1::text IS NULL OR reason = $1)"
                                        " AND ($2::int8 IS NULL OR last_seen >= timestamptz "
                                        "'epoch' + $2::int8 * interval '1 microsecond')"
                                        " AND ($3::int8 IS NULL OR last_seen < timestamptz 'epoch' "
                                        "+ $3::int8 * interval '1 microsecond')"
                                        " AND ($4::bool OR replayed_at IS NULL)"
                                        " ORDER BY last_seen DESC, message_id LIMIT $5::int8",
                                        columns, tables.rejects.quoted());
    const std::optional<std::string> params[] = {
        filter.reason,
        micros(filter.since),
        micros(filter.until),
        std::string(filter.include_replayed ? "true" : "false"),
        std::to_string(filter.limit),
    };
    auto r = co_await conn.async_query_params(sql, params);
    if (!r)
        co_return r.error();
    std::vector<reject_record> out;
    const PGresult* res = r->get();
    out.reserve(static_cast<std::size_t>(PQntuples(res)));
    for (int i = 0; i < PQntuples(res); ++i)
        out.push_back(read_record(res, i));
    co_return out;
}

asio::awaitable<boost::system::result<std::optional<reject_record>>>
async_find_reject(connection& conn, const table_names& tables, std::string_view message_id) {
    const std::string sql =
        fmt::format("SELECT {}, encode(sealed_body, 'hex') FROM {} WHERE message_id = $1", columns,
                    tables.rejects.quoted());
    const std::optional<std::string> params[] = {std::string(message_id)};
    auto r = co_await conn.async_query_params(sql, params);
    if (!r)
        co_return r.error();
    const PGresult* res = r->get();
    if (PQntuples(res) == 0)
        co_return std::optional<reject_record>{};
    auto rec = read_record_with_body(res, 0, 8);
    if (!rec)
        co_return rec.error();
    co_return std::optional<reject_record>(std::move(*rec));
}

asio::awaitable<boost::system::result<time_point>> async_database_time(connection& conn) {
    auto r =
        co_await conn.async_query("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8");
    if (!r)
        co_return r.error();
    if (PQntuples(r->get()) != 1)
        co_return errc::protocol;
    co_return get_time(r->get(), 0, 0).value_or(time_point{});
}

asio::awaitable<boost::system::result<void>> async_begin(connection& conn) {
    auto r = co_await conn.async_query("BEGIN");
    if (!r)
        co_return r.error();
    co_return boost::system::result<void>{};
}

asio::awaitable<boost::system::result<void>> async_commit(connection& conn) {
    auto r = co_await conn.async_query("COMMIT");
    if (!r)
        co_return r.error();
    if (std::string_view(PQcmdStatus(r->get())) != "COMMIT")
        co_return errc::server_error; // the transaction had failed and was rolled back
    co_return boost::system::result<void>{};
}

asio::awaitable<boost::system::result<std::vector<reject_record>>>
async_lock_for_replay(connection& conn, const table_names& tables,
                      std::span<const std::string> message_ids,
                      const std::optional<time_point>& replayed_before) {
    const std::string sql = fmt::format(
        "SELECT {}, encode(sealed_body, 'hex') FROM {} WHERE message_id = ANY($1::text[])"
        " AND (replayed_at IS NULL OR replayed_at < timestamptz 'epoch' + $2::int8 * interval "
        "'1 microsecond') FOR UPDATE SKIP LOCKED",
        columns, tables.rejects.quoted());
    array_builder ids(param_format::text, element_type::text, message_ids.size());
    for (const auto& id : message_ids)
        ids.add_text(id);
    const std::optional<std::string> params[] = {ids.finish(), micros(replayed_before)};
    auto r = co_await conn.async_query_params(sql, params);
    if (!r)
        co_return r.error();
    const PGresult* res = r->get();
    std::vector<reject_record> out;
    out.reserve(static_cast<std::size_t>(PQntuples(res)));
    for (int i = 0; i < PQntuples(res); ++i) {
        auto rec = read_record_with_body(res, i, 8);
        if (!rec)
            co_return rec.error();
        out.push_back(std::move(*rec));
    }
    co_return out;
}

asio::awaitable<boost::system::result<bool>> async_mark_replayed(connection& conn,
                                                                 const table_names& tables,
                                                                 std::string_view message_id,
                                                                 std::string_view new_message_id) {
    const std::string sql =
        fmt::format("UPDATE {} SET replayed_at = clock_timestamp(), replayed_message_id = $2 WHERE "
                    "message_id = $1",
                    tables.rejects.quoted());
    const std::optional<std::string> params[] = {std::string(message_id),
                                                 std::string(new_message_id)};
    auto r = co_await conn.async_query_params(sql, params);
    if (!r)
        co_return boost::system::result<bool>(boost::system::in_place_error, r.error());
    co_return std::string_view(PQcmdTuples(r->get())) == "1";
}

asio::awaitable<boost::system::result<bool>>
async_delete_reject(connection& conn, const table_names& tables, std::string_view message_id) {
    const std::string sql =
        fmt::format("DELETE FROM {} WHERE message_id = $1", tables.rejects.quoted());
    const std::optional<std::string> params[] = {std::string(message_id)};
    auto r = co_await conn.async_query_params(sql, params);
    if (!r)
        co_return boost::system::result<bool>(boost::system::in_place_error, r.error());
    co_return std::string_view(PQcmdTuples(r->get())) == "1";
}

} // namespace sqs2pg::pg
