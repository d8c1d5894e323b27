// The pg writer against a real PostgreSQL: batches, redelivery, duplicates in a batch,
// refused rows, rejects, many batches in flight, a statement timeout, a killed
// connection, schema checks, ledger pruning and the rejects queries.
#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/rejects.hpp>

#include "pg_fixture.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <set>

namespace {

namespace asio = boost::asio;
using namespace sqs2pg;
using namespace std::chrono_literals;
using pg::item_status;

std::size_t count_status(const std::vector<pg::item_outcome>& v, item_status s) {
    std::size_t n = 0;
    for (const auto& o : v)
        n += o.status == s ? 1 : 0;
    return n;
}

std::string iso_date(std::chrono::sys_days d) {
    const std::chrono::year_month_day ymd(d);
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

// ---------------------------------------------------------------------------------------
// Writing rows, in both parameter formats.

class PgWriterFormats : public test::pg_test,
                        public ::testing::WithParamInterface<pg::param_format> {
protected:
    pg::writer_config config_for_param() const {
        auto cfg = config();
        cfg.format = GetParam();
        return cfg;
    }
};

TEST_P(PgWriterFormats, BatchInsertWritesEveryRowExactlyAsGiven) {
    start_writer(config_for_param());
    pg::batch b;
    b.rows = make_rows("m", 250);
    b.rows[3].row.locale.reset();
    b.rows[4].row.user_id = "ünïcödé \"quoted\" \\ {braces}, commas NULL";
    b.rows[5].row.locale = "";
    const auto o = write(b);
    EXPECT_EQ(o.inserted, 250u);
    EXPECT_EQ(count_status(o.rows, item_status::inserted), 250u);
    EXPECT_FALSE(o.error);
    EXPECT_EQ(rows_in_table(), 250);
    EXPECT_EQ(rows_in_ledger(), 250);
    EXPECT_EQ(duplicated_rows(), 0);

    for (std::size_t i : {3u, 4u, 5u, 17u}) {
        const auto& want = b.rows[i].row;
        const auto got = db_->rows("SELECT user_id, device_type, masked_ip, masked_device_id, "
                                   "locale, app_version, create_date FROM " +
                                   table() + " WHERE masked_ip = '" + want.masked_ip +
                                   "' AND app_version = " + std::to_string(want.app_version) +
                                   " AND device_type = '" + want.device_type + "'" +
                                   " AND create_date = '" + iso_date(want.create_date) + "'");
        ASSERT_EQ(got.size(), 1u) << i;
        EXPECT_EQ(got[0][0], want.user_id);
        EXPECT_EQ(got[0][3], want.masked_device_id);
        EXPECT_EQ(got[0][4], want.locale.value_or("<NULL>"));
    }
    // The ledger holds exactly the message ids.
    EXPECT_EQ(db_->count("SELECT count(*) FROM " + ledger() + " WHERE message_id LIKE 'm-%'"), 250);
}

TEST_P(PgWriterFormats, RefusedRowsAreReportedAndTheOthersCommitted) {
    start_writer(config_for_param());
    pg::batch b;
    b.rows = make_rows("r", 100);
    b.rows[37].row.user_id = std::string(129, 'x');           // varchar(128): 22001
    b.rows[80].row.user_id = std::string("bad\xff\xfe utf8"); // 22021
    b.rejects.push_back({"rej-1", "invalid_json", 2, 1700000000000, "sealed-bytes"});
    const auto o = write(b);
    EXPECT_EQ(o.rows[37].status, item_status::refused);
    EXPECT_EQ(o.rows[37].sqlstate, "22001");
    EXPECT_EQ(o.rows[80].status, item_status::refused);
    EXPECT_EQ(o.rows[80].sqlstate, "22021");
    EXPECT_EQ(o.inserted, 98u);
    EXPECT_EQ(o.refused, 2u);
    EXPECT_EQ(o.rejected, 1u);
    EXPECT_EQ(o.rejects[0].status, item_status::rejected);
    EXPECT_FALSE(o.error);

    EXPECT_EQ(rows_in_table(), 98);
    EXPECT_EQ(rows_in_ledger(), 98); // nothing is committed for a refused row
    const auto rej = db_->rows("SELECT message_id, reason, receive_count, encode(sealed_body, "
                               "'escape') FROM " +
                               rejects() + " ORDER BY message_id");
    ASSERT_EQ(rej.size(), 1u);
    EXPECT_EQ(rej[0], (std::vector<std::string>{"rej-1", "invalid_json", "2", "sealed-bytes"}));

    // The caller keeps the refused rows as rejects in its next write.
    pg::batch records;
    for (const std::size_t i : {37, 80}) {
        pg::reject_item r;
        r.message_id = b.rows[i].message_id;
        r.reason = pg::refused_reason(o.rows[i].sqlstate);
        r.receive_count = 4;
        r.sealed_body = "sealed-" + std::to_string(i);
        records.rejects.push_back(std::move(r));
    }
    const auto kept = write(records);
    EXPECT_EQ(kept.rejected, 2u);
    const auto all = db_->rows("SELECT message_id, reason, receive_count, encode(sealed_body, "
                               "'escape') FROM " +
                               rejects() + " ORDER BY message_id");
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0], (std::vector<std::string>{"r-37", "db_refused:22001", "4", "sealed-37"}));
    EXPECT_EQ(all[1], (std::vector<std::string>{"r-80", "db_refused:22021", "4", "sealed-80"}));

