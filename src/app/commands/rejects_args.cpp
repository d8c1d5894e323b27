// `sqs2pg rejects` command lines: the action word, its options and what they select,
// validated into a rejects_request; and the --since / --until times.
#include <sqs2pg/app/run_options.hpp>
#include <sqs2pg/base/time.hpp>

#include "rejects_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace sqs2pg::app {
namespace {

using namespace rejects_detail;
using std::chrono::system_clock;

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
                                      show_value(v->value)));
    return std::optional<pg::time_point>(*t);
}

} // namespace

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
                                        show_value(word))};
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
    SQS2PG_TRY(logs, get_log_settings(o, env, r.log_level));
    r.log_format = logs.format;
    r.log_level = logs.level;

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
            return usage(a, fmt::format("unexpected argument '{}': list takes only options",
                                        show_value(id)));
        if (!plausible_message_id(id))
            return usage(a, fmt::format("'{}' is not a message id", show_value(id)));
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
        SQS2PG_TRY(key_secret, get_string(o, "mask-key-secret"));
        r.keys.secret_id = std::move(key_secret);
        if (auto k = env.get("SQS2PG_MASK_KEY"))
            r.keys.env_value = std::string(*k);
        if (r.target) {
            r.keys.region = r.target->region;
            r.keys.ca_bundle = r.target->ca_bundle;
        }
        if (!r.keys.key_file && !r.keys.secret_id && !r.keys.env_value)
            return usage(a, "the bodies are sealed: pass the keyring with --mask-key-file PATH "
                            "or --mask-key-secret ARN, or set SQS2PG_MASK_KEY_FILE, "
                            "SQS2PG_MASK_KEY_SECRET, or SQS2PG_MASK_KEY to its text");
    }
    return r;
}

} // namespace sqs2pg::app
