// The run command's options: their table, with the defaults taken from the structs that
// hold them, and validation into run_config.
#include <sqs2pg/app/pg_iam.hpp>
#include <sqs2pg/app/run_options.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace sqs2pg::app {
namespace {

constexpr std::string_view g_sqs = "SQS";
constexpr std::string_view g_pg = "PostgreSQL";
constexpr std::string_view g_mask = "Masking";
constexpr std::string_view g_flow = "Throughput and drain";
constexpr std::string_view g_ops = "Operations";

// The defaults the help shows for settings whose struct holds the default: derived from
// it, so a default is written once. Built at first use; the specs point into it.
struct derived_defaults {
    std::string receivers;
    std::string batch_size;
    std::string batch_max_delay_ms;
    std::string max_in_flight_bytes;
    std::string wait_time;
    std::string drain;
    std::string table;
};

derived_defaults make_derived_defaults() {
    const flow::pipeline_config p{};
    derived_defaults d;
    d.receivers = fmt::format("{}", p.receivers);
    d.batch_size = fmt::format("{}", p.batch_size);
    d.batch_max_delay_ms = fmt::format("{}", p.batch_max_delay.count());
    d.max_in_flight_bytes = format_size(p.max_in_flight_bytes);
    d.wait_time =
        fmt::format("{}, or {} with --drain", p.wait_time.count(), drain_wait_time.count());
    d.drain = p.drain ? "on" : "off";
    d.table = table_name{}.name;
    return d;
}

const std::vector<option_spec>& run_specs() {
    static const derived_defaults d = make_derived_defaults();
    static const std::vector<option_spec> specs{
        {"queue-url",
         "URL",
         g_sqs,
         "the queue to read (give this or --queue-name)",
         "",
         {"SQS2PG_QUEUE_URL"}},
        {"queue-name",
         "NAME",
         g_sqs,
         "the queue by name; its URL is looked up",
         "",
         {"SQS2PG_QUEUE_NAME"}},
        {"endpoint-url",
         "URL",
         g_sqs,
         "SQS endpoint, e.g. http://127.0.0.1:4566 for an emulator",
         "from the queue URL or the region",
         {"SQS2PG_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL"}},
        {"region",
         "REGION",
         g_sqs,
         "AWS region the requests are signed for",
         "from the AWS config or the queue URL",
         {"SQS2PG_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"}},
        {"sqs-protocol",
         "query|json",
         g_sqs,
         "SQS wire protocol (AWS speaks both)",
         "query",
         {"SQS2PG_SQS_PROTOCOL"}},
        {"ca-bundle",
         "PATH",
         g_sqs,
         "PEM file of extra CA certificates trusted for HTTPS (a private CA)",
         "the system store only",
         {"SQS2PG_CA_BUNDLE", "AWS_CA_BUNDLE"}},
        {"dead-letter-queue-url",
         "URL",
         g_sqs,
         "send rejected messages to this queue instead of the rejects table",
         "",
         {"SQS2PG_DEAD_LETTER_QUEUE_URL"}},
        {"wait-time-seconds",
         "N",
         g_sqs,
         "long-poll wait per receive, 0..20",
         d.wait_time,
         {"SQS2PG_WAIT_TIME_SECONDS"}},
        {"visibility-timeout",
         "SECONDS",
         g_sqs,
         "how long a received message stays hidden, 1..43200",
         "the queue's own",
         {"SQS2PG_VISIBILITY_TIMEOUT"}},
        {"pg",
         "CONNINFO",
         g_pg,
         "libpq connection string or postgresql:// URL",
         "libpq's PG* variables",
         {"SQS2PG_PG", "DATABASE_URL"}},
        {"pg-iam-auth",
         "",
         g_pg,
         "RDS IAM auth: a fresh token as the password at each connect (needs TLS)",
         "off",
         {"SQS2PG_PG_IAM_AUTH"}},
        {"table",
         "[SCHEMA.]TABLE",
         g_pg,
         "table the rows go to (lowercase names)",
         d.table,
         {"SQS2PG_TABLE"}},
        {"mask",
         "hmac-sha256|aes-siv|sha256",
         g_mask,
         "how ip and device_id are masked; sha256 is unkeyed (not recommended)",
         "hmac-sha256",
         {"SQS2PG_MASK"}},
        {"mask-ip",
         "MODE",
         g_mask,
         "ip's mode: one of --mask's, or ipcrypt, ipcrypt-pfx (address-shaped)",
         "--mask",
         {"SQS2PG_MASK_IP"}},
        {"mask-device-id",
         "hmac-sha256|aes-siv|sha256",
         g_mask,
         "device_id's own mode",
         "--mask",
         {"SQS2PG_MASK_DEVICE_ID"}},
        {"mask-key-file",
         "PATH",
         g_mask,
         // SQS2PG_MASK_KEY holds the key text, not a path: named here, not in the env list.
         "masking key file (sqs2pg keygen writes one; KMS keyrings too), or the key\n"
         "      line itself in SQS2PG_MASK_KEY; one of them (or --mask-key-secret) is\n"
         "      needed unless every column is sha256",
         "",
         {"SQS2PG_MASK_KEY_FILE"}},
        {"mask-key-secret",
         "ARN",
         g_mask,
         "read the key lines from this Secrets Manager secret instead",
         "",
         {"SQS2PG_MASK_KEY_SECRET"}},
        {"drain",
         "",
         g_flow,
         "exit 0 once the queue is empty and everything is committed, with a summary",
         d.drain,
         {"SQS2PG_DRAIN"}},
        {"receivers",
         "N",
         g_flow,
         "concurrent long-poll receivers, 1..64",
         d.receivers,
         {"SQS2PG_RECEIVERS"}},
        {"batch-size",
         "N",
         g_flow,
         "rows per PostgreSQL batch, 1..1000",
         d.batch_size,
         {"SQS2PG_BATCH_SIZE"}},
        {"batch-max-delay-ms",
         "MS",
         g_flow,
         "longest wait to fill a batch, 0..10000",
         d.batch_max_delay_ms,
         {"SQS2PG_BATCH_MAX_DELAY_MS"}},
        {"max-in-flight-bytes",
         "SIZE",
         g_flow,
         "message bytes held at once before receiving pauses, 1MiB..64GiB",
         d.max_in_flight_bytes,
         {"SQS2PG_MAX_IN_FLIGHT_BYTES"}},
        {"listen",
         "HOST:PORT",
         g_ops,
         "serve /metrics, /healthz and /readyz, e.g. 127.0.0.1:9464",
         "off",
         {"SQS2PG_LISTEN"}},
        {"log-format",
         "json|text",
         g_ops,
         "log lines on stderr",
         "json; text when stderr is a TTY",
         {"SQS2PG_LOG_FORMAT"}},
        {"log-level",
         "debug|info|warn|error",
         g_ops,
         "lowest level logged",
         "info",
         {"SQS2PG_LOG_LEVEL"}},
        {"allow-core-dumps",
         "",
         g_ops,
         "let a crash write a core dump (it would hold keys and message bodies)",
         "off",
         {"SQS2PG_ALLOW_CORE_DUMPS"}},
    };
    return specs;
}

} // namespace

