// End to end with the 100 sample messages (tests/data/sample_data.json, one malformed):
// the drain result row by row, redelivery of committed messages, what stderr may hold,
// dead-letter mode configured from the environment, and the ops endpoint during a run.
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/mask/row.hpp>
#include <sqs2pg/record/create_date.hpp>
#include <sqs2pg/record/login.hpp>

#include "harness.hpp"
#include "test_env.hpp"

#include <boost/json/parse.hpp>
#include <fmt/core.h>

#include <csignal>

namespace sqs2pg::e2e {
namespace {

std::string date_text(std::chrono::sys_days d) {
    const std::chrono::year_month_day ymd{d};
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

std::string today_utc() {
    return date_text(record::utc_date(std::chrono::system_clock::now()));
}

// "user_id|device_type|masked_ip|masked_device_id|locale|app_version" as the table
// should hold them for `bodies`, masked with the keyring `key_text` in `modes` (default:
// hmac-sha256 for both).
std::vector<std::string> expected_rows(const std::vector<std::string>& bodies,
                                       const std::string& key_text, mask::field_modes modes = {}) {
    auto keys = mask::parse_keyring(key_text, "mask.keys");
    if (!keys)
        throw std::runtime_error("keygen's output is not a keyring");
    const mask::masker m(modes, *keys);
    std::vector<std::string> out;
    for (const auto& body : bodies) {
        auto login = record::parse_login(body);
        if (!login)
            continue;
        auto row = mask::to_row(std::move(*login), {}, m);
        if (!row)
            continue;
        out.push_back(fmt::format("{}|{}|{}|{}|{}|{}", row->user_id, row->device_type,
                                  row->masked_ip, row->masked_device_id,
                                  row->locale.value_or("<NULL>"), row->app_version));
    }
    return out;
}

std::vector<std::string> table_rows(database& db, const std::string& table) {
    std::vector<std::string> out;
    for (const auto& r : db.rows("SELECT user_id, device_type, masked_ip, masked_device_id, "
                                 "locale, app_version FROM " +
                                 table))
        out.push_back(fmt::format("{}|{}|{}|{}|{}|{}", r[0], r[1], r[2], r[3], r[4], r[5]));
    return out;
}

class sample_run : public e2e_test {
protected:
    void SetUp() override {
        e2e_test::SetUp();
        if (HasFatalFailure())
            return;
        sample_ = sample_logins();
        ASSERT_EQ(sample_.bodies.size(), 100u);
        ASSERT_EQ(sample_.valid_user_ids.size(), 99u);
        message_ids_ = sqs().send(queue_url_, sample_.bodies);
    }

    // Index of the malformed sample message.
    std::size_t malformed_index() const {
        for (std::size_t i = 0; i < sample_.bodies.size(); ++i)
            if (sample_.bodies[i].find("oops_wrong_msg_type") != std::string::npos)
                return i;
        throw std::logic_error("the sample has no malformed message");
    }

    // The summary of a sample run that received every message exactly once: one receiver
    // (moto can hand one message to two concurrent receives; see docs/e2e.md).
    static void expect_exact_sample_counts(const summary& s) {
        EXPECT_EQ(s.at("received"), 100) << s.line;
        EXPECT_EQ(s.at("inserted"), 99) << s.line;
        EXPECT_EQ(s.at("duplicates_skipped"), 0) << s.line;
        EXPECT_EQ(s.at("rejected"), 1) << s.line;
        EXPECT_EQ(s.at("deleted"), 100) << s.line;
    }

    // The summary of a sample run with concurrent receivers. SQS delivers at least once
    // (moto, racing concurrent receives, now and then twice): an extra copy must be
    // skipped as a duplicate (or recorded again as the same reject), acknowledged, and
    // never become a row.
    static void expect_sample_counts(const summary& s) {
        EXPECT_EQ(s.at("inserted"), 99) << s.line;
        EXPECT_GE(s.at("rejected"), 1) << s.line;
        EXPECT_GE(s.at("received"), 100) << s.line;
        EXPECT_EQ(s.at("received"),
                  s.at("inserted") + s.at("duplicates_skipped") + s.at("rejected"))
            << s.line;
        EXPECT_EQ(s.at("deleted"), s.at("received")) << s.line;
    }

    login_set sample_;
    std::vector<std::string> message_ids_;
};

// 1. The README's main job: 99 rows exactly as the records and masking docs say, one
// reject with reason missing_field, nothing left in the queue, and a summary that says so.
TEST_F(sample_run, DrainWritesNinetyNineMaskedRowsAndOneRejectAndEmptiesTheQueue) {
    const auto day_before = today_utc();
    auto r = run(run_args({"--drain", "--receivers", "1"}), run_env());
    const auto day_after = today_utc();
    ASSERT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;

    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();
    expect_exact_sample_counts(*s);
    for (const char* f : {"seconds", "msgs_per_sec", "p50_ms", "p99_ms"})
        EXPECT_TRUE(s->fields.at(f).is_number() && s->fields.at(f).to_number<double>() >= 0)
            << f << ": " << s->line;
    EXPECT_LE(s->fields.at("p50_ms").to_number<double>(),
              s->fields.at("p99_ms").to_number<double>())
        << s->line;
    EXPECT_GT(s->at("peak_rss_kb"), 0) << s->line;

    // Every row as the records/masking docs define it, for this run's key.
    EXPECT_TRUE(same_elements(expected_rows(sample_.bodies, key_text_), table_rows(db(), table())));
    EXPECT_EQ(db().count("SELECT count(*) FROM " + table() +
                         " WHERE masked_ip !~ '^[0-9a-f]{64}$' OR masked_device_id !~ "
                         "'^[0-9a-f]{64}$'"),
              0)
        << "hmac-sha256 values are 64 lowercase hex digits";
    // Spot checks independent of the record module (docs/records.md, "The ambiguous forms").
    EXPECT_EQ(db().value("SELECT app_version FROM " + table() +
                         " WHERE user_id = '424cdd21-063a-43a7-b91b-7ca1a833afae'"),
              "2003000");
    // create_date is the UTC day the messages were sent (SentTimestamp): today.
    for (const auto& row : db().rows("SELECT DISTINCT create_date::text FROM " + table()))
        EXPECT_TRUE(row[0] == day_before || row[0] == day_after)
            << "create_date " << row[0] << ", sent on " << day_before;

    // Exactly one ledger entry per row, keyed by the SQS MessageId.
    std::vector<std::string> valid_ids;
    for (std::size_t i = 0; i < message_ids_.size(); ++i)
        if (i != malformed_index())
            valid_ids.push_back(message_ids_[i]);
    std::vector<std::string> ledger_ids;
    for (auto& row : db().rows("SELECT message_id FROM " + schema_ + ".sqs2pg_ledger"))
        ledger_ids.push_back(row[0]);
    EXPECT_TRUE(same_elements(valid_ids, ledger_ids));

    // The malformed message is a reject record with its reason and a sealed body.
    const auto rej = db().rows("SELECT message_id, reason, sealed_body IS NOT NULL, "
                               "position(convert_to('oops_wrong_msg_type', 'UTF8') in "
                               "coalesce(sealed_body, ''::bytea)) FROM " +
                               schema_ + ".sqs2pg_rejects");
    ASSERT_EQ(rej.size(), 1u);
    EXPECT_EQ(rej[0][0], message_ids_[malformed_index()]);
    EXPECT_EQ(rej[0][1], "missing_field");
    EXPECT_EQ(rej[0][2], "t") << "the reject's body is kept, sealed";
    EXPECT_EQ(rej[0][3], "0") << "the sealed body must not hold the body in clear";

    const auto left = counts();
    EXPECT_EQ(left.total(), 0u) << left.describe();
}

// The same job over SQS's JSON protocol (what current AWS SDKs speak), with the default
// four receivers and batches of 7 so that batch boundaries fall inside the sample.
TEST_F(sample_run, DrainOverTheJsonProtocolGivesTheSameRows) {
    auto r = run(run_args({"--drain", "--sqs-protocol", "json", "--batch-size", "7"}), run_env());
    ASSERT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();
    expect_sample_counts(*s);
    EXPECT_TRUE(same_elements(expected_rows(sample_.bodies, key_text_), table_rows(db(), table())));
    EXPECT_EQ(rejects(), 1);
    EXPECT_EQ(counts().total(), 0u) << counts().describe();
}

// A mode per column through the binary: ip prefix-preserving (KID:ADDRESS, IPv4 stays
// IPv4), device_id aes-siv, each exactly as the masker computes it with this run's key.
TEST_F(sample_run, DrainWithAModePerColumnWritesAddressShapedIpsAndSivDeviceIds) {
    auto r = run(run_args({"--drain", "--receivers", "1", "--mask-ip", "ipcrypt-pfx",
                           "--mask-device-id", "aes-siv"}),
                 run_env());
    ASSERT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();
    expect_exact_sample_counts(*s);
    EXPECT_TRUE(same_elements(
        expected_rows(sample_.bodies, key_text_,
                      mask::field_modes{mask::mode::ipcrypt_pfx, mask::mode::aes_siv}),
        table_rows(db(), table())));
    // The documented formats: the sample's addresses are IPv4, so are their pfx values.
    EXPECT_EQ(
        db().count("SELECT count(*) FROM " + table() +
                   " WHERE masked_ip !~ '^[A-Za-z0-9_-]{1,16}:[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$'"
                   " OR masked_device_id !~ '^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9_-]+$'"),
        0);
    EXPECT_EQ(db().count("SELECT count(*) FROM " + table() +
                         " WHERE substr(masked_ip, strpos(masked_ip, ':') + 1)::inet IS NULL"),
              0);
}

// 2. Redelivery of committed messages, made deterministic with IAM: the first run's key
// may do everything but sqs:DeleteMessage*, and its one receiver and batch size of 100
// (with a 10 s batch delay) put the whole sample in one transaction, so all rows commit
// before the first delete is refused. After the visibility timeout SQS hands the same
// MessageIds out again, and a run with full permissions must skip every one of them (no
// second row) and acknowledge them.
TEST_F(sample_run, RedeliveredMessagesAreAcknowledgedWithoutASecondRow) {
    const auto no_delete = create_iam_user(
        test::unique_name("e2e_nodelete_"),
        R"({"Version":"2012-10-17","Statement":[)"
        R"({"Effect":"Allow","Action":"*","Resource":"*"},)"
        R"({"Effect":"Deny","Action":["sqs:DeleteMessage","sqs:DeleteMessageBatch"],"Resource":"*"}]})");

    // 10 s of visibility leave the heartbeat (due at 5 s) seconds of margin on a busy
    // machine; with 3 s, messages came back during the run itself.
    auto& first = start(run_args({"--drain", "--visibility-timeout", "10", "--receivers", "1",
                                  "--batch-size", "100", "--batch-max-delay-ms", "10000"}),
                        run_env({}, no_delete));
    const bool committed = wait_until(
        [&] {
            return !first.running() ||
                   (rows_if_any() == 99 &&
                    db().count("SELECT count(*) FROM " + schema_ + ".sqs2pg_rejects") == 1);
        },
        120s, 200ms);
    ASSERT_TRUE(committed && rows_if_any() == 99)
        << "the first run did not commit the sample (one batch of 100); rows: " << rows_if_any()
        << "\n"
        << first.stderr_tail();
    // Let its (refused) deletes happen, then stop it unless the refusal already did.
    const bool ended_alone = first.wait_for(5s).has_value();
    if (!ended_alone)
        first.send_signal(SIGTERM);
    const auto f1 = finish(first, 60s);
    if (ended_alone) {
        EXPECT_FALSE(f1.status.exited_with(0))
            << "a run whose every delete was refused (AccessDenied) ended on its own with "
               "status 0, as if it had succeeded\n"
            << f1.err;
    }
    if (auto s1 = parse_summary(f1.out)) {
        EXPECT_EQ(s1->at("deleted"), 0) << "every delete was refused: " << s1->line;
        EXPECT_EQ(s1->at("inserted"), 99) << s1->line;
    } else if (!ended_alone && f1.status.exited_with(0)) {
        ADD_FAILURE() << "exit 0 after SIGTERM without the summary: " << s1.error();
    }
    EXPECT_EQ(counts().total(), 100u) << "nothing may be deleted with that key";

    // SQS redelivers once the visibility timeout (10 s, possibly extended once) has passed.
    ASSERT_TRUE(wait_until([&] { return counts().visible == 100; }, 60s, 500ms))
        << counts().describe();

    auto r = run(run_args({"--drain"}), run_env());
    ASSERT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();
    EXPECT_EQ(s->at("inserted"), 0) << s->line;
    EXPECT_GE(s->at("duplicates_skipped"), 99) << s->line;
    EXPECT_GE(s->at("rejected"), 1) << s->line;
    EXPECT_EQ(s->at("received"), s->at("duplicates_skipped") + s->at("rejected")) << s->line;
    EXPECT_EQ(s->at("deleted"), s->at("received")) << s->line;

    EXPECT_EQ(rows(), 99);
    EXPECT_EQ(distinct_users(), 99);
    EXPECT_EQ(ledger(), 99);
    EXPECT_TRUE(same_elements(sample_.valid_user_ids, user_ids()));
    EXPECT_TRUE(same_elements(expected_rows(sample_.bodies, key_text_), table_rows(db(), table())));
    // The redelivered reject updated its record (receive count), it did not add one.
    const auto rej = db().rows("SELECT reason, receive_count FROM " + schema_ + ".sqs2pg_rejects");
    ASSERT_EQ(rej.size(), 1u);
    EXPECT_EQ(rej[0][0], "missing_field");
    EXPECT_GE(std::stoi(rej[0][1]), 2);
    EXPECT_EQ(counts().total(), 0u) << counts().describe();
}

// 7. stderr never holds personal data (nor the body of the reject, the mask key, the
// database password or the AWS secret), in both log formats and at debug level; JSON
// logs are one object per line with ts, level and event.
struct log_case {
    const char* format;
    const char* level;
};

void PrintTo(const log_case& c, std::ostream* os) {
    *os << "--log-format " << c.format << " --log-level " << c.level;
}

class sample_logs : public sample_run, public ::testing::WithParamInterface<log_case> {};

TEST_P(sample_logs, StderrHoldsNoPersonalDataNorSecrets) {
    const auto [format, level] = GetParam();
    auto r = run(run_args({"--drain", "--log-format", format, "--log-level", level}), run_env());
    ASSERT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();
    expect_sample_counts(*s);
    ASSERT_FALSE(r.err.empty()) << "a run logs at least its start and end";

    const auto values = sample_personal_values();
    ASSERT_EQ(values.size(), 198u);
    for (const auto& v : values)
        EXPECT_EQ(r.err.find(v), std::string::npos) << "stderr holds the personal value " << v;
    EXPECT_EQ(r.err.find("oops_wrong_msg_type"), std::string::npos)
        << "stderr holds the malformed message's body";
    // Secrets: the key material (the hex of keygen's key line), the role's password, the
    // AWS secret key.
    for (const auto& line : lines_of(key_text_)) {
        if (line.empty() || line[0] == '#')
            continue;
        const auto sp = line.find(' ');
        const auto key = line.substr(sp + 1, 64);
        EXPECT_EQ(r.err.find(key), std::string::npos) << "stderr holds the mask key";
    }
    const auto& pg = services::get().pg; // postgresql://user:PASSWORD@host...
    const auto pw = pg.substr(pg.find(':', 13) + 1, pg.find('@') - pg.find(':', 13) - 1);
    ASSERT_GE(pw.size(), 8u);
    EXPECT_EQ(r.err.find(pw), std::string::npos) << "stderr holds the database password";
    EXPECT_EQ(r.err.find(services::get().admin.secret_access_key), std::string::npos)
        << "stderr holds the AWS secret key";

    const bool json = std::string_view(format) == "json";
    bool saw_debug = false;
    for (const auto& line : lines_of(r.err)) {
        if (json) {
            boost::system::error_code ec;
            const auto v = boost::json::parse(line, ec);
            ASSERT_TRUE(!ec && v.is_object()) << "not a JSON object: " << line;
            const auto& o = v.as_object();
            for (const char* k : {"ts", "level", "event"})
                EXPECT_TRUE(o.contains(k)) << k << " missing: " << line;
            if (o.contains("level") && o.at("level") == "debug")
                saw_debug = true;
        } else {
            EXPECT_FALSE(line.starts_with("{")) << "--log-format text wrote JSON: " << line;
            if (line.find("debug") != std::string::npos)
                saw_debug = true;
        }
    }
    if (std::string_view(level) == "debug") {
        EXPECT_TRUE(saw_debug) << "--log-level debug wrote no debug line";
    } else if (json) {
        EXPECT_FALSE(saw_debug) << "--log-level info wrote debug lines";
    }
}

INSTANTIATE_TEST_SUITE_P(Formats, sample_logs,
                         ::testing::Values(log_case{"json", "info"}, log_case{"text", "info"},
                                           log_case{"json", "debug"}, log_case{"text", "debug"}),
                         [](const auto& info) {
                             return std::string(info.param.format) + "_" + info.param.level;
                         });

// 8. Dead-letter mode, configured the way docs/operations.md shows for the environment
// (the queue by name, endpoint, region, database, key text and switches in variables):
// the malformed message goes, byte for byte, to the dead-letter queue with its reason in
// a message attribute; the original is deleted; the rejects table stays empty.
TEST_F(sample_run, DeadLetterModeMovesTheMalformedMessageToTheDeadLetterQueue) {
    const auto dlq = extra_queue("e2e_dlq_");
    const auto& sv = services::get();
    std::string key_lines;
    for (const auto& line : lines_of(key_text_))
        if (!line.empty() && line[0] != '#')
            key_lines += line;
    const auto queue_name = queue_url_.substr(queue_url_.rfind('/') + 1);

    auto r = run({"--queue-name", queue_name},
                 run_env({"AWS_ENDPOINT_URL_SQS=" + sv.sqs_endpoint, "AWS_REGION=" + sv.region,
                          "DATABASE_URL=" + sv.pg, "SQS2PG_TABLE=" + table(),
                          "SQS2PG_MASK_KEY=" + key_lines, "SQS2PG_DRAIN=true",
                          "SQS2PG_DEAD_LETTER_QUEUE_URL=" + dlq, "SQS2PG_LOG_FORMAT=json",
                          // one receiver: a second copy of the reject would be sent twice
                          "SQS2PG_RECEIVERS=1"}));
    ASSERT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();
    expect_exact_sample_counts(*s);
    EXPECT_EQ(s->at("dead_lettered"), 1) << s->line;

    EXPECT_EQ(rows(), 99);
    EXPECT_TRUE(same_elements(expected_rows(sample_.bodies, key_text_), table_rows(db(), table())));
    EXPECT_EQ(rejects(), 0) << "with a dead-letter queue, rejects go there, not to the table";
    EXPECT_EQ(counts().total(), 0u) << "the original is deleted: " << counts().describe();

    const auto dead = sqs().receive(dlq, 2);
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].body, sample_.bodies[malformed_index()]);
    bool has_reason = false;
    for (const auto& a : dead[0].message_attributes)
        has_reason = has_reason || a.value == "missing_field";
    EXPECT_TRUE(has_reason) << "no message attribute says missing_field ("
                            << dead[0].message_attributes.size() << " attributes)";
}

// 9. The ops endpoint while sqs2pg runs as a service (no --drain): liveness, readiness,
// and metrics that count exactly what happened; after SIGTERM the summary agrees with
// the last scrape and the endpoint is closed.
TEST_F(sample_run, OpsEndpointReportsHealthAndMetricsThatMatchTheSummary) {
    const auto port = free_port();
    auto& p = start(
        run_args({"--listen", "127.0.0.1:" + std::to_string(port), "--wait-time-seconds", "1"}),
        run_env());
    ASSERT_TRUE(
        wait_until([&] { return http_get(port, "/healthz").status == 200 || !p.running(); }, 60s) &&
        p.running())
        << "no /healthz on port " << port << "\n"
        << p.stderr_tail();
    const auto health = http_get(port, "/healthz");
    EXPECT_EQ(health.body.substr(0, health.body.find_last_not_of(" \r\n") + 1), "ok");

    std::string metrics;
    const auto metric = [&](std::string_view name) {
        return static_cast<std::int64_t>(metric_value(metrics, name).value_or(-1));
    };
    const bool all_done = wait_until(
        [&] {
            metrics = http_get(port, "/metrics").body;
            return (metric("sqs2pg_deleted_total") >= 100 &&
                    metric("sqs2pg_in_flight_messages") == 0) ||
                   !p.running();
        },
        120s, 250ms);
    ASSERT_TRUE(all_done && p.running()) << "sqs2pg_deleted_total never reached 100:\n"
                                         << metrics << "\n"
                                         << p.stderr_tail();
    EXPECT_EQ(metric("sqs2pg_inserted_total"), 99);
    EXPECT_GE(metric("sqs2pg_rejected_total"), 1);
    EXPECT_EQ(metric("sqs2pg_received_total"), metric("sqs2pg_inserted_total") +
                                                   metric("sqs2pg_duplicates_skipped_total") +
                                                   metric("sqs2pg_rejected_total"));
    EXPECT_EQ(metric("sqs2pg_deleted_total"), metric("sqs2pg_received_total"));
    EXPECT_EQ(metric("sqs2pg_draining"), 0);
    EXPECT_EQ(metric(R"(sqs2pg_connection_state{target="pg",state="connected"})"), 1);
    EXPECT_NE(metrics.find("sqs2pg_batch_latency_seconds_bucket"), std::string::npos);
    EXPECT_NE(metrics.find("sqs2pg_build_info"), std::string::npos);
    const auto ready = http_get(port, "/readyz");
    EXPECT_EQ(ready.status, 200) << ready.body;
    EXPECT_EQ(rows(), 99);
    EXPECT_EQ(counts().total(), 0u);

    p.send_signal(SIGTERM);
    auto r = finish(p, 60s);
    EXPECT_TRUE(r.status.exited_with(0)) << r.status.describe() << "\n" << r.err;
    auto s = parse_summary(r.out);
    ASSERT_TRUE(s) << s.error();
    expect_sample_counts(*s);
    // Nothing happened after the last scrape: the summary and the metrics agree.
    for (const char* f : {"received", "inserted", "duplicates_skipped", "rejected", "deleted"})
        EXPECT_EQ(s->at(f), metric(fmt::format("sqs2pg_{}_total", f))) << f << ": " << s->line;
    EXPECT_EQ(http_get(port, "/healthz").status, 0) << "the endpoint is closed at exit";
}

} // namespace
} // namespace sqs2pg::e2e
