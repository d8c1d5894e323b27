// `sqs2pg rejects`: parses the command line, loads the keyring and runs one action on
// its own io_context; and what the actions share (PostgreSQL access, opening bodies).
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/pg/error.hpp>

#include "rejects_detail.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <csignal>
#include <exception>
#include <utility>

namespace sqs2pg::app {

namespace asio = boost::asio;
using std::chrono::system_clock;

namespace rejects_detail {

pg::table_names tables_of(const table_name& t) {
    pg::qualified_name q;
    if (!t.schema.empty())
        q.schema = t.schema;
    q.name = t.name;
    return pg::table_names(std::move(q));
}

std::string pg_failure(const pg::connection& conn, const pg::table_names& tables,
                       boost::system::error_code ec) {
    const std::string& state = conn.last_sqlstate();
    switch (const auto problem = pg::object_problem_of(state)) {
    case pg::object_problem::missing:
        return fmt::format("PostgreSQL: {} {} (sqs2pg run creates it; is --table the table run "
                           "writes?)",
                           tables.rejects.quoted(), pg::describe(problem));
    case pg::object_problem::permission_denied:
        return fmt::format("PostgreSQL: {} on {} (SQLSTATE {})", pg::describe(problem),
                           tables.rejects.quoted(), state);
    case pg::object_problem::other:
        break;
    }
    if (!state.empty())
        return fmt::format("PostgreSQL: {} (SQLSTATE {})", ec.message(), state);
    return fmt::format("PostgreSQL: {}", ec.message());
}

asio::awaitable<bool> async_open_pg(context& c, pg::connection& conn) {
    pg::connect_options opts;
    opts.conninfo = c.req.conninfo;
    auto r = co_await conn.async_connect(std::move(opts));
    if (!r) {
        // libpq's message names host, port, user and the TLS or auth problem, never a password.
        c.say(fmt::format("cannot connect to PostgreSQL: {}",
                          conn.error_detail().empty() ? r.error().message()
                                                      : base::printable(conn.error_detail())));
        co_return false;
    }
    // A lock held elsewhere must not hang the command; the name shows in pg_stat_activity.
    // A replay holds a batch's rows in a transaction while it sends them (a few SQS calls):
    // if this process hangs or its network goes, the server ends the session, and with it
    // the locks, after 10 minutes idle (a process that dies releases them at once).
    auto set = co_await conn.async_query(
        "SET statement_timeout = '30s'; SET idle_in_transaction_session_timeout = '10min'; "
        "SET application_name = 'sqs2pg rejects'");
    if (!set) {
        c.say(fmt::format("PostgreSQL: {}", set.error().message()));
        co_return false;
    }
    co_return true;
}

boost::system::result<std::string, body_problem> open_body(const mask::sealer& sealer,
                                                           const pg::reject_record& r) {
    if (r.sealed_body.empty())
        return body_problem{"no_body", "no body was kept for it (sqs2pg had no key to seal it, "
                                       "e.g. --mask sha256 without a key)"};
    auto opened = sealer.open(r.sealed_body, r.message_id);
    if (opened) // in_place_value: body_problem is constructible from a string too
        return {boost::system::in_place_value, std::move(*opened)};
    const std::string kid = mask::sealed_key_id(r.sealed_body);
    if (opened.error() == mask::errc::key_unknown_id)
        return body_problem{"key_unknown_id",
                            fmt::format("its body was sealed with key '{}', which is not in the "
                                        "keyring (removed after a rotation?)",
                                        kid)};
    if (opened.error() == mask::errc::authentication_failed)
        return body_problem{"authentication_failed",
                            fmt::format("its body does not open with key '{}' of this keyring: "
                                        "another key under the same id, or the stored body was "
                                        "altered",
                                        kid)};
    return body_problem{"malformed", "its stored body is not a sealed body this version can read"};
}

} // namespace rejects_detail

namespace {

using namespace rejects_detail;

asio::awaitable<int> async_run_action(context& c) {
    switch (c.req.action.value()) {
    case rejects_action::list:
        co_return co_await async_list(c);
    case rejects_action::show:
        co_return co_await async_show(c);
    case rejects_action::replay:
        co_return co_await async_replay(c);
    }
    co_return 2;
}

} // namespace

int run_rejects(std::span<const std::string> args, const environment& env, std::ostream& out,
                std::ostream& err) {
    auto req = parse_rejects_args(args, env, system_clock::now());
    if (!req) {
        err << req.error().message << '\n';
        return 2;
    }
    if (req->help) {
        out << rejects_help(req->action) << std::flush;
        return 0;
    }
    ops::configure_logging(req->log_level, req->log_format);

    context c{*req, env, nullptr, out, err};
    std::optional<mask::sealer> sealer;
    if (req->action != rejects_action::list) {
        auto keys = load_mask_keys(req->keys, env);
        if (!keys) {
            // load_mask_keys speaks as "sqs2pg: ..."; here the action names itself.
            const config_error e = keys.error(); // a copy: error() returns by value
            constexpr std::string_view self = "sqs2pg: ";
            c.say(e.message.starts_with(self) ? e.message.substr(self.size()) : e.message);
            return 2;
        }
        if (!*keys) {
            c.say("no keyring: pass --mask-key-file, --mask-key-secret or SQS2PG_MASK_KEY");
            return 2;
        }
        sealer.emplace(**keys); // parse_rejects_args made sure a source is set
        c.sealer = &*sealer;
    }

    asio::io_context io;
    int status = 1;
    std::optional<std::string> failure; // what the action ended with, if it threw
    bool done = false;
    asio::co_spawn(io, async_run_action(c), [&](std::exception_ptr e, int s) {
        if (e) {
            failure = base::exception_text(e);
            ops::log(ops::level::error, "rejects.failed",
                     {{"action", action_name(*req->action)}, {"error", *failure}});
        }
        status = s;
        done = true;
        io.stop(); // idle keep-alive connections and the signal wait end with the loop
    });
    // replay: the first Ctrl-C (or SIGTERM) lets the batch in flight finish and be marked,
    // so nothing is sent without being recorded; the second stops at once.
    std::optional<asio::signal_set> signals;
    bool interrupted = false;
    if (req->action == rejects_action::replay && !req->dry_run) {
        signals.emplace(io, SIGINT, SIGTERM);
        signals->async_wait([&](boost::system::error_code ec, int) {
            if (ec)
                return;
            c.stop_requested = true;
            c.say("stopping after the batch in flight (again to stop at once)");
            signals->async_wait([&](boost::system::error_code ec2, int) {
                if (ec2)
                    return;
                interrupted = true;
                io.stop();
            });
        });
    }
    io.run();
    if (failure) {
        c.say(fmt::format("failed: {}", *failure));
        return 1;
    }
    if (interrupted || !done) {
        c.say("interrupted: a batch may have been sent without being marked replayed; check "
              "the ids above with sqs2pg rejects list --include-replayed");
        return 1;
    }
    return status;
}

} // namespace sqs2pg::app
