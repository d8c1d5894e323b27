// `sqs2pg rekey`, the run (its options are in rekey_options.cpp, how it reports in
// rekey_report.cpp): one pass over the table per column in windows of heap blocks
// (pg::block_windows): read the window's values under an old key id, move each to the
// active key (mask::rekeyer), rewrite them in statements of about --batch-size rows. A
// one-line JSON summary on stdout, progress on a terminal's stderr.
#include <sqs2pg/app/commands/rekey.hpp>
#include <sqs2pg/app/mask_keys.hpp>
#include <sqs2pg/app/run_options.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/mask/normalize.hpp>
#include <sqs2pg/ops/progress.hpp>
#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/rekey.hpp>

#include "rekey_detail.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <array>
#include <chrono>
#include <csignal>
#include <map>
#include <optional>
#include <ostream>
#include <set>

namespace sqs2pg::app {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

using namespace rekey_detail;

// ---- the run ------------------------------------------------------------------------------

struct run_context {
    const rekey_request& req;
    const environment& env;
    const mask::keyring& keys;
    const rekey_hooks& hooks;
    std::ostream& out;
    std::ostream& err;
    bool stop_requested = false;
    std::uint64_t statements = 0;

    void say(std::string_view what) const { err << "sqs2pg rekey: " << what << '\n' << std::flush; }
};

asio::awaitable<bool> async_open(run_context& c, pg::connection& conn) {
    pg::connect_options opts;
    opts.conninfo = c.req.conninfo;
    auto r = co_await conn.async_connect(std::move(opts));
    if (!r) {
        c.say(fmt::format("cannot connect to PostgreSQL: {}",
                          conn.error_detail().empty() ? r.error().message()
                                                      : base::printable(conn.error_detail())));
        co_return false;
    }
    // Each statement is its own transaction of about --batch-size rows. A lock held elsewhere
    // (a migration's ALTER TABLE) must not leave it waiting: it gives up after 10 s and says
    // so, and a rerun continues. The name shows in pg_stat_activity.
    auto set = co_await conn.async_query("SET statement_timeout = '120s'; SET lock_timeout = "
                                         "'10s'; SET application_name = 'sqs2pg rekey'");
    if (!set) {
        c.say(fmt::format("PostgreSQL: {}", set.error().message()));
        co_return false;
    }
    co_return true;
}

// Moves the values of one window in statements of about --batch-size rows. Returns false
// when PostgreSQL failed or a stop was asked for.
asio::awaitable<bool> async_rewrite_window(run_context& c, pg::connection& conn,
                                           const mask::rekeyer& rk, pg::block_windows::window w,
                                           const std::vector<pg::candidate>& found,
                                           column_result& r) {
    const pg::qualified_name table = qualified(c.req.table);
    const pg::masked_column col = column_of(rk.target());
    std::vector<std::string> olds;
    std::vector<std::string> news;
    std::map<std::string, std::uint64_t> pending_by_mode;
    std::int64_t expected = 0;
    std::size_t next = 0;
    while (next < found.size() || !olds.empty()) {
        // Fill one statement: values until their rows reach the batch size.
        while (next < found.size() && expected < static_cast<std::int64_t>(c.req.batch_rows)) {
            const pg::candidate& v = found[next++];
            auto moved = rk.rekey(v.value);
            if (!moved) {
                const std::string code(failure_code(moved.error()));
                r.rows_failed += static_cast<std::uint64_t>(v.rows);
                r.failures[code] += static_cast<std::uint64_t>(v.rows);
                r.failure_text[code] = moved.error().message();
                if (moved.error() == mask::errc::key_unknown_id)
                    r.unknown_keys.insert(key_id_of(v.value));
                continue;
            }
            if (!*moved)
                continue; // under the active key already (written meanwhile)
            const auto format = mask::read_masked_format(v.value);
            pending_by_mode[std::string(mask::mode_name(format->masked_with))] +=
                static_cast<std::uint64_t>(v.rows);
            olds.push_back(v.value);
            news.push_back(std::move(**moved));
            expected += v.rows;
        }
        if (olds.empty())
            break;
        auto changed = co_await pg::async_rewrite(conn, table, col, w, olds, news);
        if (!changed) {
            c.say(fmt::format("{}: {}", column_text(rk.target()),
                              pg_failure(conn, c.req.table, changed.error())));
            co_return false;
        }
        ++c.statements;
        r.rows_rekeyed += static_cast<std::uint64_t>(*changed);
        r.values_rekeyed += olds.size();
        for (const auto& [m, n] : pending_by_mode)
            r.rows_by_mode[m] += n;
        pending_by_mode.clear();
        for (auto& n : news)
            base::cleanse(n);
        olds.clear();
        news.clear();
        expected = 0;
        if (c.hooks.after_batch && !c.hooks.after_batch(column_text(rk.target()), r.rows_rekeyed))
            c.stop_requested = true;
        if (c.stop_requested)
            co_return false;
    }
    co_return true;
}

// One pass over the table for one column. Returns false when it stopped early.
asio::awaitable<bool> async_rekey_column(run_context& c, pg::connection& conn, column_result& r) {
    const pg::qualified_name table = qualified(c.req.table);
    const pg::masked_column col = column_of(r.field);
    const mask::rekeyer rk(c.keys, r.field);
    auto size = co_await pg::async_table_blocks(conn, table);
    if (!size) {
        c.say(pg_failure(conn, c.req.table, size.error()));
        co_return false;
    }
    std::uint64_t blocks = *size;
    pg::block_windows windows(c.req.batch_rows);
    progress_line progress(c.err, c.env.stderr_is_tty);
    for (;;) {
        if (c.stop_requested)
            break;
        pg::block_windows::window w = windows.next();
        if (w.lo >= blocks) {
            // `run` may have added blocks meanwhile: their rows are under the active key if
            // it was restarted with it, but look rather than assume.
            auto now = co_await pg::async_table_blocks(conn, table);
            if (!now) {
                c.say(pg_failure(conn, c.req.table, now.error()));
                co_return false;
            }
            if (*now <= blocks || w.lo >= pg::max_blocks) {
                r.finished = true;
                break;
            }
            blocks = *now;
            continue;
        }
        auto found = co_await pg::async_candidates(conn, table, col, w, rk.active_key_id());
        if (!found) {
            c.say(fmt::format("{}: {}", column_text(r.field),
                              pg_failure(conn, c.req.table, found.error())));
            co_return false;
        }
        ++c.statements;
        std::uint64_t rows = 0;
        for (const auto& v : *found)
            rows += static_cast<std::uint64_t>(v.rows);
        if (!windows.fits(rows))
            continue; // narrower, same start
        if (!co_await async_rewrite_window(c, conn, rk, w, *found, r))
            break;
        windows.done(rows);
        r.blocks = windows.position();
        progress.update(column_text(r.field), windows.position(), blocks, r.rows_rekeyed);
    }
    progress.update(column_text(r.field), windows.position(), blocks, r.rows_rekeyed, true);
    progress.finish();
    co_return r.finished;
}

asio::awaitable<int> async_dry_run(run_context& c, pg::connection& conn,
                                   const std::vector<mask::field>& fields, json::object& summary) {
    const pg::qualified_name table = qualified(c.req.table);
    const std::string& active = c.keys.active().id();
    json::object columns;
    for (const mask::field f : fields) {
        auto census = co_await pg::async_census(conn, table, column_of(f));
        if (!census) {
            c.say(pg_failure(conn, c.req.table, census.error()));
            co_return 1;
        }
        std::map<std::string, std::uint64_t> by_key;
        std::map<std::string, std::uint64_t> by_format;
        std::set<std::string> unknown;
        std::uint64_t to_rekey = 0;
        for (const auto& row : *census) {
            const auto n = static_cast<std::uint64_t>(row.rows);
            by_format[row.format] += n;
            if (!row.key_id)
                continue;
            by_key[*row.key_id] += n;
            if (*row.key_id != active)
                to_rekey += n;
            if (c.keys.find(*row.key_id) == nullptr)
                unknown.insert(*row.key_id);
        }
        json::object o;
        o["mode"] = mask::mode_name(c.req.modes.of(f));
        json::object keys_json;
        for (const auto& [k, n] : by_key)
            keys_json[k] = n;
        o["rows_by_key"] = std::move(keys_json);
        json::object formats_json;
        for (const auto& [k, n] : by_format)
            formats_json[k] = n;
        o["rows_by_format"] = std::move(formats_json);
        o["to_rekey"] = to_rekey;
        json::array unknown_json;
        for (const auto& k : unknown)
            unknown_json.emplace_back(k);
        o["keys_not_in_keyring"] = std::move(unknown_json);
        std::string line =
            fmt::format("{} ({}): {} rows under an old key id", column_text(f),
                        mask::mode_name(c.req.modes.of(f)), ops::format_count(to_rekey));
        for (const auto& [k, n] : by_key)
            line += fmt::format("; {} {}", base::printable(k), ops::format_count(n));
        c.say(line);
        if (!unknown.empty())
            c.say(fmt::format("{}: key ids not in the keyring: {} (their rows cannot be moved "
                              "until their key is added)",
                              column_text(f), joined(unknown)));
        columns[column_text(f)] = std::move(o);
    }
    summary["columns"] = std::move(columns);
    co_return 0;
}

asio::awaitable<int> async_rekey(run_context& c, json::object& summary) {
    std::vector<mask::field> fields = c.req.columns;
    std::vector<std::pair<mask::field, std::string>> skipped;
    if (fields.empty()) {
        for (const mask::field f : both_fields) {
            std::string why = one_way_reason(f, c.req.modes.of(f));
            if (why.empty())
                fields.push_back(f);
            else
                skipped.emplace_back(f, std::move(why));
        }
    }
    pg::connection conn(co_await asio::this_coro::executor);
    if (!co_await async_open(c, conn))
        co_return 1;
    if (c.req.dry_run)
        co_return co_await async_dry_run(c, conn, fields, summary);

    for (const auto& [f, why] : skipped)
        c.say(fmt::format("skipped: {}", why));
    json::object columns;
    int status = 0;
    for (const mask::field f : fields) {
        column_result r;
        r.field = f;
        const bool complete = co_await async_rekey_column(c, conn, r);
        std::string line = fmt::format("{}: {} rows moved to key '{}'", column_text(f),
                                       ops::format_count(r.rows_rekeyed), c.keys.active().id());
        if (r.rows_failed > 0) {
            line += fmt::format(", {} rows not", ops::format_count(r.rows_failed));
            status = 1;
        }
        c.say(line);
        if (!r.unknown_keys.empty())
            c.say(fmt::format("{}: rows under key ids not in the keyring ({}) were left as they "
                              "are; add those keys to the keyring (the old lines of the key "
                              "file) and run again",
                              column_text(f), joined(r.unknown_keys)));
        for (const auto& [code, n] : r.failures)
            if (code != "key_not_in_keyring")
                c.say(fmt::format("{}: {} rows left as they are: {}", column_text(f),
                                  ops::format_count(n), r.failure_text[code]));
        columns[column_text(f)] = column_json(r, c.req.modes.of(f));
        if (!complete) {
            status = 1;
            c.say(c.stop_requested
                      ? "stopped on request; run again to continue (values already moved are "
                        "skipped)"
                      : "stopped; run again to continue (values already moved are skipped)");
            break;
        }
    }
    for (const auto& [f, why] : skipped) {
        json::object o;
        o["mode"] = mask::mode_name(c.req.modes.of(f));
        o["skipped"] = why;
        columns[column_text(f)] = std::move(o);
    }
    summary["columns"] = std::move(columns);
    summary["statements"] = c.statements;
    co_return status;
}

} // namespace

