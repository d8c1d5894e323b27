// sqs2pg rejects list|show|replay: option tables and validation, output formats (pure),
// then the drivers: one pg::connection, the sealer, and for replay the SQS client.
#include <sqs2pg/app/commands/rejects.hpp>
#include <sqs2pg/app/run_options.hpp>
#include <sqs2pg/app/sqs_settings.hpp>
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/time.hpp>
#include <sqs2pg/mask/seal.hpp>
#include <sqs2pg/pg/connection.hpp>
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/names.hpp>
#include <sqs2pg/sqs/batch_plan.hpp>
#include <sqs2pg/sqs/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <exception>
#include <iterator>
#include <limits>
#include <ostream>
#include <set>
#include <utility>

namespace sqs2pg::app {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::system_clock;

// --- option tables -----------------------------------------------------------------

constexpr std::string_view g_select = "Selection";
constexpr std::string_view g_output = "Output";
constexpr std::string_view g_pg = "PostgreSQL";
constexpr std::string_view g_key = "Key";
constexpr std::string_view g_sqs = "SQS";
constexpr std::string_view g_ops = "Operations";

constexpr std::uint32_t list_default_limit = 100;
constexpr std::uint32_t replay_default_limit = 10'000;
constexpr std::int64_t max_limit = 1'000'000;

// A run option offered by rejects too: same flag, same environment names.
option_spec shared(std::string_view name, std::string_view group, std::string_view help = {},
                   std::string_view default_text = {}) {
    option_spec s = run_option(name);
    s.group = group;
    if (!help.empty())
        s.help = help;
    if (!default_text.empty())
        s.default_text = default_text;
    return s;
}

// Options every action takes.
const std::vector<option_spec>& common_specs() {
    static const std::vector<option_spec> specs{
        shared("pg", g_pg),
        shared("table", g_pg, "the table sqs2pg run writes; sqs2pg_rejects is in its schema"),
        shared("log-format", g_ops),
        shared("log-level", g_ops, {}, "warn"),
    };
    return specs;
}

// --reason, --since, --until: list and replay select with them alike. `name` must be a
// literal (the spec keeps the view).
option_spec filter_spec(std::string_view name) {
    option_spec s{name, "TIME", g_select, "", "", {}};
    if (name == "reason") {
        s.metavar = "CODE";
        s.help = "only rejects with this reason (exact), e.g. missing_field";
    } else if (name == "since") {
        s.help = "only rejects last seen at or after TIME (forms below)";
    } else {
        s.help = "only rejects last seen before TIME";
    }
    return s;
}

option_spec key_spec() {
    return shared("mask-key-file", g_key,
                  "the keyring that sealed the bodies (or its text in SQS2PG_MASK_KEY)");
}

// The options of one action, without the common ones.
const std::vector<option_spec>& own_specs(rejects_action a) {
    static const std::vector<option_spec> list{
        filter_spec("reason"),
        filter_spec("since"),
        filter_spec("until"),
        {"include-replayed", "", g_select, "also rejects already replayed", "off", {}},
        {"limit",
         "N",
         g_select,
         "at most N rejects, the most recently seen, 1..1000000",
         "100",
         {}},
        {"format",
         "table|json",
         g_output,
         "an aligned table, or one JSON object per line",
         "table",
         {}},
    };
    static const std::vector<option_spec> show{
        {"format",
         "text|json",
         g_output,
         "readable blocks, or one JSON object per line with the body",
         "text",
         {}},
        key_spec(),
    };
    static const std::vector<option_spec> replay{
        {"all",
         "",
         g_select,
         "every reject not replayed yet (in --since/--until if given)",
         "",
         {}},
        filter_spec("reason"),
        filter_spec("since"),
        filter_spec("until"),
        {"limit",
         "N",
         g_select,
         "with --all or --reason: at most N per run, 1..1000000",
         "10000",
         {}},
        {"force", "", g_select, "send rejects that were already replayed again", "off", {}},
        {"dry-run",
         "",
         g_output,
         "open the bodies and say what would be sent; send nothing",
         "off",
         {}},
        {"format",
         "text|json",
         g_output,
         "a line per reject, or one JSON object per line",
         "text",
         {}},
        shared("queue-url", g_sqs,
               "the queue to send the bodies to (usually the one they came "
               "from)"),
        shared("queue-name", g_sqs),
        shared("endpoint-url", g_sqs),
        shared("region", g_sqs),
        shared("sqs-protocol", g_sqs),
        shared("ca-bundle", g_sqs),
        key_spec(),
    };
    switch (a) {
    case rejects_action::show:
        return show;
    case rejects_action::replay:
        return replay;
    case rejects_action::list:
        break;
    }
    return list;
}

// What parse_options gets: the action's own options, then the common ones.
std::vector<option_spec> specs_of(rejects_action a) {
    std::vector<option_spec> v = own_specs(a);
    const auto& common = common_specs();
    v.insert(v.end(), common.begin(), common.end());
    return v;
}

std::string_view action_name(rejects_action a) {
    switch (a) {
    case rejects_action::list:
        return "list";
    case rejects_action::show:
        return "show";
    case rejects_action::replay:
        return "replay";
    }
    return "list";
}

// A user value inside an error line: one line, bounded.
std::string shown(std::string_view v) {
    std::string out;
    for (char c : v.substr(0, 60)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    if (v.size() > 60)
        out += "...";
    return out;
}

config_error usage(rejects_action a, std::string_view what) {
    return config_error{fmt::format("sqs2pg rejects {}: {} (see sqs2pg rejects {} --help)",
                                    action_name(a), what, action_name(a))};
}

// SQS MessageIds are UUIDs; other implementations use other shapes, so only what can
// never be an id is refused.
bool plausible_message_id(std::string_view id) {
    return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
    });
}

