// The pipeline core stepped by hand, a clock in hand, no sockets: batching by size and by
// delay, mixed write outcomes, deletes and extensions with partial failures, the memory
// bound, Postgres outages, dead letters refused whole and per entry, the two stop phases,
// the grace period, drain detection and every fatal error - each as a user would notice.
#include <sqs2pg/pg/error.hpp>

#include "core_stepper.hpp"

#include <gtest/gtest.h>

namespace sqs2pg::flow {
namespace {

using namespace std::chrono_literals;
using testing::stepper;

// --- receiving ---------------------------------------------------------------------------

TEST(Core, ReceivedCopiesAreHeldAndProcessedInOrder) {
    stepper s;
    const auto t = s.receive(3);
    EXPECT_EQ(s.c->counts().received, 3u);
    EXPECT_EQ(s.c->held().size(), 3u);
    EXPECT_EQ(s.c->held().bytes(), 300u);
    EXPECT_NE(s.c->take_wakeups() & wake::process, 0u);
    const auto todo = s.c->take_unprocessed(10);
    EXPECT_EQ(todo, t);
    EXPECT_EQ(s.c->copy(t[1])->message_id, "m1");
    EXPECT_EQ(s.c->copy(t[1])->receive_count, 2);
    EXPECT_EQ(s.c->copy(t[1])->sent_ms, std::optional<std::int64_t>(1'700'000'000'000));
    EXPECT_TRUE(s.c->take_unprocessed(10).empty());
}

TEST(Core, MessagesWithoutSentTimestampAreDatedByTheirReceiptAndCounted) {
    stepper s;
    auto r = s.messages(2);
    r.messages[0].attributes.clear();
    r.messages[1].attributes = {{"SentTimestamp", "not-a-number"}};
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
    const auto wall = std::chrono::sys_days{std::chrono::year{2030} / 1 / 2} + 5h;
    s.c->received(std::move(r), s.now, wall);
    EXPECT_EQ(s.c->counts().create_date_fallbacks, 2u);
    for (ticket t : s.c->take_unprocessed(10))
        EXPECT_EQ(s.c->copy(t)->create_date,
                  std::chrono::sys_days{std::chrono::year{2030} / 1 / 2});
}

TEST(Core, IntegrityFailuresAreCountedNotHeld) {
    stepper s;
    auto r = s.messages(1);
    r.rejected.push_back({"bad", "h-bad", "MD5OfBody mismatch"});
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
    s.c->received(std::move(r), s.now, std::chrono::system_clock::now());
    EXPECT_EQ(s.c->counts().integrity_failures, 1u);
    EXPECT_EQ(s.c->held().size(), 1u);
}

TEST(Core, ReceiversPauseAtTheMemoryBoundAndResumeWhenBytesAreReleased) {
    stepper s;
    s.cfg.max_in_flight_bytes = 1000;
    s.start();
    const auto t = s.receive(10, 100);
    EXPECT_EQ(s.c->held().bytes(), 1000u);
    EXPECT_EQ(s.c->next_receive(s.now).kind, step_kind::wait);
    s.process_all_rows();
    s.commit_all();
    s.c->take_wakeups();
    auto d = s.c->next_delete(s.now);
    ASSERT_EQ(d.kind, step_kind::go);
    s.c->deleted(d.call.id, s.delete_ok(d.call, 10), {}, s.now);
    EXPECT_NE(s.c->take_wakeups() & wake::receive, 0u);
    EXPECT_EQ(s.c->held().bytes(), 0u);
    EXPECT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
}

TEST(Core, ReceiversWaitWhileAFullBatchWaitsForEveryWriteSlot) {
    stepper s;
    s.cfg.batch_size = 10;
    s.cfg.max_batches_in_flight = 2;
    s.start();
    s.receive(15);
    EXPECT_EQ(s.c->next_receive(s.now).kind, step_kind::go); // 15 < 2 x 10
    s.c->received(s.messages(5), s.now, std::chrono::system_clock::now());
    const auto w = s.c->next_receive(s.now);
    EXPECT_EQ(w.kind, step_kind::wait); // 20 waiting: enough to keep both slots busy
    EXPECT_EQ(w.until, clock::time_point::max());
    s.process_all_rows();
    s.c->take_wakeups();
    ASSERT_EQ(s.c->next_write(s.now).kind, step_kind::go);
    EXPECT_NE(s.c->take_wakeups() & wake::receive, 0u);
    EXPECT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
}

TEST(Core, ReceiversWaitWhenDeletesLagSoMemoryDoesNotGrowWithTheQueue) {
    stepper s;
    s.cfg.batch_size = 10;
    s.cfg.max_batches_in_flight = 1;
    s.start();
    // 2 x 10 + one receive's worth: 30 held at most.
    for (int i = 0; i < 3; ++i) {
        s.receive(10);
        s.process_all_rows();
        s.commit_all(); // committed, but no delete done yet
    }
    EXPECT_EQ(s.c->held().size(), 30u);
    EXPECT_EQ(s.c->next_receive(s.now).kind, step_kind::wait);
    auto d = s.c->next_delete(s.now);
    s.c->take_wakeups();
    s.c->deleted(d.call.id, s.delete_ok(d.call, 10), {}, s.now);
    EXPECT_NE(s.c->take_wakeups() & wake::receive, 0u);
    EXPECT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
}

TEST(Core, EmptyShortPollsArePaced) {
    stepper s;
    s.cfg.empty_poll_pause = 25ms;
    s.start();
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
    s.c->received({}, s.now, std::chrono::system_clock::now());
    const auto w = s.c->next_receive(s.now);
    ASSERT_EQ(w.kind, step_kind::wait);
    EXPECT_EQ(w.until, s.now + 25ms);
    EXPECT_EQ(s.c->next_receive(s.now + 25ms).kind, step_kind::go);
    s.c->received(s.messages(3), s.now + 25ms, std::chrono::system_clock::now());
    EXPECT_EQ(s.c->next_receive(s.now + 25ms).kind, step_kind::go); // messages: no pause
}

TEST(Core, PostgresDownPausesReceivingAndMakesItNotReady) {
    stepper s;
    s.c->set_pg_connected(false, s.now);
    EXPECT_EQ(s.c->next_receive(s.now).kind, step_kind::wait);
    EXPECT_EQ(s.c->not_ready_reason(), std::optional<std::string_view>("postgres disconnected"));
    s.c->take_wakeups();
    s.c->set_pg_connected(true, s.now);
    EXPECT_NE(s.c->take_wakeups() & wake::receive, 0u);
    EXPECT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
    EXPECT_FALSE(s.c->not_ready_reason());
}

TEST(Core, AFailingReceiveBacksOffWithoutAFixedPauseAndMarksSqsFailing) {
    stepper s;
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
    s.c->receive_failed(stepper::error(sqs::errc::server, "InternalError", 500), "x", s.now);
    EXPECT_TRUE(s.c->sqs_failing());
    EXPECT_EQ(s.c->not_ready_reason(), std::optional<std::string_view>("sqs calls failing"));
    const auto w = s.c->next_receive(s.now);
    ASSERT_EQ(w.kind, step_kind::wait);
    EXPECT_GE(w.until, s.now + 500ms); // equal jitter under a 1 s ceiling
    EXPECT_LE(w.until, s.now + 1s);
    // The pauses grow while it keeps failing.
    ASSERT_EQ(s.c->next_receive(w.until).kind, step_kind::go);
    s.c->receive_failed(stepper::error(sqs::errc::server, "InternalError", 500), "x", w.until);
    const auto w2 = s.c->next_receive(w.until);
    EXPECT_GE(w2.until, w.until + 1s);
    EXPECT_EQ(s.c->counts().receive_retries, 2u);
    // One success clears it.
    ASSERT_EQ(s.c->next_receive(w2.until).kind, step_kind::go);
    s.c->received({}, w2.until, std::chrono::system_clock::now());
    EXPECT_FALSE(s.c->sqs_failing());
    EXPECT_EQ(s.c->next_receive(w2.until).kind, step_kind::go);
}

// --- batching ------------------------------------------------------------------------------

TEST(Core, AFullBatchGoesAtOnceAndTheRestAfterTheDelay) {
    stepper s;
    s.receive(300);
    s.process_all_rows();
    auto w = s.c->next_write(s.now);
    ASSERT_EQ(w.kind, step_kind::go);
    EXPECT_EQ(w.call.batch.rows.size(), 250u);
    auto rest = s.c->next_write(s.now);
    ASSERT_EQ(rest.kind, step_kind::wait);
    EXPECT_EQ(rest.until, s.now + 50ms);
    EXPECT_EQ(s.c->next_write(s.now + 49ms).kind, step_kind::wait);
    rest = s.c->next_write(s.now + 50ms);
    ASSERT_EQ(rest.kind, step_kind::go);
    EXPECT_EQ(rest.call.batch.rows.size(), 50u);
    EXPECT_EQ(rest.call.batch.rows[0].message_id, "m250");
}

TEST(Core, ASmallBatchWaitsForTheDelayFromItsFirstItem) {
    stepper s;
    s.receive(5);
    s.process_all_rows();
    s.now += 30ms;
    s.receive(2);
    s.process_all_rows();
    auto w = s.c->next_write(s.now);
    ASSERT_EQ(w.kind, step_kind::wait);
    EXPECT_EQ(w.until, s.now - 30ms + 50ms);
    const auto go = s.c->next_write(s.now + 20ms);
    ASSERT_EQ(go.kind, step_kind::go);
    EXPECT_EQ(go.call.batch.rows.size(), 7u);
}

TEST(Core, BatchesInFlightAreLimited) {
    stepper s;
    s.cfg.batch_size = 10;
    s.cfg.max_batches_in_flight = 2;
    s.start();
    s.receive(50);
    s.process_all_rows();
    auto a = s.c->next_write(s.now);
    const auto b = s.c->next_write(s.now);
    ASSERT_EQ(a.kind, step_kind::go);
    ASSERT_EQ(b.kind, step_kind::go);
    const auto c = s.c->next_write(s.now);
    EXPECT_EQ(c.kind, step_kind::wait);
    // A completed write wakes the stage; it looks again when writes would count as
    // stalled.
    EXPECT_EQ(c.until, s.now + 15s);
    s.c->take_wakeups();
    s.c->written(std::move(a.call), s.outcome(a.call, pg::item_status::inserted), s.now);
    EXPECT_NE(s.c->take_wakeups() & wake::write, 0u);
    EXPECT_EQ(s.c->next_write(s.now).kind, step_kind::go);
}

// --- write outcomes ----------------------------------------------------------------------

TEST(Core, MixedOutcomesAreSettledItemByItem) {
    stepper s;
    const auto t = s.receive(4);
    s.process_all_rows();
    auto w = s.c->next_write(s.now + 50ms);
    ASSERT_EQ(w.kind, step_kind::go);
    pg::batch_outcome o;
    o.rows = {{pg::item_status::inserted, ""},
              {pg::item_status::duplicate, ""},
              {pg::item_status::refused, "23514"},
              {pg::item_status::retry, ""}};
    o.error = pg::errc::connection_lost;
    s.now += 60ms;
    s.c->written(std::move(w.call), o, s.now);
    EXPECT_EQ(s.c->counts().inserted, 1u);
    EXPECT_EQ(s.c->counts().duplicates_skipped, 1u);
    EXPECT_EQ(s.c->counts().pg_retries, 1u);
    EXPECT_EQ(s.c->copy(t[0])->state, copy_state::committed);
    EXPECT_TRUE(s.c->copy(t[0])->body.empty()); // committed: the data is gone
    EXPECT_EQ(s.c->latency().count(), 2u);

    // The refused row becomes a reject in the very next write, its body sealed.
    auto next = s.c->next_write(s.now);
    ASSERT_EQ(next.kind, step_kind::go);
    ASSERT_EQ(next.call.batch.rejects.size(), 1u);
    EXPECT_TRUE(next.call.batch.rows.empty());
    const auto& rej = next.call.batch.rejects[0];
    EXPECT_EQ(rej.message_id, "m2");
    EXPECT_EQ(rej.reason, "db_refused:23514");
    EXPECT_EQ(rej.receive_count, 2);
    EXPECT_EQ(s.seal.open(rej.sealed_body, "m2").value(), stepper::body_of(2, 100));
    EXPECT_TRUE(s.c->copy(t[2])->body.empty()); // sealed: the plaintext is gone

    // The retried row waits for its backoff, then goes alone.
    const auto later = s.c->next_write(s.now);
    ASSERT_EQ(later.kind, step_kind::wait);
    EXPECT_GE(later.until, s.now + 50ms);
    EXPECT_LE(later.until, s.now + 100ms);
    const auto again = s.c->next_write(later.until);
    ASSERT_EQ(again.kind, step_kind::go);
    ASSERT_EQ(again.call.batch.rows.size(), 1u);
    EXPECT_EQ(again.call.batch.rows[0].message_id, "m3");

    s.c->written(std::move(next.call), s.outcome(next.call, pg::item_status::rejected), s.now);
    EXPECT_EQ(s.c->counts().rejected, 1u);
    auto d = s.c->next_delete(s.now);
    ASSERT_EQ(d.kind, step_kind::go);
    EXPECT_EQ(d.call.entries.size(), 3u); // inserted, duplicate, and the committed reject
}

TEST(Core, RetriesBackOffLongerEachTime) {
    stepper s;
    s.receive(1);
    s.process_all_rows();
    auto now = s.now + 50ms;
    for (int i = 0; i < 8; ++i) {
        auto w = s.c->next_write(now);
        ASSERT_EQ(w.kind, step_kind::go) << i;
        // The row went back to its copy with the last outcome: written again whole.
        ASSERT_EQ(w.call.batch.rows.size(), 1u);
        EXPECT_EQ(w.call.batch.rows[0].row.user_id, w.call.batch.rows[0].message_id) << i;
        s.c->written(std::move(w.call),
                     s.outcome(w.call, pg::item_status::retry, pg::errc::transient), now);
        const auto wait = s.c->next_write(now);
        ASSERT_EQ(wait.kind, step_kind::wait);
        // Ceilings double from 100 ms up to 5 s; each pause is in [ceiling/2, ceiling].
        const clock::duration ceiling = std::min<clock::duration>(100ms * (1 << i), 5s);
        EXPECT_GE(wait.until - now, ceiling / 2) << i;
        EXPECT_LE(wait.until - now, ceiling) << i;
        now = wait.until;
    }
    EXPECT_EQ(s.c->counts().pg_retries, 8u);
}

TEST(Core, RowsLentToAWriteComeBackForTheItemsWrittenAgain) {
    stepper s;
    s.receive(4);
    s.process_all_rows();
    auto w = s.c->next_write(s.now + 50ms);
    ASSERT_EQ(w.kind, step_kind::go);
    ASSERT_EQ(w.call.batch.rows.size(), 4u);
    std::vector<record::login_row> sent;
    std::vector<std::string> ids;
    for (const auto& r : w.call.batch.rows) {
        EXPECT_EQ(r.row.user_id, r.message_id); // stepper::row_for
        sent.push_back(r.row);
        ids.push_back(r.message_id);
    }
    pg::batch_outcome o = s.outcome(w.call, pg::item_status::inserted);
    o.rows[1].status = pg::item_status::retry;
    o.rows[2].status = pg::item_status::duplicate;
    o.rows[3].status = pg::item_status::retry;
    o.error = pg::errc::transient;
    s.c->written(std::move(w.call), o, s.now + 50ms);
    EXPECT_EQ(s.c->counts().inserted, 1u);
    EXPECT_EQ(s.c->counts().duplicates_skipped, 1u);
    auto again = s.c->next_write(s.now + 10s);
    ASSERT_EQ(again.kind, step_kind::go);
    ASSERT_EQ(again.call.batch.rows.size(), 2u);
    EXPECT_EQ(again.call.batch.rows[0].row, sent[1]);
    EXPECT_EQ(again.call.batch.rows[1].row, sent[3]);
    EXPECT_EQ(again.call.batch.rows[0].message_id, ids[1]); // the ids are lent too
    EXPECT_EQ(again.call.batch.rows[1].message_id, ids[3]);
    s.c->written(std::move(again.call), s.outcome(again.call, pg::item_status::inserted),
                 s.now + 10s);
    EXPECT_EQ(s.c->counts().inserted, 3u);
}

TEST(Core, ARefusedRejectRecordIsDroppedNeitherDeletedNorHandedBack) {
    stepper s;
    const auto t = s.receive(1);
    s.process_reject(t[0], record::reject_reason::not_json);
    auto w = s.c->next_write(s.now + 50ms);
    ASSERT_EQ(w.kind, step_kind::go);
    s.c->written(std::move(w.call), s.outcome(w.call, pg::item_status::failed), s.now);
    EXPECT_TRUE(s.c->held().empty()); // SQS redelivers it; its redrive policy takes over
    EXPECT_EQ(s.c->counts().deleted + s.c->counts().released, 0u);
}

TEST(Core, AnInvalidRecordIsSealedAtOnceAndItsPlaintextWiped) {
    stepper s;
    const auto t = s.receive(1);
    s.process_reject(t[0], record::reject_reason::missing_field);
    EXPECT_TRUE(s.c->copy(t[0])->body.empty());
    auto w = s.c->next_write(s.now + 50ms);
    ASSERT_EQ(w.kind, step_kind::go);
    ASSERT_EQ(w.call.batch.rejects.size(), 1u);
    EXPECT_EQ(w.call.batch.rejects[0].reason, "missing_field");
    EXPECT_EQ(s.seal.open(w.call.batch.rejects[0].sealed_body, "m0").value(),
              stepper::body_of(0, 100));
}

TEST(Core, WithoutAKeyARejectKeepsItsReasonOnly) {
    stepper s;
    s.start(false);
    const auto t = s.receive(1);
    s.process_reject(t[0], record::reject_reason::not_json);
    EXPECT_TRUE(s.c->copy(t[0])->body.empty());
    auto w = s.c->next_write(s.now + 50ms);
    ASSERT_EQ(w.kind, step_kind::go);
    EXPECT_TRUE(w.call.batch.rejects[0].sealed_body.empty());
}

TEST(Core, RejectsAreRoutedInOnePlace) {
    using o = reject_origin;
    using r = reject_route;
    EXPECT_EQ(route_reject(o::invalid_record, true, true), r::dead_letter_queue);
    EXPECT_EQ(route_reject(o::invalid_record, true, false), r::dead_letter_queue);
    EXPECT_EQ(route_reject(o::invalid_record, false, true), r::table_sealed);
    EXPECT_EQ(route_reject(o::invalid_record, false, false), r::table_reason_only);
    EXPECT_EQ(route_reject(o::refused_by_database, true, true), r::table_sealed);
    EXPECT_EQ(route_reject(o::refused_by_database, false, false), r::table_reason_only);
    EXPECT_EQ(route_reject(o::refused_by_dead_letter, true, true), r::table_sealed);
    EXPECT_EQ(route_reject(o::refused_by_dead_letter, true, false), r::table_reason_only);
}

// --- deletes -------------------------------------------------------------------------------

TEST(Core, DeletesSettleEachEntryAndRetryOnlyWhatMayStillWork) {
    stepper s;
    s.receive(10);
    s.process_all_rows();
    s.commit_all();
    auto d = s.c->next_delete(s.now);
    ASSERT_EQ(d.kind, step_kind::go);
    ASSERT_EQ(d.call.entries.size(), 10u);
    EXPECT_EQ(d.call.entries[3].receipt_handle, "h3");
    sqs::batch_result r;
    for (int i = 0; i < 7; ++i)
        r.successful.push_back(std::to_string(i));
    r.failed.push_back({"7", "ReceiptHandleIsInvalid", true, ""});
    r.failed.push_back({"8", "InternalError", false, ""});
    r.failed.push_back({"9", "sqs2pg.MissingBatchResultEntry", false, ""});
    s.c->deleted(d.call.id, r, {}, s.now);
    EXPECT_EQ(s.c->counts().deleted, 7u);
    EXPECT_EQ(s.c->counts().delete_failures, 1u); // the expired handle: given up
    EXPECT_EQ(s.c->held().size(), 2u);
    const auto wait = s.c->next_delete(s.now);
    ASSERT_EQ(wait.kind, step_kind::wait);
    EXPECT_GT(wait.until, s.now);
    // They keep failing: after five attempts each is given up (the ledger dedups the
    // redelivery).
    auto now = wait.until;
    for (int attempt = 2; attempt <= 5; ++attempt) {
        auto again = s.c->next_delete(now);
        ASSERT_EQ(again.kind, step_kind::go) << attempt;
        ASSERT_EQ(again.call.entries.size(), 2u);
        sqs::batch_result f;
        f.failed.push_back({"0", "InternalError", false, ""});
        f.failed.push_back({"1", "InternalError", false, ""});
        s.c->deleted(again.call.id, f, {}, now);
        now = s.c->next_delete(now).until;
    }
    EXPECT_TRUE(s.c->held().empty());
    EXPECT_EQ(s.c->counts().delete_failures, 3u);
}

TEST(Core, AFailedDeleteCallIsRetriedAfterABackoffAndAFatalOneStopsTheRun) {
    stepper s;
    s.receive(3);
    s.process_all_rows();
    s.commit_all();
    auto d = s.c->next_delete(s.now);
    s.c->deleted(d.call.id, stepper::error(sqs::errc::timeout, "", 0), "x", s.now);
    EXPECT_EQ(s.c->held().size(), 3u);
    const auto w = s.c->next_delete(s.now);
    ASSERT_EQ(w.kind, step_kind::wait);
    d = s.c->next_delete(w.until);
    ASSERT_EQ(d.kind, step_kind::go);
    s.c->take_wakeups();
    s.c->deleted(d.call.id, stepper::error(sqs::errc::auth, "InvalidClientTokenId", 403),
                 "sqs: the key is not valid", s.now);
    EXPECT_EQ(s.c->state(), run_state::hard_stop);
    EXPECT_EQ(s.c->cause(), std::optional<errc>(errc::sqs_unusable));
    EXPECT_NE(s.c->take_wakeups() & wake::cancel, 0u);
    // Committed but not deleted: the final settle deletes them.
    const auto plan = s.c->settle();
    EXPECT_EQ(plan.deletes.size(), 1u);
    EXPECT_TRUE(plan.releases.empty());
    const auto result = s.c->finish(s.now);
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(result.error, "sqs: the key is not valid");
}

// --- heartbeat -----------------------------------------------------------------------------

TEST(Core, AnIdleHeartbeatIsWokenByTheFirstCopyToExtend) {
    stepper s;
    const auto idle = s.c->next_extend(s.now);
    ASSERT_EQ(idle.kind, step_kind::wait);
    EXPECT_EQ(idle.until, clock::time_point::max()); // nothing held: nothing to wait for
    s.c->take_wakeups();
    s.receive(1);
    EXPECT_NE(s.c->take_wakeups() & wake::extend, 0u);
    EXPECT_EQ(s.c->next_extend(s.now).until, s.now + 15s);
    s.receive(1); // due later than the first: no need to wake it again
    EXPECT_EQ(s.c->take_wakeups() & wake::extend, 0u);
}

TEST(Core, HeldMessagesAreExtendedHalfWayThroughTheirWindow) {
    stepper s;
    const auto t = s.receive(3);
    auto e = s.c->next_extend(s.now);
    ASSERT_EQ(e.kind, step_kind::wait);
    EXPECT_EQ(e.until, s.now + 15s);
    e = s.c->next_extend(s.now + 15s);
    ASSERT_EQ(e.kind, step_kind::go);
    ASSERT_EQ(e.call.entries.size(), 3u);
    EXPECT_EQ(e.call.entries[0].visibility_timeout, 30);
    sqs::batch_result r;
    r.successful = {"0"};
    r.failed.push_back({"1", "ReceiptHandleIsInvalid", true, ""});
    r.failed.push_back({"2", "InternalError", false, ""});
    s.c->extended(e.call.id, r, s.now + 15s);
    EXPECT_EQ(s.c->counts().visibility_extended, 1u);
    EXPECT_TRUE(s.c->copy(t[1])->lease_lost);
    // The failed one is due again after a backoff, the lost lease never again.
    const auto w = s.c->next_extend(s.now + 15s);
    ASSERT_EQ(w.kind, step_kind::wait);
    EXPECT_GT(w.until, s.now + 15s);
    const auto retry = s.c->next_extend(w.until);
    ASSERT_EQ(retry.kind, step_kind::go);
    ASSERT_EQ(retry.call.entries.size(), 1u);
    EXPECT_EQ(retry.call.entries[0].receipt_handle, "h2");
    s.c->extended(retry.call.id, s.batch_ok(retry.call.entries.size()), w.until);
    // Both live ones are next due half way through their new windows.
    EXPECT_EQ(s.c->next_extend(w.until).until, s.now + 30s);
}

TEST(Core, TheHeartbeatNeverAsksPastTwelveHours) {
    stepper s;
    s.cfg.visibility_timeout = 5h;
    s.start();
    s.receive(1);
    auto now = s.now;
    int calls = 0;
    for (;;) {
        const auto e = s.c->next_extend(now);
        if (e.kind == step_kind::wait && e.until == clock::time_point::max())
            break;
        if (e.kind == step_kind::wait) {
            now = e.until;
            continue;
        }
        ++calls;
        EXPECT_LE(now + std::chrono::seconds(e.call.entries[0].visibility_timeout),
                  s.now + max_visibility);
        s.c->extended(e.call.id, s.batch_ok(1), now);
    }
    EXPECT_EQ(calls, 3); // at 2.5 h, 5 h and 7.5 h, the last one shortened to end at 12 h
}

// --- dead letters --------------------------------------------------------------------------

TEST(Core, RejectsGoToTheDeadLetterQueueWithTheirReason) {
    stepper s;
    s.cfg.dead_letter_queue = true;
    s.start();
    const auto t = s.receive(3);
    for (ticket x : s.c->take_unprocessed(10))
        s.c->processed(x, {std::nullopt, record::reject_reason::not_json}, s.now);
    EXPECT_EQ(s.c->copy(t[0])->body, stepper::body_of(0, 100)); // kept for the queue
    EXPECT_EQ(s.c->next_write(s.now + 1s).kind, step_kind::wait);
    auto d = s.c->next_dead_letter(s.now);
    ASSERT_EQ(d.kind, step_kind::go);
    ASSERT_EQ(d.call.entries.size(), 3u);
    const auto& e = d.call.entries[1];
    EXPECT_EQ(e.body, stepper::body_of(1, 100));
    ASSERT_EQ(e.message_attributes.size(), 3u);
    EXPECT_EQ(e.message_attributes[0].value, "not_json");
    EXPECT_EQ(e.message_attributes[1].value, "m1");
    EXPECT_EQ(e.message_attributes[2].value, "2");
    EXPECT_TRUE(e.message_group_id.empty());
    s.c->dead_lettered(d.call.id, s.sent_ok(3), {}, s.now);
    EXPECT_EQ(s.c->counts().dead_lettered, 3u);
    EXPECT_EQ(s.c->counts().rejected, 3u);
    EXPECT_EQ(s.c->next_delete(s.now).call.entries.size(), 3u);
}

TEST(Core, ACallRefusedWholeIsSentEntryByEntryAndOnlyTheRefusedOneGoesToTheTable) {
    stepper s;
    s.cfg.dead_letter_queue = true;
    s.start();
    s.receive(3);
    for (ticket x : s.c->take_unprocessed(10))
        s.c->processed(x, {std::nullopt, record::reject_reason::not_json}, s.now);
    auto d = s.c->next_dead_letter(s.now);
    s.c->dead_lettered(d.call.id,
                       stepper::error(sqs::errc::invalid_request, "InvalidParameterValue", 400),
                       "x", s.now);
    std::vector<sqs_call<sqs::send_entry>> singles;
    for (int i = 0; i < 3; ++i) {
        auto one = s.c->next_dead_letter(s.now);
        if (one.kind != step_kind::go)
            break;
        EXPECT_EQ(one.call.entries.size(), 1u);
        singles.push_back(std::move(one.call));
    }
    ASSERT_EQ(singles.size(), 2u); // two calls at once at most
    s.c->dead_lettered(singles[0].id, s.sent_ok(1), {}, s.now);
    s.c->dead_lettered(singles[1].id,
                       stepper::error(sqs::errc::invalid_request, "InvalidParameterValue", 400),
                       "x", s.now);
    auto last = s.c->next_dead_letter(s.now);
    ASSERT_EQ(last.kind, step_kind::go);
    s.c->dead_lettered(last.call.id, s.sent_ok(1), {}, s.now);
    EXPECT_EQ(s.c->counts().dead_lettered, 2u);
    EXPECT_EQ(s.c->counts().dead_letter_refused, 1u);
    auto w = s.c->next_write(s.now);
    ASSERT_EQ(w.kind, step_kind::go);
    ASSERT_EQ(w.call.batch.rejects.size(), 1u);
    EXPECT_EQ(w.call.batch.rejects[0].message_id, "m1");
    EXPECT_EQ(w.call.batch.rejects[0].reason, "not_json");
    EXPECT_EQ(s.seal.open(w.call.batch.rejects[0].sealed_body, "m1").value(),
              stepper::body_of(1, 100));
}

TEST(Core, OnlyAnExplicitRefusalOfADeadLetterIsFinal) {
    stepper s;
    s.cfg.dead_letter_queue = true;
    s.start();
    s.receive(2);
    for (ticket x : s.c->take_unprocessed(10))
        s.c->processed(x, {std::nullopt, record::reject_reason::not_json}, s.now);
    auto d = s.c->next_dead_letter(s.now);
    sqs::send_batch_result r;
    r.failed.push_back({"0", "sqs2pg.MissingBatchResultEntry", false, ""});
    r.failed.push_back({"1", "sqs2pg.MD5OfMessageBodyMismatch", false, ""});
    s.c->dead_lettered(d.call.id, r, {}, s.now);
    EXPECT_EQ(s.c->counts().dead_letter_refused, 0u);
    EXPECT_EQ(s.c->next_write(s.now + 1s).kind, step_kind::wait); // nothing for the table
    const auto w = s.c->next_dead_letter(s.now);
    ASSERT_EQ(w.kind, step_kind::wait);
    const auto again = s.c->next_dead_letter(w.until);
    ASSERT_EQ(again.kind, step_kind::go);
    EXPECT_EQ(again.call.entries.size(), 2u);
}

TEST(Core, DeadLetterCallsStayUnderThePayloadLimitAndFifoQueuesGetTheirIds) {
    stepper s;
    s.cfg.dead_letter_queue = true;
    s.cfg.dead_letter_fifo = true;
    s.start();
    s.receive(3, 100 * 1024);
    for (ticket x : s.c->take_unprocessed(10))
        s.c->processed(x, {std::nullopt, record::reject_reason::not_json}, s.now);
    const auto a = s.c->next_dead_letter(s.now);
    ASSERT_EQ(a.kind, step_kind::go);
    EXPECT_EQ(a.call.entries.size(), 2u); // a third 100 KiB body would pass 256 KiB
    EXPECT_EQ(a.call.entries[0].message_group_id, "m0");
    EXPECT_EQ(a.call.entries[0].message_deduplication_id, "m0");
    const auto b = s.c->next_dead_letter(s.now);
    ASSERT_EQ(b.kind, step_kind::go);
    EXPECT_EQ(b.call.entries.size(), 1u);
}

// --- stopping ------------------------------------------------------------------------------

TEST(Core, AFirstStopFinishesWhatIsHeldIncludingAReceiveUnderWay) {
    stepper s;
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go); // a long poll under way
    s.c->request_stop("SIGTERM", s.now);
    EXPECT_EQ(s.c->state(), run_state::stopping);
    EXPECT_EQ(s.c->not_ready_reason(), std::optional<std::string_view>("stopping"));
    EXPECT_EQ(s.c->next_receive(s.now).kind, step_kind::finish); // no new receive
    EXPECT_FALSE(s.c->process_finished());                       // the poll may bring work
    s.c->received(s.messages(4), s.now, std::chrono::system_clock::now());
    s.process_all_rows();
    EXPECT_TRUE(s.c->process_finished());
    auto w = s.c->next_write(s.now); // no lingering once nothing more can come
    ASSERT_EQ(w.kind, step_kind::go);
    EXPECT_EQ(s.c->next_delete(s.now).kind, step_kind::wait);
    s.c->written(std::move(w.call), s.outcome(w.call, pg::item_status::inserted), s.now);
    EXPECT_EQ(s.c->next_write(s.now).kind, step_kind::finish);
    const auto d = s.c->next_delete(s.now);
    ASSERT_EQ(d.kind, step_kind::go);
    s.c->deleted(d.call.id, s.delete_ok(d.call, 4), {}, s.now);
    EXPECT_EQ(s.c->next_delete(s.now).kind, step_kind::finish);
    EXPECT_EQ(s.c->next_extend(s.now).kind, step_kind::finish);
    EXPECT_EQ(s.c->next_dead_letter(s.now).kind, step_kind::finish);
    EXPECT_EQ(s.c->next_depth_check(s.now).kind, step_kind::finish);
    const auto plan = s.c->settle();
    EXPECT_TRUE(plan.deletes.empty() && plan.releases.empty());
    const auto r = s.c->finish(s.now + 1s);
    EXPECT_EQ(s.c->state(), run_state::stopped);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.summary.deleted, 4u);
    EXPECT_EQ(r.cause, std::optional<errc>(errc::stop_requested));
}

