// `sqs2pg rekey` against the PostgreSQL that tests/run starts, a fresh schema per test:
// the dry-run census, a full re-key that keeps every other column and every original
// recoverable, idempotence, the refusal of one-way columns, a stop between statements and a
// binary killed in the middle of one (each continued by a rerun), rows inserted while it
// runs, and the SQL docs/masking.md gives analysts for ipcrypt-pfx values.
#include <sqs2pg/app/commands/rekey.hpp>
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/mask/normalize.hpp>

#include "pg_fixture.hpp"
#include "test_env.hpp"
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace sqs2pg::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr std::string_view k1 =
    "k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view k2 =
    "k2 f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff";

mask::keyring ring(std::string_view text) {
    auto r = mask::parse_keyring(text, "test");
    if (!r)
        throw std::runtime_error(r.error().message);
    return std::move(*r);
}

// The keyring after the rotation, on one line as SQS2PG_MASK_KEY holds it.
std::string rotated_text() {
    return std::string(k1) + "; " + std::string(k2) + " active";
}

// One login: user ids are unique; ips and device ids repeat, as real ones do.
struct login {
    std::string user;
    std::string ip;
    std::string device;
};

std::vector<login> logins(int n, int first = 0) {
    std::vector<login> v;
    for (int i = first; i < first + n; ++i) {
        login l;
        l.user = "u-" + std::to_string(i);
        if (i % 5 == 4)
            l.ip = "2001:db8:" + std::to_string(i % 3) + "::" + std::to_string(i % 40 + 1);
        else
            l.ip = "10." + std::to_string(i % 3) + "." + std::to_string(i % 7) + "." +
                   std::to_string(i % 50);
        l.device = "dev-" + std::to_string(i % 300);
        v.push_back(std::move(l));
    }
    return v;
}

struct outcome {
    int status = -1;
    std::string out;
    std::string err;
    json::object summary() const {
        const auto last = out.find_last_of('\n', out.size() - 2);
        return json::parse(out.substr(last == std::string::npos ? 0 : last + 1)).as_object();
    }
};

class Rekey : public pg_test {
protected:
    void SetUp() override {
        pg_test::SetUp();
        start_writer(); // creates the table: the take-home DDL, no key
    }

    /// Writes `ls` with ip and device_id masked by `m` (through the real writer).
    void insert(const std::vector<login>& ls, const mask::masker& m) {
        for (std::size_t at = 0; at < ls.size(); at += 500) {
            pg::batch b;
            for (std::size_t i = at; i < std::min(ls.size(), at + 500); ++i) {
                pg::row_item r;
                r.message_id = "m-" + ls[i].user;
                r.row.user_id = ls[i].user;
                r.row.device_type = i % 2 ? "android" : "ios";
                r.row.masked_ip = *m.mask(mask::field::ip, ls[i].ip);
                r.row.masked_device_id = *m.mask(mask::field::device_id, ls[i].device);
                r.row.locale = i % 3 ? std::optional<std::string>("en_US") : std::nullopt;
                r.row.app_version = 2'000'000 + static_cast<int>(i % 50);
                r.row.create_date = std::chrono::sys_days(std::chrono::year(2024) / 3 / 1) +
                                    std::chrono::days(i % 30);
                b.rows.push_back(std::move(r));
            }
            const auto o = write(std::move(b));
            ASSERT_EQ(o.rejected, 0u);
        }
    }

    outcome rekey(std::vector<std::string> args, const app::rekey_hooks& hooks = {},
                  std::string keyring = rotated_text()) {
        args.insert(args.end(), {"--pg", conninfo_, "--table", table()});
        app::environment e;
        e.vars["SQS2PG_MASK_KEY"] = std::move(keyring);
        std::ostringstream out, err;
        outcome o;
        o.status = app::run_rekey(args, e, out, err, hooks);
        o.out = out.str();
        o.err = err.str();
        return o;
    }

    static std::vector<std::string> modes() {
        return {"--mask-ip", "ipcrypt-pfx", "--mask-device-id", "aes-siv"};
    }

    /// Everything but the masked columns, in user order.
    std::vector<std::vector<std::string>> other_columns() {
        return db_->rows("SELECT user_id, device_type, locale, app_version, create_date FROM " +
                         table() + " ORDER BY user_id");
    }

    long under(const std::string& column, const std::string& prefix) {
        return db_->count("SELECT count(*) FROM " + table() + " WHERE left(" + column + ", " +
                          std::to_string(prefix.size()) + ") = '" + prefix + "'");
    }