int run_rekey(std::span<const std::string> args, const environment& env, std::ostream& out,
              std::ostream& err, const rekey_hooks& hooks) {
    auto req = parse_rekey_args(args, env);
    if (!req) {
        err << req.error().message << '\n';
        return 2;
    }
    if (req->help) {
        out << rekey_help() << std::flush;
        return 0;
    }
    ops::configure_logging(req->log_level, req->log_format);
    // A KMS keyring opens with one KMS Decrypt here, as for run and unmask.
    key_options source;
    source.key_file = req->keys.key_file;
    source.env_value = req->keys.env_value;
    auto keys = load_mask_keys(source, env);
    if (!keys) {
        const config_error e = keys.error(); // a copy: error() returns by value
        constexpr std::string_view self = "sqs2pg: ";
        err << "sqs2pg rekey: "
            << (e.message.starts_with(self) ? e.message.substr(self.size()) : e.message) << '\n';
        return 2;
    }
    if (!*keys) {
        err << "sqs2pg rekey: no keyring\n";
        return 2;
    }
    const mask::keyring& ring = **keys; // parse_rekey_args made sure a source is set

    const auto started = std::chrono::steady_clock::now();
    run_context c{*req, env, ring, hooks, out, err};
    json::object summary;
    summary["command"] = "rekey";
    summary["table"] = table_text(req->table);
    summary["active_key"] = ring.active().id();
    summary["dry_run"] = req->dry_run;

    asio::io_context io;
    int status = 1;
    std::optional<std::string> failure;
    bool done = false;
    asio::co_spawn(io, async_rekey(c, summary), [&](std::exception_ptr e, int s) {
        if (e) {
            failure = base::exception_text(e);
            ops::log(ops::level::error, "rekey.failed", {{"error", *failure}});
        }
        status = s;
        done = true;
        io.stop();
    });
    // The first Ctrl-C (or SIGTERM) stops after the statement in flight; the second at
    // once (the server rolls that statement back).
    asio::signal_set signals(io, SIGINT, SIGTERM);
    bool interrupted = false;
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (ec)
            return;
        c.stop_requested = true;
        c.say("stopping after the statement in flight (again to stop at once)");
        signals.async_wait([&](boost::system::error_code ec2, int) {
            if (ec2)
                return;
            interrupted = true;
            io.stop();
        });
    });
    io.run();
    if (failure) {
        c.say(fmt::format("failed: {}", *failure));
        status = 1;
    } else if (interrupted || !done) {
        c.say("interrupted: the statement in flight was rolled back; run again to continue");
        status = 1;
    }
    summary["complete"] = status == 0;
    summary["interrupted"] = c.stop_requested || interrupted;
    summary["seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    out << json::serialize(summary) << '\n' << std::flush;
    return status;
}

} // namespace sqs2pg::app