    // Redelivered: the good rows are duplicates, the bad ones refused again, nothing doubles.
    const auto again = write(b);
    EXPECT_EQ(again.duplicates, 98u);
    EXPECT_EQ(again.rows[37].status, item_status::refused);
    EXPECT_EQ(rows_in_table(), 98);
    EXPECT_EQ(db_->count("SELECT count(*) FROM " + rejects()), 3);
}

INSTANTIATE_TEST_SUITE_P(Formats, PgWriterFormats,
                         ::testing::Values(pg::param_format::binary, pg::param_format::text),
                         [](const auto& info) {
                             return info.param == pg::param_format::binary ? "binary" : "text";
                         });

// ---------------------------------------------------------------------------------------

using PgWriter = test::pg_test;

TEST_F(PgWriter, RedeliveredMessagesBecomeNoSecondRow) {
    start_writer();
    pg::batch b;
    b.rows = make_rows("d", 40);
    ASSERT_EQ(write(b).inserted, 40u);

    const auto again = write(b);
    EXPECT_EQ(again.duplicates, 40u);
    EXPECT_EQ(again.inserted, 0u);
    EXPECT_EQ(count_status(again.rows, item_status::duplicate), 40u);
    EXPECT_EQ(rows_in_table(), 40);

    // Half old, half new.
    pg::batch mixed;
    mixed.rows = make_rows("d", 40, 20);
    const auto m = write(mixed);
    EXPECT_EQ(m.duplicates, 20u);
    EXPECT_EQ(m.inserted, 20u);
    for (std::size_t i = 0; i < 40; ++i)
        EXPECT_EQ(m.rows[i].status, i < 20 ? item_status::duplicate : item_status::inserted) << i;
    EXPECT_EQ(rows_in_table(), 60);
    EXPECT_EQ(duplicated_rows(), 0);
}

TEST_F(PgWriter, FastStatementFallsBackForABatchWithKnownIdsThenCoolsDown) {
    auto& w = start_writer(); // fast_path is the default
    pg::batch b;
    b.rows = make_rows("q", 40);
    ASSERT_EQ(write(b).inserted, 40u);
    EXPECT_EQ(w.stats().transactions, 1u);
    EXPECT_EQ(w.stats().fast_fallbacks, 0u);

    // Every id is in the ledger: the fast statement fails on the key (nothing of it
    // stays), the normal one answers duplicate for each.
    const auto again = write(b);
    EXPECT_EQ(again.duplicates, 40u);
    EXPECT_FALSE(again.error);
    EXPECT_EQ(w.stats().transactions, 3u);
    EXPECT_EQ(w.stats().fast_fallbacks, 1u);
    EXPECT_EQ(rows_in_table(), 40);
    EXPECT_EQ(rows_in_ledger(), 40);

    // A redelivery wave: the next batches go straight to the normal statement.
    pg::batch mixed;
    mixed.rows = make_rows("q", 40, 20);
    const auto m = write(mixed);
    EXPECT_EQ(m.duplicates, 20u);
    EXPECT_EQ(m.inserted, 20u);
    EXPECT_EQ(w.stats().transactions, 4u);
    EXPECT_EQ(w.stats().fast_fallbacks, 1u);
    EXPECT_EQ(rows_in_table(), 60);
    EXPECT_EQ(duplicated_rows(), 0);
}

TEST_F(PgWriter, WithoutTheFastPathARedeliveryIsOneTransaction) {
    auto cfg = config();
    cfg.fast_path = false;
    auto& w = start_writer(cfg);
    pg::batch b;
    b.rows = make_rows("s", 30);
    ASSERT_EQ(write(b).inserted, 30u);
    b.rows.push_back(make_row("s-new", 7));
    const auto again = write(b);
    EXPECT_EQ(again.duplicates, 30u);
    EXPECT_EQ(again.inserted, 1u);
    EXPECT_EQ(w.stats().transactions, 2u);
    EXPECT_EQ(w.stats().fast_fallbacks, 0u);
    EXPECT_EQ(rows_in_table(), 31);
}

TEST_F(PgWriter, DuplicatesInsideOneBatchAreWrittenOnce) {
    start_writer();
    pg::batch b;
    b.rows = {make_row("a", 1), make_row("b", 2), make_row("a", 1), make_row("c", 3),
              make_row("a", 1)};
    b.rejects = {{"x", "invalid_json", 1, std::nullopt, "s"},
                 {"x", "invalid_json", 2, std::nullopt, "s"}};
    const auto o = write(b);
    std::vector<item_status> got;
    for (const auto& r : o.rows)
        got.push_back(r.status);
    EXPECT_EQ(got, (std::vector<item_status>{item_status::inserted, item_status::inserted,
                                             item_status::duplicate, item_status::inserted,
                                             item_status::duplicate}));
    EXPECT_EQ(o.rejects[0].status, item_status::rejected);
    EXPECT_EQ(o.rejects[1].status, item_status::rejected);
    EXPECT_EQ(rows_in_table(), 3);
    EXPECT_EQ(db_->count("SELECT count(*) FROM " + rejects()), 1);
}