TEST(Core, ASecondStopCancelsAndNothingUncommittedIsDeleted) {
    stepper s;
    s.receive(6);
    s.process_all_rows();
    auto w = s.c->next_write(s.now + 50ms);
    ASSERT_EQ(w.kind, step_kind::go);
    // Two already committed before: waiting for their delete.
    s.receive(2);
    s.process_all_rows();
    auto w2 = s.c->next_write(s.now + 100ms);
    s.c->written(std::move(w2.call), s.outcome(w2.call, pg::item_status::inserted), s.now);
    s.c->request_stop("SIGTERM", s.now);
    s.c->take_wakeups();
    s.c->request_stop("SIGINT", s.now);
    EXPECT_EQ(s.c->state(), run_state::hard_stop);
    EXPECT_NE(s.c->take_wakeups() & wake::cancel, 0u);
    EXPECT_EQ(s.c->next_write(s.now).kind, step_kind::wait);    // its write is still out
    EXPECT_EQ(s.c->next_delete(s.now).kind, step_kind::finish); // no delete starts now
    // The cancelled write reports nothing committed.
    s.c->written(std::move(w.call), s.outcome(w.call, pg::item_status::retry, pg::errc::stopped),
                 s.now);
    EXPECT_EQ(s.c->next_write(s.now).kind, step_kind::finish);
    const auto plan = s.c->settle();
    ASSERT_EQ(plan.deletes.size(), 1u);
    ASSERT_EQ(plan.releases.size(), 1u);
    EXPECT_EQ(plan.deletes[0].entries.size(), 2u);
    EXPECT_EQ(plan.releases[0].entries.size(), 6u);
    for (const auto& e : plan.releases[0].entries)
        EXPECT_EQ(e.visibility_timeout, 0);
    s.c->settled_deletes(plan.deletes[0], s.batch_ok(2));
    s.c->settled_releases(plan.releases[0], s.batch_ok(6));
    const auto r = s.c->finish(s.now);
    EXPECT_EQ(s.c->state(), run_state::failed);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.summary.released, 6u);
    EXPECT_EQ(r.summary.deleted, 2u);
    EXPECT_EQ(r.error, "stopped before all work was committed: SIGTERM");
}