config_result<std::optional<pg::time_point>>
get_time(const parsed_options& o, std::string_view name, system_clock::time_point now) {
    const auto* v = o.find(name);
    if (v == nullptr)
        return std::optional<pg::time_point>{};
    auto t = parse_time_arg(v->value, now);
    if (!t)
        return make_error(v->origin,
                          fmt::format("must be a date (2024-03-01), a time with its zone "
                                      "(2024-03-01T12:00:00Z) or a span back from now (90m, 36h, "
                                      "7d) (got '{}')",
                                      shown(v->value)));
    return std::optional<pg::time_point>(*t);
}

} // namespace

// --- parsing -------------------------------------------------------------------------

std::optional<pg::time_point> parse_time_arg(std::string_view text,
                                             std::chrono::system_clock::time_point now) {
    using namespace std::chrono;
    if (text.empty())
        return std::nullopt;
    // A span back from now: digits and one unit.
    if (text.size() >= 2 && text.front() >= '0' && text.front() <= '9' &&
        std::string_view("smhdw").find(text.back()) != std::string_view::npos) {
        std::int64_t n = 0;
        const auto digits = text.substr(0, text.size() - 1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (ec != std::errc{} || end != digits.data() + digits.size() || n > 100'000'000)
            return std::nullopt;
        seconds unit{1};
        switch (text.back()) {
        case 'm':
            unit = minutes(1);
            break;
        case 'h':
            unit = hours(1);
            break;
        case 'd':
            unit = days(1);
            break;
        case 'w':
            unit = weeks(1);
            break;
        default:
            break;
        }
        return floor<microseconds>(now - n * unit);
    }
    if (const auto day = base::parse_iso8601_date(text))
        return pg::time_point(*day);
    std::string full(text);
    if (full.size() > 10 && full[10] == ' ')
        full[10] = 'T'; // "2024-03-01 12:00:00Z", as psql prints it
    const auto t = base::parse_iso8601(full);
    if (!t)
        return std::nullopt;
    return floor<microseconds>(*t);
}

config_result<rejects_request> parse_rejects_args(std::span<const std::string> args,
                                                  const environment& env,
                                                  std::chrono::system_clock::time_point now) {
    rejects_request r;
    if (args.empty())
        return config_error{"sqs2pg rejects: say what to do: list, show MESSAGE_ID... or replay "
                            "(see sqs2pg rejects --help)"};
    const std::string_view word = args.front();
    if (word == "--help" || word == "-h" || word == "help") {
        r.help = true;
        return r;
    }
    if (word == "list")
        r.action = rejects_action::list;
    else if (word == "show")
        r.action = rejects_action::show;
    else if (word == "replay")
        r.action = rejects_action::replay;
    else
        return config_error{fmt::format("sqs2pg rejects: unknown action '{}' (actions: list, "
                                        "show, replay; see sqs2pg rejects --help)",
                                        shown(word))};
    const rejects_action a = *r.action;

    const auto specs = specs_of(a);
    SQS2PG_TRY(o, parse_options(specs, args.subspan(1), env));
    if (o.help) {
        r.help = true;
        return r;
    }
    if (o.version)
        return usage(a, "--version is not an option here (sqs2pg --version prints the version)");

    SQS2PG_TRY(conninfo, get_conninfo(o));
    r.conninfo = std::move(conninfo);
    SQS2PG_TRY(table, get_table(o));
    if (table)
        r.table = std::move(*table);
    r.log_format = env.stderr_is_tty ? ops::log_format::text : ops::log_format::json;
    SQS2PG_TRY(log_format, get_choice(o, "log-format", {"json", "text"}));
    if (log_format)
        r.log_format = *log_format == "text" ? ops::log_format::text : ops::log_format::json;
    SQS2PG_TRY(log_level, get_choice(o, "log-level", {"debug", "info", "warn", "error"}));
    if (log_level)
        ops::parse_level(*log_level, r.log_level);

    if (a == rejects_action::list) {
        SQS2PG_TRY(format, get_choice(o, "format", {"table", "text", "json"}));
        r.format = format == "json" ? rejects_format::json : rejects_format::text;
    } else {
        SQS2PG_TRY(format, get_choice(o, "format", {"text", "json"}));
        r.format = format == "json" ? rejects_format::json : rejects_format::text;
    }

    // The selection: positional message ids (show, replay) or a filter (list, replay).
    std::set<std::string_view> seen;
    for (const auto& id : o.positionals) {
        if (a == rejects_action::list)
            return usage(
                a, fmt::format("unexpected argument '{}': list takes only options", shown(id)));
        if (!plausible_message_id(id))
            return usage(a, fmt::format("'{}' is not a message id", shown(id)));
        // Twice the same id would be sent twice in one replay.
        if (seen.insert(id).second)
            r.message_ids.push_back(id);
    }
    if (a == rejects_action::show && r.message_ids.empty())
        return usage(a, "give the message ids of the rejects to show; sqs2pg rejects list "
                        "shows them");

    if (a != rejects_action::show) {
        SQS2PG_TRY(reason, get_string(o, "reason"));
        r.filter.reason = std::move(reason);
        SQS2PG_TRY(since, get_time(o, "since", now));
        SQS2PG_TRY(until, get_time(o, "until", now));
        r.filter.since = since;
        r.filter.until = until;
        if (since && until && *since >= *until)
            return usage(a, "--since must be earlier than --until");
        SQS2PG_TRY(limit, get_int(o, "limit", 1, max_limit));
        r.filter.limit =
            limit ? static_cast<std::uint32_t>(*limit)
                  : (a == rejects_action::list ? list_default_limit : replay_default_limit);
    }
    if (a == rejects_action::list) {
        SQS2PG_TRY(include, get_bool(o, "include-replayed"));
        r.filter.include_replayed = include.value_or(false);
    }

    if (a == rejects_action::replay) {
        SQS2PG_TRY(all, get_bool(o, "all"));
        r.select_all = all.value_or(false);
        SQS2PG_TRY(force, get_bool(o, "force"));
        r.force = force.value_or(false);
        r.filter.include_replayed = r.force;
        SQS2PG_TRY(dry_run, get_bool(o, "dry-run"));
        r.dry_run = dry_run.value_or(false);
        const bool by_filter = r.select_all || r.filter.reason.has_value();
        if (!r.message_ids.empty() && by_filter)
            return usage(a, "give message ids, or --reason / --all, not both");
        if (r.select_all && r.filter.reason)
            return usage(a, "give --reason CODE or --all, not both");
        if (!r.message_ids.empty() && (o.find("since") || o.find("until") || o.find("limit")))
            return usage(a, "--since, --until and --limit select rejects with --reason or "
                            "--all; they do not apply to message ids");
        if (r.message_ids.empty() && !by_filter)
            return usage(a, (o.find("since") || o.find("until"))
                                ? "add --all (or --reason CODE) to replay every reject in that "
                                  "time window"
                                : "say which rejects: MESSAGE_ID..., --reason CODE or --all");
        SQS2PG_TRY(target, get_sqs_target(o));
        r.target = std::move(target);
    }

    if (a != rejects_action::list) {
        SQS2PG_TRY(key_file, get_string(o, "mask-key-file"));
        r.keys.key_file = std::move(key_file);
        if (auto k = env.get("SQS2PG_MASK_KEY"))
            r.keys.env_value = std::string(*k);
        if (!r.keys.key_file && !r.keys.env_value)
            return usage(a, "the bodies are sealed: pass the keyring with --mask-key-file PATH, "
                            "or set SQS2PG_MASK_KEY_FILE, or SQS2PG_MASK_KEY to its text");
    }
    return r;
}

// --- help ----------------------------------------------------------------------------

std::string rejects_help(std::optional<rejects_action> action) {
    const auto list_text =
        "sqs2pg rejects list [OPTIONS]\n"
        "  The rejects kept in sqs2pg_rejects, most recently seen first: message id,\n"
        "  reason, receive count, sent at, first and last seen, replayed. No bodies: no\n"
        "  key needed. Rejects already replayed are left out unless --include-replayed.\n";
    const auto show_text =
        "sqs2pg rejects show [OPTIONS] MESSAGE_ID...\n"
        "  Each reject's record and its body, opened with the keyring. The bodies hold\n"
        "  personal data (unmasked ip and device_id): a warning says so on stderr, and on\n"
        "  a terminal control characters in a body are shown as \\xNN. A body that cannot\n"
        "  be opened (unknown key, altered, none kept) is reported for its id.\n";
    const auto replay_text =
        "sqs2pg rejects replay (MESSAGE_ID... | --reason CODE | --all) [OPTIONS]\n"
        "  Opens each body and sends it to the queue again (SendMessageBatch), with the\n"
        "  message attribute sqs2pg-replay-of = the original message id, e.g. after a\n"
        "  mapping change or after the producer fixed its payloads. Each reject sent is\n"
        "  marked replayed with its new message id; only what SQS accepted is marked.\n"
        "  Rejects already replayed are skipped unless --force, so running the same\n"
        "  replay again sends nothing twice. Ctrl-C stops after the batch in flight.\n";
    std::string out;
    if (!action) {
        out = "usage: sqs2pg rejects list|show|replay [OPTIONS] [MESSAGE_ID...]\n"
              "       (sqs2pg rejects ACTION --help for one action)\n"
              "\n"
              "Messages sqs2pg could not write as rows (invalid JSON, a missing field, a value\n"
              "the database refused) are kept in sqs2pg_rejects with their body sealed\n"
              "(AES-256-GCM under the masking keyring). These commands read that table.\n"
              "\n";
        out += list_text;
        out += "\n";
        out += show_text;
        out += "\n";
        out += replay_text;
        out += "\nOptions of list:";
        out += format_options_help(own_specs(rejects_action::list));
        out += "\nOptions of show:";
        out += format_options_help(own_specs(rejects_action::show));
        out += "\nOptions of replay:";
        out += format_options_help(own_specs(rejects_action::replay));
        out += "\nOptions of every action:";
        out += format_options_help(common_specs());
    } else {
        out = "usage: ";
        switch (*action) {
        case rejects_action::list:
            out += list_text;
            break;
        case rejects_action::show:
            out += show_text;
            break;
        case rejects_action::replay:
            out += replay_text;
            break;
        }
        out += format_options_help(specs_of(*action));
    }
    out += "\nTIME: 2024-03-01 (UTC midnight), 2024-03-01T12:00:00Z (or +hh:mm), or a span\n"
           "back from now: 90m, 36h, 7d, 2w. --since/--until compare with last seen.\n"
           "Exit status: 0 all done, 1 some failed (details on stderr), 2 bad usage or\n"
           "configuration (nothing was done).\n";
    return out;
}

// --- formats ---------------------------------------------------------------------------

namespace {

std::string clean(std::string_view v) {
    std::string out(v);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            c = '?';
    }
    return out;
}

std::string time_or_dash(const std::optional<pg::time_point>& t) {
    return t ? base::format_iso8601(*t, false) : std::string("-");
}

json::value json_time(const std::optional<pg::time_point>& t) {
    if (!t)
        return nullptr;
    return json::string(base::format_iso8601(*t, true));
}

} // namespace

