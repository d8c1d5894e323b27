// One batch's attempts: refused rows are found by bisection without failing the others,
// a statement timeout splits once, other failures leave the items to be written again.
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/resolver.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>

namespace {

using namespace sqs2pg::pg;

// Plays the database: an attempt fails with `code` if it holds a row in `bad`,
// otherwise commits (rows in `dups` reported as already in the ledger). A fast attempt
// has no conflict handling: a row in `dups` fails it with 23505 (checked first, as the
// ledger's key refuses the id whatever the row holds).
struct fake_db {
    std::set<std::uint32_t> bad;
    std::string code = "22001";
    std::set<std::uint32_t> dups;
    std::set<std::uint32_t> bad_rejects;
    int transactions = 0;
    int rounds = 0;
    int fast_transactions = 0;

    void run(batch_resolver& r) {
        while (!r.done()) {
            auto attempts = r.next_attempts();
            ASSERT_FALSE(attempts.empty());
            ++rounds;
            for (const auto& a : attempts) {
                ++transactions;
                if (a.fast) {
                    ++fast_transactions;
                    const bool dup =
                        std::any_of(a.rows.begin(), a.rows.end(),
                                    [&](std::uint32_t i) { return dups.count(i) > 0; });
                    if (dup) {
                        r.failed(a, "23505", errc_from_sqlstate("23505"));
                        continue;
                    }
                }
                const bool fails =
                    std::any_of(a.rows.begin(), a.rows.end(),
                                [&](std::uint32_t i) { return bad.count(i) > 0; }) ||
                    std::any_of(a.rejects.begin(), a.rejects.end(),
                                [&](std::uint32_t i) { return bad_rejects.count(i) > 0; });
                if (fails) {
                    r.failed(a, code, errc_from_sqlstate(code));
                    continue;
                }
                std::vector<std::uint32_t> skipped;
                for (std::uint32_t p = 0; p < a.rows.size() && !a.fast; ++p)
                    if (dups.count(a.rows[p]) > 0)
                        skipped.push_back(p);
                r.committed(a, skipped);
            }
        }
    }
};

TEST(BatchResolver, CleanBatchIsOneTransaction) {
    batch_resolver r(100, 3);
    fake_db db;
    db.dups = {4, 50};
    db.run(r);
    EXPECT_EQ(db.transactions, 1);
    for (std::uint32_t i = 0; i < 100; ++i)
        EXPECT_EQ(r.rows()[i].status,
                  (i == 4 || i == 50) ? item_status::duplicate : item_status::inserted);
    for (const auto& j : r.rejects())
        EXPECT_EQ(j.status, item_status::rejected);
    EXPECT_FALSE(r.error());
}

TEST(BatchResolver, OneRefusedRowAmongAThousandIsFoundAndReportedRefused) {
    batch_resolver r(1000, 0);
    fake_db db;
    db.bad = {637};
    db.run(r);
    for (std::uint32_t i = 0; i < 1000; ++i) {
        if (i == 637) {
            EXPECT_EQ(r.rows()[i].status, item_status::refused);
            EXPECT_EQ(r.rows()[i].sqlstate, "22001");
        } else {
            EXPECT_EQ(r.rows()[i].status, item_status::inserted) << i;
        }
    }
    // log2(1000) rounds of halving, two transactions per round; the reject record is the
    // caller's (its next write).
    EXPECT_LE(db.rounds, 11);
    EXPECT_LE(db.transactions, 2 * 10 + 1);
    EXPECT_FALSE(r.error());
}

TEST(BatchResolver, SeveralRefusedRows) {
    batch_resolver r(64, 2);
    fake_db db;
    db.bad = {0, 1, 63};
    db.code = "23514";
    db.run(r);
    int rejected = 0;
    for (std::uint32_t i = 0; i < 64; ++i) {
        const bool bad = i == 0 || i == 1 || i == 63;
        EXPECT_EQ(r.rows()[i].status, bad ? item_status::refused : item_status::inserted) << i;
        rejected += bad ? 1 : 0;
    }
    EXPECT_EQ(rejected, 3);
    for (const auto& j : r.rejects())
        EXPECT_EQ(j.status, item_status::rejected);
}

TEST(BatchResolver, ARefusedRejectRecordFails) {
    batch_resolver r(4, 2);
    fake_db db;
    db.bad_rejects = {1};
    db.code = "22021";
    db.run(r);
    EXPECT_EQ(r.rejects()[0].status, item_status::rejected);
    EXPECT_EQ(r.rejects()[1].status, item_status::failed);
    for (const auto& i : r.rows())
        EXPECT_EQ(i.status, item_status::inserted);
    EXPECT_EQ(r.error(), errc::data_rejected);
}

TEST(BatchResolver, ARefusedRowIsSettledWithoutAnAttemptOfItsOwn) {
    batch_resolver r(2, 0);
    auto a = r.next_attempts();
    r.failed(a[0], "22001", errc::data_rejected);
    auto halves = r.next_attempts();
    ASSERT_EQ(halves.size(), 2u);
    r.committed(halves[0], {});
    r.failed(halves[1], "22001", errc::data_rejected);
    EXPECT_TRUE(r.done());
    EXPECT_TRUE(r.next_attempts().empty());
    EXPECT_EQ(r.rows()[0].status, item_status::inserted);
    EXPECT_EQ(r.rows()[1].status, item_status::refused);
    EXPECT_EQ(r.rows()[1].sqlstate, "22001");
    EXPECT_FALSE(r.error()); // nothing to retry: the caller records the reject
}

TEST(BatchResolver, StatementTimeoutSplitsOnceThenRetries) {
    batch_resolver r(10, 0);
    auto a = r.next_attempts();
    r.failed(a[0], "57014", errc::statement_timeout);
    auto halves = r.next_attempts();
    ASSERT_EQ(halves.size(), 2u);
    EXPECT_TRUE(halves[0].timeout_split);
    EXPECT_EQ(halves[0].size() + halves[1].size(), 10u);
    r.committed(halves[0], {});
    r.failed(halves[1], "57014", errc::statement_timeout);
    EXPECT_TRUE(r.done());
    for (std::uint32_t i = 0; i < 10; ++i)
        EXPECT_EQ(r.rows()[i].status, i < 5 ? item_status::inserted : item_status::retry);
    EXPECT_EQ(r.error(), errc::statement_timeout);
}

TEST(BatchResolver, LostConnectionLeavesEverythingToRetry) {
    batch_resolver r(5, 1);
    auto a = r.next_attempts();
    r.failed(a[0], "", errc::connection_lost);
    EXPECT_TRUE(r.done());
    for (const auto& i : r.rows())
        EXPECT_EQ(i.status, item_status::retry);
    EXPECT_EQ(r.rejects()[0].status, item_status::retry);
    EXPECT_TRUE(is_retryable(r.error()));
}

TEST(BatchResolver, FatalErrorWinsOverRetryable) {
    batch_resolver r(4, 0);
    auto a = r.next_attempts();
    r.failed(a[0], "57014", errc::statement_timeout);
    auto halves = r.next_attempts();
    r.failed(halves[0], "57014", errc::statement_timeout);
    r.failed(halves[1], "42501", errc::server_error);
    EXPECT_EQ(r.error(), errc::server_error);
}

TEST(BatchResolver, FastCleanBatchIsOneFastTransaction) {
    batch_resolver r(100, 3, true);
    fake_db db;
    db.run(r);
    EXPECT_EQ(db.transactions, 1);
    EXPECT_EQ(db.fast_transactions, 1);
    EXPECT_FALSE(r.fell_back());
    for (const auto& i : r.rows())
        EXPECT_EQ(i.status, item_status::inserted);
    for (const auto& j : r.rejects())
        EXPECT_EQ(j.status, item_status::rejected);
}

TEST(BatchResolver, FastBatchWithAnIdInTheLedgerFallsBackWhole) {
    batch_resolver r(100, 3, true);
    fake_db db;
    db.dups = {4, 50};
    db.run(r);
    // One fast attempt refused with 23505, then the same items with the normal statement.
    EXPECT_EQ(db.transactions, 2);
    EXPECT_EQ(db.fast_transactions, 1);
    EXPECT_TRUE(r.fell_back());
    for (std::uint32_t i = 0; i < 100; ++i)
        EXPECT_EQ(r.rows()[i].status,
                  (i == 4 || i == 50) ? item_status::duplicate : item_status::inserted);
    for (const auto& j : r.rejects())
        EXPECT_EQ(j.status, item_status::rejected);
    EXPECT_FALSE(r.error());
}

TEST(BatchResolver, FastBatchWithARefusedRowEndsAsWithoutTheFastPath) {
    fake_db slow_db;
    slow_db.bad = {637};
    slow_db.dups = {3};
    batch_resolver slow(1000, 2);
    slow_db.run(slow);

    fake_db db;
    db.bad = {637};
    db.dups = {3};
    batch_resolver r(1000, 2, true);
    db.run(r);
    EXPECT_EQ(db.fast_transactions, 1); // bisection uses the normal statement only
    EXPECT_EQ(db.rounds, slow_db.rounds + 1);
    for (std::uint32_t i = 0; i < 1000; ++i) {
        EXPECT_EQ(r.rows()[i].status, slow.rows()[i].status) << i;
        EXPECT_EQ(r.rows()[i].sqlstate, slow.rows()[i].sqlstate) << i;
    }
    EXPECT_EQ(r.rows()[637].status, item_status::refused);
    EXPECT_EQ(r.rows()[637].sqlstate, "22001");
    EXPECT_EQ(r.rows()[3].status, item_status::duplicate);
    for (const auto& j : r.rejects())
        EXPECT_EQ(j.status, item_status::rejected);
}

TEST(BatchResolver, FastSingleRowInTheLedgerIsADuplicateNotRefused) {
    batch_resolver r(1, 0, true);
    fake_db db;
    db.dups = {0};
    db.run(r);
    EXPECT_EQ(r.rows()[0].status, item_status::duplicate);
    EXPECT_FALSE(r.error());
}

TEST(BatchResolver, FastAttemptsSplitByATimeoutStayFast) {
    batch_resolver r(10, 0, true);
    auto a = r.next_attempts();
    ASSERT_TRUE(a[0].fast);
    r.failed(a[0], "57014", errc::statement_timeout);
    auto halves = r.next_attempts();
    ASSERT_EQ(halves.size(), 2u);
    EXPECT_TRUE(halves[0].fast && halves[1].fast);
    r.committed(halves[0], {});
    r.failed(halves[1], "", errc::connection_lost);
    EXPECT_TRUE(r.done());
    EXPECT_FALSE(r.fell_back());
    for (std::uint32_t i = 0; i < 10; ++i)
        EXPECT_EQ(r.rows()[i].status, i < 5 ? item_status::inserted : item_status::retry);
}

TEST(BatchResolver, RejectsOnlyBatchIsNeverFast) {
    batch_resolver r(0, 2, true);
    auto a = r.next_attempts();
    ASSERT_EQ(a.size(), 1u);
    EXPECT_FALSE(a[0].fast);
}

TEST(FastPathPolicy, FastUntilADuplicateThenNormalForTheCooldown) {
    fast_path_policy p(true, 3);
    EXPECT_TRUE(p.next());
    p.finished(false);
    EXPECT_TRUE(p.next());
    p.finished(true); // a redelivery wave starts
    EXPECT_FALSE(p.next());
    EXPECT_FALSE(p.next());
    p.finished(false);
    EXPECT_FALSE(p.next());
    EXPECT_TRUE(p.next()); // three normal batches later
    p.finished(true);
    EXPECT_FALSE(p.next()); // a new duplicate restarts the cooldown
}

TEST(FastPathPolicy, DisabledIsAlwaysNormal) {
    fast_path_policy p(false);
    for (int i = 0; i < 5; ++i) {
        EXPECT_FALSE(p.next());
        p.finished(i % 2 == 0);
    }
}

TEST(BatchResolver, EmptyBatchIsDone) {
    batch_resolver r(0, 0);
    EXPECT_TRUE(r.done());
    EXPECT_TRUE(r.next_attempts().empty());
}

TEST(Dedupe, RepeatedIdsShareTheirFirstIndex) {
    const std::string_view ids[] = {"a", "b", "a", "c", "b", "a"};
    const auto d = dedupe_ids(ids);
    EXPECT_EQ(d.unique_of, (std::vector<std::uint32_t>{0, 1, 0, 2, 1, 0}));
    EXPECT_EQ(d.first, (std::vector<std::uint32_t>{0, 1, 3}));
}

TEST(Dedupe, AgreesWithAMapOnRandomBatches) {
    // A reference built the plain way (a map from id to its distinct index), over
    // batches of 0..300 ids drawn from pools small enough to repeat and large enough not
    // to, including ids that are prefixes of one another.
    std::mt19937 gen(7);
    for (int round = 0; round < 500; ++round) {
        const std::size_t n = gen() % 301;
        const std::size_t pool = 1 + gen() % 400;
        std::vector<std::string> storage;
        for (std::size_t i = 0; i < n; ++i)
            storage.push_back(std::string(gen() % 3, 'x') + std::to_string(gen() % pool));
        const std::vector<std::string_view> ids(storage.begin(), storage.end());
        std::map<std::string_view, std::uint32_t> index;
        dedupe_result want;
        for (std::uint32_t i = 0; i < ids.size(); ++i) {
            const auto [it, fresh] =
                index.try_emplace(ids[i], static_cast<std::uint32_t>(want.first.size()));
            if (fresh)
                want.first.push_back(i);
            want.unique_of.push_back(it->second);
        }
        const dedupe_result got = dedupe_ids(ids);
        ASSERT_EQ(got.unique_of, want.unique_of) << "round " << round;
        ASSERT_EQ(got.first, want.first) << "round " << round;
    }
}

TEST(MakeOutcome, LaterCopiesOfAnInsertedRowAreDuplicatesOthersShareTheStatus) {
    const std::string_view row_ids[] = {"a", "b", "a", "c", "b"};
    const std::string_view reject_ids[] = {"x", "x"};
    const auto rows = dedupe_ids(row_ids);
    const auto rejects = dedupe_ids(reject_ids);
    batch_resolver r(rows.first.size(), rejects.first.size());
    fake_db db;
    db.dups = {1}; // "b" was committed before
    db.run(r);
    const batch_outcome o = make_outcome(r, rows, rejects);
    ASSERT_EQ(o.rows.size(), 5u);
    EXPECT_EQ(o.rows[0].status, item_status::inserted);
    EXPECT_EQ(o.rows[1].status, item_status::duplicate);
    EXPECT_EQ(o.rows[2].status, item_status::duplicate);
    EXPECT_EQ(o.rows[3].status, item_status::inserted);
    EXPECT_EQ(o.rows[4].status, item_status::duplicate);
    ASSERT_EQ(o.rejects.size(), 2u);
    EXPECT_EQ(o.rejects[0].status, item_status::rejected);
    EXPECT_EQ(o.rejects[1].status, item_status::rejected);
    EXPECT_EQ(o.inserted, 2u);
    EXPECT_EQ(o.duplicates, 3u);
    EXPECT_EQ(o.rejected, 2u);
    EXPECT_EQ(o.retry + o.failed, 0u);
    EXPECT_FALSE(o.error);
}

TEST(MakeOutcome, RetryCopiesStayRetryAndCarryTheCause) {
    const std::string_view row_ids[] = {"a", "a"};
    const auto rows = dedupe_ids(row_ids);
    const auto none = dedupe_ids({});
    batch_resolver r(1, 0);
    auto a = r.next_attempts();
    r.failed(a[0], "40001", errc::transient);
    const batch_outcome o = make_outcome(r, rows, none);
    EXPECT_EQ(o.rows[0].status, item_status::retry);
    EXPECT_EQ(o.rows[1].status, item_status::retry);
    EXPECT_EQ(o.retry, 2u);
    EXPECT_EQ(o.error, errc::transient);
    EXPECT_FALSE(acknowledge(item_status::retry));
    EXPECT_TRUE(acknowledge(item_status::duplicate));
}

} // namespace
