// The end-to-end harness: the sqs2pg binary run as a user runs it, against the moto and
// PostgreSQL that tests/run starts. Blocking helpers to set up and inspect queues (the
// project's SQS client), IAM users (signed IAM calls), the database (libpq), the drain
// summary, login bodies, the ops endpoint; and a fixture that gives each test its own
// queue, schema, mask key and temp directory, and cleans them up.
#pragma once

#include <sqs2pg/aws/credentials.hpp>
#include <sqs2pg/sqs/types.hpp>

#include "process.hpp"

#include <boost/json/object.hpp>
#include <boost/system/result.hpp>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::e2e {

using namespace std::chrono_literals;

/// The services tests/run started (SQS2PG_TEST_*); a missing variable throws.
struct services {
    std::string sqs_endpoint;
    std::string region;
    aws::credentials admin; ///< the keys with every permission
    std::string pg;         ///< conninfo URL of role sqs2pg
    std::string script;     ///< scripts/services, for pg-stop / pg-start

    static const services& get();
};

/// The sqs2pg binary under test: SQS2PG_E2E_BINARY (meson passes the one it built).
std::string binary_path();

/// Runs `scripts/services <what>` (pg-stop, pg-start); throws if it fails.
void services_command(const std::string& what);

// --- SQS --------------------------------------------------------------------------------

/// Message counts from GetQueueAttributes.
struct queue_counts {
    std::uint64_t visible = 0;
    std::uint64_t not_visible = 0;
    std::uint64_t delayed = 0;
    std::uint64_t total() const noexcept { return visible + not_visible + delayed; }
    std::string describe() const;
    friend bool operator==(const queue_counts&, const queue_counts&) = default;
};

/// Blocking SQS calls (the project's sqs::client on a private io_context) with the
/// admin keys. Every failure throws std::runtime_error with the client's explanation.
class sqs_admin {
public:
    sqs_admin();
    ~sqs_admin();
    sqs_admin(const sqs_admin&) = delete;
    sqs_admin& operator=(const sqs_admin&) = delete;

    std::string create_queue(const std::string& name,
                             std::vector<std::pair<std::string, std::string>> attributes = {});
    void delete_queue(const std::string& url);
    /// Sends `bodies` in batches of 10 (each delayed by `delay_seconds` when given); the
    /// MessageIds in the order of `bodies`.
    std::vector<std::string> send(const std::string& url, const std::vector<std::string>& bodies,
                                  std::optional<int> delay_seconds = {});
    /// The counts once two readings in a row agree: moto computes the three numbers one
    /// after the other, so a message changing state meanwhile (a delay ending, a receive)
    /// can be missed or counted twice in a single reading.
    queue_counts counts(const std::string& url);
    /// Receives until `n` messages arrived or a few receives came back empty, with all
    /// system and message attributes; the messages stay in the queue (invisible for
    /// `visibility_timeout` seconds).
    std::vector<sqs::message> receive(const std::string& url, std::size_t n,
                                      int visibility_timeout = 30);

private:
    queue_counts reading(const std::string& url);

    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Creates IAM user `name` with the inline policy `policy_json` and an access key for it,
/// through IAM query calls signed (aws::signer, service "iam") with the admin keys; moto
/// then enforces the policy on SQS calls made with that key. Throws on failure.
aws::credentials create_iam_user(const std::string& name, const std::string& policy_json);

// --- PostgreSQL ---------------------------------------------------------------------------

/// A blocking libpq connection for the tests' own checks. Reconnects once when the
/// server went away since the last statement (outage tests). Throws on SQL errors.
class database {
public:
    explicit database(const std::string& conninfo);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    void exec(const std::string& sql);
    /// Every row, values as text ("<NULL>" for NULL).
    std::vector<std::vector<std::string>> rows(const std::string& sql);
    std::string value(const std::string& sql);
    long count(const std::string& sql) { return std::stol(value(sql)); }

private:
    PGresult* run(const std::string& sql);
    PGconn* conn_;
};

// --- what sqs2pg prints ---------------------------------------------------------------------

/// The one JSON line sqs2pg prints on stdout when a run ends.
struct summary {
    boost::json::object fields;
    std::string line;

