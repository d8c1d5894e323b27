// pg_writer_bench: rows/s of the pipelined writer (exactly-once statement, ledger
// included) for several batch sizes and batches in flight, beside a plain COPY of the
// same rows into the same table in the same run; per row the client's CPU time and,
// when the server runs on this machine, the PostgreSQL server's CPU time.
//
//   pg_writer_bench [--pg CONNINFO] [--rows N] [--batch-sizes 10,100,1000]
//                   [--in-flight 1,4,16] [--format binary|text|both]
//                   [--statement fast|normal|both] [--ledger sent|id|both]
//                   [--ledger-entries N] [--connections 1,2] [--keep]
//
// CONNINFO defaults to DATABASE_URL, else libpq's PG* variables. Works in a schema of its
// own (sqs2pg_bench_<pid>), dropped at the end unless --keep. Prints a table, then one
// line of JSON. --statement picks the writer's rows statement: `fast` (the default, as
// sqs2pg runs: plain inserts, falling back per batch when an id is already in the
// ledger), `normal` (always the conflict-handling statement), or both. --ledger picks the
// ledger's key: `sent` (sent_at, message_id), what sqs2pg creates, `id` (message_id
// alone), what an earlier sqs2pg created and still writes, or both. --ledger-entries
// fills the ledger with N entries (random ids, sent before the rows) and then takes a
// CHECKPOINT (when the role may), as a ledger in service holds the retention's worth of
// entries and the server checkpoints every few minutes; 0 (the default) starts empty.
// --connections runs that many writers (sessions) at once, each with --in-flight batches
// (sqs2pg runs one): what the server gives when more than one of its cores writes.
//
// Server CPU is read from /proc: the user+system time of every child of the postmaster
// (backends, WAL writer, checkpointer, background writer, autovacuum) plus the
// postmaster's cutime/cstime, which collect the CPU of children that exited (an
// autovacuum worker that came and went during a run). So it is all the server spent
// during the run, not only the measured session. When the server is not a local process
// (another machine, a container's PID namespace) the figure is left out.
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/pg/sql.hpp>
#include <sqs2pg/pg/writer.hpp>

#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace sqs2pg;

struct options {
    std::string conninfo;
    std::size_t rows = 100000;
    std::vector<std::size_t> batch_sizes{10, 100, 1000};
    std::vector<std::size_t> in_flight{1, 4, 16};
    std::vector<pg::param_format> formats{pg::param_format::binary};
    std::vector<bool> fast_paths{true};
    std::vector<pg::sql::ledger_key> ledger_keys{pg::sql::ledger_key::sent_at_message_id};
    std::size_t ledger_entries = 0;
    std::vector<std::size_t> connections{1};
    bool keep = false;
};

std::vector<std::size_t> parse_list(const std::string& s) {
    std::vector<std::size_t> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t comma = s.find(',', start);
        out.push_back(std::stoul(s.substr(start, comma - start)));
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return out;
}

options parse_args(int argc, char** argv) {
    options o;
    if (const char* url = std::getenv("DATABASE_URL"))
        o.conninfo = url;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto next = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        if (a == "--pg")
            o.conninfo = next();
        else if (a == "--rows")
            o.rows = std::stoul(next());
        else if (a == "--batch-sizes")
            o.batch_sizes = parse_list(next());
        else if (a == "--in-flight")
            o.in_flight = parse_list(next());
        else if (a == "--format") {
            const std::string f = next();
            if (f == "binary")
                o.formats = {pg::param_format::binary};
            else if (f == "text")
                o.formats = {pg::param_format::text};
            else if (f == "both")
                o.formats = {pg::param_format::binary, pg::param_format::text};
            else
                throw std::invalid_argument("--format binary|text|both");
        } else if (a == "--statement") {
            const std::string f = next();
            if (f == "fast")
                o.fast_paths = {true};
            else if (f == "normal")
                o.fast_paths = {false};
            else if (f == "both")
                o.fast_paths = {false, true};
            else
                throw std::invalid_argument("--statement fast|normal|both");
        } else if (a == "--ledger") {
            const std::string v = next();
            using k = pg::sql::ledger_key;
            if (v == "sent")
                o.ledger_keys = {k::sent_at_message_id};
            else if (v == "id")
                o.ledger_keys = {k::message_id};
            else if (v == "both")
                o.ledger_keys = {k::message_id, k::sent_at_message_id};
            else
                throw std::invalid_argument("--ledger sent|id|both");
        } else if (a == "--connections")
            o.connections = parse_list(next());
        else if (a == "--ledger-entries")
            o.ledger_entries = std::stoul(next());
        else if (a == "--keep")
            o.keep = true;
        else if (a == "--help" || a == "-h") {
            fmt::print("usage: pg_writer_bench [--pg CONNINFO] [--rows N]\n"
                       "         [--batch-sizes 10,100,1000] [--in-flight 1,4,16]\n"
                       "         [--format binary|text|both] [--statement fast|normal|both]\n"
                       "         [--ledger sent|id|both] [--ledger-entries N]\n"
                       "         [--connections 1,2] [--keep]\n");
            std::exit(0);
        } else
            throw std::invalid_argument("unknown argument " + a);
    }
    if (o.rows == 0)
        throw std::invalid_argument("--rows must be positive");
    return o;
}