TEST(Core, AHardStopThatAbandonsNothingIsNotAFailure) {
    stepper s;
    s.cfg.drain = true;
    s.start();
    s.receive(3);
    s.process_all_rows();
    s.commit_all();
    auto d = s.c->next_delete(s.now);
    s.c->deleted(d.call.id, s.delete_ok(d.call, 3), {}, s.now);
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
    s.c->received({}, s.now, std::chrono::system_clock::now());
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go); // a slow last long poll
    ASSERT_EQ(s.c->next_depth_check(s.now).kind, step_kind::go);
    s.c->depth_checked(stepper::depth(0, 0, 0), {}, s.now);
    ASSERT_EQ(s.c->state(), run_state::stopping);
    s.c->tick(s.now + 30s); // the poll outlives the grace period
    ASSERT_EQ(s.c->state(), run_state::hard_stop);
    s.c->receive_cancelled(s.now + 30s);
    const auto plan = s.c->settle();
    EXPECT_TRUE(plan.deletes.empty() && plan.releases.empty());
    const auto r = s.c->finish(s.now + 30s);
    EXPECT_EQ(r.exit_code, 0) << r.error;
    EXPECT_EQ(s.c->state(), run_state::drained);
}

TEST(Core, TheGracePeriodEndsInAHardStop) {
    stepper s;
    s.receive(1);
    s.process_all_rows();
    s.c->request_stop("SIGTERM", s.now);
    EXPECT_EQ(s.c->grace_deadline(), s.now + 30s);
    s.c->tick(s.now + 29s);
    EXPECT_EQ(s.c->state(), run_state::stopping);
    s.c->tick(s.now + 30s);
    EXPECT_EQ(s.c->state(), run_state::hard_stop);
    EXPECT_EQ(s.c->settle().releases.size(), 1u);
}