    /// Every row's masked values unmask (with both keys) to its login's originals.
    void expect_originals(const std::vector<login>& ls) {
        std::map<std::string, const login*> by_user;
        for (const auto& l : ls)
            by_user[l.user] = &l;
        const mask::unmasker u(ring(rotated_text()));
        std::size_t checked = 0;
        for (const auto& row :
             db_->rows("SELECT user_id, masked_ip, masked_device_id FROM " + table())) {
            const auto it = by_user.find(row[0]);
            if (it == by_user.end())
                continue;
            const auto ip = u.unmask(row[1]);
            const auto dev = u.unmask(row[2]);
            ASSERT_TRUE(ip) << row[1];
            ASSERT_TRUE(dev) << row[2];
            EXPECT_EQ(ip->value, mask::normalize_ip(it->second->ip)) << row[0];
            EXPECT_EQ(dev->value, it->second->device) << row[0];
            ++checked;
        }
        EXPECT_EQ(checked, ls.size());
    }
};

TEST_F(Rekey, DryRunCountsRowsPerKeyIdPerColumnAndChangesNothing) {
    const auto before = ring(k1);
    const auto after = ring(rotated_text());
    const mask::masker old_m(mask::field_modes{mask::mode::ipcrypt_pfx, mask::mode::aes_siv},
                             before);
    const mask::masker new_m(mask::field_modes{mask::mode::ipcrypt_pfx, mask::mode::aes_siv},
                             after);
    const mask::masker hmac(mask::mode::hmac_sha256, before);
    insert(logins(120), old_m);
    insert(logins(30, 1000), new_m);
    insert(logins(5, 2000), hmac);
    // A value under a key id the keyring does not have.
    db_->exec("UPDATE " + table() + " SET masked_ip = 'k0:10.9.9.9' WHERE user_id = 'u-0'");
    const std::string dump = db_->value("SELECT md5(string_agg(t::text, ',' ORDER BY user_id)) "
                                        "FROM " +
                                        table() + " t");

    auto args = modes();
    args.push_back("--dry-run");
    const auto o = rekey(args);
    ASSERT_EQ(o.status, 0) << o.err;
    const auto s = o.summary();
    EXPECT_EQ(s.at("dry_run"), true);
    EXPECT_EQ(s.at("active_key"), "k2");
    const auto& ip = s.at("columns").at("masked_ip").as_object();
    EXPECT_EQ(ip.at("mode"), "ipcrypt-pfx");
    EXPECT_EQ(ip.at("rows_by_key").at("k1"), 119);
    EXPECT_EQ(ip.at("rows_by_key").at("k2"), 30);
    EXPECT_EQ(ip.at("rows_by_key").at("k0"), 1);
    EXPECT_EQ(ip.at("rows_by_format").at("ipcrypt-pfx"), 150);
    EXPECT_EQ(ip.at("rows_by_format").at("one-way"), 5);
    EXPECT_EQ(ip.at("to_rekey"), 120);
    EXPECT_EQ(ip.at("keys_not_in_keyring").as_array().size(), 1u);
    const auto& dev = s.at("columns").at("masked_device_id").as_object();
    EXPECT_EQ(dev.at("rows_by_key").at("k1"), 120);
    EXPECT_EQ(dev.at("rows_by_format").at("aes-siv"), 150);
    EXPECT_NE(o.err.find("masked_ip (ipcrypt-pfx): 120 rows under an old key id"),
              std::string::npos)
        << o.err;
    EXPECT_NE(o.err.find("k0"), std::string::npos) << o.err;
    EXPECT_EQ(
        db_->value("SELECT md5(string_agg(t::text, ',' ORDER BY user_id)) FROM " + table() + " t"),
        dump);
}