std::string format_reject_table(std::span<const pg::reject_record> records, bool replayed_column) {
    if (records.empty())
        return {};
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header{"MESSAGE ID", "REASON",    "RECEIVES", "SENT AT",
                                    "FIRST SEEN", "LAST SEEN", "REPLAYED"};
    if (replayed_column)
        header.emplace_back("REPLAYED AS");
    rows.push_back(std::move(header));
    for (const auto& r : records) {
        std::vector<std::string> row{clean(r.message_id),
                                     clean(r.reason),
                                     std::to_string(r.receive_count),
                                     time_or_dash(r.sent_at),
                                     base::format_iso8601(r.first_seen, false),
                                     base::format_iso8601(r.last_seen, false),
                                     time_or_dash(r.replayed_at)};
        if (replayed_column)
            row.push_back(r.replayed_message_id ? clean(*r.replayed_message_id) : "-");
        rows.push_back(std::move(row));
    }
    std::vector<std::size_t> width(rows.front().size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i)
            width[i] = std::max(width[i], row[i].size());
    std::string out;
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out += row[i];
            if (i + 1 < row.size())
                out.append(width[i] - row[i].size() + 2, ' ');
        }
        out += '\n';
    }
    return out;
}

std::string format_reject_json(const pg::reject_record& r,
                               const std::optional<std::string_view>& body,
                               std::string_view body_error) {
    json::object o;
    o["message_id"] = r.message_id;
    o["reason"] = r.reason;
    o["receive_count"] = r.receive_count;
    o["sent_at"] = json_time(r.sent_at);
    o["first_seen"] = json_time(r.first_seen);
    o["last_seen"] = json_time(r.last_seen);
    o["replayed_at"] = json_time(r.replayed_at);
    if (r.replayed_message_id)
        o["replayed_message_id"] = *r.replayed_message_id;
    else
        o["replayed_message_id"] = nullptr;
    if (body)
        o["body"] = *body;
    else if (!body_error.empty())
        o["body"] = nullptr;
    if (!body_error.empty())
        o["body_error"] = body_error;
    return json::serialize(o);
}

