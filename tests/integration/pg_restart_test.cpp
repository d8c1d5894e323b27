// The writer across PostgreSQL restarts and outages (scripts/services pg-restart,
// pg-stop, pg-start) and over TLS. These stop the shared test server or change its
// configuration, so this binary runs alone (is_parallel: false in meson).
#include <sqs2pg/pg/error.hpp>

#include "pg_fixture.hpp"
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace {

namespace asio = boost::asio;
using namespace sqs2pg;
using namespace std::chrono_literals;

void services(const std::string& what) {
    const std::string cmd = test::require_env("SQS2PG_TEST_SERVICES") + " " + what;
    if (std::system(cmd.c_str()) != 0)
        throw std::runtime_error("failed: " + cmd);
}

// Makes sure the server runs again whatever the test did.
struct server_guard {
    ~server_guard() {
        try {
            services("pg-start");
        } catch (...) {
        }
    }
};

class PgRestart : public test::pg_test {
protected:
    // Writes `b` until every item is acknowledged, rewriting the retry items; returns
    // how many writes it took. Fails the test on a fatal error or after `limit`.
    int write_until_done(pg::batch b, std::chrono::seconds limit = 60s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        int writes = 0;
        while (!b.rows.empty()) {
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("rows still not written");
            const auto o = write(b);
            ++writes;
            EXPECT_FALSE(pg::is_fatal(o.error)) << o.error.message();
            pg::batch rest;
            for (std::size_t i = 0; i < o.rows.size(); ++i) {
                EXPECT_NE(o.rows[i].status, pg::item_status::failed);
                EXPECT_NE(o.rows[i].status, pg::item_status::rejected);
                if (o.rows[i].status == pg::item_status::retry)
                    rest.rows.push_back(b.rows[i]);
            }
            b = std::move(rest);
        }
        return writes;
    }
};

TEST_F(PgRestart, ServerRestartWithBatchesInFlightLosesNothingAndDuplicatesNothing) {
    server_guard guard;
    auto& w = start_writer();
    std::vector<pg::batch> batches;
    for (int k = 0; k < 6; ++k) {
        pg::batch b;
        b.rows = make_rows("s" + std::to_string(k), 200, k * 200);
        batches.push_back(std::move(b));
    }
    ASSERT_EQ(write(batches[0]).inserted, 200u);
    // One row of batch 1 keeps its transaction busy, so the restart surely hits work in flight.
    db_->exec("CREATE FUNCTION " + schema_ +
              ".slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(2); "
              "RETURN NEW; END $$");
    db_->exec("CREATE TRIGGER slow BEFORE INSERT ON " + table() +
              " FOR EACH ROW WHEN (NEW.user_id = 'slow') EXECUTE FUNCTION " + schema_ + ".slow()");
    batches[1].rows[100].row.user_id = "slow";

    // Put batches in flight, restart the server under them, then finish them all.
    std::vector<pg::batch_outcome> outcomes(batches.size());
    int finished = 0;
    for (std::size_t k = 1; k < batches.size(); ++k)
        asio::co_spawn(io, w.async_write(batches[k]),
                       [&, k](std::exception_ptr, pg::batch_outcome o) {
                           outcomes[k] = std::move(o);
                           ++finished;
                       });
    run_until([&] { return w.in_flight() == batches.size() - 1; });
    run_for(300ms); // the server is now inside the slow statement
    services("pg-restart");
    run_until([&] { return finished == static_cast<int>(batches.size()) - 1; });
    std::size_t to_retry = 0;
    for (std::size_t k = 1; k < batches.size(); ++k) {
        to_retry += outcomes[k].retry;
        if (outcomes[k].retry > 0) {
            EXPECT_TRUE(pg::is_retryable(outcomes[k].error)) << outcomes[k].error.message();
        }
    }
    EXPECT_GE(to_retry, 200u) << "the restart should have hit the slow batch";
    db_->exec("DROP TRIGGER slow ON " + table());

    for (std::size_t k = 1; k < batches.size(); ++k) {
        pg::batch rest;
        for (std::size_t i = 0; i < outcomes[k].rows.size(); ++i)
            if (outcomes[k].rows[i].status == pg::item_status::retry)
                rest.rows.push_back(batches[k].rows[i]);
        write_until_done(std::move(rest));
    }
    // Every batch once more, as SQS would redeliver unacknowledged messages: no new rows.
    for (const auto& b : batches) {
        const auto o = write(b);
        EXPECT_EQ(o.duplicates, 200u);
    }
    EXPECT_EQ(rows_in_table(), 1200);
    EXPECT_EQ(duplicated_rows(), 0);
    EXPECT_GE(w.stats().connects, 2u);
    EXPECT_TRUE(w.connected());
}

TEST_F(PgRestart, WritesWaitWhileTheServerIsDownAndCompleteWhenItReturns) {
    server_guard guard;
    auto& w = start_writer();
    services("pg-stop");
    run_until([&] { return !w.connected(); }, 20s);

    // A caller's deadline ends the wait; the items are to be written again.
    pg::batch b;
    b.rows = make_rows("o", 50);
    using namespace asio::experimental::awaitable_operators;
    auto timeout = [&]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, 500ms);
        co_await t.async_wait(asio::use_awaitable);
    };
    auto raced = await([&]() -> asio::awaitable<std::variant<pg::batch_outcome, std::monostate>> {
        auto writing = w.async_write(b);
        co_return co_await (std::move(writing) || timeout());
    }());
    EXPECT_EQ(raced.index(), 1u);
    run_for(1s); // reconnect attempts fail with backoff meanwhile
    EXPECT_FALSE(w.connected());

    // A write that is waiting when the server comes back completes.
    pg::batch_outcome o;
    bool done = false;
    asio::co_spawn(io, w.async_write(b), [&](std::exception_ptr, pg::batch_outcome r) {
        o = std::move(r);
        done = true;
    });
    run_for(200ms);
    EXPECT_FALSE(done);
    services("pg-start");
    run_until([&] { return done; }, 30s);
    EXPECT_EQ(o.inserted, 50u);
    EXPECT_EQ(rows_in_table(), 50);
    EXPECT_EQ(w.stats().connection_losses, 1u);
}

