// The PostgreSQL that the test command starts is reachable with password auth, and
// user_logins exists with exactly the take-home column types.
#include "test_env.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <memory>
#include <string>
#include <vector>

namespace {

using conn_ptr = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using result_ptr = std::unique_ptr<PGresult, decltype(&PQclear)>;

conn_ptr connect_or_fail() {
    const std::string conninfo = sqs2pg::test::require_env("SQS2PG_TEST_PG");
    conn_ptr conn(PQconnectdb(conninfo.c_str()), &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK)
        throw std::runtime_error(std::string("cannot connect to PostgreSQL: ") +
                                 PQerrorMessage(conn.get()));
    return conn;
}

TEST(PostgresService, UsesPasswordAuthentication) {
    auto conn = connect_or_fail();
    EXPECT_TRUE(PQconnectionUsedPassword(conn.get()));
}

TEST(PostgresService, UserLoginsHasTheTakeHomeColumns) {
    auto conn = connect_or_fail();
    result_ptr res(PQexec(conn.get(),
                          "SELECT column_name, data_type, coalesce(character_maximum_length, 0) "
                          "FROM information_schema.columns "
                          "WHERE table_schema = 'public' AND table_name = 'user_logins' "
                          "ORDER BY ordinal_position"),
                   &PQclear);
    ASSERT_EQ(PQresultStatus(res.get()), PGRES_TUPLES_OK) << PQerrorMessage(conn.get());

    struct column {
        std::string name, type;
        int length;
        bool operator==(const column&) const = default;
    };
    const std::vector<column> expected = {
        {"user_id", "character varying", 128},
        {"device_type", "character varying", 32},
        {"masked_ip", "character varying", 256},
        {"masked_device_id", "character varying", 256},
        {"locale", "character varying", 32},
        {"app_version", "integer", 0},
        {"create_date", "date", 0},
    };
    std::vector<column> actual;
    for (int i = 0; i < PQntuples(res.get()); ++i)
        actual.push_back({PQgetvalue(res.get(), i, 0), PQgetvalue(res.get(), i, 1),
                          std::stoi(PQgetvalue(res.get(), i, 2))});
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(actual[i].name, expected[i].name);
        EXPECT_EQ(actual[i].type, expected[i].type) << expected[i].name;
        EXPECT_EQ(actual[i].length, expected[i].length) << expected[i].name;
    }
}

} // namespace
