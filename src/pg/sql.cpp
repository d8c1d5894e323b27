// SQL text of the writer's statements and DDL, and the column comparison behind the
// startup schema check.
#include <sqs2pg/pg/params.hpp>
#include <sqs2pg/pg/sql.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace sqs2pg::pg::sql {

namespace {

// The ledger entry's key columns and the expressions that give them, from `input` (or
// any relation with message_id and sent_ms). A missing SentTimestamp arrives as 0: the
// epoch, the same for every delivery of the message.
struct key_sql {
    const char* columns; // the ledger's key columns, in key order
    const char* values;  // their values, from message_id and sent_ms, named as the columns
};

key_sql key_of(ledger_key key) {
    if (key == ledger_key::message_id)
        return {"message_id", "message_id COLLATE \"C\" AS message_id"};
    return {"sent_at, message_id",
            "timestamptz 'epoch' + sent_ms * interval '1 millisecond' AS sent_at,"
            " message_id COLLATE \"C\" AS message_id"};
}

} // namespace

std::string insert_rows(const table_names& t, std::chrono::seconds retention, ledger_key key) {
    // One statement, so rows and ledger entries commit or fail together. Message ids are
    // compared bytewise (COLLATE "C"): they are ASCII, and the ledger's index then does
    // not depend on the server's locale or its library version. `fresh` holds the
    // ids this statement put into the ledger; a row is written only for those, so an id
    // already committed (a redelivery) adds nothing. A concurrent writer of the same id
    // waits on the primary key until the other transaction ends, then skips or inserts.
    // Each entry carries its own keep_until (this writer's queue retention): deployments
    // with different retentions may share one ledger and each entry lives long enough.
    // Entries are inserted in key order, so two writers holding overlapping ids (a
    // message redelivered to a second sqs2pg) wait on each other instead of deadlocking.
    const key_sql k = key_of(key);
    return fmt::format(
        "WITH input AS ("
        " SELECT t.message_id COLLATE \"C\" AS message_id, t.user_id, t.device_type,"
        " t.masked_ip, t.masked_device_id, t.locale, t.app_version, t.create_date, t.sent_ms,"
        " t.pos"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
        " $6::text[], $7::int4[], $8::date[], $9::int8[]) WITH ORDINALITY AS t(message_id,"
        " user_id, device_type, masked_ip, masked_device_id, locale, app_version, create_date,"
        " sent_ms, pos)"
        "), fresh AS ("
        " INSERT INTO {0} ({3}, written_at, keep_until)"
        " SELECT {4}, now(), now() + make_interval(secs => {2}) FROM input"
        " ORDER BY {3} ON CONFLICT ({3}) DO NOTHING RETURNING message_id"
        "), written AS ("
        " INSERT INTO {1} (user_id, device_type, masked_ip, masked_device_id, locale,"
        " app_version, create_date)"
        " SELECT i.user_id, i.device_type, i.masked_ip, i.masked_device_id, i.locale,"
        " i.app_version, i.create_date FROM input i JOIN fresh f ON f.message_id = i.message_id"
        ") SELECT coalesce(array_agg(i.pos ORDER BY i.pos), '{{}}') FROM input i"
        " WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.message_id = i.message_id)",
        t.ledger.quoted(), t.target.quoted(), retention.count(), k.columns, k.values);
}

