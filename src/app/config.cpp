// Flags + environment -> run_config. Generic option parsing first (every subcommand
// uses it), then the run command's option table, validation and help text.
#include <sqs2pg/app/config.hpp>
#include <sqs2pg/base/text.hpp>

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

extern char** environ; // NOLINT: POSIX, declared by no standard header

namespace sqs2pg::app {
namespace {

constexpr std::size_t max_shown = 60;

// A user value as it may appear inside an error line: one line, bounded length.
std::string shown(std::string_view v) {
    std::string out;
    for (char c : v.substr(0, max_shown)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
    if (v.size() > max_shown)
        out += "...";
    return out;
}

const option_spec* find_spec(std::span<const option_spec> specs, std::string_view name) {
    for (const auto& s : specs) {
        if (s.name == name)
            return &s;
    }
    return nullptr;
}

std::string join(std::initializer_list<std::string_view> items, std::string_view sep) {
    std::string out;
    for (auto it = items.begin(); it != items.end(); ++it) {
        if (it != items.begin())
            out += sep;
        out += *it;
    }
    return out;
}

} // namespace

config_error make_error(std::string_view origin, std::string_view what) {
    return config_error{fmt::format("sqs2pg: {}: {}", origin, what)};
}

// --- environment -----------------------------------------------------------------------

environment environment::from_process() {
    environment env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view kv = *e;
        const auto eq = kv.find('=');
        if (eq != std::string_view::npos)
            env.vars.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
    env.stderr_is_tty = ::isatty(STDERR_FILENO) == 1;
    env.stdout_is_tty = ::isatty(STDOUT_FILENO) == 1;
    return env;
}

std::optional<std::string_view> environment::get(std::string_view name) const {
    const auto it = vars.find(name);
    if (it == vars.end() || it->second.empty())
        return std::nullopt;
    return std::string_view(it->second);
}

// --- generic parsing -------------------------------------------------------------------

const option_value* parsed_options::find(std::string_view name) const {
    const auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
}

config_result<parsed_options> parse_options(std::span<const option_spec> specs,
                                            std::span<const std::string> args,
                                            const environment& env) {
    parsed_options out;
    // --help and --version win over any mistake elsewhere on the line.
    for (const auto& a : args) {
        if (a == "--")
            break;
        if (a == "--help" || a == "-h")
            out.help = true;
        else if (a == "--version")
            out.version = true;
    }
    if (out.help || out.version)
        return out;

    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view a = args[i];
        if (options_done || !a.starts_with('-') || a == "-") {
            out.positionals.emplace_back(a);
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        if (!a.starts_with("--"))
            return make_error(shown(a), "unknown option (options start with --; see --help)");
        const auto eq = a.find('=');
        const std::string_view name = a.substr(2, eq == std::string_view::npos ? a.npos : eq - 2);
        const std::string flag = fmt::format("--{}", name);
        const option_spec* spec = find_spec(specs, name);
        if (spec == nullptr)
            return make_error(shown(flag), "unknown option (see --help)");
        std::string value;
        if (eq != std::string_view::npos) {
            value = a.substr(eq + 1);
        } else if (spec->metavar.empty()) {
            value = "true";
        } else {
            // The next argument is the value, unless it is another option: then the value
            // was forgotten (a value starting with "--" must use --flag=value).
            if (i + 1 >= args.size() || args[i + 1].starts_with("--"))
                return make_error(flag, fmt::format("needs a value ({})", spec->metavar));
            value = args[++i];
        }
        out.values[std::string(name)] = option_value{std::move(value), value_source::flag, flag};
    }

    for (const auto& spec : specs) {
        if (out.values.count(spec.name))
            continue;
        for (std::string_view var : spec.env) {
            if (var.empty())
                continue;
            if (auto v = env.get(var)) {
                out.values[std::string(spec.name)] =
                    option_value{std::string(*v), value_source::env, std::string(var)};
                break;
            }
        }
    }
    return out;
}

config_result<std::optional<std::string>> get_string(const parsed_options& o,
                                                     std::string_view name) {
    const auto* v = o.find(name);
    if (v == nullptr)
        return std::optional<std::string>{};
    if (v->value.empty())
        return make_error(v->origin, "must not be empty");
    return std::optional<std::string>(v->value);
}

config_result<std::optional<std::int64_t>> get_int(const parsed_options& o, std::string_view name,
                                                   std::int64_t min, std::int64_t max) {
    const auto* v = o.find(name);
    if (v == nullptr)
        return std::optional<std::int64_t>{};
    const std::string_view text = v->value;
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || end != text.data() + text.size() ||
        (ec != std::errc{} && ec != std::errc::result_out_of_range))
        return make_error(v->origin, fmt::format("must be a whole number between {} and {} (got "
                                                 "'{}')",
                                                 min, max, shown(text)));
    if (ec == std::errc::result_out_of_range || n < min || n > max)
        return make_error(v->origin,
                          fmt::format("must be between {} and {} (got {})", min, max, shown(text)));
    return std::optional<std::int64_t>(n);
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
        ++digits;
    if (digits == 0)
        return std::nullopt;
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, n);
    if (ec != std::errc{} || end != text.data() + digits)
        return std::nullopt;
    std::string_view unit = text.substr(digits);
    if (unit.starts_with(' '))
        unit.remove_prefix(1);
    const std::string u = base::ascii_lower(unit);
    std::uint64_t mult = 0;
    if (u.empty() || u == "b")
        mult = 1;
    else if (u == "k" || u == "kib")
        mult = 1ull << 10;
    else if (u == "m" || u == "mib")
        mult = 1ull << 20;
    else if (u == "g" || u == "gib")
        mult = 1ull << 30;
    else if (u == "kb")
        mult = 1000;
    else if (u == "mb")
        mult = 1'000'000;
    else if (u == "gb")
        mult = 1'000'000'000;
    else
        return std::nullopt;
    if (n > std::numeric_limits<std::uint64_t>::max() / mult)
        return std::nullopt;
    return n * mult;
}