TEST_F(PgWriter, RejectsAreIdempotentOnMessageId) {
    start_writer();
    const std::string body = std::string("\x00\x01\xff sealed", 10);
    pg::batch b;
    b.rejects = {{"rj", "invalid_json", 1, 1700000000123, body}};
    ASSERT_EQ(write(b).rejected, 1u);
    const std::string first = db_->value("SELECT last_seen FROM " + rejects());
    b.rejects[0].receive_count = 3;
    b.rejects[0].reason = "missing_field";
    ASSERT_EQ(write(b).rejected, 1u);
    b.rejects[0].receive_count = 2; // an older copy arriving late does not lower the count
    ASSERT_EQ(write(b).rejected, 1u);

    const auto r = db_->rows(
        "SELECT count(*), max(receive_count), max(reason), bool_and(last_seen > first_seen), "
        "max(encode(sealed_body, 'hex')), max((extract(epoch FROM sent_at) * 1000)::int8) FROM " +
        rejects());
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0][0], "1");
    EXPECT_EQ(r[0][1], "3");
    EXPECT_EQ(r[0][2], "missing_field");
    EXPECT_EQ(r[0][3], "t");
    EXPECT_EQ(r[0][4], "0001ff207365616c6564");
    EXPECT_EQ(r[0][5], "1700000000123");
    EXPECT_NE(db_->value("SELECT last_seen FROM " + rejects()), first);
}

TEST_F(PgWriter, ManyBatchesInFlightOnOneConnection) {
    auto& w = start_writer();
    constexpr int batches = 32, per_batch = 50;
    int finished = 0;
    std::size_t inserted = 0, max_in_flight = 0;
    std::vector<pg::batch> all(batches); // each lives until its write is done
    for (int k = 0; k < batches; ++k) {
        pg::batch& b = all[static_cast<std::size_t>(k)];
        b.rows = make_rows("f" + std::to_string(k), per_batch, k * per_batch);
        asio::co_spawn(io, w.async_write(b), [&](std::exception_ptr e, pg::batch_outcome o) {
            EXPECT_FALSE(e);
            inserted += o.inserted;
            ++finished;
        });
    }
    run_until([&] {
        max_in_flight = std::max(max_in_flight, w.in_flight());
        return finished == batches;
    });
    EXPECT_EQ(inserted, static_cast<std::size_t>(batches * per_batch));
    EXPECT_GE(max_in_flight, 2u) << "batches were not pipelined";
    EXPECT_EQ(rows_in_table(), batches * per_batch);
    EXPECT_EQ(duplicated_rows(), 0);
    EXPECT_EQ(w.stats().connects, 1u);
}

TEST_F(PgWriter, TwoWritersWithOverlappingIdsNeitherDeadlockNorDuplicate) {
    // Two sqs2pg processes can hold the same messages (a redelivery after a visibility
    // timeout). Written at the same moment in opposite orders, each id must end up
    // exactly once, every copy answered inserted or duplicate, and no write may fail with
    // a deadlock (40P01): ledger entries are taken in one order by every writer.
    auto& first = start_writer();
    auto& second = start_second_writer(config());

    constexpr int n = 2000;
    pg::batch forward, backward;
    forward.rows = make_rows("o", n);
    backward.rows = make_rows("o", n);
    std::reverse(backward.rows.begin(), backward.rows.end());
    // The two statements must overlap in time: a trigger slows every insert a little.
    db_->exec(fmt::format("CREATE FUNCTION {0}.nap() RETURNS trigger LANGUAGE plpgsql AS $$ "
                          "BEGIN PERFORM pg_sleep(0.0005); RETURN NEW; END $$",
                          schema_));
    db_->exec(fmt::format("CREATE TRIGGER nap BEFORE INSERT ON {0}.sqs2pg_ledger FOR EACH ROW "
                          "EXECUTE FUNCTION {0}.nap()",
                          schema_));
    std::optional<pg::batch_outcome> a, b;
    asio::co_spawn(io, first.async_write(forward), [&](std::exception_ptr e, pg::batch_outcome o) {
        EXPECT_FALSE(e);
        a = std::move(o);
    });
    asio::co_spawn(io, second.async_write(backward),
                   [&](std::exception_ptr e, pg::batch_outcome o) {
                       EXPECT_FALSE(e);
                       b = std::move(o);
                   });
    run_until([&] { return a && b; });
    EXPECT_FALSE(a->error) << a->error.message();
    EXPECT_FALSE(b->error) << b->error.message();
    EXPECT_EQ(a->retry + b->retry, 0u);
    EXPECT_EQ(a->inserted + b->inserted, static_cast<std::size_t>(n));
    EXPECT_EQ(a->duplicates + b->duplicates, static_cast<std::size_t>(n));
    EXPECT_EQ(rows_in_table(), n);
    EXPECT_EQ(rows_in_ledger(), n);
    EXPECT_EQ(duplicated_rows(), 0);
}

void add_sleep_trigger(test::sync_db& db, const std::string& schema, double seconds) {
    db.exec(fmt::format("CREATE FUNCTION {0}.slow() RETURNS trigger LANGUAGE plpgsql AS $$ "
                        "BEGIN PERFORM pg_sleep({1}); RETURN NEW; END $$",
                        schema, seconds));
    db.exec(fmt::format("CREATE TRIGGER slow BEFORE INSERT ON {0}.user_logins FOR EACH ROW "
                        "WHEN (NEW.user_id = 'slow') EXECUTE FUNCTION {0}.slow()",
                        schema));
}

