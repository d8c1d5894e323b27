// Fixture for tests of the pg module against the PostgreSQL that tests/run starts: a
// fresh schema per test (dropped after), a writer driven by an io_context, and plain
// blocking libpq helpers for setting up and inspecting the database from the test.
#pragma once

#include <sqs2pg/pg/writer.hpp>

#include "test_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sqs2pg::test {

/// A blocking libpq connection for the test's own checks (never used by the driver).
class sync_db {
public:
    explicit sync_db(const std::string& conninfo)
        : conn_(PQconnectdb(conninfo.c_str())) {
        if (PQstatus(conn_) != CONNECTION_OK)
            throw std::runtime_error(std::string("cannot connect to PostgreSQL: ") +
                                     PQerrorMessage(conn_));
    }
    ~sync_db() { PQfinish(conn_); }
    sync_db(const sync_db&) = delete;
    sync_db& operator=(const sync_db&) = delete;

    /// Runs `sql`; throws with the server's message on failure.
    void exec(const std::string& sql) {
        PGresult* r = run(sql);
        const auto st = PQresultStatus(r);
        std::string err = PQresultErrorMessage(r);
        PQclear(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            throw std::runtime_error("SQL failed: " + sql + ": " + err);
    }

    /// All values of the result, row by row ("<NULL>" for NULL).
    std::vector<std::vector<std::string>> rows(const std::string& sql) {
        PGresult* r = run(sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            std::string err = PQresultErrorMessage(r);
            PQclear(r);
            throw std::runtime_error("SQL failed: " + sql + ": " + err);
        }
        std::vector<std::vector<std::string>> out;
        for (int i = 0; i < PQntuples(r); ++i) {
            auto& row = out.emplace_back();
            for (int j = 0; j < PQnfields(r); ++j)
                row.push_back(PQgetisnull(r, i, j) ? "<NULL>" : PQgetvalue(r, i, j));
        }
        PQclear(r);
        return out;
    }

    std::string value(const std::string& sql) {
        auto r = rows(sql);
        if (r.empty() || r[0].empty())
            throw std::runtime_error("no value from: " + sql);
        return r[0][0];
    }

    long count(const std::string& sql) { return std::stol(value(sql)); }

private:
    // Reconnects once when the server went away (restart tests) since the last query.
    PGresult* run(const std::string& sql) {
        if (PQstatus(conn_) != CONNECTION_OK)
            PQreset(conn_);
        PGresult* r = PQexec(conn_, sql.c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            PQclear(r);
            PQreset(conn_);
            r = PQexec(conn_, sql.c_str());
        }
        return r;
    }

    PGconn* conn_;
};

/// Runs awaitables on `io` to completion while background work (async_run) goes on.
class runner {
public:
    boost::asio::io_context io;

    template <class T>
    T await(boost::asio::awaitable<T> a, std::chrono::seconds limit = std::chrono::seconds(60)) {
        std::optional<T> out;
        std::exception_ptr ex;
        bool done = false;
        boost::asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
            ex = e;
            if (!e)
                out.emplace(std::move(v));
            done = true;
        });
        run_until([&] { return done; }, limit);
        if (ex)
            std::rethrow_exception(ex);
        return std::move(*out);
    }

    /// Runs handlers for `d`, whatever happens.
    void run_for(std::chrono::milliseconds d) {
        const auto until = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < until) {
            if (io.stopped())
                io.restart();
            io.run_one_until(until);
        }
    }

    /// Runs handlers until `pred()` holds; throws after `limit`.
    template <class Pred>
    void run_until(Pred pred, std::chrono::seconds limit = std::chrono::seconds(60)) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!pred()) {
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("timed out waiting in the test");
            if (io.stopped())
                io.restart();
            io.run_one_for(std::chrono::milliseconds(50));
        }
    }
};

/// Per test: a fresh schema holding the target table and sqs2pg's tables.
class pg_test : public ::testing::Test, public runner {
protected:
    void SetUp() override {
        conninfo_ = require_env("SQS2PG_TEST_PG");
        schema_ = unique_name("pgt_");
        db_ = std::make_unique<sync_db>(conninfo_);
        db_->exec("CREATE SCHEMA " + schema_);
    }

