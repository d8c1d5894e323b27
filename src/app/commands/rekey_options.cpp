// `sqs2pg rekey`'s options: the option table and help, parse_rekey_args (the columns to
// re-key, refusing one-way modes) and the column helpers the run shares (rekey_detail.hpp).
#include <sqs2pg/app/commands/rekey.hpp>
#include <sqs2pg/app/run_options.hpp>
#include <sqs2pg/mask/normalize.hpp>

#include "rekey_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace sqs2pg::app {

namespace rekey_detail {

pg::masked_column column_of(mask::field f) {
    return f == mask::field::ip ? pg::masked_column::masked_ip
                                : pg::masked_column::masked_device_id;
}

std::string_view column_text(mask::field f) {
    return pg::column_name(column_of(f));
}

// Why a column in this mode is not re-keyed; "" when it can be.
std::string one_way_reason(mask::field f, mask::mode m) {
    if (mask::is_reversible(m))
        return {};
    return fmt::format("{} is {}: its values are one-way and cannot be re-keyed without the "
                       "originals, which they do not hold (after a rotation only new rows use "
                       "the new key)",
                       column_text(f), mask::mode_name(m));
}

} // namespace rekey_detail

namespace {

using namespace rekey_detail;

constexpr std::string_view g_select = "What to re-key";
constexpr std::string_view g_mask = "Masking (as run has it)";
constexpr std::string_view g_pg = "PostgreSQL";
constexpr std::string_view g_ops = "Operations";

const std::vector<option_spec>& rekey_specs() {
    static const std::string batch = fmt::format("{}", rekey_default_batch);
    static const std::vector<option_spec> specs{
        {"column",
         "ip|device_id",
         g_select,
         "only this column (masked_ip or masked_device_id); ip,device_id for both",
         "every column whose mode is reversible",
         {}},
        {"batch-size",
         "N",
         g_select,
         "rows rewritten per statement (one short transaction), 1..100000",
         batch,
         {}},
        {"dry-run", "", g_select, "count rows per key id and column; change nothing", "off", {}},
        shared_run_option("mask", g_mask),
        shared_run_option("mask-ip", g_mask),
        shared_run_option("mask-device-id", g_mask),
        shared_run_option("mask-key-file", g_mask,
                          "the keyring: the active key, and the old keys the values name"),
        shared_run_option("pg", g_pg),
        shared_run_option("table", g_pg),
        shared_run_option("log-format", g_ops),
        shared_run_option("log-level", g_ops, {}, "warn"),
    };
    return specs;
}

config_error usage(std::string_view what) {
    return config_error{fmt::format("sqs2pg rekey: {} (see sqs2pg rekey --help)", what)};
}

config_result<std::vector<mask::field>> get_columns(const parsed_options& o) {
    std::vector<mask::field> out;
    const auto* v = o.find("column");
    if (v == nullptr)
        return out;
    std::string_view rest = v->value;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string_view item = mask::trim_ascii(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        mask::field f{};
        if (item == "ip" || item == "masked_ip")
            f = mask::field::ip;
        else if (item == "device_id" || item == "masked_device_id")
            f = mask::field::device_id;
        else
            return make_error(v->origin, fmt::format("must be ip, device_id or ip,device_id "
                                                     "(got '{}')",
                                                     show_value(v->value)));
        if (std::find(out.begin(), out.end(), f) == out.end())
            out.push_back(f);
    }
    if (out.empty())
        return make_error(v->origin, "must be ip, device_id or ip,device_id");
    return out;
}

} // namespace

config_result<rekey_request> parse_rekey_args(std::span<const std::string> args,
                                              const environment& env) {
    rekey_request r;
    SQS2PG_TRY(o, parse_options(rekey_specs(), args, env));
    if (o.help) {
        r.help = true;
        return r;
    }
    if (o.version)
        return usage("--version is not an option here (sqs2pg --version prints the version)");
    if (!o.positionals.empty())
        return usage(fmt::format("unexpected argument '{}': rekey takes only options",
                                 show_value(o.positionals.front())));

    SQS2PG_TRY(conninfo, get_conninfo(o));
    r.conninfo = std::move(conninfo);
    SQS2PG_TRY(table, get_table(o));
    if (table)
        r.table = std::move(*table);
    SQS2PG_TRY(logs, get_log_settings(o, env, r.log_level));
    r.log_format = logs.format;
    r.log_level = logs.level;

    SQS2PG_TRY(modes, get_mask_modes(o));
    r.modes = modes;
    SQS2PG_TRY(columns, get_columns(o));
    r.columns = std::move(columns);
    for (mask::field f : r.columns) {
        const std::string why = one_way_reason(f, r.modes.of(f));
        if (!why.empty())
            return make_error(o.find("column")->origin,
                              fmt::format("{}; set --mask-{} as run has it if that is not the "
                                          "mode",
                                          why, f == mask::field::ip ? "ip" : "device-id"));
    }
    if (r.columns.empty() && !mask::is_reversible(r.modes.ip) &&
        !mask::is_reversible(r.modes.device_id))
        return config_error{fmt::format(
            "sqs2pg rekey: nothing to re-key: masked_ip is {} and masked_device_id is {}; one-way "
            "values cannot be re-keyed without the originals, which they do not hold. Only "
            "aes-siv, ipcrypt and ipcrypt-pfx columns can: give --mask-ip / --mask-device-id (or "
            "--mask) as run has them",
            mask::mode_name(r.modes.ip), mask::mode_name(r.modes.device_id))};

    SQS2PG_TRY(batch, get_int(o, "batch-size", 1, rekey_max_batch));
    if (batch)
        r.batch_rows = static_cast<std::size_t>(*batch);
    SQS2PG_TRY(dry_run, get_bool(o, "dry-run"));
    r.dry_run = dry_run.value_or(false);

    SQS2PG_TRY(key_file, get_string(o, "mask-key-file"));
    r.keys.key_file = std::move(key_file);
    if (auto k = env.get("SQS2PG_MASK_KEY"))
        r.keys.env_value = std::string(*k);
    if (!r.keys.key_file && !r.keys.env_value)
        return usage("pass the keyring with --mask-key-file PATH (or SQS2PG_MASK_KEY_FILE, or "
                     "SQS2PG_MASK_KEY with its text): its active key, and the old keys the "
                     "values name");
    return r;
}

std::string rekey_help() {
    std::string out =
        "usage: sqs2pg rekey [--dry-run] [--column ip|device_id] [OPTIONS]\n"
        "\n"
        "After a key rotation (a new active key in the keyring), rewrites the reversible\n"
        "masked values (aes-siv, ipcrypt, ipcrypt-pfx) still under an old key id so that\n"
        "they are under the active key, each in its own mode. Restart run with the new\n"
        "keyring first: then only old rows need it. Safe while run writes: each statement\n"
        "rewrites about --batch-size rows and commits; nothing is locked for longer. A\n"
        "rerun continues where an interrupted one stopped: rows already under the active\n"
        "key are skipped. Ctrl-C stops after the statement in flight. hmac-sha256 and\n"
        "sha256 columns are refused: their values are one-way and cannot be re-keyed\n"
        "without the originals. --dry-run counts each column's rows per key id.\n"
        "A one-line JSON summary goes to stdout.\n";
    out += format_options_help(rekey_specs());
    out += "\nExit status: 0 every value moved (or counted), 1 some could not be (their key\n"
           "is not in the keyring, or they do not open), interrupted, or PostgreSQL failed:\n"
           "run again; 2 bad usage or configuration (nothing was done).\n";
    return out;
}

} // namespace sqs2pg::app