std::string format_size(std::uint64_t bytes) {
    if (bytes != 0 && bytes % (1ull << 30) == 0)
        return fmt::format("{}GiB", bytes >> 30);
    if (bytes != 0 && bytes % (1ull << 20) == 0)
        return fmt::format("{}MiB", bytes >> 20);
    if (bytes != 0 && bytes % (1ull << 10) == 0)
        return fmt::format("{}KiB", bytes >> 10);
    return fmt::format("{}", bytes);
}

config_result<std::optional<std::uint64_t>> get_size(const parsed_options& o, std::string_view name,
                                                     std::uint64_t min, std::uint64_t max) {
    const auto* v = o.find(name);
    if (v == nullptr)
        return std::optional<std::uint64_t>{};
    const auto n = parse_size(v->value);
    if (!n)
        return make_error(v->origin, fmt::format("must be a size such as 64MiB, 512KiB or 1GiB "
                                                 "(got '{}')",
                                                 shown(v->value)));
    if (*n < min || *n > max)
        return make_error(v->origin,
                          fmt::format("must be between {} and {} (got {})", format_size(min),
                                      format_size(max), shown(v->value)));
    return std::optional<std::uint64_t>(*n);
}

config_result<std::optional<bool>> get_bool(const parsed_options& o, std::string_view name) {
    const auto* v = o.find(name);
    if (v == nullptr)
        return std::optional<bool>{};
    const std::string t = base::ascii_lower(v->value);
    if (t == "1" || t == "true" || t == "yes" || t == "on")
        return std::optional<bool>(true);
    if (t == "0" || t == "false" || t == "no" || t == "off")
        return std::optional<bool>(false);
    return make_error(v->origin, fmt::format("must be true or false (got '{}')", shown(v->value)));
}

config_result<std::optional<std::string>>
get_choice(const parsed_options& o, std::string_view name,
           std::initializer_list<std::string_view> choices) {
    const auto* v = o.find(name);
    if (v == nullptr)
        return std::optional<std::string>{};
    if (std::find(choices.begin(), choices.end(), v->value) == choices.end())
        return make_error(v->origin, fmt::format("must be one of {} (got '{}')",
                                                 join(choices, ", "), shown(v->value)));
    return std::optional<std::string>(v->value);
}