    void TearDown() override {
        stop_writer();
        if (db_)
            db_->exec("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    }

    pg::writer_config config() const {
        pg::writer_config cfg;
        cfg.conninfo = conninfo_;
        cfg.table = schema_ + ".user_logins";
        cfg.reconnect = {std::chrono::milliseconds(20), std::chrono::milliseconds(500)};
        cfg.connect_timeout = std::chrono::seconds(5);
        return cfg;
    }

    /// A writer with its async_run in the background.
    struct running_writer {
        std::unique_ptr<pg::writer> w;
        bool done = true;
        boost::system::error_code result;
        std::exception_ptr exception;
    };

    /// Starts a writer (async_start must succeed) and its async_run in the background.
    pg::writer& start_writer(pg::writer_config cfg) { return launch(writer_, std::move(cfg)); }
    pg::writer& start_writer() { return start_writer(config()); }
    /// A second writer on its own connection, as a second sqs2pg process would have;
    /// stopped with the first.
    pg::writer& start_second_writer(pg::writer_config cfg) {
        return launch(second_, std::move(cfg));
    }

    void stop_writer() {
        halt(writer_);
        halt(second_);
    }

    /// Moves every ledger entry (matching `where`, if given) `interval` into the past, as
    /// if that much time had passed since it was written.
    void age_ledger(const std::string& interval, const std::string& where = {}) {
        db_->exec("UPDATE " + ledger() + " SET written_at = written_at - interval '" + interval +
                  "', keep_until = keep_until - interval '" + interval + "'" +
                  (where.empty() ? "" : " WHERE " + where));
    }

    pg::batch_outcome write(const pg::batch& b) { return await(writer_.w->async_write(b)); }

    /// A row shaped like the sample after masking: 64-hex masked values.
    static pg::row_item make_row(const std::string& id, int i) {
        pg::row_item r;
        r.message_id = id;
        r.row.user_id = "user-" + std::to_string(i);
        r.row.device_type = i % 2 ? "android" : "ios";
        std::string hex;
        for (int k = 0; k < 8; ++k)
            hex += "0123456789abcdef0123456789abcdef"[static_cast<unsigned>(i + k) % 32];
        r.row.masked_ip = std::string(56, 'a') + hex;
        r.row.masked_device_id = std::string(56, 'd') + hex;
        r.row.locale = i % 3 ? std::optional<std::string>("en_US") : std::nullopt;
        r.row.app_version = 200 + i % 50;
        r.row.create_date =
            std::chrono::sys_days(std::chrono::year(2024) / 3 / 1) + std::chrono::days(i % 30);
        r.sent_timestamp_ms = 1709251200000 + std::int64_t{i} * 1000; // 2024-03-01 + i s
        return r;
    }

    /// `n` rows with ids prefix-0 .. prefix-(n-1).
    static std::vector<pg::row_item> make_rows(const std::string& prefix, int n, int first = 0) {
        std::vector<pg::row_item> v;
        for (int i = first; i < first + n; ++i)
            v.push_back(make_row(prefix + "-" + std::to_string(i), i));
        return v;
    }

    std::string table() const { return schema_ + ".user_logins"; }
    std::string ledger() const { return schema_ + ".sqs2pg_ledger"; }
    std::string rejects() const { return schema_ + ".sqs2pg_rejects"; }
    long rows_in_table() { return db_->count("SELECT count(*) FROM " + table()); }
    long rows_in_ledger() { return db_->count("SELECT count(*) FROM " + ledger()); }
    /// Rows whose (user_id, masked_ip) occur more than once: duplicates written.
    long duplicated_rows() {
        return db_->count("SELECT count(*) FROM (SELECT user_id, masked_ip FROM " + table() +
                          " GROUP BY 1, 2 HAVING count(*) > 1) d");
    }

    std::string conninfo_;
    std::string schema_;
    std::unique_ptr<sync_db> db_;
    running_writer writer_; ///< the one write() uses
    running_writer second_;

private:
    pg::writer& launch(running_writer& r, pg::writer_config cfg) {
        r.w = std::make_unique<pg::writer>(io.get_executor(), std::move(cfg));
        auto started = await(r.w->async_start());
        if (!started)
            throw std::runtime_error("async_start failed: " + started.error().message() + ": " +
                                     r.w->error_detail());
        r.done = false;
        boost::asio::co_spawn(io, r.w->async_run(),
                              [&r](std::exception_ptr e, boost::system::error_code ec) {
                                  r.exception = e;
                                  r.result = ec;
                                  r.done = true;
                              });
        return *r.w;
    }

    void halt(running_writer& r) {
        if (!r.w)
            return;
        r.w->stop();
        run_until([&r] { return r.done; });
        EXPECT_FALSE(r.exception) << "async_run threw";
        r.w.reset();
    }
};

} // namespace sqs2pg::test