TEST_F(PgWriter, StatementTimeoutSplitsTheBatchAndLeavesTheSlowHalfToRetry) {
    auto cfg = config();
    cfg.statement_timeout = 1s; // generous: the half without the slow row must not time out
    // The table must exist for the trigger: start once to create it.
    start_writer(cfg);
    add_sleep_trigger(*db_, schema_, 30);

    pg::batch b;
    b.rows = make_rows("t", 20);
    b.rows[15].row.user_id = "slow";
    const auto o = write(b);
    EXPECT_EQ(o.error, pg::errc::statement_timeout);
    EXPECT_EQ(o.inserted, 10u); // the half without the slow row
    EXPECT_EQ(o.retry, 10u);
    for (std::size_t i = 0; i < 20; ++i) {
        EXPECT_EQ(o.rows[i].status, i < 10 ? item_status::inserted : item_status::retry) << i;
        if (i >= 10) {
            EXPECT_EQ(o.rows[i].sqlstate, "57014");
        }
    }
    EXPECT_EQ(rows_in_table(), 10);

    // The cause goes away; writing the retry items again completes the batch exactly once.
    db_->exec("DROP TRIGGER slow ON " + table());
    pg::batch rest;
    for (std::size_t i = 0; i < 20; ++i)
        if (o.rows[i].status == item_status::retry)
            rest.rows.push_back(b.rows[i]);
    const auto r = write(rest);
    EXPECT_EQ(r.inserted, 10u);
    EXPECT_EQ(rows_in_table(), 20);
    EXPECT_EQ(duplicated_rows(), 0);
}

TEST_F(PgWriter, KilledConnectionMidBatchReconnectsWithoutLossOrDuplicates) {
    auto& w = start_writer();
    add_sleep_trigger(*db_, schema_, 2);

    std::vector<pg::batch> batches;
    for (int k = 0; k < 4; ++k) {
        pg::batch b;
        b.rows = make_rows("k" + std::to_string(k), 25, k * 25);
        batches.push_back(b);
    }
    batches[0].rows[10].row.user_id = "slow"; // keeps the first transaction busy
    std::vector<pg::batch_outcome> outcomes(batches.size());
    int finished = 0;
    for (std::size_t k = 0; k < batches.size(); ++k)
        asio::co_spawn(io, w.async_write(batches[k]),
                       [&, k](std::exception_ptr e, pg::batch_outcome o) {
                           EXPECT_FALSE(e);
                           outcomes[k] = std::move(o);
                           ++finished;
                       });
    // Let the batches reach the server, then kill the session from outside.
    const int pid = w.backend_pid();
    ASSERT_NE(pid, 0);
    run_until([&] { return w.in_flight() == batches.size(); });
    test::sync_db admin(test::require_env("SQS2PG_TEST_PG_ADMIN"));
    for (int i = 0; i < 100; ++i) { // wait until the server is inside the slow statement
        if (admin.count(fmt::format("SELECT count(*) FROM pg_stat_activity WHERE pid = {} AND "
                                    "wait_event = 'PgSleep'",
                                    pid)) == 1)
            break;
        run_for(20ms);
    }
    EXPECT_EQ(admin.value(fmt::format("SELECT pg_terminate_backend({})", pid)), "t");
    run_until([&] { return finished == static_cast<int>(batches.size()); });

    for (const auto& o : outcomes) {
        EXPECT_EQ(o.retry, 25u);
        EXPECT_TRUE(pg::is_retryable(o.error)) << o.error.message();
    }
    EXPECT_EQ(rows_in_table(), 0); // nothing of the killed transactions committed
    EXPECT_EQ(w.stats().connection_losses, 1u);

    // The writer reconnects by itself; writing the retry items again loses nothing.
    db_->exec("DROP TRIGGER slow ON " + table());
    for (auto& b : batches) {
        const auto o = write(b);
        EXPECT_EQ(o.inserted, 25u);
    }
    EXPECT_GE(w.stats().connects, 2u);
    EXPECT_NE(w.backend_pid(), pid);
    EXPECT_EQ(rows_in_table(), 100);
    EXPECT_EQ(duplicated_rows(), 0);
}

TEST_F(PgWriter, CommittedButUnacknowledgedBatchIsDuplicateOnRewrite) {
    // The ambiguous case of a lost connection: the server committed, the answer was lost.
    // Simulated by killing the session right after a commit; the rewrite must not double.
    auto& w = start_writer();
    pg::batch b;
    b.rows = make_rows("c", 30);
    ASSERT_EQ(write(b).inserted, 30u);
    test::sync_db admin(test::require_env("SQS2PG_TEST_PG_ADMIN"));
    admin.exec(fmt::format("SELECT pg_terminate_backend({})", w.backend_pid()));
    const auto o = write(b); // waits for the reconnect if the loss is noticed first
    if (o.retry > 0) {
        EXPECT_TRUE(pg::is_retryable(o.error));
        const auto again = write(b);
        EXPECT_EQ(again.duplicates, 30u);
    } else {
        EXPECT_EQ(o.duplicates, 30u);
    }
    EXPECT_EQ(rows_in_table(), 30);
}

TEST_F(PgWriter, IdleConnectionKilledIsReplacedBeforeTheNextWrite) {
    auto& w = start_writer();
    const int pid = w.backend_pid();
    test::sync_db admin(test::require_env("SQS2PG_TEST_PG_ADMIN"));
    admin.exec(fmt::format("SELECT pg_terminate_backend({})", pid));
    run_until([&] { return w.stats().connects >= 2 && w.connected(); }, 20s);
    EXPECT_EQ(w.stats().connection_losses, 1u);
    pg::batch b;
    b.rows = make_rows("i", 5);
    EXPECT_EQ(write(b).inserted, 5u);
}