TEST(Core, SettleCallsAreChunkedByTen) {
    stepper s;
    s.receive(25);
    s.c->request_stop("SIGTERM", s.now);
    s.c->request_stop("SIGTERM", s.now);
    const auto plan = s.c->settle();
    ASSERT_EQ(plan.releases.size(), 3u);
    EXPECT_EQ(plan.releases[2].entries.size(), 5u);
    EXPECT_EQ(plan.releases[2].entries[4].id, "4");
}

// --- drain ---------------------------------------------------------------------------------

TEST(Core, DrainEndsOnlyWithAnEmptyReceiveNothingHeldAndAnEmptyQueue) {
    stepper s;
    s.cfg.drain = true;
    s.start();
    EXPECT_EQ(s.c->next_depth_check(s.now).kind, step_kind::wait); // nothing seen yet
    s.receive(2);
    s.process_all_rows();
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
    s.c->received({}, s.now, std::chrono::system_clock::now()); // empty, but 2 held
    EXPECT_EQ(s.c->next_depth_check(s.now).kind, step_kind::wait);
    s.commit_all();
    auto d = s.c->next_delete(s.now);
    s.c->take_wakeups();
    s.c->deleted(d.call.id, s.delete_ok(d.call, 2), {}, s.now);
    EXPECT_NE(s.c->take_wakeups() & wake::watch, 0u);
    ASSERT_EQ(s.c->next_depth_check(s.now).kind, step_kind::go);
    s.c->depth_checked(stepper::depth(0, 1, 0), {}, s.now); // one still in flight elsewhere
    EXPECT_EQ(s.c->state(), run_state::running);
    const auto w = s.c->next_depth_check(s.now);
    ASSERT_EQ(w.kind, step_kind::wait);
    EXPECT_EQ(w.until, s.now + 250ms);
    ASSERT_EQ(s.c->next_depth_check(w.until).kind, step_kind::go);
    s.c->depth_checked(stepper::depth(0, 0, 0), {}, w.until);
    EXPECT_EQ(s.c->state(), run_state::stopping);
    EXPECT_EQ(s.c->cause(), std::optional<errc>(errc::drained));
    s.c->settle();
    const auto r = s.c->finish(w.until);
    EXPECT_EQ(s.c->state(), run_state::drained);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.summary.deleted, 2u);
}