/// Blocking libpq for setup and the COPY baseline: this is the harness, not the driver.
class sync_db {
public:
    explicit sync_db(const std::string& conninfo)
        : conn_(PQconnectdb(conninfo.c_str())) {
        if (PQstatus(conn_) != CONNECTION_OK)
            throw std::runtime_error(std::string("cannot connect: ") + PQerrorMessage(conn_));
    }
    ~sync_db() { PQfinish(conn_); }
    sync_db(const sync_db&) = delete;
    sync_db& operator=(const sync_db&) = delete;

    std::string exec(const std::string& sql) {
        PGresult* r = PQexec(conn_, sql.c_str());
        const auto st = PQresultStatus(r);
        std::string value;
        if (st == PGRES_TUPLES_OK && PQntuples(r) > 0)
            value = PQgetvalue(r, 0, 0);
        const std::string err = PQresultErrorMessage(r);
        PQclear(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            throw std::runtime_error("SQL failed: " + sql + ": " + err);
        return value;
    }

    PGconn* get() { return conn_; }

private:
    PGconn* conn_;
};

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// One /proc/<pid>/stat: the parent pid and the CPU times in clock ticks.
struct proc_stat {
    long ppid = 0;
    unsigned long long cpu = 0;          ///< utime + stime
    unsigned long long children_cpu = 0; ///< cutime + cstime (reaped children)
};

std::optional<proc_stat> read_proc_stat(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line))
        return std::nullopt;
    // The command name (field 2) is in parentheses and may hold spaces: parse after it.
    const auto close = line.rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream fields(line.substr(close + 1));
    std::string state;
    proc_stat st;
    long long skip = 0;
    unsigned long long utime = 0, stime = 0;
    long long cutime = 0, cstime = 0;
    fields >> state >> st.ppid;
    for (int i = 5; i <= 13; ++i) // pgrp .. cmajflt
        fields >> skip;
    fields >> utime >> stime >> cutime >> cstime;
    if (!fields)
        return std::nullopt;
    st.cpu = utime + stime;
    st.children_cpu = static_cast<unsigned long long>(cutime + cstime);
    return st;
}

std::string proc_comm(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    std::string comm;
    std::getline(in, comm);
    return comm;
}

/// CPU seconds the PostgreSQL server has used so far (see the top of this file), or
/// nothing when `backend_pid` is not a local postgres process with a postgres parent.
class server_cpu_meter {
public:
    explicit server_cpu_meter(int backend_pid) {
        if (backend_pid <= 0 || proc_comm(backend_pid) != "postgres")
            return;
        const auto backend = read_proc_stat(backend_pid);
        if (!backend || proc_comm(backend->ppid) != "postgres")
            return;
        postmaster_ = backend->ppid;
    }

    bool available() const { return postmaster_ > 0; }