TEST_F(PgWriter, CancelledWriteReturnsRetryAndStaysSafe) {
    auto& w = start_writer();
    add_sleep_trigger(*db_, schema_, 1);
    pg::batch b;
    b.rows = make_rows("x", 10);
    b.rows[0].row.user_id = "slow";
    using namespace asio::experimental::awaitable_operators;
    auto deadline = [&]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, 100ms);
        co_await t.async_wait(asio::use_awaitable);
    };
    auto raced = await([&]() -> asio::awaitable<std::variant<pg::batch_outcome, std::monostate>> {
        auto writing = w.async_write(b);
        co_return co_await (std::move(writing) || deadline());
    }());
    ASSERT_EQ(raced.index(), 1u) << "the deadline should have won";
    // The batch still commits on the server; writing it again finds it in the ledger.
    const auto o = write(b);
    EXPECT_EQ(o.duplicates, 10u);
    EXPECT_EQ(rows_in_table(), 10);
}

// ---------------------------------------------------------------------------------------
// Schema management.

TEST_F(PgWriter, CreatesMissingTablesWithTheTakeHomeDdl) {
    start_writer();
    const auto cols =
        db_->rows("SELECT column_name, data_type, "
                  "coalesce(character_maximum_length, 0) FROM "
                  "information_schema.columns WHERE table_schema = '" +
                  schema_ + "' AND table_name = 'user_logins' ORDER BY ordinal_position");
    const std::vector<std::vector<std::string>> expected = {
        {"user_id", "character varying", "128"},
        {"device_type", "character varying", "32"},
        {"masked_ip", "character varying", "256"},
        {"masked_device_id", "character varying", "256"},
        {"locale", "character varying", "32"},
        {"app_version", "integer", "0"},
        {"create_date", "date", "0"}};
    EXPECT_EQ(cols, expected);
    // No constraints, indexes or defaults were added to the user's table.
    EXPECT_EQ(db_->count("SELECT count(*) FROM pg_constraint WHERE conrelid = '" + table() +
                         "'::regclass"),
              0);
    EXPECT_EQ(
        db_->count("SELECT count(*) FROM pg_index WHERE indrelid = '" + table() + "'::regclass"),
        0);
    EXPECT_EQ(db_->count("SELECT count(*) FROM information_schema.columns WHERE table_schema = '" +
                         schema_ +
                         "' AND table_name = 'user_logins' AND column_default IS NOT "
                         "NULL"),
              0);
    EXPECT_EQ(db_->count("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema_ +
                         "' AND tablename IN ('sqs2pg_ledger', 'sqs2pg_rejects')"),
              2);
    // The ledger is keyed by (sent_at, message_id); sent_at is the SentTimestamp.
    EXPECT_EQ(db_->rows("SELECT pg_get_indexdef(indexrelid) ~ '\\(sent_at, message_id\\)$'"
                        " FROM pg_index WHERE indisprimary AND indrelid = '" +
                        ledger() + "'::regclass"),
              (std::vector<std::vector<std::string>>{{"t"}}));
    pg::batch b;
    b.rows = {make_row("k-1", 1)};
    b.rows.push_back(make_row("k-none", 2));
    b.rows.back().sent_timestamp_ms.reset();
    ASSERT_EQ(write(b).inserted, 2u);
    EXPECT_EQ(db_->rows("SELECT message_id, extract(epoch FROM sent_at)::text FROM " + ledger() +
                        " ORDER BY message_id"),
              (std::vector<std::vector<std::string>>{{"k-1", "1709251201.000000"},
                                                     {"k-none", "0.000000"}}));
}

TEST_F(PgWriter, TheSameMessageIdWithTheSameSentTimestampIsOneEntryInEitherStatement) {
    // A message keeps its MessageId and SentTimestamp on every delivery, so a redelivery
    // has the same key; a missing SentTimestamp is the epoch every time.
    for (const bool fast : {true, false}) {
        auto cfg = config();
        cfg.fast_path = fast;
        start_writer(cfg);
        const std::string p = fast ? "f" : "n";
        pg::batch b;
        b.rows = make_rows(p, 5);
        b.rows[4].sent_timestamp_ms.reset();
        ASSERT_EQ(write(b).inserted, 5u);
        const auto again = write(b);
        EXPECT_EQ(again.duplicates, 5u) << p;
        EXPECT_EQ(again.inserted, 0u) << p;
        stop_writer();
    }
    EXPECT_EQ(rows_in_table(), 10);
    EXPECT_EQ(rows_in_ledger(), 10);
}

TEST_F(PgWriter, ALedgerKeyedByMessageIdAloneIsWrittenAsItIs) {
    // A ledger an earlier sqs2pg created: its entries have no SentTimestamp, so it keeps
    // its key, and a redelivery is a duplicate whatever its SentTimestamp.
    db_->exec("CREATE TABLE " + ledger() +
              " (message_id text COLLATE \"C\" PRIMARY KEY, written_at timestamptz NOT NULL "
              "DEFAULT now(), keep_until timestamptz NOT NULL)");
    db_->exec("INSERT INTO " + ledger() +
              " (message_id, keep_until) VALUES ('old-0', now() + interval '1 day')");
    for (const bool fast : {true, false}) {
        auto cfg = config();
        cfg.fast_path = fast;
        start_writer(cfg);
        pg::batch b;
        b.rows = make_rows("old", 3);
        for (auto& r : b.rows)
            r.sent_timestamp_ms = *r.sent_timestamp_ms + (fast ? 7 : 9);
        const auto o = write(b);
        EXPECT_EQ(o.duplicates, fast ? 1u : 3u);
        EXPECT_EQ(o.inserted, fast ? 2u : 0u);
        stop_writer();
    }
    EXPECT_EQ(rows_in_table(), 2);
    EXPECT_EQ(rows_in_ledger(), 3);
    EXPECT_EQ(db_->count("SELECT count(*) FROM information_schema.columns WHERE table_schema = '" +
                         schema_ +
                         "' AND table_name = 'sqs2pg_ledger' AND column_name = 'sent_at'"),
              0);
}