TEST(Core, AMessageArrivingBeforeTheDepthAnswerKeepsTheRunGoing) {
    stepper s;
    s.cfg.drain = true;
    s.start();
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
    s.c->received({}, s.now, std::chrono::system_clock::now());
    ASSERT_EQ(s.c->next_depth_check(s.now).kind, step_kind::go);
    s.receive(1); // arrives while the check is under way
    s.c->depth_checked(stepper::depth(0, 0, 0), {}, s.now);
    EXPECT_EQ(s.c->state(), run_state::running);
}

TEST(Core, ProgressPollsTheDepthEveryTwoSeconds) {
    stepper s;
    s.cfg.poll_depth = true;
    s.start();
    ASSERT_EQ(s.c->next_depth_check(s.now).kind, step_kind::go);
    s.c->depth_checked(stepper::depth(5, 2, 1), {}, s.now);
    EXPECT_EQ(s.c->approximate_total(), std::optional<std::uint64_t>(8));
    EXPECT_EQ(s.c->next_depth_check(s.now).until, s.now + 2s);
}

// --- fatal errors --------------------------------------------------------------------------

TEST(Core, AnSqsErrorNoRetryFixesStopsHard) {
    stepper s;
    s.receive(2);
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
    s.c->receive_failed(stepper::error(sqs::errc::not_found, "QueueDoesNotExist", 400),
                        "sqs: no such queue", s.now);
    EXPECT_EQ(s.c->state(), run_state::hard_stop);
    EXPECT_EQ(s.c->cause(), std::optional<errc>(errc::sqs_unusable));
    EXPECT_EQ(s.c->settle().releases.size(), 1u); // what was held goes back
    const auto r = s.c->finish(s.now);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.error, "sqs: no such queue");
}

