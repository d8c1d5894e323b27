// The pipeline tracker matches libpq's result stream to the groups that were sent, and
// refuses sequences libpq never produces.
#include <sqs2pg/pg/tracker.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace sqs2pg::pg;
using tracker = pipeline_tracker<std::string>;

TEST(PipelineTracker, ResultsAndSyncsCompleteGroupsInOrder) {
    tracker t;
    t.push("a", 2);
    t.push("b", 1);
    EXPECT_EQ(t.in_flight(), 2u);

    auto r = t.on_result(result_kind::ok);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r->group, "a");
    EXPECT_EQ(r->query, 0u);
    EXPECT_TRUE(t.expects_query_end());
    ASSERT_TRUE(t.on_query_end());
    EXPECT_FALSE(t.expects_query_end());
    r = t.on_result(result_kind::ok);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->query, 1u);
    ASSERT_TRUE(t.on_query_end());
    auto done = t.on_sync();
    ASSERT_TRUE(done);
    EXPECT_EQ(done->group, "a");
    EXPECT_FALSE(done->failed_query);

    r = t.on_result(result_kind::ok);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r->group, "b");
    ASSERT_TRUE(t.on_query_end());
    done = t.on_sync();
    ASSERT_TRUE(done);
    EXPECT_EQ(done->group, "b");
    EXPECT_FALSE(t.awaiting());
}

TEST(PipelineTracker, AnErrorAbortsTheRestOfItsGroupOnly) {
    tracker t;
    t.push("a", 3);
    t.push("b", 1);
    ASSERT_TRUE(t.on_result(result_kind::ok));
    ASSERT_TRUE(t.on_query_end());
    auto r = t.on_result(result_kind::error);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->query, 1u);
    ASSERT_TRUE(t.on_query_end());
    ASSERT_TRUE(t.on_result(result_kind::aborted));
    ASSERT_TRUE(t.on_query_end());
    auto done = t.on_sync();
    ASSERT_TRUE(done);
    ASSERT_TRUE(done->failed_query);
    EXPECT_EQ(*done->failed_query, 1u);

    // The next group starts clean.
    ASSERT_TRUE(t.on_result(result_kind::ok));
    ASSERT_TRUE(t.on_query_end());
    done = t.on_sync();
    ASSERT_TRUE(done);
    EXPECT_FALSE(done->failed_query);
}

TEST(PipelineTracker, GroupWithoutQueriesIsJustASync) {
    tracker t;
    t.push("empty", 0);
    auto done = t.on_sync();
    ASSERT_TRUE(done);
    EXPECT_EQ(done->group, "empty");
}

TEST(PipelineTracker, ProtocolViolationsAreErrors) {
    {
        tracker t; // nothing sent
        EXPECT_EQ(t.on_result(result_kind::ok).error(), errc::protocol);
        EXPECT_EQ(t.on_query_end().error(), errc::protocol);
        EXPECT_EQ(t.on_sync().error(), errc::protocol);
    }
    {
        tracker t; // sync before the query's results
        t.push("a", 1);
        EXPECT_EQ(t.on_sync().error(), errc::protocol);
    }
    {
        tracker t; // sync before the query's NULL
        t.push("a", 1);
        ASSERT_TRUE(t.on_result(result_kind::ok));
        EXPECT_EQ(t.on_sync().error(), errc::protocol);
    }
    {
        tracker t; // NULL before any result
        t.push("a", 1);
        EXPECT_EQ(t.on_query_end().error(), errc::protocol);
    }
    {
        tracker t; // aborted without an earlier error
        t.push("a", 2);
        EXPECT_EQ(t.on_result(result_kind::aborted).error(), errc::protocol);
    }
    {
        tracker t; // a success after a failure in the same group
        t.push("a", 2);
        ASSERT_TRUE(t.on_result(result_kind::error));
        ASSERT_TRUE(t.on_query_end());
        EXPECT_EQ(t.on_result(result_kind::ok).error(), errc::protocol);
    }
    {
        tracker t; // more results than queries
        t.push("a", 1);
        ASSERT_TRUE(t.on_result(result_kind::ok));
        ASSERT_TRUE(t.on_query_end());
        EXPECT_EQ(t.on_result(result_kind::ok).error(), errc::protocol);
    }
}

TEST(PipelineTracker, AbandonReturnsEveryGroupOldestFirst) {
    tracker t;
    t.push("a", 1);
    t.push("b", 2);
    ASSERT_TRUE(t.on_result(result_kind::ok));
    const auto lost = t.abandon_all();
    ASSERT_EQ(lost.size(), 2u);
    EXPECT_EQ(lost[0], "a");
    EXPECT_EQ(lost[1], "b");
    EXPECT_FALSE(t.awaiting());
    EXPECT_FALSE(t.expects_query_end());
}

} // namespace
