// Schema check and creation at startup.
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/schema.hpp>
#include <sqs2pg/pg/sql.hpp>

#include <optional>
#include <vector>

namespace sqs2pg::pg {
namespace {

namespace asio = boost::asio;

struct table_shape {
    bool exists = false;
    bool is_table = false;
    std::vector<sql::column> columns;
};

asio::awaitable<boost::system::result<table_shape>> describe(connection& conn,
                                                             const qualified_name& name) {
    const std::optional<std::string> params[] = {name.quoted()};
    // Named, not temporaries: GCC 12 destroys temporaries in a co_await expression twice.
    const std::string query = sql::describe_table();
    auto r = co_await conn.async_query_params(query, params);
    if (!r)
        co_return r.error();
    table_shape shape;
    const PGresult* res = r->get();
    for (int i = 0; i < PQntuples(res); ++i) {
        shape.exists = true;
        const std::string_view kind = PQgetvalue(res, i, 0);
        shape.is_table = kind == "r" || kind == "p"; // plain or partitioned
        if (PQgetisnull(res, i, 1) == 0)
            shape.columns.push_back({PQgetvalue(res, i, 1), PQgetvalue(res, i, 2)});
    }
    co_return shape;
}

// The ledger's key, from its primary key; errc::schema_mismatch (with `detail`) for any
// other key.
asio::awaitable<boost::system::result<sql::ledger_key>>
read_ledger_key(connection& conn, const qualified_name& ledger, std::string& detail) {
    const std::optional<std::string> params[] = {ledger.quoted()};
    const std::string query = sql::describe_primary_key();
    auto r = co_await conn.async_query_params(query, params);
    if (!r)
        co_return r.error();
    const PGresult* res = r->get();
    const bool none = PQntuples(res) != 1 || PQgetisnull(res, 0, 0) != 0;
    const std::string primary_key = none ? std::string() : PQgetvalue(res, 0, 0);
    if (auto key = sql::ledger_key_of(primary_key))
        co_return *key;
    detail = ledger.quoted() +
             (none ? " has no primary key" : " has the primary key (" + primary_key + ")") +
             ", expected (sent_at, message_id) or (message_id)";
    co_return errc::schema_mismatch;
}

} // namespace

asio::awaitable<boost::system::result<sql::ledger_key>>
async_ensure_schema(connection& conn, const table_names& tables, bool create, std::string& detail) {
    struct check {
        const qualified_name* name;
        std::span<const sql::column> columns;
        bool exact;
        table_shape shape;
    };
    check checks[] = {
        {&tables.target, sql::target_columns(), true, {}},
        {&tables.ledger, {}, false, {}}, // its columns depend on its key
        {&tables.rejects, sql::rejects_columns(), false, {}},
    };

    bool missing = false;
    for (auto& c : checks) {
        auto shape = co_await describe(conn, *c.name);
        if (!shape)
            co_return shape.error();
        c.shape = std::move(*shape);
        missing = missing || !c.shape.exists;
    }

    if (missing) {
        if (!create) {
            detail.clear();
            for (const auto& c : checks)
                if (!c.shape.exists)
                    detail += (detail.empty() ? "missing table " : ", ") + c.name->quoted();
            co_return errc::schema_mismatch;
        }
        if (tables.target.schema) {
            const std::optional<std::string> params[] = {*tables.target.schema};
            auto s = co_await conn.async_query_params(
                "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", params);
            if (!s)
                co_return s.error();
            if (PQntuples(s->get()) == 0) {
                detail = "schema " + quote_ident(*tables.target.schema) + " does not exist";
                co_return errc::schema_mismatch;
            }
        }
        const std::string ddl = sql::create_tables(
            tables, !checks[0].shape.exists, !checks[1].shape.exists, !checks[2].shape.exists);
        auto r = co_await conn.async_query(ddl);
        if (!r) {
            detail = "creating the tables failed with SQLSTATE " + conn.last_sqlstate();
            co_return r.error();
        }
        for (auto& c : checks) {
            if (c.shape.exists)
                continue;
            ops::log(ops::level::info, "pg.table_created", {{"table", c.name->quoted()}});
            auto shape = co_await describe(conn, *c.name);
            if (!shape)
                co_return shape.error();
            c.shape = std::move(*shape);
        }
    }

    for (const auto& c : checks)
        if (!c.shape.is_table) {
            detail = c.name->quoted() + " is not a table";
            co_return errc::schema_mismatch;
        }
    auto key = co_await read_ledger_key(conn, tables.ledger, detail);
    if (!key)
        co_return key.error();
    checks[1].columns = sql::ledger_columns(*key);
    for (const auto& c : checks) {
        if (auto diff =
                sql::describe_mismatch(c.name->quoted(), c.columns, c.shape.columns, c.exact)) {
            detail = std::move(*diff);
            co_return errc::schema_mismatch;
        }
    }
    co_return *key;
}

} // namespace sqs2pg::pg