    std::optional<double> seconds() const {
        if (!available())
            return std::nullopt;
        const auto pm = read_proc_stat(postmaster_);
        if (!pm)
            return std::nullopt;
        unsigned long long ticks = pm->cpu + pm->children_cpu;
        DIR* proc = opendir("/proc");
        if (proc == nullptr)
            return std::nullopt;
        while (const dirent* e = readdir(proc)) {
            char* end = nullptr;
            const long pid = std::strtol(e->d_name, &end, 10);
            if (pid <= 0 || *end != '\0')
                continue;
            const auto st = read_proc_stat(pid);
            if (st && st->ppid == postmaster_)
                ticks += st->cpu;
        }
        closedir(proc);
        return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }

private:
    long postmaster_ = 0;
};

std::string uuid_like(std::mt19937_64& rng) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string s(36, '-');
    for (std::size_t i = 0; i < s.size(); ++i)
        if (i != 8 && i != 13 && i != 18 && i != 23)
            s[i] = hex[rng() & 15];
    return s;
}

std::string hex64(std::mt19937_64& rng) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string s(64, '0');
    for (auto& c : s)
        c = hex[rng() & 15];
    return s;
}

/// Rows shaped like the sample after masking: UUID user and message ids, android/ios,
/// two-letter locales (some NULL), 64-hex masked values, an encoded app version.
std::vector<pg::row_item> make_rows(std::size_t n) {
    std::mt19937_64 rng(42);
    static const char* locales[] = {"RU", "PH", "US", "DE", "BR", "FR", "ID", "CN"};
    std::vector<pg::row_item> rows(n);
    // Sent one per millisecond from now on, as a queue drained as it fills delivers them.
    const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    std::int64_t sent = now_ms;
    for (auto& r : rows) {
        r.message_id = uuid_like(rng);
        r.sent_timestamp_ms = sent++;
        r.row.user_id = uuid_like(rng);
        r.row.device_type = rng() & 1 ? "android" : "ios";
        r.row.masked_ip = hex64(rng);
        r.row.masked_device_id = hex64(rng);
        const auto l = rng() % 10;
        if (l < 8)
            r.row.locale = locales[l];
        r.row.app_version =
            static_cast<std::int32_t>(rng() % 5 * 10000 + rng() % 10 * 100 + rng() % 10);
        r.row.create_date =
            std::chrono::sys_days(std::chrono::year(2024) / 1 / 1) + std::chrono::days(rng() % 365);
    }
    return rows;
}