TEST_F(Rekey, MovesEveryOldValueKeepsEverythingElseAndARerunHasNothingToDo) {
    const auto ls = logins(3000);
    insert(ls,
           mask::masker(mask::field_modes{mask::mode::ipcrypt_pfx, mask::mode::aes_siv}, ring(k1)));
    const auto others = other_columns();
    ASSERT_EQ(under("masked_ip", "k1:"), 3000);

    auto args = modes();
    args.insert(args.end(), {"--batch-size", "100"});
    const auto o = rekey(args);
    ASSERT_EQ(o.status, 0) << o.err;
    const auto s = o.summary();
    EXPECT_EQ(s.at("complete"), true);
    for (const char* col : {"masked_ip", "masked_device_id"}) {
        const auto& c = s.at("columns").at(col).as_object();
        EXPECT_EQ(c.at("rows_rekeyed"), 3000) << col;
        EXPECT_EQ(c.at("rows_failed"), 0) << col;
        EXPECT_EQ(c.at("complete"), true) << col;
        EXPECT_EQ(under(col, "k1:"), 0) << col;
        EXPECT_EQ(under(col, "k2:"), 3000) << col;
    }
    // Values repeat: fewer values than rows, every statement about a batch.
    EXPECT_LT(s.at("columns").at("masked_device_id").at("values_rekeyed").to_number<int>(), 3000);
    EXPECT_GT(s.at("statements").to_number<int>(), 3000 / 100);
    EXPECT_EQ(rows_in_table(), 3000);
    EXPECT_EQ(other_columns(), others);
    expect_originals(ls);
    // Each new value is what masking with the active key gives (the same mode).
    const mask::masker now(mask::field_modes{mask::mode::ipcrypt_pfx, mask::mode::aes_siv},
                           ring(rotated_text()));
    EXPECT_EQ(db_->value("SELECT masked_ip FROM " + table() + " WHERE user_id = 'u-7'"),
              *now.mask(mask::field::ip, ls[7].ip));

    const auto again = rekey(args);
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(again.summary().at("columns").at("masked_ip").at("rows_rekeyed"), 0);
    EXPECT_EQ(again.summary().at("columns").at("masked_device_id").at("rows_rekeyed"), 0);
    EXPECT_EQ(other_columns(), others);
}

TEST_F(Rekey, EachValueKeepsItsOwnModeAndUnopenableOnesAreReported) {
    // One column that went from aes-siv to ipcrypt (deterministic) to ipcrypt-pfx.
    const auto before = ring(k1);
    const auto ls = logins(90);
    const std::vector<login> a(ls.begin(), ls.begin() + 30), b(ls.begin() + 30, ls.begin() + 60),
        c(ls.begin() + 60, ls.end());
    insert(a, mask::masker(mask::mode::aes_siv, before));
    insert(b, mask::masker(mask::field_modes{mask::mode::ipcrypt, mask::mode::aes_siv}, before));
    insert(c,
           mask::masker(mask::field_modes{mask::mode::ipcrypt_pfx, mask::mode::aes_siv}, before));
    db_->exec("INSERT INTO " + table() +
              " (user_id, device_type, masked_ip, masked_device_id, locale, app_version, "
              "create_date) VALUES ('x-1', 'ios', 'k0:10.1.1.1', 'k0:AAAAAAAAAAAAAAAAAAAAAAAA', "
              "NULL, 1, '2024-01-01')");

    const auto o = rekey({"--mask-ip", "ipcrypt-pfx", "--mask-device-id", "aes-siv"});
    EXPECT_EQ(o.status, 1) << "the k0 rows could not be moved";
    const auto ip = o.summary().at("columns").at("masked_ip").as_object();
    EXPECT_EQ(ip.at("rows_rekeyed"), 90);
    EXPECT_EQ(ip.at("rows_rekeyed_by_mode").at("aes-siv"), 30);
    EXPECT_EQ(ip.at("rows_rekeyed_by_mode").at("ipcrypt"), 30);
    EXPECT_EQ(ip.at("rows_rekeyed_by_mode").at("ipcrypt-pfx"), 30);
    EXPECT_EQ(ip.at("rows_failed"), 1);
    EXPECT_EQ(ip.at("failures").at("key_not_in_keyring"), 1);
    EXPECT_EQ(ip.at("keys_not_in_keyring").as_array().at(0), "k0");
    EXPECT_NE(o.err.find("key ids not in the keyring (k0)"), std::string::npos) << o.err;
    EXPECT_EQ(under("masked_ip", "k2~"), 30) << "ipcrypt stays ipcrypt";
    EXPECT_EQ(db_->value("SELECT masked_ip FROM " + table() + " WHERE user_id = 'x-1'"),
              "k0:10.1.1.1");
    expect_originals(ls);
}

