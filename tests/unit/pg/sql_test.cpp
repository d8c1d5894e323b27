// Generated SQL names the configured tables, and the schema check names every difference.
#include <sqs2pg/pg/sql.hpp>

#include <gtest/gtest.h>

namespace {

using namespace sqs2pg::pg;

TEST(Sql, StatementsUseTheQuotedTableNames) {
    table_names t(*parse_qualified_name("\"Odd\"\"Schema\".logins"));
    const std::string rows =
        sql::insert_rows(t, std::chrono::seconds(345600), sql::ledger_key::sent_at_message_id);
    EXPECT_NE(rows.find("INSERT INTO \"Odd\"\"Schema\".\"sqs2pg_ledger\""), std::string::npos);
    EXPECT_NE(rows.find("INSERT INTO \"Odd\"\"Schema\".\"logins\""), std::string::npos);
    EXPECT_NE(rows.find("ON CONFLICT (sent_at, message_id) DO NOTHING"), std::string::npos);
    EXPECT_NE(rows.find("ORDER BY sent_at, message_id ON CONFLICT"), std::string::npos);
    // Each ledger entry is kept for the retention of the queue that brought it.
    EXPECT_NE(rows.find("now() + make_interval(secs => 345600)"), std::string::npos);
    EXPECT_NE(sql::upsert_rejects(t).find("\"Odd\"\"Schema\".\"sqs2pg_rejects\""),
              std::string::npos);
    EXPECT_NE(sql::prune_ledger(t).find("FOR UPDATE SKIP LOCKED"), std::string::npos);
}

TEST(Sql, FastRowsStatementHasNoConflictHandling) {
    table_names t(*parse_qualified_name("\"Odd\"\"Schema\".logins"));
    const std::string fast =
        sql::insert_rows_fast(t, std::chrono::seconds(345600), sql::ledger_key::sent_at_message_id);
    EXPECT_NE(fast.find("INSERT INTO \"Odd\"\"Schema\".\"sqs2pg_ledger\""), std::string::npos);
    EXPECT_NE(fast.find("INSERT INTO \"Odd\"\"Schema\".\"logins\""), std::string::npos);
    // An id already in the ledger must fail the statement, not be skipped silently.
    EXPECT_EQ(fast.find("ON CONFLICT"), std::string::npos);
    EXPECT_NE(fast.find("now() + make_interval(secs => 345600)"), std::string::npos);
    EXPECT_NE(fast.find("ORDER BY sent_at, message_id)"), std::string::npos); // key order
    EXPECT_NE(fast.find("$9::int8[]"), std::string::npos); // the same 9 parameters
}

TEST(Sql, ALedgerKeyedByMessageIdAloneGetsItsOwnStatements) {
    table_names t(*parse_qualified_name("user_logins"));
    const auto key = sql::ledger_key::message_id;
    const std::string rows = sql::insert_rows(t, std::chrono::seconds(60), key);
    EXPECT_NE(rows.find("ORDER BY message_id ON CONFLICT (message_id) DO NOTHING"),
              std::string::npos);
    EXPECT_EQ(rows.find("sent_at,"), std::string::npos);
    const std::string fast = sql::insert_rows_fast(t, std::chrono::seconds(60), key);
    EXPECT_NE(fast.find("INSERT INTO \"sqs2pg_ledger\" (message_id, written_at"),
              std::string::npos);
    EXPECT_NE(fast.find("ORDER BY message_id)"), std::string::npos);
}

TEST(Sql, TheLedgersKeyFromItsPrimaryKey) {
    EXPECT_EQ(sql::ledger_key_of("sent_at,message_id"), sql::ledger_key::sent_at_message_id);
    EXPECT_EQ(sql::ledger_key_of("message_id"), sql::ledger_key::message_id);
    EXPECT_EQ(sql::ledger_key_of("message_id,sent_at"), std::nullopt);
    EXPECT_EQ(sql::ledger_key_of(""), std::nullopt);
    // Keyed by message_id alone, the ledger needs no sent_at column.
    EXPECT_EQ(sql::ledger_columns(sql::ledger_key::message_id).size(),
              sql::ledger_columns(sql::ledger_key::sent_at_message_id).size() - 1);
    EXPECT_EQ(sql::ledger_columns(sql::ledger_key::message_id).front().name, "message_id");
    table_names t(*parse_qualified_name("user_logins"));
    EXPECT_NE(sql::create_tables(t, false, true, false).find("PRIMARY KEY (sent_at, message_id)"),
              std::string::npos);
}

TEST(Sql, CreateTablesOnlyWhatIsMissing) {
    table_names t(*parse_qualified_name("user_logins"));
    const std::string only_ledger = sql::create_tables(t, false, true, false);
    EXPECT_EQ(only_ledger.find("user_logins"), std::string::npos);
    EXPECT_NE(only_ledger.find("sqs2pg_ledger"), std::string::npos);
    EXPECT_EQ(only_ledger.find("sqs2pg_rejects"), std::string::npos);
    const std::string all = sql::create_tables(t, true, true, true);
    EXPECT_NE(all.find("masked_device_id    varchar(256)"), std::string::npos);
}

TEST(SchemaCheck, MatchingColumnsInAnyOrder) {
    std::vector<sql::column> actual(sql::target_columns().begin(), sql::target_columns().end());
    std::reverse(actual.begin(), actual.end());
    EXPECT_FALSE(sql::describe_mismatch("t", sql::target_columns(), actual, true));
}

TEST(SchemaCheck, NamesEveryDifference) {
    std::vector<sql::column> actual(sql::target_columns().begin(), sql::target_columns().end());
    actual[2].type = "character varying(64)"; // masked_ip
    actual.erase(actual.begin() + 4);         // locale
    actual.push_back({"note", "text"});
    const auto diff =
        sql::describe_mismatch("\"user_logins\"", sql::target_columns(), actual, true);
    ASSERT_TRUE(diff);
    EXPECT_EQ(*diff, "table \"user_logins\" does not have the expected columns: column masked_ip "
                     "is character varying(64), expected character varying(256); column locale "
                     "is missing; unexpected column note (text)");
    EXPECT_TRUE(sql::describe_mismatch("t", sql::target_columns(), actual, false));
}

TEST(SchemaCheck, ExtraColumnsAllowedInOwnTables) {
    const auto ledger = sql::ledger_columns(sql::ledger_key::sent_at_message_id);
    std::vector<sql::column> actual(ledger.begin(), ledger.end());
    actual.push_back({"later_version_column", "integer"});
    EXPECT_FALSE(sql::describe_mismatch("l", ledger, actual, false));
}

} // namespace