std::string insert_rows_fast(const table_names& t, std::chrono::seconds retention, ledger_key key) {
    // What costs the server in insert_rows is the conflict handling: ON CONFLICT inserts
    // speculatively (an index probe, the heap tuple, the index entry, then a confirmation
    // record: three WAL records per id), and the CTEs are materialized, joined and
    // anti-joined to tell skipped ids. Here each ledger entry is one heap and one index
    // insert and the rows stream from unnest into the target. The primary key still
    // guarantees one entry per id: an id already there, or being written by a concurrent
    // transaction that then commits, fails the statement (23505), and the writer sends
    // the batch again with insert_rows. The ledger CTE is not referenced, so it runs to
    // completion after the rows (a data-modifying CTE always does) in the same
    // transaction. Entries are inserted in key order, as in insert_rows, against deadlocks.
    const key_sql k = key_of(key);
    return fmt::format(
        "WITH ledger AS ("
        " INSERT INTO {0} ({3}, written_at, keep_until)"
        " SELECT {4}, now(), now() + make_interval(secs => {2})"
        " FROM unnest($1::text[], $9::int8[]) AS u(message_id, sent_ms) ORDER BY {3}"
        ") INSERT INTO {1} (user_id, device_type, masked_ip, masked_device_id, locale,"
        " app_version, create_date)"
        " SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
        " $7::int4[], $8::date[])",
        t.ledger.quoted(), t.target.quoted(), retention.count(), k.columns, k.values);
}

std::array<std::uint32_t, 9> insert_rows_types() {
    const auto text = array_oid(element_type::text);
    return {text,
            text,
            text,
            text,
            text,
            text,
            array_oid(element_type::int4),
            array_oid(element_type::date),
            array_oid(element_type::int8)};
}

std::string upsert_rejects(const table_names& t) {
    return fmt::format(
        "INSERT INTO {0} AS r (message_id, reason, receive_count, sent_at, first_seen,"
        " last_seen, sealed_body)"
        " SELECT message_id, reason, receive_count,"
        " timestamptz 'epoch' + sent_ms * interval '1 millisecond', now(), now(), sealed_body"
        " FROM unnest($1::text[], $2::text[], $3::int4[], $4::int8[], $5::bytea[])"
        " AS t(message_id, reason, receive_count, sent_ms, sealed_body)"
        " ORDER BY message_id COLLATE \"C\" ON CONFLICT (message_id) DO UPDATE SET last_seen = "
        "excluded.last_seen,"
        " receive_count = greatest(r.receive_count, excluded.receive_count),"
        " reason = excluded.reason, sent_at = coalesce(r.sent_at, excluded.sent_at),"
        " sealed_body = coalesce(excluded.sealed_body, r.sealed_body)",
        t.rejects.quoted());
}

std::array<std::uint32_t, 5> upsert_rejects_types() {
    const auto text = array_oid(element_type::text);
    return {text, text, array_oid(element_type::int4), array_oid(element_type::int8),
            array_oid(element_type::bytea)};
}

std::string prune_ledger(const table_names& t) {
    return fmt::format("DELETE FROM {0} WHERE ctid = ANY (ARRAY("
                       "SELECT ctid FROM {0} WHERE keep_until < now()"
                       " LIMIT $1::int4 FOR UPDATE SKIP LOCKED))",
                       t.ledger.quoted());
}

std::string create_tables(const table_names& t, bool target, bool ledger, bool rejects) {
    // Whichever of several starting sqs2pg processes comes first creates the tables; the
    // others wait on the lock and then find them there.
    std::string sql = "SELECT pg_advisory_xact_lock(8243116722418577255);";
    if (target)
        fmt::format_to(std::back_inserter(sql),
                       "CREATE TABLE IF NOT EXISTS {}(\n"
                       "    user_id             varchar(128),\n"
                       "    device_type         varchar(32),\n"
                       "    masked_ip           varchar(256),\n"
                       "    masked_device_id    varchar(256),\n"
                       "    locale              varchar(32),\n"
                       "    app_version         integer,\n"
                       "    create_date         date\n"
                       ");",
                       t.target.quoted());
    if (ledger)
        fmt::format_to(std::back_inserter(sql),
                       "CREATE TABLE IF NOT EXISTS {0} (message_id text COLLATE \"C\" NOT NULL,"
                       " sent_at timestamptz NOT NULL,"
                       " written_at timestamptz NOT NULL DEFAULT now(),"
                       " keep_until timestamptz NOT NULL, PRIMARY KEY (sent_at, message_id));"
                       "CREATE INDEX IF NOT EXISTS sqs2pg_ledger_keep_until ON {0}"
                       " USING brin (keep_until);",
                       t.ledger.quoted());
    if (rejects)
        fmt::format_to(std::back_inserter(sql),
                       "CREATE TABLE IF NOT EXISTS {0} (message_id text COLLATE \"C\" PRIMARY KEY,"
                       " reason text NOT NULL, receive_count integer NOT NULL DEFAULT 0,"
                       " sent_at timestamptz, first_seen timestamptz NOT NULL DEFAULT now(),"
                       " last_seen timestamptz NOT NULL DEFAULT now(), sealed_body bytea,"
                       " replayed_at timestamptz, replayed_message_id text);"
                       "CREATE INDEX IF NOT EXISTS sqs2pg_rejects_last_seen ON {0} (last_seen);",
                       t.rejects.quoted());
    return sql;
}

