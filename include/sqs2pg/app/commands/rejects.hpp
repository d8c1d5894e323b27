// `sqs2pg rejects list|show|replay`: the messages sqs2pg kept in sqs2pg_rejects - list
// them, open their sealed bodies with the key, send chosen ones back to the queue.
#pragma once

#include <sqs2pg/app/mask_keys.hpp>
#include <sqs2pg/app/options.hpp>
#include <sqs2pg/app/shared_options.hpp>
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/pg/rejects.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::app {

/// The message attribute (type String) a replayed message carries: the MessageId of the
/// message it was rejected as.
inline constexpr std::string_view replay_attribute = "sqs2pg-replay-of";

/// `sqs2pg rejects ACTION [ARGS]` with ACTION list, show or replay (docs/rejects.md).
/// `args` are the words after "rejects". Runs its own io_context on this thread.
/// Results go to `out`, messages for the operator (one line each) to `err`; message
/// bodies are written only by `show`, only to `out`, and never logged.
/// Returns 0 when everything asked for was done, 1 when some of it failed (a body that
/// does not open, a send that failed, PostgreSQL or SQS unreachable), 2 for usage or
/// configuration errors (nothing was done).
int run_rejects(std::span<const std::string> args, const environment& env, std::ostream& out,
                std::ostream& err);

// ---- Pure pieces (sans-io), exposed for tests ----------------------------------------

enum class rejects_action { list, show, replay };
enum class rejects_format { text, json };

/// A parsed and validated `sqs2pg rejects` command line.
struct rejects_request {
    /// nullopt only with `help`: `sqs2pg rejects --help` (every action).
    std::optional<rejects_action> action;
    bool help = false;

    std::string conninfo; ///< --pg; may hold a password: never log it
    table_name table;     ///< sqs2pg_rejects lives in this table's schema

    /// list: the filter; replay: the selection with --reason / --all (`since`, `until`
    /// and `limit` apply; `include_replayed` is --force).
    pg::reject_filter filter;
    std::vector<std::string> message_ids; ///< show, replay: distinct, in the given order
    bool select_all = false;              ///< replay --all
    bool force = false;                   ///< replay --force: send already replayed ones again
    bool dry_run = false;                 ///< replay --dry-run
    rejects_format format = rejects_format::text;

    key_options keys; ///< show, replay: --mask-key-file, --mask-key-secret, SQS2PG_MASK_KEY
    std::optional<sqs_target> target; ///< replay only

    ops::log_format log_format = ops::log_format::json;
    ops::level log_level = ops::level::warn;
};

/// Parses the words after "rejects". `now` anchors relative times ("24h" = now - 24 h).
config_result<rejects_request> parse_rejects_args(std::span<const std::string> args,
                                                  const environment& env,
                                                  std::chrono::system_clock::time_point now);

/// `sqs2pg rejects --help` (all actions) or one action's help.
std::string rejects_help(std::optional<rejects_action> action);

/// A --since / --until value: "2024-03-01" (UTC midnight), "2024-03-01T12:00:00Z" (a
/// fraction and a ±hh:mm offset allowed, a zone required; a space for the T as psql
/// prints it) or a span back from `now`: a whole number with s, m, h, d or w ("90m",
/// "7d"). nullopt for anything else. The absolute forms are base::parse_iso8601's.
std::optional<pg::time_point> parse_time_arg(std::string_view text,
                                             std::chrono::system_clock::time_point now);

/// The rejects as an aligned table with a header line (message id, reason, receives,
/// sent at, first seen, last seen, replayed; "replayed as" when `replayed_column`).
/// Control characters in the values are shown as '?'. "" for no records.
std::string format_reject_table(std::span<const pg::reject_record> records, bool replayed_column);

/// One reject as a JSON object (no newline): message_id, reason, receive_count, sent_at,
/// first_seen, last_seen, replayed_at, replayed_message_id (times RFC 3339 UTC with
/// microseconds, base::format_iso8601, null when unset); plus "body" when `body` is given.
/// Terminal-safe like every JSON line of `sqs2pg rejects` (json_for_terminal).
std::string format_reject_json(const pg::reject_record& r,
                               const std::optional<std::string_view>& body = std::nullopt,
                               std::string_view body_error = {});

/// `body` for a terminal: control characters other than newline and tab (which could
/// move the cursor or retitle the window) as \xNN; valid UTF-8 stays as it is.
/// `single_line`: newline and tab too, and a backslash doubled, so the text fits on one
/// line and reads back unambiguously (unmask prints one value per line).
std::string escape_for_terminal(std::string_view body, bool single_line = false);

/// Serialized JSON made safe for a terminal without changing what it means: JSON escapes
/// only U+0000-U+001F itself, so DEL (0x7f) and the C1 controls U+0080-U+009F (U+009B is
/// CSI to many terminals) become \u007f / \u0080 ... \u009f. Outside strings serialized
/// JSON is ASCII, so every such character is inside a string, and the values parse back
/// the same. (Bytes that are not UTF-8 are left as they are: JSON has no escape for them.)
std::string json_for_terminal(std::string_view json);

} // namespace sqs2pg::app