std::string iso_date(std::chrono::sys_days d) {
    const std::chrono::year_month_day ymd(d);
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

struct measurement {
    std::string method;
    std::string format;
    std::string statement;    ///< the writer's rows statement: fast or normal
    std::string ledger = "-"; ///< the ledger's key: sent or id
    std::size_t batch_size = 0;
    std::size_t in_flight = 0;
    std::size_t connections = 1;
    std::size_t rows = 0;
    double seconds = 0;
    double cpu_seconds = 0;
    std::optional<double> server_cpu_seconds; ///< all server processes, when measurable
    std::size_t transactions = 0;

    double rows_per_second() const { return static_cast<double>(rows) / seconds; }
    double cpu_us_per_row() const { return cpu_seconds * 1e6 / static_cast<double>(rows); }
    std::optional<double> server_us_per_row() const {
        if (!server_cpu_seconds)
            return std::nullopt;
        return *server_cpu_seconds * 1e6 / static_cast<double>(rows);
    }
};

/// Server CPU used between two readings, if both could be taken.
std::optional<double> elapsed(const std::optional<double>& before,
                              const std::optional<double>& after) {
    if (!before || !after)
        return std::nullopt;
    return *after - *before;
}

measurement run_copy(sync_db& db, const server_cpu_meter& server, const std::string& table,
                     const std::vector<pg::row_item>& rows) {
    const auto server0 = server.seconds();
    const auto started = std::chrono::steady_clock::now();
    const double cpu0 = cpu_seconds();
    const std::string copy = "COPY " + table +
                             " (user_id, device_type, masked_ip, masked_device_id, locale, "
                             "app_version, create_date) FROM STDIN";
    PGresult* start = PQexec(db.get(), copy.c_str());
    const bool copying = PQresultStatus(start) == PGRES_COPY_IN;
    PQclear(start);
    if (!copying)
        throw std::runtime_error(std::string("COPY failed: ") + PQerrorMessage(db.get()));
    std::string chunk;
    chunk.reserve(1 << 20);
    const auto send = [&] {
        if (PQputCopyData(db.get(), chunk.data(), static_cast<int>(chunk.size())) != 1)
            throw std::runtime_error(std::string("COPY failed: ") + PQerrorMessage(db.get()));
        chunk.clear();
    };
    for (const auto& r : rows) {
        // The generated values need no COPY escaping (hex, UUIDs, letters).
        fmt::format_to(std::back_inserter(chunk), "{}\t{}\t{}\t{}\t{}\t{}\t{}\n", r.row.user_id,
                       r.row.device_type, r.row.masked_ip, r.row.masked_device_id,
                       r.row.locale.value_or("\\N"), r.row.app_version,
                       iso_date(r.row.create_date));
        if (chunk.size() > (1 << 20) - 512)
            send();
    }
    if (!chunk.empty())
        send();
    if (PQputCopyEnd(db.get(), nullptr) != 1)
        throw std::runtime_error(std::string("COPY end failed: ") + PQerrorMessage(db.get()));
    PGresult* res = PQgetResult(db.get());
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    while ((res = PQgetResult(db.get())) != nullptr)
        PQclear(res);
    if (!ok)
        throw std::runtime_error(std::string("COPY failed: ") + PQerrorMessage(db.get()));
    measurement m;
    m.method = "copy";
    m.format = "text";
    m.statement = "-";
    m.rows = rows.size();
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    m.cpu_seconds = cpu_seconds() - cpu0;
    m.server_cpu_seconds = elapsed(server0, server.seconds());
    m.transactions = 1;
    return m;
}

const char* ledger_name(pg::sql::ledger_key key) {
    return key == pg::sql::ledger_key::message_id ? "id" : "sent";
}

/// Creates the ledger keyed by `key` (as sqs2pg does, or as an earlier sqs2pg did) and
/// fills it with `entries` random ids sent a day before the rows, then checkpoints.
/// Returns whether the checkpoint could be taken.
bool prepare_ledger(sync_db& db, const std::string& table, pg::sql::ledger_key key,
                    std::size_t entries) {
    const pg::table_names names(*pg::parse_qualified_name(table));
    const std::string ledger = names.ledger.quoted();
    const bool by_id = key == pg::sql::ledger_key::message_id;
    if (by_id)
        db.exec(fmt::format("CREATE TABLE {} (message_id text COLLATE \"C\" PRIMARY KEY,"
                            " written_at timestamptz NOT NULL DEFAULT now(),"
                            " keep_until timestamptz NOT NULL)",
                            ledger));
    else
        db.exec(pg::sql::create_tables(names, false, true, false));
    if (entries == 0)
        return false;
    // Without sent_at, or with a send time a day before the rows, one millisecond apart.
    const char* sent_column = by_id ? "" : "sent_at, ";
    const char* sent_value = by_id ? "" : "now() - interval '1 day' + g * interval '1 ms', ";
    db.exec(fmt::format("INSERT INTO {} (message_id, {}keep_until) SELECT gen_random_uuid()::text,"
                        " {}now() + interval '14 days' FROM generate_series(1, {}) g",
                        ledger, sent_column, sent_value, entries));
    try {
        db.exec("CHECKPOINT");
        return true;
    } catch (const std::exception&) {
        return false; // PostgreSQL 15 lets superusers and pg_checkpoint do it
    }
}

measurement run_writer(const options& o, const server_cpu_meter& server, const std::string& table,
                       const std::vector<pg::row_item>& rows, std::size_t batch_size,
                       std::size_t in_flight, std::size_t connections, pg::param_format format,
                       bool fast_path, pg::sql::ledger_key key) {
    asio::io_context io;
    pg::writer_config cfg;
    cfg.conninfo = o.conninfo;
    cfg.table = table;
    cfg.prune_interval = std::chrono::seconds(0);
    cfg.format = format;
    cfg.fast_path = fast_path;
    std::vector<std::unique_ptr<pg::writer>> writers;
    for (std::size_t c = 0; c < connections; ++c)
        writers.push_back(std::make_unique<pg::writer>(io.get_executor(), cfg));

    // Batches are built before the clock starts: the flow stage builds them, not the writer.
    std::vector<pg::batch> batches;
    for (std::size_t i = 0; i < rows.size(); i += batch_size) {
        pg::batch b;
        b.rows.assign(rows.begin() + static_cast<std::ptrdiff_t>(i),
                      rows.begin() +
                          static_cast<std::ptrdiff_t>(std::min(rows.size(), i + batch_size)));
        batches.push_back(std::move(b));
    }

    measurement m;
    m.method = "writer";
    m.format = format == pg::param_format::binary ? "binary" : "text";
    m.statement = fast_path ? "fast" : "normal";
    m.ledger = ledger_name(key);
    m.batch_size = batch_size;
    m.in_flight = in_flight;
    m.connections = connections;
    m.rows = rows.size();
    std::size_t committed = 0;
    std::string failure;

    auto main = [&]() -> asio::awaitable<void> {
        for (auto& w : writers) {
            auto started = co_await w->async_start();
            if (!started) {
                failure = started.error().message() + ": " + w->error_detail();
                co_return;
            }
            asio::co_spawn(io, w->async_run(),
                           [](std::exception_ptr, boost::system::error_code) {});
        }
        std::size_t next = 0;
        std::size_t workers_done = 0;
        const auto server0 = server.seconds();
        const auto t0 = std::chrono::steady_clock::now();
        const double cpu0 = cpu_seconds();
        auto worker = [&](pg::writer& w) -> asio::awaitable<void> {
            while (next < batches.size() && failure.empty()) {
                pg::batch b = std::move(batches[next++]);
                const pg::batch_outcome out = co_await w.async_write(b);
                committed += out.inserted + out.duplicates;
                if (out.retry + out.failed + out.rejected > 0)
                    failure = "write failed: " + out.error.message();
            }
        };
        const std::size_t workers = in_flight * connections;
        for (std::size_t k = 0; k < workers; ++k)
            asio::co_spawn(io, worker(*writers[k % connections]), [&](std::exception_ptr e) {
                if (e)
                    failure = "worker threw";
                ++workers_done;
            });
        asio::steady_timer poll(io);
        while (workers_done < workers) {
            poll.expires_after(std::chrono::milliseconds(1));
            co_await poll.async_wait(asio::use_awaitable);
        }
        m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        m.cpu_seconds = cpu_seconds() - cpu0;
        m.server_cpu_seconds = elapsed(server0, server.seconds());
        for (auto& w : writers) {
            m.transactions += w->stats().transactions;
            w->stop();
        }
    };
    asio::co_spawn(io, main(), [&](std::exception_ptr e) {
        if (e)
            failure = "benchmark threw";
    });
    io.run();
    if (!failure.empty())
        throw std::runtime_error(failure);
    if (committed != rows.size())
        throw std::runtime_error(
            fmt::format("{} rows committed, expected {}", committed, rows.size()));
    return m;
}

} // namespace