TEST_F(PgWriter, ALedgerWithAnotherKeyIsAClearStartupError) {
    for (const std::string key : {"", ", PRIMARY KEY (written_at)"}) {
        db_->exec("DROP TABLE IF EXISTS " + ledger());
        db_->exec("CREATE TABLE " + ledger() +
                  " (message_id text, sent_at timestamptz, written_at timestamptz, keep_until "
                  "timestamptz" +
                  key + ")");
        pg::writer w(io.get_executor(), config());
        const auto r = await(w.async_start());
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), pg::errc::schema_mismatch);
        const std::string want = key.empty() ? "sqs2pg_ledger\" has no primary key"
                                             : "has the primary key (written_at), expected "
                                               "(sent_at, message_id) or (message_id)";
        EXPECT_NE(w.error_detail().find(want), std::string::npos) << w.error_detail();
    }
}

TEST_F(PgWriter, UsesAnExistingTableAndItsRows) {
    db_->exec("CREATE TABLE " + table() +
              "(user_id varchar(128), device_type varchar(32), masked_ip varchar(256), "
              "masked_device_id varchar(256), locale varchar(32), app_version integer, "
              "create_date date)");
    db_->exec("INSERT INTO " + table() + " (user_id) VALUES ('existing')");
    start_writer();
    pg::batch b;
    b.rows = make_rows("e", 2);
    EXPECT_EQ(write(b).inserted, 2u);
    EXPECT_EQ(rows_in_table(), 3);
}

TEST_F(PgWriter, TableWithOtherColumnsIsAClearStartupError) {
    db_->exec("CREATE TABLE " + table() +
              "(user_id varchar(128), device_type varchar(32), masked_ip varchar(64), "
              "masked_device_id varchar(256), app_version bigint, create_date date, note text)");
    pg::writer w(io.get_executor(), config());
    const auto r = await(w.async_start());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), pg::errc::schema_mismatch);
    EXPECT_TRUE(pg::is_fatal(r.error()));
    const std::string& d = w.error_detail();
    EXPECT_NE(d.find("column masked_ip is character varying(64), expected character "
                     "varying(256)"),
              std::string::npos)
        << d;
    EXPECT_NE(d.find("column locale is missing"), std::string::npos) << d;
    EXPECT_NE(d.find("column app_version is bigint, expected integer"), std::string::npos) << d;
    EXPECT_NE(d.find("unexpected column note (text)"), std::string::npos) << d;
    EXPECT_FALSE(w.connected());
}

TEST_F(PgWriter, MissingTablesWithoutCreateAreAnError) {
    auto cfg = config();
    cfg.create_tables = false;
    pg::writer w(io.get_executor(), cfg);
    const auto r = await(w.async_start());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), pg::errc::schema_mismatch);
    EXPECT_NE(w.error_detail().find("missing table"), std::string::npos);
}

TEST_F(PgWriter, MissingSchemaIsNamed) {
    auto cfg = config();
    cfg.table = schema_ + "_nope.user_logins";
    pg::writer w(io.get_executor(), cfg);
    const auto r = await(w.async_start());
    ASSERT_FALSE(r);
    EXPECT_NE(w.error_detail().find("does not exist"), std::string::npos) << w.error_detail();
}

TEST_F(PgWriter, InvalidTableNameIsRejectedBeforeConnecting) {
    auto cfg = config();
    cfg.table = "a.b.c";
    pg::writer w(io.get_executor(), cfg);
    EXPECT_EQ(await(w.async_start()).error(), pg::errc::invalid_table_name);
}

// ---------------------------------------------------------------------------------------
// Connecting.

TEST_F(PgWriter, WrongPasswordFailsWithLibpqsReason) {
    auto cfg = config();
    cfg.conninfo += (cfg.conninfo.find('?') == std::string::npos ? "?" : "&");
    cfg.conninfo += "password=wrong";
    pg::writer w(io.get_executor(), cfg);
    const auto r = await(w.async_start());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), pg::errc::connect_failed);
    EXPECT_NE(w.error_detail().find("password authentication failed"), std::string::npos)
        << w.error_detail();
}