TEST_F(Rekey, OneWayColumnsAreRefusedWithTheReasonAndNothingIsTouched) {
    insert(logins(10), mask::masker(mask::mode::hmac_sha256, ring(k1)));
    const auto dump =
        db_->value("SELECT md5(string_agg(t::text, ',' ORDER BY user_id)) FROM " + table() + " t");
    auto o = rekey({});
    EXPECT_EQ(o.status, 2);
    EXPECT_NE(o.err.find("cannot be re-keyed without the originals"), std::string::npos) << o.err;
    EXPECT_EQ(o.out, "");
    o = rekey({"--mask-ip", "ipcrypt-pfx", "--column", "device_id"});
    EXPECT_EQ(o.status, 2);
    EXPECT_NE(o.err.find("masked_device_id is hmac-sha256"), std::string::npos) << o.err;
    // With one reversible column the other is skipped, and the summary says why.
    o = rekey({"--mask-ip", "ipcrypt-pfx"});
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_NE(
        o.summary().at("columns").at("masked_device_id").at("skipped").as_string().find("one-way"),
        std::string::npos);
    EXPECT_EQ(
        db_->value("SELECT md5(string_agg(t::text, ',' ORDER BY user_id)) FROM " + table() + " t"),
        dump);
}

TEST_F(Rekey, AStoppedRunIsContinuedByTheNextOne) {
    const auto ls = logins(2000);
    insert(ls,
           mask::masker(mask::field_modes{mask::mode::ipcrypt_pfx, mask::mode::aes_siv}, ring(k1)));
    int statements = 0;
    app::rekey_hooks stop_after_three;
    stop_after_three.after_batch = [&](std::string_view, std::uint64_t) {
        return ++statements < 3;
    };
    auto args = modes();
    args.insert(args.end(), {"--batch-size", "50"});
    const auto first = rekey(args, stop_after_three);
    EXPECT_EQ(first.status, 1);
    EXPECT_EQ(statements, 3);
    const auto s = first.summary();
    EXPECT_EQ(s.at("complete"), false);
    EXPECT_EQ(s.at("interrupted"), true);
    const long moved = under("masked_ip", "k2:");
    EXPECT_GT(moved, 0);
    EXPECT_LT(moved, 2000);
    EXPECT_EQ(moved + under("masked_ip", "k1:"), 2000);
    EXPECT_EQ(under("masked_device_id", "k2:"), 0) << "stopped in the first column";
    EXPECT_NE(first.err.find("run again"), std::string::npos) << first.err;
    expect_originals(ls); // a mix of keys, every value still readable

    const auto second = rekey(args);
    ASSERT_EQ(second.status, 0) << second.err;
    EXPECT_EQ(second.summary().at("columns").at("masked_ip").at("rows_rekeyed"), 2000 - moved);
    EXPECT_EQ(under("masked_ip", "k1:"), 0);
    EXPECT_EQ(under("masked_device_id", "k1:"), 0);
    expect_originals(ls);
}

