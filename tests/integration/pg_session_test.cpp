// Sessions that stop working without going away: a session answering 25006 (read-only:
// a failover that landed on a standby, default_transaction_read_only on the role) is
// ended, and one that connects read-only does not count as connected, until writes are
// possible again; a frozen server (its backend stopped with SIGSTOP: it neither answers
// nor closes) costs one batch deadline, not the kernel's 15 minutes; the TCP liveness
// settings reach the socket unless the connection string sets its own.
#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/error.hpp>

#include "pg_fixture.hpp"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>

namespace sqs2pg {
namespace {

using namespace std::chrono_literals;
using test::pg_test;
using PgSession = pg_test;

/// `url` (postgresql://user:password@host...) with another user and password.
std::string with_user(const std::string& url, const std::string& user, const std::string& pw) {
    const auto scheme = url.find("://");
    const auto at = url.find('@');
    if (scheme == std::string::npos || at == std::string::npos)
        throw std::runtime_error("SQS2PG_TEST_PG is not a postgresql://user:pw@host URL");
    return url.substr(0, scheme + 3) + user + ":" + pw + url.substr(at);
}

int sockopt(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(fd, level, name, &v, &len) != 0)
        return -1;
    return v;
}

TEST_F(PgSession, ARefusalAsReadOnlyEndsTheSessionAndWritesResumeOnceItIsLifted) {
    test::sync_db admin(test::require_env("SQS2PG_TEST_PG_ADMIN"));
    const std::string role = test::unique_name("ro_");
    admin.exec(fmt::format("CREATE ROLE {} LOGIN PASSWORD 'pw-{}'", role, role));
    admin.exec(fmt::format("GRANT ALL ON SCHEMA {} TO {}", schema_, role));
    struct cleanup {
        std::function<void()> f;
        ~cleanup() { f(); }
    } guard{[&, this] {
        stop_writer();
        admin.exec("DROP OWNED BY " + role);
        admin.exec("DROP ROLE " + role);
    }};

    auto cfg = config();
    cfg.conninfo = with_user(conninfo_, role, "pw-" + role);
    auto& w = start_writer(cfg);
    pg::batch b;
    b.rows = make_rows("ro", 10);
    ASSERT_EQ(write(b).inserted, 10u);
    const auto connects = w.stats().connects;

    // The live session now answers 25006 (as after a failover to a standby), and every
    // new session of the role starts read-only.
    admin.exec(fmt::format("ALTER ROLE {} SET default_transaction_read_only = on", role));
    admin.exec(fmt::format("CREATE FUNCTION {0}.refuse() RETURNS trigger LANGUAGE plpgsql AS "
                           "$$ BEGIN RAISE EXCEPTION 'read-only' USING ERRCODE = '25006'; END $$",
                           schema_));
    admin.exec(fmt::format("CREATE TRIGGER refuse BEFORE INSERT ON {} FOR EACH STATEMENT "
                           "EXECUTE FUNCTION {}.refuse()",
                           table(), schema_));
    pg::batch more;
    more.rows = make_rows("ro", 10, 10);
    const auto refused = write(more);
    EXPECT_EQ(refused.retry, 10u);
    EXPECT_EQ(refused.error, pg::errc::read_only);
    EXPECT_FALSE(w.connected()) << "the read-only session was kept";
    // Reconnects land on read-only sessions: still not connected, however long.
    run_for(1500ms);
    EXPECT_FALSE(w.connected());
    EXPECT_EQ(w.stats().connects, connects);
    EXPECT_NE(w.error_detail().find("transaction_read_only"), std::string::npos)
        << w.error_detail();

    admin.exec("DROP TRIGGER refuse ON " + table());
    admin.exec(fmt::format("ALTER ROLE {} RESET default_transaction_read_only", role));
    run_until([&] { return w.connected(); }, 20s);
    EXPECT_EQ(write(more).inserted, 10u);
    EXPECT_EQ(admin.count("SELECT count(*) FROM " + table()), 20);
}

TEST_F(PgSession, AFrozenServerCostsOneBatchDeadlineAndNothingDoubles) {
    auto cfg = config();
    cfg.batch_timeout = 2s;
    auto& w = start_writer(cfg);
    pg::batch b;
    b.rows = make_rows("fz", 20);
    ASSERT_EQ(write(b).inserted, 20u);

    const int pid = w.backend_pid();
    ASSERT_GT(pid, 0);
    ASSERT_EQ(::kill(pid, SIGSTOP), 0) << "could not stop the backend (run as root?)";
    struct resume {
        int pid;
        ~resume() { ::kill(pid, SIGCONT); }
    } guard{pid};

    pg::batch next;
    next.rows = make_rows("fz", 20, 20);
    const auto t0 = std::chrono::steady_clock::now();
    const auto o = await(w.async_write(next), 20s);
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(o.retry, 20u);
    EXPECT_EQ(o.error, pg::errc::no_answer);
    EXPECT_LT(took, 10s) << "the batch waited far past its deadline";
    EXPECT_EQ(w.stats().connection_losses, 1u);

    ::kill(pid, SIGCONT);
    run_until([&] { return w.connected() && w.backend_pid() != pid; }, 20s);
    const auto again = write(next);
    EXPECT_EQ(again.inserted + again.duplicates, 20u);
    EXPECT_EQ(rows_in_table(), 40);
    EXPECT_EQ(duplicated_rows(), 0);
}

TEST_F(PgSession, TcpLivenessSettingsReachTheSocketUnlessTheConnectionStringSetsThem) {
    pg::connection c(io.get_executor());
    pg::connect_options opts;
    opts.conninfo = conninfo_;
    ASSERT_TRUE(await(c.async_connect(opts)));
    const int fd = PQsocket(c.native_handle());
    if (sockopt(fd, SOL_SOCKET, SO_DOMAIN) == AF_UNIX)
        GTEST_FAIL() << "the test server must be reached over TCP";
    EXPECT_EQ(sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE), 10);
    EXPECT_EQ(sockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL), 5);
    EXPECT_EQ(sockopt(fd, IPPROTO_TCP, TCP_KEEPCNT), 3);
    EXPECT_EQ(sockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 30000);

    pg::connection own(io.get_executor());
    pg::connect_options mine;
    mine.conninfo = conninfo_ + (conninfo_.find('?') == std::string::npos ? "?" : "&") +
                    "keepalives_idle=42&tcp_user_timeout=7000";
    ASSERT_TRUE(await(own.async_connect(mine)));
    const int fd2 = PQsocket(own.native_handle());
    EXPECT_EQ(sockopt(fd2, IPPROTO_TCP, TCP_KEEPIDLE), 42);
    EXPECT_EQ(sockopt(fd2, IPPROTO_TCP, TCP_USER_TIMEOUT), 7000);
    EXPECT_EQ(sockopt(fd2, IPPROTO_TCP, TCP_KEEPCNT), 3); // the rest still defaulted
}

} // namespace
} // namespace sqs2pg