TEST(Core, APostgresRefusalStopsWritingAndHandsBackWithoutCancellingPolls) {
    stepper s;
    s.receive(3);
    s.process_all_rows();
    auto w = s.c->next_write(s.now + 50ms);
    ASSERT_EQ(w.kind, step_kind::go);
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go); // a poll under way
    s.c->take_wakeups();
    pg::batch_outcome o = s.outcome(w.call, pg::item_status::retry, pg::errc::server_error);
    for (auto& r : o.rows)
        r.sqlstate = "42501";
    s.c->written(std::move(w.call), o, s.now);
    EXPECT_EQ(s.c->state(), run_state::stopping); // phase one: SQS still works
    EXPECT_EQ(s.c->take_wakeups() & wake::cancel, 0u);
    EXPECT_EQ(s.c->cause(), std::optional<errc>(errc::pg_refused));
    // The poll's messages are not written: everything is handed back.
    s.c->received(s.messages(2), s.now, std::chrono::system_clock::now());
    s.process_all_rows();
    EXPECT_EQ(s.c->next_write(s.now + 1s).kind, step_kind::finish);
    const auto plan = s.c->settle();
    ASSERT_EQ(plan.releases.size(), 1u);
    EXPECT_EQ(plan.releases[0].entries.size(), 5u);
    const auto r = s.c->finish(s.now);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.error.find("SQLSTATE 42501"), std::string::npos) << r.error;
}