std::span<const option_spec> run_options() {
    return run_specs();
}

const option_spec& run_option(std::string_view name) {
    const auto& specs = run_specs();
    const auto it = std::find_if(specs.begin(), specs.end(),
                                 [&](const option_spec& s) { return s.name == name; });
    if (it == specs.end())
        throw std::out_of_range(fmt::format("no run option --{}", name));
    return *it;
}

option_spec shared_run_option(std::string_view name, std::string_view group, std::string_view help,
                              std::string_view default_text) {
    option_spec s = run_option(name);
    s.group = group;
    if (!help.empty())
        s.help = help;
    if (!default_text.empty())
        s.default_text = default_text;
    return s;
}

config_result<log_settings> get_log_settings(const parsed_options& o, const environment& env,
                                             ops::level default_level) {
    log_settings l;
    l.format = env.stderr_is_tty ? ops::log_format::text : ops::log_format::json;
    l.level = default_level;
    SQS2PG_TRY(format, get_choice(o, "log-format", {"json", "text"}));
    // value_or, not *format: GCC 12 takes the optional's payload for uninitialized here.
    if (const std::string f = format.value_or(""); !f.empty())
        l.format = f == "text" ? ops::log_format::text : ops::log_format::json;
    SQS2PG_TRY(level, get_choice(o, "log-level", {"debug", "info", "warn", "error"}));
    if (level)
        ops::parse_level(*level, l.level);
    return l;
}