std::string escape_for_terminal(std::string_view body, bool single_line) {
    std::string out;
    out.reserve(body.size());
    const auto hex = [&](unsigned char c) { out += fmt::format("\\x{:02x}", c); };
    for (std::size_t i = 0; i < body.size();) {
        const auto c = static_cast<unsigned char>(body[i]);
        if (c < 0x80) {
            if ((c < 0x20 && (single_line || (c != '\n' && c != '\t'))) || c == 0x7f)
                hex(c);
            else if (single_line && c == '\\')
                out += "\\\\";
            else
                out += static_cast<char>(c);
            ++i;
            continue;
        }
        // A UTF-8 sequence: its length, the smallest code point of that length, and
        // surrogates excluded (RFC 3629). Anything else goes out byte by byte as \xNN,
        // since a lone byte such as 0x9b is a control sequence introducer to some terminals.
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07u;
        }
        bool valid = len != 0 && i + len <= body.size();
        for (std::size_t k = 1; valid && k < len; ++k) {
            const auto cc = static_cast<unsigned char>(body[i + k]);
            valid = (cc & 0xc0u) == 0x80u;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        if (valid)
            valid = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
                    !(cp >= 0xd800 && cp <= 0xdfff);
        if (!valid) {
            hex(c);
            ++i;
            continue;
        }
        if (cp >= 0x80 && cp <= 0x9f) // C1 controls, e.g. U+009B (CSI)
            out += fmt::format("\\u{:04x}", cp);
        else
            out.append(body.substr(i, len));
        i += len;
    }
    return out;
}