TEST_F(PgWriter, PasswordCallbackIsAskedBeforeEveryConnectAndReconnect) {
    // --pg-iam-auth's hook: a fresh password (an RDS token there) for each connect. Here a
    // role whose password is a token-sized string, and a connection string whose own
    // password is wrong: the callback's wins.
    test::sync_db admin(test::require_env("SQS2PG_TEST_PG_ADMIN"));
    const std::string role = test::unique_name("iam_");
    const std::string token = "db.example:5432/?Action=connect&DBUser=" + role +
                              "&X-Amz-Algorithm=AWS4-HMAC-SHA256&" + std::string(600, 'x');
    admin.exec(fmt::format("CREATE ROLE {} LOGIN PASSWORD '{}'", role, token));
    admin.exec(fmt::format("GRANT ALL ON SCHEMA {} TO {}", schema_, role));
    admin.exec(
        fmt::format("GRANT CREATE ON DATABASE {} TO {}", test::require_env("PGDATABASE"), role));
    auto cfg = config();
    cfg.conninfo =
        fmt::format("host={} port={} dbname={} user={} password=wrong", test::require_env("PGHOST"),
                    test::require_env("PGPORT"), test::require_env("PGDATABASE"), role);
    int calls = 0;
    cfg.password = [&](std::string&) -> asio::awaitable<boost::system::result<std::string>> {
        ++calls;
        co_return token;
    };
    auto& w = start_writer(cfg);
    EXPECT_EQ(calls, 1);
    admin.exec(fmt::format("SELECT pg_terminate_backend({})", w.backend_pid()));
    run_until([&] { return w.stats().connects >= 2 && w.connected(); }, 20s);
    EXPECT_EQ(calls, 2);
    pg::batch b;
    b.rows = make_rows("t", 3);
    EXPECT_EQ(write(b).inserted, 3u);
    stop_writer();
    admin.exec(fmt::format("DROP OWNED BY {}; DROP ROLE {}", role, role));
}

TEST_F(PgWriter, PasswordCallbackFailureIsTheConnectsError) {
    auto cfg = config();
    cfg.password = [](std::string& detail) -> asio::awaitable<boost::system::result<std::string>> {
        detail = "--pg-iam-auth: no AWS credentials";
        co_return make_error_code(pg::errc::invalid_conninfo);
    };
    pg::writer w(io.get_executor(), cfg);
    const auto r = await(w.async_start());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), pg::errc::invalid_conninfo);
    EXPECT_EQ(w.error_detail(), "--pg-iam-auth: no AWS credentials");
}

TEST_F(PgWriter, HostNamesAreResolvedWithoutBlockingAndPgVariablesWork) {
    // "localhost" goes through Asio's resolver; empty conninfo uses PGHOST, PGPORT, ...
    const std::string port = test::require_env("PGPORT");
    for (const std::string& conninfo :
         {"host=localhost port=" + port + " dbname=" + test::require_env("PGDATABASE") + " user=" +
              test::require_env("PGUSER") + " password=" + test::require_env("PGPASSWORD"),
          std::string()}) {
        pg::connection c(io.get_executor());
        const auto r = await(c.async_connect({conninfo, 5s}));
        ASSERT_TRUE(r) << r.error().message() << ": " << c.error_detail();
        auto q = await(c.async_query("SELECT current_user"));
        ASSERT_TRUE(q);
        EXPECT_EQ(std::string(PQgetvalue(q->get(), 0, 0)), test::require_env("PGUSER"));
    }
}