std::string format_options_help(std::span<const option_spec> specs) {
    // Stacked (option line, then its text, default and variables) so every line fits in
    // 80 columns however long the option or its variables are.
    std::vector<std::string_view> groups;
    for (const auto& s : specs) {
        if (std::find(groups.begin(), groups.end(), s.group) == groups.end())
            groups.push_back(s.group);
    }
    std::string out;
    for (auto g : groups) {
        out += fmt::format("\n{}:\n", g);
        for (const auto& s : specs) {
            if (s.group != g)
                continue;
            out += fmt::format("  --{}", s.name);
            if (!s.metavar.empty())
                out += fmt::format(" {}", s.metavar);
            out += fmt::format("\n      {}\n", s.help);
            if (!s.default_text.empty())
                out += fmt::format("      default: {}\n", s.default_text);
            std::string vars;
            for (auto e : s.env) {
                if (!e.empty())
                    vars += (vars.empty() ? "" : ", ") + std::string(e);
            }
            if (!vars.empty())
                out += fmt::format("      env: {}\n", vars);
        }
    }
    return out;
}

// --- commands --------------------------------------------------------------------------

namespace {
constexpr std::array<std::pair<std::string_view, command>, 4> command_words{{
    {"run", command::run},
    {"keygen", command::keygen},
    {"unmask", command::unmask},
    {"rejects", command::rejects},
}};
} // namespace

std::string_view command_name(command c) {
    for (const auto& [word, cmd] : command_words) {
        if (cmd == c)
            return word;
    }
    return "run";
}

config_result<command_line> parse_command(std::span<const std::string> args) {
    command_line out;
    if (args.empty() || args.front().starts_with('-')) {
        out.args.assign(args.begin(), args.end());
        return out;
    }
    for (const auto& [word, cmd] : command_words) {
        if (args.front() == word) {
            out.cmd = cmd;
            out.args.assign(args.begin() + 1, args.end());
            return out;
        }
    }
    return config_error{fmt::format("sqs2pg: unknown command '{}' (commands: run, keygen, "
                                    "unmask, rejects; see sqs2pg --help)",
                                    shown(args.front()))};
}

// --- run -------------------------------------------------------------------------------