// --- drivers ---------------------------------------------------------------------------

namespace {

constexpr auto personal_data_warning =
    "the bodies below contain personal data (unmasked ip and device_id): keep them out of "
    "tickets, chats and logs, and do not store them unencrypted";

// What one command run needs; lives in run_rejects' frame for the whole io_context run.
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

pg::table_names tables_of(const table_name& t) {
    pg::qualified_name q;
    if (!t.schema.empty())
        q.schema = t.schema;
    q.name = t.name;
    return pg::table_names(std::move(q));
}

// One line about a failed query: the SQLSTATE in words where pg names it (never the
// server's text, which can quote row data) and what to check.
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
        c.say(fmt::format("cannot connect to PostgreSQL: {}", conn.error_detail().empty()
                                                                  ? r.error().message()
                                                                  : clean(conn.error_detail())));
        co_return false;
    }
    // A lock held elsewhere must not hang the command; the name shows in pg_stat_activity.
    auto set = co_await conn.async_query(
        "SET statement_timeout = '30s'; SET application_name = 'sqs2pg rejects'");
    if (!set) {
        c.say(fmt::format("PostgreSQL: {}", set.error().message()));
        co_return false;
    }
    co_return true;
}

// A body opened, or why not: a code (for json) and a sentence.
struct body_problem {
    std::string_view code;
    std::string text;
};

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

std::string replayed_text(const pg::reject_record& r) {
    if (!r.replayed_at)
        return "no";
    return fmt::format("{} as {}", base::format_iso8601(*r.replayed_at, false),
                       clean(r.replayed_message_id.value_or("?")));
}

// --- list ---

asio::awaitable<int> async_list(context& c) {
    pg::connection conn(co_await asio::this_coro::executor);
    if (!co_await async_open_pg(c, conn))
        co_return 1;
    const auto tables = tables_of(c.req.table);
    pg::reject_filter filter = c.req.filter;
    // One more than asked for tells whether there are more.
    filter.limit = c.req.filter.limit + 1;
    auto rows = co_await pg::async_list_rejects(conn, tables, filter);
    if (!rows) {
        c.say(pg_failure(conn, tables, rows.error()));
        co_return 1;
    }
    const bool more = rows->size() > c.req.filter.limit;
    if (more)
        rows->pop_back();
    if (c.req.format == rejects_format::json) {
        for (const auto& r : *rows)
            c.out << format_reject_json(r) << '\n';
    } else {
        c.out << format_reject_table(*rows, c.req.filter.include_replayed);
    }
    c.out << std::flush;
    if (rows->empty())
        c.say("no rejects match");
    else if (more)
        c.say(fmt::format("showing the {} most recently seen; more match (--limit N, or narrow "
                          "with --reason, --since, --until)",
                          rows->size()));
    co_return 0;
}

// --- show ---