TEST_F(Rekey, RowsInsertedWhileItRunsAreLeftOrMovedButNeverLost) {
    const auto before = ring(k1);
    const auto after = ring(rotated_text());
    const mask::field_modes fm{mask::mode::ipcrypt_pfx, mask::mode::aes_siv};
    const mask::masker old_m(fm, before);
    const mask::masker new_m(fm, after);
    const auto initial = logins(2000);
    insert(initial, old_m);

    // The rekey on its own thread (its own io_context and connection) while this thread
    // inserts through another connection, as `run` would: a batch of rows under the
    // active key and a few under the old one (a `run` not restarted yet) after every
    // statement of the rekey.
    std::atomic<int> statements{0};
    std::atomic<int> inserted_batches{0};
    std::atomic<bool> finished{false};
    app::rekey_hooks interleave;
    interleave.after_batch = [&](std::string_view, std::uint64_t) {
        const int n = ++statements;
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (inserted_batches.load() < n && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(1ms);
        return true;
    };
    outcome o;
    std::thread t([&] {
        auto args = modes();
        args.insert(args.end(), {"--batch-size", "100"});
        o = rekey(args, interleave);
        finished = true;
    });
    sync_db other(conninfo_);
    std::vector<login> added_new, added_old;
    int round = 0;
    std::chrono::milliseconds slowest{0};
    while (!finished) {
        const auto ls = logins(20, 10'000 + 20 * round);
        std::string sql = "INSERT INTO " + table() +
                          " (user_id, device_type, masked_ip, masked_device_id, locale, "
                          "app_version, create_date) VALUES ";
        for (std::size_t i = 0; i < ls.size(); ++i) {
            const bool old_key = i % 5 == 0;
            const auto& m = old_key ? old_m : new_m;
            (old_key ? added_old : added_new).push_back(ls[i]);
            sql += (i ? ", " : "") + std::string("('") + ls[i].user + "', 'ios', '" +
                   *m.mask(mask::field::ip, ls[i].ip) + "', '" +
                   *m.mask(mask::field::device_id, ls[i].device) + "', NULL, 1, '2024-03-01')";
        }
        const auto t0 = std::chrono::steady_clock::now();
        other.exec(sql);
        slowest = std::max(slowest, std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now() - t0));
        ++inserted_batches;
        ++round;
        std::this_thread::sleep_for(2ms);
    }
    t.join();
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_GT(round, 5) << "inserts really happened during the rekey";
    EXPECT_LT(slowest, 2000ms) << "no insert waited on the rekey";
    const long total = 2000 + static_cast<long>(added_new.size() + added_old.size());
    EXPECT_EQ(rows_in_table(), total);
    // Rows written under the active key are as they were written.
    for (const auto& l : added_new)
        ASSERT_EQ(
            db_->value("SELECT masked_ip FROM " + table() + " WHERE user_id = '" + l.user + "'"),
            *new_m.mask(mask::field::ip, l.ip));
    // Old-key rows added behind the rekey's position wait for the next run, which moves them.
    const auto rerun = rekey(modes());
    ASSERT_EQ(rerun.status, 0) << rerun.err;
    EXPECT_EQ(under("masked_ip", "k1:"), 0);
    EXPECT_EQ(under("masked_device_id", "k1:"), 0);
    std::vector<login> all = initial;
    all.insert(all.end(), added_new.begin(), added_new.end());
    all.insert(all.end(), added_old.begin(), added_old.end());
    expect_originals(all);
}

// --- the binary, killed in the middle of a statement ---

class child {
public:
    child(const std::vector<std::string>& args, const std::vector<std::string>& envp)
        : dir_(std::filesystem::temp_directory_path() / unique_name("rekey_bin_")) {
        const std::string bin = require_env("SQS2PG_BIN");
        std::filesystem::create_directories(dir_);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, (dir_ / "out").c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&fa, 2, (dir_ / "err").c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600);
        std::vector<char*> argv{const_cast<char*>(bin.c_str())};
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        std::vector<char*> env;
        for (const auto& v : envp)
            env.push_back(const_cast<char*>(v.c_str()));
        env.push_back(nullptr);
        const int rc = posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), env.data());
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0)
            throw std::runtime_error("cannot start " + bin);
    }
    ~child() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        std::filesystem::remove_all(dir_);
    }
    child(const child&) = delete;
    child& operator=(const child&) = delete;

    void kill_now() { ::kill(pid_, SIGKILL); }

    outcome wait() {
        int ws = 0;
        ::waitpid(pid_, &ws, 0);
        pid_ = 0;
        outcome o;
        o.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        o.out = read_file((dir_ / "out").string());
        o.err = read_file((dir_ / "err").string());
        return o;
    }

private:
    std::filesystem::path dir_;
    pid_t pid_ = 0;
};

TEST_F(Rekey, TheBinaryKilledMidStatementLosesNothingAndARerunFinishes) {
    const auto ls = logins(1500);
    insert(ls,
           mask::masker(mask::field_modes{mask::mode::ipcrypt_pfx, mask::mode::aes_siv}, ring(k1)));
    // Another session holds the last row: the rekey's statement for its window waits on it.
    sync_db holder(conninfo_);
    holder.exec("BEGIN");
    const std::string last_user =
        db_->value("SELECT user_id FROM " + table() + " ORDER BY ctid DESC LIMIT 1");
    holder.exec("SELECT 1 FROM " + table() + " WHERE user_id = '" + last_user + "' FOR UPDATE");

    const std::vector<std::string> args{
        "rekey",   "--pg",         conninfo_,     "--table",
        table(),   "--mask-ip",    "ipcrypt-pfx", "--mask-device-id",
        "aes-siv", "--batch-size", "50"};
    const std::vector<std::string> envp{"PATH=/usr/bin:/bin", "SQS2PG_MASK_KEY=" + rotated_text()};
    {
        child c(args, envp);
        const std::string waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name "
                                    "= 'sqs2pg rekey' AND wait_event_type = 'Lock' AND query LIKE "
                                    "'%" +
                                    schema_ + "%'";
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (db_->count(waiting) == 0) {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the rekey never reached "
                                                                     "the locked row";
            std::this_thread::sleep_for(20ms);
        }
        c.kill_now();
        const auto o = c.wait();
        EXPECT_EQ(o.status, 128 + SIGKILL);
    }
    // Whole statements only: the windows before the locked one are moved, the row it holds
    // is not, and every value reads back to its original.
    const long moved = under("masked_ip", "k2:");
    EXPECT_GT(moved, 0);
    EXPECT_LT(moved, 1500);
    EXPECT_EQ(db_->value("SELECT left(masked_ip, 3) FROM " + table() + " WHERE user_id = '" +
                         last_user + "'"),
              "k1:");
    expect_originals(ls);
    holder.exec("ROLLBACK");
    // The killed session's statement may still finish once the lock is gone; whether it
    // does or not, the rerun ends with every value moved.
    const auto o = [&] {
        child again(args, envp);
        return again.wait();
    }();
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.summary().at("complete"), true);
    EXPECT_EQ(under("masked_ip", "k1:"), 0);
    EXPECT_EQ(under("masked_device_id", "k1:"), 0);
    EXPECT_EQ(rows_in_table(), 1500);
    expect_originals(ls);
}

