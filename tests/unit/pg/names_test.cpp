// Table names are read as PostgreSQL reads identifiers and quoted safely for SQL.
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/names.hpp>

#include <gtest/gtest.h>

namespace {

using namespace sqs2pg::pg;

TEST(TableName, UnqualifiedIsFoldedToLowerCase) {
    auto n = parse_qualified_name("User_Logins");
    ASSERT_TRUE(n);
    EXPECT_FALSE(n->schema);
    EXPECT_EQ(n->name, "user_logins");
    EXPECT_EQ(n->quoted(), "\"user_logins\"");
}

TEST(TableName, SchemaQualified) {
    auto n = parse_qualified_name("Analytics.user_logins");
    ASSERT_TRUE(n);
    EXPECT_EQ(*n->schema, "analytics");
    EXPECT_EQ(n->quoted(), "\"analytics\".\"user_logins\"");
}

TEST(TableName, QuotedPartsKeepCaseDotsAndQuotes) {
    auto n = parse_qualified_name("\"My.Schema\".\"Log\"\"ins\"");
    ASSERT_TRUE(n);
    EXPECT_EQ(*n->schema, "My.Schema");
    EXPECT_EQ(n->name, "Log\"ins");
    EXPECT_EQ(n->quoted(), "\"My.Schema\".\"Log\"\"ins\"");
}

TEST(TableName, RejectsWhatPostgresWouldNotReadAsOneTable) {
    for (const char* bad : {"", ".", "a.", ".a", "a.b.c", "1abc", "a b", "a;drop table x", "\"\"",
                            "\"open", "a-b", "a\"b\""})
        EXPECT_EQ(parse_qualified_name(bad).error(), errc::invalid_table_name) << bad;
}

TEST(TableName, AtMost63Bytes) {
    EXPECT_TRUE(parse_qualified_name(std::string(63, 'a')));
    EXPECT_FALSE(parse_qualified_name(std::string(64, 'a')));
}

TEST(TableName, OwnTablesLiveBesideTheTarget) {
    table_names t(*parse_qualified_name("s1.logins"));
    EXPECT_EQ(t.ledger.quoted(), "\"s1\".\"sqs2pg_ledger\"");
    EXPECT_EQ(t.rejects.quoted(), "\"s1\".\"sqs2pg_rejects\"");
    table_names u(*parse_qualified_name("logins"));
    EXPECT_EQ(u.ledger.quoted(), "\"sqs2pg_ledger\"");
}

} // namespace