asio::awaitable<int> async_show(context& c) {
    pg::connection conn(co_await asio::this_coro::executor);
    if (!co_await async_open_pg(c, conn))
        co_return 1;
    const auto tables = tables_of(c.req.table);
    bool warned = false;
    int failures = 0;
    for (const auto& id : c.req.message_ids) {
        auto found = co_await pg::async_find_reject(conn, tables, id);
        if (!found) {
            c.say(pg_failure(conn, tables, found.error()));
            co_return 1;
        }
        if (!*found) {
            c.say(fmt::format("{}: no such reject", clean(id)));
            ++failures;
            continue;
        }
        const pg::reject_record& r = **found;
        auto body = open_body(*c.sealer, r);
        if (body && !warned) {
            c.say(personal_data_warning);
            warned = true;
        }
        if (c.req.format == rejects_format::json) {
            if (body)
                c.out << format_reject_json(r, std::string_view(*body)) << '\n';
            else
                c.out << format_reject_json(r, std::nullopt, body.error().code) << '\n';
        } else {
            c.out << "message id:     " << clean(r.message_id) << '\n'
                  << "reason:         " << clean(r.reason) << '\n'
                  << "receive count:  " << r.receive_count << '\n'
                  << "sent at:        " << time_or_dash(r.sent_at) << '\n'
                  << "first seen:     " << base::format_iso8601(r.first_seen, false) << '\n'
                  << "last seen:      " << base::format_iso8601(r.last_seen, false) << '\n'
                  << "replayed:       " << replayed_text(r) << '\n';
            if (body) {
                c.out << "body:           " << body->size() << " bytes\n";
                if (c.env.stdout_is_tty)
                    c.out << escape_for_terminal(*body);
                else
                    c.out << *body;
                c.out << "\n\n";
            } else {
                c.out << "body:           cannot be opened (" << body.error().code << ")\n\n";
            }
        }
        c.out << std::flush;
        if (body) {
            base::cleanse(*body);
        } else {
            c.say(fmt::format("{}: {}", clean(id), body.error().text));
            ++failures;
        }
    }
    co_return failures == 0 ? 0 : 1;
}

// --- replay ---

struct replay_counts {
    std::size_t replayed = 0;
    std::size_t skipped = 0;
    std::size_t failed = 0;
};

// One reject ready to send: the original id and the opened body (wiped after use).
struct ready_entry {
    std::string message_id;
    std::string body;
};

void report(context& c, std::string_view id, std::string_view status, std::string_view new_id = {},
            std::string_view error = {}) {
    if (c.req.format != rejects_format::json) {
        if (status == "replayed")
            c.out << "replayed " << clean(id) << " as " << clean(new_id) << '\n';
        else if (status == "would_replay")
            c.out << "would replay " << clean(id) << '\n';
        return;
    }
    json::object o;
    o["message_id"] = id;
    o["status"] = status;
    if (!new_id.empty())
        o["new_message_id"] = new_id;
    if (!error.empty())
        o["error"] = error;
    c.out << json::serialize(o) << '\n';
}

std::string mark_by_hand(const pg::table_names& tables, std::string_view id,
                         std::string_view new_id) {
    return fmt::format("UPDATE {} SET replayed_at = now(), replayed_message_id = '{}' WHERE "
                       "message_id = '{}'",
                       tables.rejects.quoted(), clean(new_id), clean(id));
}

// The SQS client for --queue-url/--queue-name, resolved as run resolves it.
struct sqs_session {
    std::unique_ptr<aws::credentials_provider> credentials;
    std::unique_ptr<sqs::client> client;
    std::string queue_url;
};

// 0 and a session, or the exit status (2: configuration, 1: SQS said no).
asio::awaitable<int> async_open_sqs(context& c, sqs_session& s) {
    const sqs_target& t = c.req.target.value();
    auto settings = resolve_sqs_settings(t, c.env);
    if (!settings) {
        std::string_view m = settings.error().message;
        if (m.starts_with("sqs2pg: "))
            m.remove_prefix(8); // say() adds its own "sqs2pg rejects ACTION: "
        c.say(m);
        co_return 2;
    }
    if (!settings->warning.empty())
        c.say(settings->warning);
    auto ex = co_await asio::this_coro::executor;
    s.credentials = aws::make_default_chain(ex, settings->env);
    s.client = std::make_unique<sqs::client>(ex, settings->endpoint, *s.credentials,
                                             sqs_client_options(t, *settings));
    s.queue_url = t.queue_url;
    if (s.queue_url.empty()) {
        auto url = co_await s.client->async_get_queue_url(t.queue_name);
        if (!url) {
            c.say(fmt::format("cannot find queue '{}': {}", t.queue_name,
                              s.client->explain(url.error())));
            co_return 1;
        }
        s.queue_url = std::move(*url);
    }
    co_return 0;
}