TEST(Core, TheDeadLetterQueueRefusingAuthenticationStopsHard) {
    stepper s;
    s.cfg.dead_letter_queue = true;
    s.start();
    s.receive(1);
    for (ticket x : s.c->take_unprocessed(10))
        s.c->processed(x, {std::nullopt, record::reject_reason::not_json}, s.now);
    const auto d = s.c->next_dead_letter(s.now);
    s.c->dead_lettered(d.call.id, stepper::error(sqs::errc::auth, "AccessDenied", 403), "denied",
                       s.now);
    EXPECT_EQ(s.c->state(), run_state::hard_stop);
    EXPECT_EQ(s.c->cause(), std::optional<errc>(errc::dead_letter_unusable));
    EXPECT_EQ(s.c->finish(s.now).error, "dead-letter queue: denied");
}

TEST(Core, FailuresFromOutsideStopTheRun) {
    for (const errc cause : {errc::pg_gave_up, errc::internal_error}) {
        stepper s;
        s.c->fail(cause, "why", s.now);
        EXPECT_EQ(s.c->state(), run_state::hard_stop);
        EXPECT_TRUE(is_fatal(cause));
        EXPECT_TRUE(is_hard(cause));
        const auto r = s.c->finish(s.now);
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_EQ(r.cause, std::optional<errc>(cause));
        EXPECT_EQ(r.error, "why");
    }
    EXPECT_FALSE(is_fatal(errc::drained));
    EXPECT_FALSE(is_hard(errc::pg_refused));
}

TEST(Core, OnlyTheFirstFatalErrorIsReported) {
    stepper s;
    s.c->fail(errc::pg_gave_up, "first", s.now);
    s.c->fail(errc::internal_error, "second", s.now);
    EXPECT_EQ(s.c->finish(s.now).error, "first");
}

// --- stalls ----------------------------------------------------------------------------------

TEST(Core, WritesThatStopCompletingMakeTheRunNotReadyWithinFifteenSeconds) {
    stepper s;
    s.receive(5);
    s.process_all_rows();
    auto w = s.c->next_write(s.now + 50ms);
    ASSERT_EQ(w.kind, step_kind::go); // and it never answers: a frozen server, a lock
    EXPECT_FALSE(s.c->not_ready_reason());
    const auto look = s.c->next_write(s.now + 50ms);
    EXPECT_EQ(look.until, s.now + 15s); // the write stage wakes to notice the stall
    EXPECT_EQ(s.c->next_write(s.now + 14s).kind, step_kind::wait);
    EXPECT_FALSE(s.c->not_ready_reason());
    s.c->take_wakeups();
    s.c->next_write(s.now + 15s);
    EXPECT_EQ(s.c->not_ready_reason(), std::optional<std::string_view>("writes stalled"));
    EXPECT_EQ(s.c->write_stall(s.now + 20s), 20s);
    EXPECT_NE(s.c->take_wakeups() & wake::receive, 0u);
    EXPECT_EQ(s.c->next_receive(s.now + 15s).kind, step_kind::wait); // receivers pause
    // The answer comes: ready again, receiving again.
    s.c->written(std::move(w.call), s.outcome(w.call, pg::item_status::inserted), s.now + 21s);
    EXPECT_FALSE(s.c->not_ready_reason());
    EXPECT_EQ(s.c->write_stall(s.now + 21s), 0s);
    EXPECT_EQ(s.c->next_receive(s.now + 21s).kind, step_kind::go);
}

TEST(Core, WritesThatKeepFailingAreAStallEvenThoughTheyComplete) {
    stepper s;
    s.receive(2);
    s.process_all_rows();
    auto now = s.now + 50ms;
    while (now < s.now + 16s) {
        auto w = s.c->next_write(now);
        if (w.kind == step_kind::go)
            s.c->written(std::move(w.call),
                         s.outcome(w.call, pg::item_status::retry, pg::errc::read_only), now);
        else
            now = std::min(w.until, now + 1s);
    }
    EXPECT_EQ(s.c->not_ready_reason(), std::optional<std::string_view>("writes stalled"));
}

TEST(Core, AnIdlePipelineNeverStalls) {
    stepper s;
    EXPECT_EQ(s.c->next_write(s.now + 1h).kind, step_kind::wait);
    EXPECT_FALSE(s.c->not_ready_reason());
    s.receive(1); // work appears an hour in: the clock starts now
    s.process_all_rows();
    EXPECT_EQ(s.c->next_write(s.now).kind, step_kind::wait);
    EXPECT_FALSE(s.c->not_ready_reason());
}

// --- less common answers -------------------------------------------------------------------

TEST(Core, AFailedExtensionCallIsRetriedAfterABackoff) {
    stepper s;
    s.receive(2);
    const auto e = s.c->next_extend(s.now + 15s);
    ASSERT_EQ(e.kind, step_kind::go);
    s.c->extended(e.call.id, stepper::error(sqs::errc::timeout, "", 0), s.now + 15s);
    EXPECT_EQ(s.c->counts().visibility_extended, 0u);
    const auto w = s.c->next_extend(s.now + 15s);
    ASSERT_EQ(w.kind, step_kind::wait);
    EXPECT_GE(w.until, s.now + 15s + 500ms);
    const auto again = s.c->next_extend(w.until);
    ASSERT_EQ(again.kind, step_kind::go);
    EXPECT_EQ(again.call.entries.size(), 2u);
}