    /// The integer field `name`; throws std::out_of_range naming it when absent or not an
    /// integer.
    std::int64_t at(std::string_view name) const;
};

/// stdout must hold exactly one line, a JSON object with the summary's fields (the
/// error says what is wrong instead).
boost::system::result<summary, std::string> parse_summary(const std::string& stdout_text);

/// The lines of `text` (without their '\n'; a missing final newline is fine).
std::vector<std::string> lines_of(const std::string& text);

// --- login bodies ---------------------------------------------------------------------------

/// Message bodies and what a correct run makes of them.
struct login_set {
    std::vector<std::string> bodies;
    std::vector<std::string> valid_user_ids; ///< user_id of every valid body
    std::size_t malformed = 0;               ///< bodies that must become rejects
};

/// tests/data/sample_data.json, one element per body (as scripts/services loads it).
login_set sample_logins();

/// `n` generated logins with user ids "<prefix>-<i>" and varied field shapes (IPv4/IPv6,
/// text and numeric device ids and app versions, locale null or absent, surrounding
/// whitespace); every `malformed_every`-th (i % malformed_every == malformed_every - 1)
/// is malformed in one of several ways instead (0: none).
login_set generated_logins(int n, std::string_view prefix, int malformed_every);

/// The raw ip and device_id values of every valid sample body (the personal data that
/// must never show up in a log).
std::vector<std::string> sample_personal_values();

// --- the ops endpoint ------------------------------------------------------------------------

/// A TCP port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port();

struct http_answer {
    int status = 0; ///< 0: no answer (refused, closed, timed out)
    std::string body;
};
/// GET http://127.0.0.1:<port><path> (Connection: close, 5 s limit).
http_answer http_get(std::uint16_t port, const std::string& path);

/// The value of the sample `name` (exactly, labels included) in Prometheus text; nullopt
/// when absent.
std::optional<double> metric_value(const std::string& exposition, std::string_view name);

// --- the fixture ---------------------------------------------------------------------------

/// A run that ended (or was killed at its time limit).
struct finished {
    exit_status status;
    std::string out;
    std::string err;
    bool timed_out = false;
};

/// Per test: a fresh queue (VisibilityTimeout 30 s), a fresh schema holding nothing (sqs2pg
/// creates its tables), a mask key made with `sqs2pg keygen`, a temp directory for the
/// children's output. TearDown kills what still runs and removes all of it (the temp
/// directory is kept when the test failed, and its path printed).
class e2e_test : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    /// `--queue-url <this test's queue> --endpoint-url --region --pg --table
    /// <schema>.user_logins --mask-key-file <key> --log-format json`, then `extra`.
    std::vector<std::string> run_args(const std::vector<std::string>& extra = {}) const;
    /// The child's whole environment: PATH, LANG, HOME (the temp dir, so no ~/.aws), no AWS
    /// config files or instance metadata, the credentials `creds` (admin by default), then
    /// `extra` ("NAME=value").
    std::vector<std::string> run_env(const std::vector<std::string>& extra = {},
                                     const std::optional<aws::credentials>& creds = {}) const;

    /// Starts `sqs2pg args...`; the process is killed at TearDown if still running.
    process& start(const std::vector<std::string>& args, const std::vector<std::string>& env);
    /// Starts it and waits up to `limit`; on the limit it is killed (timed_out, and a test
    /// failure showing the end of its stderr).
    finished run(const std::vector<std::string>& args, const std::vector<std::string>& env,
                 std::chrono::seconds limit = 180s);
    /// A started process's end, waiting up to `limit` (same failure handling as run()).
    finished finish(process& p, std::chrono::seconds limit = 180s);

    /// Creates another queue for this test (deleted at TearDown).
    std::string extra_queue(std::string_view prefix,
                            std::vector<std::pair<std::string, std::string>> attributes = {});

    std::string table() const { return schema_ + ".user_logins"; }
    long rows() { return db().count("SELECT count(*) FROM " + table()); }
    long distinct_users() { return db().count("SELECT count(DISTINCT user_id) FROM " + table()); }
    long rejects() { return db().count("SELECT count(*) FROM " + schema_ + ".sqs2pg_rejects"); }
    long ledger() { return db().count("SELECT count(*) FROM " + schema_ + ".sqs2pg_ledger"); }
    /// rows(), or -1 while the table does not exist yet (or the database is down).
    long rows_if_any();
    /// Every user_id in the table, sorted (duplicates kept).
    std::vector<std::string> user_ids();
    queue_counts counts() { return sqs().counts(queue_url_); }

    sqs_admin& sqs() { return *sqs_; }
    database& db() { return *db_; }

    std::string dir_;
    std::string queue_url_;
    std::string schema_;
    std::string key_file_;
    std::string key_text_; ///< the keyring keygen wrote

private:
    std::unique_ptr<sqs_admin> sqs_;
    std::unique_ptr<database> db_;
    std::vector<std::string> queues_;
    std::vector<std::unique_ptr<process>> processes_;
    int next_output_ = 0;
};

/// `a` and `b` sorted and compared; the message lists what is missing and what is extra
/// (up to 10 each).
::testing::AssertionResult same_elements(std::vector<std::string> expected,
                                         std::vector<std::string> actual);

} // namespace sqs2pg::e2e