// The SendMessageBatch entry of a reject (its id is set per call): the body and the
// attribute naming the original message. A FIFO queue needs a group; one per message
// keeps replays from blocking each other, and the original id as deduplication id drops
// a repeat within 5 minutes (sqs::set_fifo_ids).
sqs::send_entry replay_entry(const ready_entry& r, bool fifo) {
    std::vector<sqs::message_attribute> attrs;
    attrs.emplace_back(std::string(replay_attribute), "String", r.message_id);
    sqs::send_entry e(std::string(), r.body, std::nullopt, std::move(attrs));
    if (fifo)
        sqs::set_fifo_ids(e, r.message_id);
    return e;
}

// Sends `entries` (those of `batch`, in order) in one call and marks what SQS accepted.
// Returns false when the run must stop (a fatal SQS error, or PostgreSQL failed: its
// state is then unknown).
asio::awaitable<bool> async_send(context& c, sqs_session& s, pg::connection& conn,
                                 const pg::table_names& tables, std::span<const ready_entry> batch,
                                 std::vector<sqs::send_entry> entries, replay_counts& n) {
    for (std::size_t i = 0; i < entries.size(); ++i)
        entries[i].id = fmt::format("r{}", i);
    std::string url = s.queue_url;
    auto sent = co_await s.client->async_send_message_batch(std::move(url), std::move(entries));
    if (!sent) {
        const auto& e = sent.error();
        const bool maybe_sent =
            e.request_sent && (e.kind == sqs::errc::transport || e.kind == sqs::errc::timeout ||
                               e.kind == sqs::errc::cancelled);
        const std::string why = e.code.empty() ? std::string(sqs::kind_name(e.kind)) : e.code;
        for (const auto& b : batch) {
            ++n.failed;
            if (maybe_sent) {
                c.say(fmt::format("{}: the answer to SendMessageBatch was lost ({}): it may have "
                                  "been sent; it is not marked replayed, so check the queue "
                                  "before replaying it again",
                                  clean(b.message_id), sqs::kind_name(e.kind)));
                report(c, b.message_id, "unknown", {}, sqs::kind_name(e.kind));
            } else {
                c.say(fmt::format("{}: not sent: {}", clean(b.message_id), clean(why)));
                report(c, b.message_id, "failed", {}, why);
            }
        }
        c.say(s.client->explain(e));
        c.out << std::flush;
        co_return !sqs::is_fatal(e);
    }
    bool pg_ok = true;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const std::string entry_id = fmt::format("r{}", i);
        const std::string& id = batch[i].message_id;
        const auto* failure = sent->failure(entry_id);
        if (failure != nullptr) {
            // The server's text can quote the body: the code only.
            ++n.failed;
            c.say(fmt::format("{}: not sent: {}", clean(id), clean(failure->code)));
            report(c, id, "failed", {}, failure->code);
            continue;
        }
        const auto it = std::find_if(sent->successful.begin(), sent->successful.end(),
                                     [&](const sqs::sent_message& m) { return m.id == entry_id; });
        if (it == sent->successful.end())
            continue; // the client reports every entry in one of the lists
        const std::string new_id = it->message_id;
        if (pg_ok) {
            auto marked = co_await pg::async_mark_replayed(conn, tables, id, new_id);
            if (marked && *marked) {
                ++n.replayed;
                report(c, id, "replayed", new_id);
                continue;
            }
            if (!marked)
                c.say(pg_failure(conn, tables, marked.error()));
            pg_ok = marked.has_value();
        }
        ++n.failed;
        c.say(fmt::format("{}: sent as {} but not marked replayed, so a later replay would send "
                          "it again; mark it by hand: {}",
                          clean(id), clean(new_id), mark_by_hand(tables, id, new_id)));
        report(c, id, "sent_not_marked", new_id, "mark_failed");
    }
    c.out << std::flush;
    co_return pg_ok;
}

