// The options of each `sqs2pg rejects` action (run's flags reused with their variables)
// and the help text made from them.
#include <sqs2pg/app/run_options.hpp>

#include "rejects_detail.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

namespace sqs2pg::app {
namespace rejects_detail {
namespace {

constexpr std::string_view g_select = "Selection";
constexpr std::string_view g_output = "Output";
constexpr std::string_view g_pg = "PostgreSQL";
constexpr std::string_view g_key = "Key";
constexpr std::string_view g_sqs = "SQS";
constexpr std::string_view g_ops = "Operations";

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
    return shared_run_option("mask-key-file", g_key,
                             "the keyring that sealed the bodies (or its text in SQS2PG_MASK_KEY)");
}

option_spec secret_spec() {
    return shared_run_option("mask-key-secret", g_key);
}

} // namespace

const std::vector<option_spec>& common_specs() {
    static const std::vector<option_spec> specs{
        shared_run_option("pg", g_pg),
        shared_run_option("table", g_pg,
                          "the table sqs2pg run writes; sqs2pg_rejects is in its schema"),
        shared_run_option("log-format", g_ops),
        shared_run_option("log-level", g_ops, {}, "warn"),
    };
    return specs;
}

const std::vector<option_spec>& own_specs(rejects_action a) {
    // The --limit defaults are the ones parse_rejects_args applies.
    static const std::string list_limit = fmt::format("{}", list_default_limit);
    static const std::string replay_limit = fmt::format("{}", replay_default_limit);
    static const std::vector<option_spec> list{
        filter_spec("reason"),
        filter_spec("since"),
        filter_spec("until"),
        {"include-replayed", "", g_select, "also rejects already replayed", "off", {}},
        {"limit",
         "N",
         g_select,
         "at most N rejects, the most recently seen, 1..1000000",
         list_limit,
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
        secret_spec(),
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
         replay_limit,
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
        shared_run_option("queue-url", g_sqs,
                          "the queue to send the bodies to (usually the one they came "
                          "from)"),
        shared_run_option("queue-name", g_sqs),
        shared_run_option("endpoint-url", g_sqs),
        shared_run_option("region", g_sqs),
        shared_run_option("sqs-protocol", g_sqs),
        shared_run_option("ca-bundle", g_sqs),
        key_spec(),
        secret_spec(),
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

} // namespace rejects_detail

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
        "  replay again sends nothing twice; nor do two replays at once (each locks\n"
        "  the rows it sends, the other skips them). Ctrl-C stops after the batch in\n"
        "  flight.\n";
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
        out += format_options_help(rejects_detail::own_specs(rejects_action::list));
        out += "\nOptions of show:";
        out += format_options_help(rejects_detail::own_specs(rejects_action::show));
        out += "\nOptions of replay:";
        out += format_options_help(rejects_detail::own_specs(rejects_action::replay));
        out += "\nOptions of every action:";
        out += format_options_help(rejects_detail::common_specs());
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
        out += format_options_help(rejects_detail::specs_of(*action));
    }
    out += "\nTIME: 2024-03-01 (UTC midnight), 2024-03-01T12:00:00Z (or +hh:mm), or a span\n"
           "back from now: 90m, 36h, 7d, 2w. --since/--until compare with last seen.\n"
           "Exit status: 0 all done, 1 some failed (details on stderr), 2 bad usage or\n"
           "configuration (nothing was done).\n";
    return out;
}

} // namespace sqs2pg::app