// A throwaway self-signed server certificate (P-256) written as PEM files.
void write_self_signed(const std::string& cert_path, const std::string& key_path) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    ASSERT_TRUE(key != nullptr && x != nullptr);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
    std::FILE* c = std::fopen(cert_path.c_str(), "w");
    std::FILE* k = std::fopen(key_path.c_str(), "w");
    ASSERT_TRUE(c != nullptr && k != nullptr);
    PEM_write_X509(c, x);
    PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(c);
    std::fclose(k);
    X509_free(x);
    EVP_PKEY_free(key);
}

TEST_F(PgRestart, TlsConnectionCarriesLargeBatchesInFlight) {
    // Server side: a certificate in the data directory, ssl = on, reload.
    const std::string pgdata = test::require_env("SQS2PG_TEST_PGDATA");
    const std::string cert = pgdata + "/sqs2pg_test.crt";
    const std::string key = pgdata + "/sqs2pg_test.key";
    write_self_signed(cert, key);
    struct stat owner {};
    ASSERT_EQ(::stat(pgdata.c_str(), &owner), 0);
    ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
    if (::geteuid() == 0) {
        ASSERT_EQ(::chown(cert.c_str(), owner.st_uid, owner.st_gid), 0);
        ASSERT_EQ(::chown(key.c_str(), owner.st_uid, owner.st_gid), 0);
    }
    test::sync_db admin(test::require_env("SQS2PG_TEST_PG_ADMIN"));
    struct ssl_off {
        test::sync_db& admin;
        std::string cert, key;
        ~ssl_off() {
            try {
                admin.exec("ALTER SYSTEM RESET ssl");
                admin.exec("ALTER SYSTEM RESET ssl_cert_file");
                admin.exec("ALTER SYSTEM RESET ssl_key_file");
                admin.exec("SELECT pg_reload_conf()");
            } catch (...) {
            }
            std::filesystem::remove(cert);
            std::filesystem::remove(key);
        }
    } restore{admin, cert, key};
    admin.exec("ALTER SYSTEM SET ssl_cert_file = '" + cert + "'");
    admin.exec("ALTER SYSTEM SET ssl_key_file = '" + key + "'");
    admin.exec("ALTER SYSTEM SET ssl = on");
    admin.exec("SELECT pg_reload_conf()");

    auto cfg = config();
    cfg.conninfo += (cfg.conninfo.find('?') == std::string::npos ? "?" : "&");
    cfg.conninfo += "sslmode=require";
    // The reload is asynchronous: wait until the server accepts TLS.
    for (int i = 0; i < 100; ++i) {
        PGconn* probe = PQconnectdb(cfg.conninfo.c_str());
        const bool up = PQstatus(probe) == CONNECTION_OK;
        PQfinish(probe);
        if (up)
            break;
        run_for(50ms);
    }

    auto& w = start_writer(cfg);
    EXPECT_EQ(
        admin.value("SELECT ssl FROM pg_stat_ssl WHERE pid = " + std::to_string(w.backend_pid())),
        "t");
    // One batch of several MB (many TLS records, PQflush returning 1) and 8 more in flight.
    pg::batch big;
    big.rows = make_rows("tls-big", 20000);
    EXPECT_EQ(write(big).inserted, 20000u);
    int finished = 0;
    std::size_t inserted = 0;
    std::vector<pg::batch> all(8); // each lives until its write is done
    for (int k = 0; k < 8; ++k) {
        pg::batch& b = all[static_cast<std::size_t>(k)];
        b.rows = make_rows("tls" + std::to_string(k), 2000, 20000 + k * 2000);
        asio::co_spawn(io, w.async_write(b), [&](std::exception_ptr, pg::batch_outcome o) {
            inserted += o.inserted;
            ++finished;
        });
    }
    run_until([&] { return finished == 8; });
    EXPECT_EQ(inserted, 16000u);
    EXPECT_EQ(rows_in_table(), 36000);
    EXPECT_EQ(duplicated_rows(), 0);
}

} // namespace