TEST_F(PgWriter, ConnectTimeoutIsEnforcedByTheDriver) {
    // A listening socket that never answers: libpq waits for the server's reply.
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = silent.local_endpoint().port();
    pg::connection c(io.get_executor());
    const auto started = std::chrono::steady_clock::now();
    const auto r = await(c.async_connect(
        {fmt::format("host=127.0.0.1 port={} user=x dbname=x sslmode=disable", port), 300ms}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), pg::errc::connect_timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

// ---------------------------------------------------------------------------------------
// Ledger pruning.

TEST_F(PgWriter, PruningDeletesOnlyEntriesOlderThanTheRetentionInSmallRounds) {
    auto cfg = config();
    cfg.prune_batch = 7;
    cfg.prune_interval = 0s; // rounds driven by the test
    auto& w = start_writer(cfg);
    pg::batch b;
    b.rows = make_rows("p", 40);
    ASSERT_EQ(write(b).inserted, 40u);
    // Each entry is kept for the retention (14 days by default) from when it was written.
    EXPECT_EQ(db_->count("SELECT count(*) FROM " + ledger() +
                         " WHERE keep_until = written_at + interval '14 days'"),
              40);
    // 15 days pass for some of them.
    age_ledger("15 days", "message_id < 'p-3'");
    const long old = db_->count("SELECT count(*) FROM " + ledger() +
                                " WHERE written_at < now() - interval '14 days'");
    ASSERT_GT(old, 7);

    std::size_t total = 0;
    std::vector<std::size_t> rounds;
    while (true) {
        const auto n = await(w.async_prune_ledger());
        ASSERT_TRUE(n) << n.error().message();
        rounds.push_back(*n);
        total += *n;
        if (*n < 7)
            break;
    }
    EXPECT_EQ(total, static_cast<std::size_t>(old));
    EXPECT_EQ(rounds.front(), 7u);
    EXPECT_EQ(rows_in_ledger(), 40 - old);
    EXPECT_EQ(rows_in_table(), 40); // rows are never touched
    EXPECT_EQ(w.stats().ledger_pruned, total);
}

TEST_F(PgWriter, PruningRunsInTheBackground) {
    auto cfg = config();
    cfg.prune_interval = 1s;
    cfg.ledger_retention = std::chrono::hours(24);
    auto& w = start_writer(cfg);
    pg::batch b;
    b.rows = make_rows("bg", 10);
    ASSERT_EQ(write(b).inserted, 10u);
    age_ledger("2 days", "message_id IN ('bg-1', 'bg-2')");
    run_until([&] { return w.stats().ledger_pruned >= 2; }, 20s);
    EXPECT_EQ(rows_in_ledger(), 8);
}

TEST_F(PgWriter, DeploymentsSharingALedgerEachKeepTheirOwnRetention) {
    // Two sqs2pg deployments write tables in one schema, so they share sqs2pg_ledger;
    // one reads a queue that keeps messages 1 day, the other 14 days. Pruning by the
    // first must not drop the second's entries while its queue can still redeliver.
    auto short_cfg = config();
    short_cfg.prune_interval = 0s;
    short_cfg.ledger_retention = std::chrono::hours(24);
    auto& short_lived = start_writer(short_cfg);
    pg::batch a;
    a.rows = make_rows("short", 10);
    ASSERT_EQ(write(a).inserted, 10u);

    auto long_cfg = config();
    long_cfg.prune_interval = 0s; // 14 days, the default
    auto& long_lived = start_second_writer(long_cfg);
    pg::batch b;
    b.rows = make_rows("long", 10);
    ASSERT_EQ(await(long_lived.async_write(b)).inserted, 10u);

    age_ledger("2 days");
    const auto pruned = await(short_lived.async_prune_ledger());
    ASSERT_TRUE(pruned) << pruned.error().message();
    EXPECT_EQ(*pruned, 10u);
    EXPECT_EQ(db_->count("SELECT count(*) FROM " + ledger() + " WHERE message_id LIKE 'long-%'"),
              10);
    EXPECT_EQ(db_->count("SELECT count(*) FROM " + ledger() + " WHERE message_id LIKE 'short-%'"),
              0);
    // A redelivery to the long-retention deployment is still recognised.
    pg::batch again;
    again.rows = make_rows("long", 10);
    EXPECT_EQ(await(long_lived.async_write(again)).duplicates, 10u);
}

// ---------------------------------------------------------------------------------------
// The rejects queries behind `sqs2pg rejects list|show|replay`.

TEST_F(PgWriter, RejectsCanBeListedShownMarkedAndDeleted) {
    auto& w = start_writer();
    pg::batch b;
    for (int i = 0; i < 6; ++i)
        b.rejects.push_back({"q-" + std::to_string(i), i % 2 ? "invalid_json" : "missing_field",
                             i + 1, 1700000000000 + i, "body-" + std::to_string(i)});
    ASSERT_EQ(write(b).rejected, 6u);
    db_->exec("UPDATE " + rejects() +
              " SET last_seen = timestamptz '2024-01-01 00:00:00+00' + "
              "(substr(message_id, 3)::int * interval '1 day')");

    pg::connection c(io.get_executor());
    ASSERT_TRUE(await(c.async_connect({conninfo_, 5s})));
    const auto& t = w.tables();

    auto all = await(pg::async_list_rejects(c, t, {}));
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 6u);
    EXPECT_EQ((*all)[0].message_id, "q-5"); // most recently seen first
    EXPECT_TRUE((*all)[0].sealed_body.empty());
    EXPECT_EQ((*all)[0].receive_count, 6);
    ASSERT_TRUE((*all)[0].sent_at);
    EXPECT_EQ((*all)[0].sent_at->time_since_epoch(), std::chrono::microseconds(1700000000005000LL));

    pg::reject_filter by_reason;
    by_reason.reason = "invalid_json";
    auto odd = await(pg::async_list_rejects(c, t, by_reason));
    ASSERT_TRUE(odd);
    EXPECT_EQ(odd->size(), 3u);

    pg::reject_filter window;
    window.since = std::chrono::sys_days(std::chrono::year(2024) / 1 / 3);
    window.until = std::chrono::sys_days(std::chrono::year(2024) / 1 / 5);
    window.limit = 10;
    auto in_window = await(pg::async_list_rejects(c, t, window));
    ASSERT_TRUE(in_window);
    ASSERT_EQ(in_window->size(), 2u);
    EXPECT_EQ((*in_window)[0].message_id, "q-3");
    EXPECT_EQ((*in_window)[1].message_id, "q-2");

    pg::reject_filter two;
    two.limit = 2;
    EXPECT_EQ(await(pg::async_list_rejects(c, t, two))->size(), 2u);

    auto one = await(pg::async_find_reject(c, t, "q-4"));
    ASSERT_TRUE(one);
    ASSERT_TRUE(one->has_value());
    EXPECT_EQ((*one)->sealed_body, "body-4");
    EXPECT_EQ((*one)->reason, "missing_field");
    EXPECT_FALSE((*one)->replayed_at);
    EXPECT_FALSE(await(pg::async_find_reject(c, t, "nope"))->has_value());

    EXPECT_TRUE(*await(pg::async_mark_replayed(c, t, "q-4", "new-id-4")));
    EXPECT_FALSE(*await(pg::async_mark_replayed(c, t, "nope", "x")));
    auto replayed = await(pg::async_find_reject(c, t, "q-4"));
    ASSERT_TRUE((*replayed)->replayed_at);
    EXPECT_EQ((*replayed)->replayed_message_id, "new-id-4");
    EXPECT_EQ(await(pg::async_list_rejects(c, t, {}))->size(), 5u); // replayed ones hidden
    pg::reject_filter with_replayed;
    with_replayed.include_replayed = true;
    EXPECT_EQ(await(pg::async_list_rejects(c, t, with_replayed))->size(), 6u);

    EXPECT_TRUE(*await(pg::async_delete_reject(c, t, "q-1")));
    EXPECT_FALSE(*await(pg::async_delete_reject(c, t, "q-1")));
    EXPECT_FALSE(await(pg::async_find_reject(c, t, "q-1"))->has_value());
}

} // namespace
