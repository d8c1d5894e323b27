// The SQLSTATE policy: which server errors reconnect, reject, retry or stop sqs2pg; and
// the SQLSTATEs named in words for operators.
#include <sqs2pg/pg/error.hpp>

#include <gtest/gtest.h>

namespace {

using namespace sqs2pg::pg;

TEST(SqlstatePolicy, ConnectionClassAndShutdownsReconnect) {
    for (const char* s : {"08000", "08003", "08006", "08001", "57P01", "57P02", "57P03", "25006"})
        EXPECT_EQ(classify_sqlstate(s), sqlstate_action::reconnect) << s;
}

TEST(SqlstatePolicy, LocalFailuresWithoutCodeReconnect) {
    EXPECT_EQ(classify_sqlstate(""), sqlstate_action::reconnect);
    EXPECT_EQ(classify_sqlstate("0800"), sqlstate_action::reconnect);
}

TEST(SqlstatePolicy, DataAndConstraintErrorsRejectTheRow) {
    for (const char* s : {"22001", "22021", "22P02", "22008", "23505", "23514", "23502"})
        EXPECT_EQ(classify_sqlstate(s), sqlstate_action::reject) << s;
}

TEST(SqlstatePolicy, SerializationAndDeadlockRetry) {
    EXPECT_EQ(classify_sqlstate("40001"), sqlstate_action::retry);
    EXPECT_EQ(classify_sqlstate("40P01"), sqlstate_action::retry);
}

TEST(SqlstatePolicy, StatementTimeoutRetriesSmaller) {
    EXPECT_EQ(classify_sqlstate("57014"), sqlstate_action::retry_smaller);
}

TEST(SqlstatePolicy, InsufficientResourcesRetryLater) {
    for (const char* s : {"53000", "53100", "53200", "53300", "55P03"})
        EXPECT_EQ(classify_sqlstate(s), sqlstate_action::retry_later) << s;
}

TEST(SqlstatePolicy, EverythingElseIsFatal) {
    for (const char* s : {"42P01", "42501", "42703", "XX000", "58030", "28P01", "3D000"})
        EXPECT_EQ(classify_sqlstate(s), sqlstate_action::fatal) << s;
}

TEST(SqlstatePolicy, ErrcMapsOntoRetryableAndFatal) {
    EXPECT_TRUE(is_retryable(errc_from_sqlstate("40001")));
    EXPECT_TRUE(is_retryable(errc_from_sqlstate("08006")));
    EXPECT_TRUE(is_retryable(errc_from_sqlstate("57014")));
    EXPECT_TRUE(is_retryable(errc_from_sqlstate("53100")));
    EXPECT_EQ(errc_from_sqlstate("25006"), errc::read_only);
    EXPECT_TRUE(is_retryable(errc::read_only));
    EXPECT_TRUE(is_fatal(errc_from_sqlstate("42501")));
    EXPECT_FALSE(is_fatal(errc_from_sqlstate("22001")));
    EXPECT_FALSE(is_retryable(errc_from_sqlstate("22001")));
    EXPECT_TRUE(is_fatal(errc::schema_mismatch));
    EXPECT_FALSE(is_retryable(errc::stopped));
    EXPECT_FALSE(is_fatal(boost::system::error_code{}));
}

TEST(SqlstateWords, MissingAndForbiddenObjects) {
    EXPECT_EQ(object_problem_of("42P01"), object_problem::missing); // undefined_table
    EXPECT_EQ(object_problem_of("3F000"), object_problem::missing); // invalid_schema_name
    EXPECT_EQ(object_problem_of("42501"), object_problem::permission_denied);
    for (const char* s : {"", "42703", "3D000", "23505", "42P0"})
        EXPECT_EQ(object_problem_of(s), object_problem::other) << s;
    EXPECT_EQ(describe(object_problem::missing), "does not exist");
    EXPECT_EQ(describe(object_problem::permission_denied), "permission denied");
    EXPECT_EQ(describe(object_problem::other), "");
}

TEST(SqlstatePolicy, ErrorCodesHaveMessagesAndCategory) {
    const boost::system::error_code ec = errc::connection_lost;
    EXPECT_EQ(std::string(ec.category().name()), "sqs2pg.pg");
    EXPECT_FALSE(ec.message().empty());
}

} // namespace