int main(int argc, char** argv) {
    try {
        const options o = parse_args(argc, argv);
        ops::configure_logging(ops::level::warn, ops::log_format::text);
        sync_db db(o.conninfo);
        db.exec("SET client_min_messages = warning");
        const std::string schema = fmt::format("sqs2pg_bench_{}", ::getpid());
        const std::string table = schema + ".user_logins";
        db.exec("CREATE SCHEMA " + schema);
        struct dropper {
            sync_db& db;
            std::string schema;
            bool keep;
            ~dropper() {
                if (!keep)
                    try {
                        db.exec("DROP SCHEMA " + schema + " CASCADE");
                    } catch (const std::exception&) {
                    }
            }
        } drop{db, schema, o.keep};

        const std::string server_version = db.exec("SHOW server_version");
        const std::string sync_commit = db.exec("SHOW synchronous_commit");
        const std::string fsync = db.exec("SHOW fsync");
        const auto rows = make_rows(o.rows);
        const server_cpu_meter server(PQbackendPID(db.get()));

        // The ledger is made here, the target table by the writer on its first start; COPY
        // goes to the same table.
        std::vector<measurement> results;
        bool checkpointed = false;
        for (auto key : o.ledger_keys)
            for (bool fast : o.fast_paths)
                for (auto format : o.formats)
                    for (std::size_t bs : o.batch_sizes)
                        for (std::size_t inf : o.in_flight)
                            for (std::size_t conns : o.connections) {
                                db.exec(fmt::format(
                                    "DROP TABLE IF EXISTS {0}.user_logins, {0}.sqs2pg_ledger",
                                    schema));
                                checkpointed = prepare_ledger(db, table, key, o.ledger_entries);
                                results.push_back(run_writer(o, server, table, rows, bs, inf, conns,
                                                             format, fast, key));
                                (void)std::fprintf(stderr, ".");
                            }
        db.exec("TRUNCATE " + table);
        results.push_back(run_copy(db, server, table, rows));
        (void)std::fprintf(stderr, "\n");

        fmt::print("PostgreSQL {} (synchronous_commit={}, fsync={}), {} rows per run\n",
                   server_version, sync_commit, fsync, o.rows);
        fmt::print("ledger: {} entries before each run{}\n", o.ledger_entries,
                   o.ledger_entries == 0 ? ""
                   : checkpointed        ? ", then a CHECKPOINT"
                                         : " (no CHECKPOINT: the role may not)");
        fmt::print("server cpu: {}\n\n",
                   server.available()
                       ? "all processes of the local server (backends, WAL writer, checkpointer, "
                         "autovacuum ...)"
                       : "not measured (the server is not a local process)");
        const measurement& copy = results.back();
        const auto us = [](const std::optional<double>& v) {
            return v ? fmt::format("{:.2f}", *v) : std::string("-");
        };
        fmt::print(
            "{:<8} {:<7} {:<9} {:<6} {:>6} {:>9} {:>5} {:>12} {:>8} {:>9} {:>13} {:>13} {:>8}\n",
            "method", "format", "statement", "ledger", "batch", "in-flight", "conns", "rows/s",
            "vs COPY", "seconds", "client us/row", "server us/row", "xacts");
        for (const auto& m : results)
            fmt::print("{:<8} {:<7} {:<9} {:<6} {:>6} {:>9} {:>5} {:>12.0f} {:>7.0f}% {:>9.3f} "
                       "{:>13.2f} {:>13} {:>8}\n",
                       m.method, m.format, m.statement, m.ledger,
                       m.batch_size ? std::to_string(m.batch_size) : "-",
                       m.in_flight ? std::to_string(m.in_flight) : "-", m.connections,
                       m.rows_per_second(), 100.0 * m.rows_per_second() / copy.rows_per_second(),
                       m.seconds, m.cpu_us_per_row(), us(m.server_us_per_row()), m.transactions);
        std::string json = fmt::format(
            R"({{"benchmark":"pg_writer","server_version":"{}","synchronous_commit":"{}","fsync":"{}","rows":{},"ledger_entries":{},"checkpointed":{},"results":[)",
            server_version, sync_commit, fsync, o.rows, o.ledger_entries, checkpointed);
        for (std::size_t i = 0; i < results.size(); ++i) {
            const auto& m = results[i];
            const auto server_us = m.server_us_per_row();
            json += fmt::format(
                R"({}{{"method":"{}","format":"{}","statement":"{}","ledger":"{}","batch_size":{},"in_flight":{},"connections":{},"rows":{},"seconds":{:.6f},"rows_per_second":{:.1f},"vs_copy":{:.4f},"cpu_seconds":{:.6f},"cpu_us_per_row":{:.3f},"server_cpu_us_per_row":{},"transactions":{}}})",
                i ? "," : "", m.method, m.format, m.statement, m.ledger, m.batch_size, m.in_flight,
                m.connections, m.rows, m.seconds, m.rows_per_second(),
                m.rows_per_second() / copy.rows_per_second(), m.cpu_seconds, m.cpu_us_per_row(),
                server_us ? fmt::format("{:.3f}", *server_us) : "null", m.transactions);
        }
        json += "]}";
        fmt::print("\n{}\n", json);
        return 0;
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "pg_writer_bench: %s\n", e.what());
        return 1;
    }
}