// --- what docs/masking.md tells analysts to run on ipcrypt-pfx values ---

TEST_F(Rekey, TheDocumentedSqlGroupsIpcryptPfxValuesByNetwork) {
    const mask::masker pfx(mask::field_modes{mask::mode::ipcrypt_pfx, mask::mode::aes_siv},
                           ring(k1));
    std::vector<login> ls;
    const std::vector<std::string> ips{"198.51.100.7",    "198.51.100.200",  "198.51.7.1",
                                       "203.0.113.5",     "2001:db8:1:2::1", "2001:db8:1:2::ff",
                                       "2001:db8:1:3::1", "2001:db8:9::1"};
    for (std::size_t i = 0; i < ips.size(); ++i)
        ls.push_back({"n-" + std::to_string(i), ips[i], "d"});
    insert(ls, pfx);
    // The address is everything after the first ':' (key ids hold none), so IPv6 works;
    // split_part(masked_ip, ':', 2) would cut an IPv6 address at its first group.
    const std::string addr = "substr(masked_ip, strpos(masked_ip, ':') + 1)::inet";
    const auto families = db_->rows("SELECT family(" + addr + "), count(*) FROM " + table() +
                                    " GROUP BY 1 ORDER BY 1");
    ASSERT_EQ(families.size(), 2u);
    EXPECT_EQ(families[0], (std::vector<std::string>{"4", "4"}));
    EXPECT_EQ(families[1], (std::vector<std::string>{"6", "4"}));
    // Same /24 (IPv4) and /64 (IPv6) before masking, same network after it.
    const auto nets =
        db_->rows("SELECT count(*) FROM " + table() + " GROUP BY network(set_masklen(" + addr +
                  ", CASE family(" + addr + ") WHEN 4 THEN 24 ELSE 64 END)) ORDER BY 1 DESC");
    std::vector<std::string> sizes;
    for (const auto& r : nets)
        sizes.push_back(r[0]);
    EXPECT_EQ(sizes, (std::vector<std::string>{"2", "2", "1", "1", "1", "1"}));
    const auto by16 = db_->count("SELECT count(DISTINCT network(set_masklen(" + addr +
                                 ", 16))) FROM " + table() + " WHERE family(" + addr + ") = 4");
    EXPECT_EQ(by16, 2) << "198.51/16 and 203.0/16";
    // The form that also skips values of other formats in a mixed column.
    EXPECT_EQ(db_->count("SELECT count(*) FROM " + table() +
                         " WHERE masked_ip ~ '^[A-Za-z0-9_-]{1,16}:[0-9a-f.:]*[.:][0-9a-f.:]*$'"),
              8);
    // split_part(masked_ip, ':', 2) keeps only the first group of an IPv6 address.
    EXPECT_EQ(db_->value("SELECT split_part(masked_ip, ':', 2) FROM " + table() +
                         " WHERE user_id = 'n-4'")
                  .find(':'),
              std::string::npos);
    EXPECT_THROW(db_->value("SELECT split_part(masked_ip, ':', 2)::inet FROM " + table() +
                            " WHERE user_id = 'n-4'"),
                 std::runtime_error);
}

} // namespace
} // namespace sqs2pg::test