namespace {

constexpr std::string_view g_sqs = "SQS";
constexpr std::string_view g_pg = "PostgreSQL";
constexpr std::string_view g_mask = "Masking";
constexpr std::string_view g_flow = "Throughput and drain";
constexpr std::string_view g_ops = "Operations";

constexpr std::array<option_spec, 21> run_specs{{
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
     "20, or 1 with --drain",
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
    {"table",
     "[SCHEMA.]TABLE",
     g_pg,
     "table the rows go to (lowercase names)",
     "user_logins",
     {"SQS2PG_TABLE"}},
    {"mask",
     "hmac-sha256|aes-siv|sha256",
     g_mask,
     "how ip and device_id are masked; sha256 is unkeyed (not recommended)",
     "hmac-sha256",
     {"SQS2PG_MASK"}},
    {"mask-key-file",
     "PATH",
     g_mask,
     "masking key (sqs2pg keygen writes one); needed unless --mask sha256",
     "",
     {"SQS2PG_MASK_KEY_FILE"}},
    {"drain",
     "",
     g_flow,
     "exit 0 once the queue is empty and everything is committed, with a summary",
     "off",
     {"SQS2PG_DRAIN"}},
    {"receivers", "N", g_flow, "concurrent long-poll receivers, 1..64", "4", {"SQS2PG_RECEIVERS"}},
    {"batch-size", "N", g_flow, "rows per PostgreSQL batch, 1..1000", "250", {"SQS2PG_BATCH_SIZE"}},
    {"batch-max-delay-ms",
     "MS",
     g_flow,
     "longest wait to fill a batch, 0..10000",
     "50",
     {"SQS2PG_BATCH_MAX_DELAY_MS"}},
    {"max-in-flight-bytes",
     "SIZE",
     g_flow,
     "message bytes held at once before receiving pauses, 1MiB..64GiB",
     "64MiB",
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
}};

bool is_plain_identifier(std::string_view s) {
    if (s.empty() || s.size() > 63 || (s.front() >= '0' && s.front() <= '9'))
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

// http(s)://host[:port][/path]; with `need_path`, a non-empty last path segment too.
bool is_http_url(std::string_view s, bool need_path) {
    std::string_view rest;
    if (s.starts_with("https://"))
        rest = s.substr(8);
    else if (s.starts_with("http://"))
        rest = s.substr(7);
    else
        return false;
    if (std::any_of(s.begin(), s.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
        return false;
    const auto slash = rest.find('/');
    const auto host = rest.substr(0, slash);
    if (host.empty() || host.starts_with(':'))
        return false;
    if (!need_path)
        return true;
    if (slash == std::string_view::npos)
        return false;
    auto path = rest.substr(slash);
    while (path.ends_with('/'))
        path.remove_suffix(1);
    return path.size() > 1;
}

bool is_queue_name(std::string_view s) {
    if (s.empty() || s.size() > 80)
        return false;
    auto base = s;
    if (base.ends_with(".fifo"))
        base.remove_suffix(5);
    return !base.empty() && std::all_of(base.begin(), base.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

// TRY: unwrap a config_result or return its error from the enclosing function.
// `var` names a variable, so it cannot be parenthesized.

} // namespace

std::span<const option_spec> run_options() {
    return run_specs;
}

const option_spec& run_option(std::string_view name) {
    if (const auto* s = find_spec(run_specs, name))
        return *s;
    throw std::out_of_range(fmt::format("no run option --{}", name));
}

config_result<sqs_target> get_sqs_target(const parsed_options& o) {
    sqs_target t;
    // The queue: exactly one of URL and name. A flag beats the environment, so a
    // --queue-name on the command line overrides an exported SQS2PG_QUEUE_URL.
    const auto* url = o.find("queue-url");
    const auto* name = o.find("queue-name");
    if (url && name) {
        const bool url_flag = url->source == value_source::flag;
        const bool name_flag = name->source == value_source::flag;
        if (url_flag == name_flag)
            return config_error{
                fmt::format("sqs2pg: {} and {}: give only one of them", url->origin, name->origin)};
        (url_flag ? name : url) = nullptr;
    }
    if (!url && !name)
        return config_error{"sqs2pg: --queue-url or --queue-name is required (or set "
                            "SQS2PG_QUEUE_URL or SQS2PG_QUEUE_NAME)"};
    if (url) {
        if (!is_http_url(url->value, true))
            return make_error(url->origin,
                              fmt::format("must be the queue's http(s) URL, e.g. "
                                          "https://sqs.us-east-1.amazonaws.com/123456789012/"
                                          "login-queue (got '{}')",
                                          shown(url->value)));
        t.queue_url = url->value;
    } else {
        if (!is_queue_name(name->value))
            return make_error(name->origin,
                              fmt::format("must be 1 to 80 letters, digits, - or _ (optionally "
                                          "ending in .fifo) (got '{}')",
                                          shown(name->value)));
        t.queue_name = name->value;
    }

    SQS2PG_TRY(endpoint, get_string(o, "endpoint-url"));
    if (endpoint && !is_http_url(*endpoint, false))
        return make_error(
            o.find("endpoint-url")->origin,
            fmt::format("must be an http:// or https:// URL (got '{}')", shown(*endpoint)));
    t.endpoint_url = endpoint;

    SQS2PG_TRY(region, get_string(o, "region"));
    if (region && !std::all_of(region->begin(), region->end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-';
        }))
        return make_error(
            o.find("region")->origin,
            fmt::format("must be a region name such as eu-west-1 (got '{}')", shown(*region)));
    t.region = region;

    SQS2PG_TRY(ca_bundle, get_string(o, "ca-bundle"));
    if (ca_bundle && ::access(ca_bundle->c_str(), R_OK) != 0)
        return make_error(o.find("ca-bundle")->origin,
                          fmt::format("cannot read '{}'", shown(*ca_bundle)));
    t.ca_bundle = ca_bundle;

    SQS2PG_TRY(protocol, get_choice(o, "sqs-protocol", {"query", "json"}));
    if (protocol)
        t.protocol = *protocol == "json" ? sqs_protocol::json : sqs_protocol::query;
    return t;
}

config_result<std::string> get_conninfo(const parsed_options& o) {
    // May be empty (libpq then reads PG*); the value is never echoed: it may hold a
    // password.
    const auto* pg = o.find("pg");
    // (in_place_value: config_error is constructible from a string too)
    if (pg == nullptr)
        return config_result<std::string>(boost::system::in_place_value);
    const auto scheme_end = pg->value.find("://");
    if (scheme_end != std::string::npos && !pg->value.starts_with("postgresql://") &&
        !pg->value.starts_with("postgres://"))
        return make_error(pg->origin, "must be a key=value connection string or a "
                                      "postgresql:// URL");
    return config_result<std::string>(boost::system::in_place_value, pg->value);
}

config_result<std::optional<table_name>> get_table(const parsed_options& o) {
    SQS2PG_TRY(table, get_string(o, "table"));
    if (!table)
        return std::optional<table_name>{};
    const auto dot = table->find('.');
    table_name t;
    if (dot == std::string::npos) {
        t.name = *table;
    } else {
        t.schema = table->substr(0, dot);
        t.name = table->substr(dot + 1);
    }
    if (!is_plain_identifier(t.name) ||
        (dot != std::string::npos && !is_plain_identifier(t.schema)))
        return make_error(o.find("table")->origin,
                          fmt::format("must be TABLE or SCHEMA.TABLE, each a lowercase "
                                      "letter or _ then letters, digits or _, at most 63 "
                                      "(got '{}')",
                                      shown(*table)));
    return std::optional<table_name>(std::move(t));
}

config_result<run_config> make_run_config(const parsed_options& o, const environment& env) {
    run_config c;
    if (!o.positionals.empty())
        return config_error{fmt::format("sqs2pg: unexpected argument '{}' (run takes only "
                                        "options; see sqs2pg --help)",
                                        shown(o.positionals.front()))};

    SQS2PG_TRY(target, get_sqs_target(o));
    c.sqs = std::move(target);

    SQS2PG_TRY(dlq, get_string(o, "dead-letter-queue-url"));
    if (dlq && !is_http_url(*dlq, true))
        return make_error(
            o.find("dead-letter-queue-url")->origin,
            fmt::format("must be the dead-letter queue's http(s) URL (got '{}')", shown(*dlq)));
    c.dead_letter_queue_url = dlq;

    SQS2PG_TRY(wait, get_int(o, "wait-time-seconds", 0, 20));
    if (wait)
        c.wait_time = std::chrono::seconds(*wait);
    // 0 would make every received message visible to the other receivers at once; SQS
    // allows it, but it only produces redeliveries here.
    SQS2PG_TRY(visibility, get_int(o, "visibility-timeout", 1, 43200));
    if (visibility)
        c.visibility_timeout = std::chrono::seconds(*visibility);

    SQS2PG_TRY(conninfo, get_conninfo(o));
    c.pg = std::move(conninfo);
    SQS2PG_TRY(table, get_table(o));
    if (table)
        c.table = std::move(*table);

    SQS2PG_TRY(mask, get_choice(o, "mask", {"hmac-sha256", "aes-siv", "sha256"}));
    if (mask)
        c.mask = *mask == "aes-siv"  ? mask_algorithm::aes_siv
                 : *mask == "sha256" ? mask_algorithm::sha256
                                     : mask_algorithm::hmac_sha256;
    SQS2PG_TRY(key_file, get_string(o, "mask-key-file"));
    if (key_file)
        c.mask_key_file = *key_file;
    // The keyring may also sit in the environment itself (SQS2PG_MASK_KEY, the text
    // `sqs2pg keygen` prints); the mask module reads it from there, never from here.
    if (c.mask != mask_algorithm::sha256 && c.mask_key_file.empty() &&
        !env.get("SQS2PG_MASK_KEY")) {
        const auto* m = o.find("mask");
        return config_error{
            fmt::format("sqs2pg: --mask-key-file: a key is required for {} masking (create one "
                        "with `sqs2pg keygen > mask.keys`, then pass --mask-key-file mask.keys "
                        "or put its line in SQS2PG_MASK_KEY)",
                        m ? m->value : std::string("hmac-sha256"))};
    }

    SQS2PG_TRY(drain, get_bool(o, "drain"));
    c.drain = drain.value_or(false);
    SQS2PG_TRY(receivers, get_int(o, "receivers", 1, 64));
    if (receivers)
        c.receivers = static_cast<int>(*receivers);
    SQS2PG_TRY(batch, get_int(o, "batch-size", 1, 1000));
    if (batch)
        c.batch_size = static_cast<int>(*batch);
    SQS2PG_TRY(delay, get_int(o, "batch-max-delay-ms", 0, 10'000));
    if (delay)
        c.batch_max_delay = std::chrono::milliseconds(*delay);
    SQS2PG_TRY(bytes, get_size(o, "max-in-flight-bytes", 1ull << 20, 64ull << 30));
    if (bytes)
        c.max_in_flight_bytes = *bytes;

    if (const auto* l = o.find("listen")) {
        auto addr = ops::parse_listen_address(l->value);
        if (!addr)
            return make_error(l->origin,
                              fmt::format("{} (got '{}')", addr.error().reason, shown(l->value)));
        c.listen = *addr;
    }

    c.log_format = env.stderr_is_tty ? ops::log_format::text : ops::log_format::json;
    SQS2PG_TRY(format, get_choice(o, "log-format", {"json", "text"}));
    if (format)
        c.log_format = *format == "text" ? ops::log_format::text : ops::log_format::json;
    SQS2PG_TRY(lvl, get_choice(o, "log-level", {"debug", "info", "warn", "error"}));
    if (lvl)
        ops::parse_level(*lvl, c.log_level);
    return c;
}

config_result<invocation> parse_command_line(std::span<const std::string> argv,
                                             const environment& env) {
    const auto args = argv.empty() ? argv : argv.subspan(1);
    SQS2PG_TRY(cl, parse_command(args));
    invocation inv;
    inv.cmd = cl.cmd;
    if (cl.cmd != command::run) {
        inv.args = std::move(cl.args);
        return inv;
    }
    SQS2PG_TRY(opts, parse_options(run_options(), cl.args, env));
    inv.help = opts.help;
    inv.version = opts.version;
    if (!inv.help && !inv.version) {
        SQS2PG_TRY(run, make_run_config(opts, env));
        inv.run = std::move(run);
    }
    inv.args = std::move(cl.args);
    return inv;
}

config_result<invocation> parse_command_line(int argc, const char* const* argv,
                                             const environment& env) {
    std::vector<std::string> v;
    v.reserve(static_cast<std::size_t>(std::max(argc, 0)));
    for (int i = 0; i < argc; ++i)
        v.emplace_back(argv[i] ? argv[i] : "");
    return parse_command_line(std::span<const std::string>(v), env);
}

std::string help_text() {
    std::string out =
        "usage: sqs2pg [run] [OPTIONS]\n"
        "       sqs2pg COMMAND [ARGS]    (sqs2pg COMMAND --help for its own options)\n"
        "\n"
        "Moves login events from an SQS queue into PostgreSQL, masking ip and device_id\n"
        "with a keyed function. A message is deleted from SQS only after its row is\n"
        "committed; a redelivered message never becomes a second row.\n"
        "\n"
        "Commands:\n"
        "  run        the pipeline (the default)\n"
        "  keygen     write a new masking key file\n"
        "  unmask     reveal masked values with the key (aes-siv)\n"
        "  rejects    list, show or replay rejected messages\n"
        "\n"
        "Every option can also be set in the environment (names below); a flag wins over\n"
        "the environment. Values: --flag VALUE or --flag=VALUE.\n";
    out += format_options_help(run_options());
    out += "\nOther:\n"
           "  -h, --help\n"
           "      this text\n"
           "  --version\n"
           "      the version and build revision\n"
           "\nExit status: 0 done (or drained), 1 runtime failure, 2 bad configuration.\n";
    return out;
}

} // namespace sqs2pg::app