asio::awaitable<int> async_replay(context& c) {
    sqs_session s;
    if (!c.req.dry_run) {
        if (const int status = co_await async_open_sqs(c, s); status != 0)
            co_return status;
    }
    pg::connection conn(co_await asio::this_coro::executor);
    if (!co_await async_open_pg(c, conn))
        co_return 1;
    const auto tables = tables_of(c.req.table);

    std::vector<std::string> ids = c.req.message_ids;
    bool more = false;
    if (ids.empty()) {
        pg::reject_filter filter = c.req.filter;
        filter.limit = c.req.filter.limit + 1;
        auto rows = co_await pg::async_list_rejects(conn, tables, filter);
        if (!rows) {
            c.say(pg_failure(conn, tables, rows.error()));
            co_return 1;
        }
        more = rows->size() > c.req.filter.limit;
        if (more)
            rows->pop_back();
        for (auto& r : *rows)
            ids.push_back(std::move(r.message_id));
        if (ids.empty()) {
            c.say(c.req.force ? "no rejects match" : "no rejects match that are not replayed yet");
            co_return 0;
        }
    }

    replay_counts n;
    std::size_t next = 0;          // ids[next..] have not been looked at
    std::size_t not_attempted = 0; // looked at and ready, but not sent after a stop
    bool stopped = false;
    while (next < ids.size() && !stopped && !c.stop_requested) {
        // Up to 10 rejects: fetch, check, open; then send what opened.
        std::vector<ready_entry> ready;
        const std::size_t end = std::min(ids.size(), next + sqs::max_batch_entries);
        for (; next < end; ++next) {
            const std::string& id = ids[next];
            auto found = co_await pg::async_find_reject(conn, tables, id);
            if (!found) {
                c.say(pg_failure(conn, tables, found.error()));
                stopped = true;
                break;
            }
            if (!*found) {
                ++n.failed;
                c.say(fmt::format("{}: no such reject", clean(id)));
                report(c, id, "failed", {}, "not_found");
                continue;
            }
            const pg::reject_record& r = **found;
            if (r.replayed_at && !c.req.force) {
                ++n.skipped;
                c.say(fmt::format("{}: already replayed {}; skipped (--force sends it again)",
                                  clean(id), replayed_text(r)));
                report(c, id, "skipped", r.replayed_message_id.value_or(""), "already_replayed");
                continue;
            }
            auto body = open_body(*c.sealer, r);
            if (!body) {
                ++n.failed;
                c.say(fmt::format("{}: {}", clean(id), body.error().text));
                report(c, id, "failed", {}, body.error().code);
                continue;
            }
            ready.push_back(ready_entry{id, std::move(*body)});
        }
        if (c.req.dry_run && !stopped) {
            for (const auto& e : ready) {
                ++n.replayed;
                if (c.req.format == rejects_format::json)
                    report(c, e.message_id, "would_replay");
                else
                    c.out << "would replay " << clean(e.message_id) << " (" << e.body.size()
                          << " bytes)\n";
            }
            c.out << std::flush;
        } else if (!stopped) {
            // The planner sizes the entries as sent, attributes included.
            const bool fifo = sqs::is_fifo_queue(s.queue_url);
            std::vector<sqs::send_entry> entries;
            std::vector<std::size_t> payloads;
            entries.reserve(ready.size());
            payloads.reserve(ready.size());
            for (const auto& e : ready) {
                entries.push_back(replay_entry(e, fifo));
                payloads.push_back(sqs::payload_bytes(entries.back()));
            }
            std::size_t at = 0;
            for (const std::size_t count : sqs::plan_send_batches(payloads)) {
                const std::span<const ready_entry> batch(ready.data() + at, count);
                std::vector<sqs::send_entry> call(
                    std::make_move_iterator(entries.begin() + static_cast<std::ptrdiff_t>(at)),
                    std::make_move_iterator(entries.begin() +
                                            static_cast<std::ptrdiff_t>(at + count)));
                at += count;
                if (stopped)
                    not_attempted += count;
                else if (!co_await async_send(c, s, conn, tables, batch, std::move(call), n))
                    stopped = true;
                for (auto& e : call) // still ours when not sent
                    base::cleanse(e.body);
            }
        } else {
            not_attempted += ready.size();
        }
        for (auto& e : ready)
            base::cleanse(e.body);
    }
    not_attempted += ids.size() - next;
    if (not_attempted > 0) {
        n.failed += not_attempted;
        c.say(fmt::format("stopped{}: {} reject(s) not attempted",
                          c.stop_requested && !stopped ? " on request" : "", not_attempted));
    }

    std::string summary = c.req.dry_run ? fmt::format("dry run: {} would be replayed", n.replayed)
                                        : fmt::format("{} replayed to {}", n.replayed, s.queue_url);
    if (n.skipped > 0)
        summary += fmt::format(", {} skipped (already replayed)", n.skipped);
    if (n.failed > 0)
        summary += fmt::format(", {} failed", n.failed);
    if (more)
        summary += fmt::format("; more match than --limit {}: run again", c.req.filter.limit);
    c.say(summary);
    co_return n.failed == 0 ? 0 : 1;
}

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
        auto keys = mask::load_keyring(req->keys);
        if (!keys) {
            c.say(keys.error().message);
            return 2;
        }
        sealer.emplace(**keys); // parse_rejects_args made sure a source is set
        c.sealer = &*sealer;
    }

    asio::io_context io;
    int status = 1;
    std::exception_ptr failure;
    bool done = false;
    asio::co_spawn(io, async_run_action(c), [&](std::exception_ptr e, int s) {
        failure = std::move(e);
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
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            c.say(fmt::format("failed: {}", e.what()));
        }
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