namespace {

constexpr std::string_view column_modes = "hmac-sha256, aes-siv, sha256";
constexpr std::string_view ip_modes = "hmac-sha256, aes-siv, sha256, ipcrypt, ipcrypt-pfx";

// The mode `v` names, checked against what its option takes.
config_result<mask::mode> mode_value(const option_value& v, bool ip_only_modes_allowed) {
    const auto m = mask::parse_mode(v.value);
    if (!m)
        return make_error(v.origin, fmt::format("must be one of {} (got '{}')",
                                                ip_only_modes_allowed ? ip_modes : column_modes,
                                                show_value(v.value)));
    if (!ip_only_modes_allowed && !mask::mode_applies(*m, mask::field::device_id)) {
        const bool general = v.origin == "--mask" || v.origin == "SQS2PG_MASK";
        return make_error(
            v.origin,
            fmt::format("{} encrypts IP addresses, so it applies to ip only: {}", v.value,
                        general ? fmt::format("use --mask-ip {} (and --mask or --mask-device-id "
                                              "for device_id)",
                                              v.value)
                                : std::string("choose it with --mask-ip; device_id takes "
                                              "hmac-sha256, aes-siv or sha256")));
    }
    return *m;
}

} // namespace

config_result<mask::field_modes> get_mask_modes(const parsed_options& o) {
    const option_value* general = o.find("mask");
    std::optional<mask::mode> general_mode;
    if (general) {
        SQS2PG_TRY(m, mode_value(*general, false));
        general_mode = m;
    }
    mask::field_modes out;
    for (const auto& [name, f] : {std::pair{"mask-ip", mask::field::ip},
                                  std::pair{"mask-device-id", mask::field::device_id}}) {
        const option_value* own = o.find(name);
        std::optional<mask::mode> own_mode;
        if (own) {
            SQS2PG_TRY(m, mode_value(*own, f == mask::field::ip));
            own_mode = m;
        }
        // A flag beats a variable; between two of the same kind the column's own wins.
        mask::mode chosen = mask::mode::hmac_sha256;
        if (own && own->source == value_source::flag)
            chosen = *own_mode;
        else if (general && general->source == value_source::flag)
            chosen = *general_mode;
        else if (own)
            chosen = *own_mode;
        else if (general)
            chosen = *general_mode;
        (f == mask::field::ip ? out.ip : out.device_id) = chosen;
    }
    return out;
}