std::string describe_table() {
    return "SELECT c.relkind::text, a.attname::text, format_type(a.atttypid, a.atttypmod)"
           " FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_attribute a"
           " ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
           " WHERE c.oid = pg_catalog.to_regclass($1) ORDER BY a.attnum";
}

std::span<const column> target_columns() {
    static const column cols[] = {
        {"user_id", "character varying(128)"},
        {"device_type", "character varying(32)"},
        {"masked_ip", "character varying(256)"},
        {"masked_device_id", "character varying(256)"},
        {"locale", "character varying(32)"},
        {"app_version", "integer"},
        {"create_date", "date"},
    };
    return cols;
}

std::span<const column> ledger_columns(ledger_key key) {
    static const column cols[] = {
        {"sent_at", "timestamp with time zone"},
        {"message_id", "text"},
        {"written_at", "timestamp with time zone"},
        {"keep_until", "timestamp with time zone"},
    };
    return key == ledger_key::message_id ? std::span<const column>(cols).subspan(1)
                                         : std::span<const column>(cols);
}

std::string describe_primary_key() {
    return "SELECT (SELECT string_agg(a.attname::text, ',' ORDER BY k.n)"
           " FROM pg_catalog.pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)"
           " JOIN pg_catalog.pg_attribute a ON a.attnum = k.attnum"
           " WHERE i.indrelid = pg_catalog.to_regclass($1) AND i.indisprimary"
           " AND a.attrelid = i.indrelid)";
}

std::optional<ledger_key> ledger_key_of(std::string_view primary_key) {
    if (primary_key == "sent_at,message_id")
        return ledger_key::sent_at_message_id;
    if (primary_key == "message_id")
        return ledger_key::message_id;
    return std::nullopt;
}

std::span<const column> rejects_columns() {
    static const column cols[] = {
        {"message_id", "text"},
        {"reason", "text"},
        {"receive_count", "integer"},
        {"sent_at", "timestamp with time zone"},
        {"first_seen", "timestamp with time zone"},
        {"last_seen", "timestamp with time zone"},
        {"sealed_body", "bytea"},
        {"replayed_at", "timestamp with time zone"},
        {"replayed_message_id", "text"},
    };
    return cols;
}

std::optional<std::string> describe_mismatch(std::string_view table,
                                             std::span<const column> expected,
                                             std::span<const column> actual, bool exact) {
    std::vector<std::string> problems;
    const auto find = [](std::span<const column> cols, const std::string& name) {
        return std::find_if(cols.begin(), cols.end(),
                            [&](const column& c) { return c.name == name; });
    };
    for (const column& want : expected) {
        const auto have = find(actual, want.name);
        if (have == actual.end())
            problems.push_back(fmt::format("column {} is missing", want.name));
        else if (have->type != want.type)
            problems.push_back(
                fmt::format("column {} is {}, expected {}", want.name, have->type, want.type));
    }
    if (exact)
        for (const column& have : actual)
            if (find(expected, have.name) == expected.end())
                problems.push_back(fmt::format("unexpected column {} ({})", have.name, have.type));
    if (problems.empty())
        return std::nullopt;
    return fmt::format("table {} does not have the expected columns: {}", table,
                       fmt::join(problems, "; "));
}

} // namespace sqs2pg::pg::sql