TEST(Core, AThrottledDeadLetterCallIsSentAgainAfterABackoff) {
    stepper s;
    s.cfg.dead_letter_queue = true;
    s.start();
    s.receive(2);
    for (ticket x : s.c->take_unprocessed(10))
        s.c->processed(x, {std::nullopt, record::reject_reason::not_json}, s.now);
    const auto d = s.c->next_dead_letter(s.now);
    s.c->dead_lettered(d.call.id, stepper::error(sqs::errc::throttled, "ThrottlingException", 400),
                       "x", s.now);
    EXPECT_EQ(s.c->counts().dead_letter_refused, 0u);
    const auto w = s.c->next_dead_letter(s.now);
    ASSERT_EQ(w.kind, step_kind::wait);
    EXPECT_GT(w.until, s.now);
    const auto again = s.c->next_dead_letter(w.until);
    ASSERT_EQ(again.kind, step_kind::go);
    EXPECT_EQ(again.call.entries.size(), 2u); // the same two, in one call again
}

TEST(Core, AnEntryRefusedInsideAnAnswerGoesToTheTableAndTheRestIsDeadLettered) {
    stepper s;
    s.cfg.dead_letter_queue = true;
    s.start();
    s.receive(3);
    for (ticket x : s.c->take_unprocessed(10))
        s.c->processed(x, {std::nullopt, record::reject_reason::too_long}, s.now);
    const auto d = s.c->next_dead_letter(s.now);
    sqs::send_batch_result r = stepper::sent_ok(3);
    r.successful.erase(r.successful.begin() + 1);
    r.failed.push_back({"1", "InvalidParameterValue", true, ""});
    s.c->dead_lettered(d.call.id, r, {}, s.now);
    EXPECT_EQ(s.c->counts().dead_lettered, 2u);
    EXPECT_EQ(s.c->counts().dead_letter_refused, 1u);
    auto w = s.c->next_write(s.now);
    ASSERT_EQ(w.kind, step_kind::go);
    ASSERT_EQ(w.call.batch.rejects.size(), 1u);
    EXPECT_EQ(w.call.batch.rejects[0].message_id, "m1");
    EXPECT_EQ(w.call.batch.rejects[0].reason, "too_long");
}

TEST(Core, AFailedDepthCheckIsAskedAgainAndAFatalOneStopsTheRun) {
    stepper s;
    s.cfg.drain = true;
    s.start();
    ASSERT_EQ(s.c->next_receive(s.now).kind, step_kind::go);
    s.c->received({}, s.now, std::chrono::system_clock::now());
    ASSERT_EQ(s.c->next_depth_check(s.now).kind, step_kind::go);
    EXPECT_EQ(s.c->next_depth_check(s.now).kind, step_kind::wait); // one at a time
    s.c->depth_checked(stepper::error(sqs::errc::server, "InternalError", 500), "x", s.now);
    EXPECT_EQ(s.c->state(), run_state::running);
    EXPECT_EQ(s.c->next_depth_check(s.now).until, s.now + 250ms);
    ASSERT_EQ(s.c->next_depth_check(s.now + 250ms).kind, step_kind::go);
    s.c->depth_checked(stepper::error(sqs::errc::auth, "AccessDenied", 403), "no access",
                       s.now + 250ms);
    EXPECT_EQ(s.c->state(), run_state::hard_stop);
    EXPECT_EQ(s.c->finish(s.now).error, "no access");
}

TEST(Core, ARefusedRejectRecordNamesItsSqlstateWhenTheBatchFailsForGood) {
    stepper s;
    const auto t = s.receive(1);
    s.process_reject(t[0], record::reject_reason::not_json);
    auto w = s.c->next_write(s.now + 50ms);
    pg::batch_outcome o = s.outcome(w.call, pg::item_status::retry, pg::errc::server_error);
    o.rejects[0].sqlstate = "42P01";
    s.c->written(std::move(w.call), o, s.now);
    EXPECT_NE(s.c->finish(s.now).error.find("SQLSTATE 42P01"), std::string::npos);
}

TEST(Core, LateOrUnknownReportsChangeNothing) {
    stepper s;
    s.receive(2);
    s.process_all_rows();
    auto w = s.c->next_write(s.now + 50ms);
    write_call unknown{w.call.id + 1000, {}};
    s.c->written(std::move(unknown), s.outcome(w.call, pg::item_status::inserted), s.now);
    s.c->deleted(777, stepper::batch_ok(1), {}, s.now);
    s.c->extended(778, stepper::batch_ok(1), s.now);
    s.c->dead_lettered(779, stepper::sent_ok(1), {}, s.now);
    EXPECT_EQ(s.c->counts().inserted, 0u);
    EXPECT_EQ(s.c->held().size(), 2u);
    s.c->written(std::move(w.call), s.outcome(w.call, pg::item_status::inserted), s.now);
    s.c->written(std::move(w.call), s.outcome(w.call, pg::item_status::inserted), s.now); // twice
    EXPECT_EQ(s.c->counts().inserted, 2u);
}

TEST(Core, ZeroLimitsAreTreatedAsOne) {
    stepper s;
    s.cfg.batch_size = 0;
    s.cfg.max_batches_in_flight = 0;
    s.start();
    s.receive(3);
    s.process_all_rows();
    auto w = s.c->next_write(s.now);
    ASSERT_EQ(w.kind, step_kind::go);
    EXPECT_EQ(w.call.batch.rows.size(), 1u);
    EXPECT_EQ(s.c->next_write(s.now).kind, step_kind::wait);
}

TEST(Core, DeadLettersInFlightAtAHardStopAreHandedBack) {
    stepper s;
    s.cfg.dead_letter_queue = true;
    s.start();
    s.receive(2);
    for (ticket x : s.c->take_unprocessed(10))
        s.c->processed(x, {std::nullopt, record::reject_reason::not_json}, s.now);
    const auto d = s.c->next_dead_letter(s.now);
    ASSERT_EQ(d.kind, step_kind::go);
    s.c->request_stop("SIGTERM", s.now);
    s.c->request_stop("SIGTERM", s.now);
    EXPECT_EQ(s.c->next_dead_letter(s.now).kind, step_kind::wait); // its call is still out
    s.c->dead_lettered(d.call.id, stepper::error(sqs::errc::cancelled, "", 0), {}, s.now);
    EXPECT_EQ(s.c->next_dead_letter(s.now).kind, step_kind::finish);
    const auto plan = s.c->settle();
    ASSERT_EQ(plan.releases.size(), 1u);
    EXPECT_EQ(plan.releases[0].entries.size(), 2u); // not lost: SQS gets them back at once
    s.c->settle_timed_out(15s);
    EXPECT_EQ(s.c->finish(s.now).exit_code, 1);
}

TEST(Core, StateNamesForLogs) {
    EXPECT_EQ(state_name(run_state::running), "running");
    EXPECT_EQ(state_name(run_state::stopping), "stopping");
    EXPECT_EQ(state_name(run_state::hard_stop), "hard_stop");
    EXPECT_EQ(state_name(run_state::drained), "drained");
    EXPECT_EQ(state_name(run_state::stopped), "stopped");
    EXPECT_EQ(state_name(run_state::failed), "failed");
    EXPECT_EQ(cause_name(errc::pg_refused), "pg_refused");
    EXPECT_EQ(make_error_code(errc::grace_expired).message(), "the shutdown grace period is over");
}

} // namespace
} // namespace sqs2pg::flow