config_result<run_config> make_run_config(const parsed_options& o, const environment& env) {
    run_config c;
    if (!o.positionals.empty())
        return config_error{fmt::format("sqs2pg: unexpected argument '{}' (run takes only "
                                        "options; see sqs2pg --help)",
                                        show_value(o.positionals.front()))};

    SQS2PG_TRY(target, get_sqs_target(o));
    c.sqs = std::move(target);

    SQS2PG_TRY(dlq, get_string(o, "dead-letter-queue-url"));
    if (dlq && !is_http_url(*dlq, true))
        return make_error(o.find("dead-letter-queue-url")->origin,
                          fmt::format("must be the dead-letter queue's http(s) URL (got '{}')",
                                      show_value(*dlq)));
    if (dlq) {
        if (auto refused = refuse_plain_http_to_aws(o.find("dead-letter-queue-url")->origin, *dlq))
            return *refused;
    }
    flow::pipeline_config& p = c.pipeline;
    p.dead_letter_queue_url = dlq;

    SQS2PG_TRY(wait, get_int(o, "wait-time-seconds", 0, 20));
    // 0 would make every received message visible to the other receivers at once; SQS
    // allows it, but it only produces redeliveries here.
    SQS2PG_TRY(visibility, get_int(o, "visibility-timeout", 1, 43200));
    if (visibility) {
        p.visibility_timeout = std::chrono::seconds(*visibility);
        p.send_visibility_timeout = true;
    }

    SQS2PG_TRY(conninfo, get_conninfo(o));
    c.pg = std::move(conninfo);
    SQS2PG_TRY(table, get_table(o));
    if (table)
        c.table = std::move(*table);
    SQS2PG_TRY(iam, get_bool(o, "pg-iam-auth"));
    c.pg_iam_auth = iam.value_or(false);
    if (c.pg_iam_auth) {
        auto target = iam_auth_target(c.pg, env);
        if (!target)
            return make_error(o.find("pg-iam-auth")->origin, target.error().message);
    }

    SQS2PG_TRY(modes, get_mask_modes(o));
    c.mask = modes;
    SQS2PG_TRY(key_file, get_string(o, "mask-key-file"));
    if (key_file)
        c.mask_key_file = *key_file;
    SQS2PG_TRY(key_secret, get_string(o, "mask-key-secret"));
    if (key_secret)
        c.mask_key_secret = *key_secret;
    if (key_file && key_secret)
        return config_error{fmt::format("sqs2pg: {} and {}: give only one of them",
                                        o.find("mask-key-file")->origin,
                                        o.find("mask-key-secret")->origin)};
    // The keyring may also sit in the environment itself (SQS2PG_MASK_KEY, the text
    // `sqs2pg keygen` prints); the mask module reads it from there, never from here.
    if (c.mask.any_keyed() && c.mask_key_file.empty() && c.mask_key_secret.empty() &&
        !env.get("SQS2PG_MASK_KEY")) {
        const mask::mode keyed = mask::is_keyed(c.mask.ip) ? c.mask.ip : c.mask.device_id;
        return config_error{
            fmt::format("sqs2pg: --mask-key-file: a key is required for {} masking (create one "
                        "with `sqs2pg keygen --out mask.keys`, then pass --mask-key-file mask.keys "
                        "or put its line in SQS2PG_MASK_KEY)",
                        mask::mode_name(keyed))};
    }

    SQS2PG_TRY(drain, get_bool(o, "drain"));
    if (drain)
        p.drain = *drain;
    if (wait)
        p.wait_time = std::chrono::seconds(*wait);
    else if (p.drain)
        p.wait_time = drain_wait_time;
    SQS2PG_TRY(receivers, get_int(o, "receivers", 1, 64));
    if (receivers)
        p.receivers = static_cast<int>(*receivers);
    SQS2PG_TRY(batch, get_int(o, "batch-size", 1, 1000));
    if (batch)
        p.batch_size = static_cast<std::size_t>(*batch);
    SQS2PG_TRY(delay, get_int(o, "batch-max-delay-ms", 0, 10'000));
    if (delay)
        p.batch_max_delay = std::chrono::milliseconds(*delay);
    SQS2PG_TRY(bytes, get_size(o, "max-in-flight-bytes", 1ull << 20, 64ull << 30));
    if (bytes)
        p.max_in_flight_bytes = *bytes;

    if (const auto* l = o.find("listen")) {
        auto addr = ops::parse_listen_address(l->value);
        if (!addr)
            return make_error(
                l->origin, fmt::format("{} (got '{}')", addr.error().reason, show_value(l->value)));
        c.listen = *addr;
    }

    SQS2PG_TRY(logs, get_log_settings(o, env, c.log_level));
    c.log_format = logs.format;
    c.log_level = logs.level;
    SQS2PG_TRY(dumps, get_bool(o, "allow-core-dumps"));
    c.allow_core_dumps = dumps.value_or(false);
    return c;
}

} // namespace sqs2pg::app
