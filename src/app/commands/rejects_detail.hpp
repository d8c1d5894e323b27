// What the files of `sqs2pg rejects` share, private to them: the option tables, the
// context one run of an action works in, PostgreSQL access and opening sealed bodies.
#pragma once

#include <sqs2pg/app/commands/rejects.hpp>
#include <sqs2pg/mask/seal.hpp>
#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/names.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::app::rejects_detail {

// --- option tables (rejects_options.cpp) -------------------------------------------------

/// --limit when not given: list shows a screenful, replay works through a backlog in
/// one go; and the most --limit takes.
inline constexpr std::uint32_t list_default_limit = 100;
inline constexpr std::uint32_t replay_default_limit = 10'000;
inline constexpr std::int64_t max_limit = 1'000'000;

/// "list", "show", "replay".
std::string_view action_name(rejects_action a);

/// Options every action takes: --pg, --table, --log-format, --log-level.
const std::vector<option_spec>& common_specs();
/// The options of one action, without the common ones.
const std::vector<option_spec>& own_specs(rejects_action a);
/// What parse_options gets: the action's own options, then the common ones.
std::vector<option_spec> specs_of(rejects_action a);

// --- output helpers (rejects_output.cpp) -------------------------------------------------

/// A time as base::format_iso8601 writes it without micros, or "-".
std::string time_or_dash(const std::optional<pg::time_point>& t);
/// "no", or when and as which message id a reject was replayed.
std::string replayed_text(const pg::reject_record& r);

// --- the driver (rejects.cpp) --------------------------------------------------------------

/// What one command run needs; lives in run_rejects' frame for the whole io_context run.
struct context {
    const rejects_request& req;
    const environment& env;
    const mask::sealer* sealer = nullptr;
    std::ostream& out;
    std::ostream& err;
    bool stop_requested = false; ///< replay: a signal asked to stop after the current batch

    std::string prefix() const {
        return fmt::format("sqs2pg rejects {}", action_name(req.action.value()));
    }
    void say(std::string_view what) const { err << prefix() << ": " << what << '\n' << std::flush; }
};

/// sqs2pg_rejects and its neighbours in the schema of `t`.
pg::table_names tables_of(const table_name& t);

/// One line about a failed query: the SQLSTATE in words where pg names it (never the
/// server's text, which can quote row data) and what to check.
std::string pg_failure(const pg::connection& conn, const pg::table_names& tables,
                       boost::system::error_code ec);

/// Connects with --pg and sets a statement timeout; false (after saying why) on failure.
boost::asio::awaitable<bool> async_open_pg(context& c, pg::connection& conn);

/// Why a body did not open: a code (for json) and a sentence.
struct body_problem {
    std::string_view code;
    std::string text;
};

/// The opened body of `r`, or why not.
boost::system::result<std::string, body_problem> open_body(const mask::sealer& sealer,
                                                           const pg::reject_record& r);

// --- the actions (rejects_list.cpp, rejects_show.cpp, rejects_replay.cpp) -----------------

/// Each returns the exit status (0 done, 1 some failed, 2 configuration).
boost::asio::awaitable<int> async_list(context& c);
boost::asio::awaitable<int> async_show(context& c);
boost::asio::awaitable<int> async_replay(context& c);

} // namespace sqs2pg::app::rejects_detail
