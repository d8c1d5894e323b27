// The option engine: environment, flag parsing with environment fallbacks, typed
// readers, sizes, the help text of an option table, and the command word.
#include <sqs2pg/app/options.hpp>
#include <sqs2pg/base/text.hpp>

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

extern char** environ; // NOLINT: POSIX, declared by no standard header

namespace sqs2pg::app {
namespace {

constexpr std::size_t max_shown = 60;

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

std::string show_value(std::string_view v) {
    std::string out = base::printable(v.substr(0, max_shown));
    if (v.size() > max_shown)
        out += "...";
    return out;
}

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
            return make_error(show_value(a), "unknown option (options start with --; see --help)");
        const auto eq = a.find('=');
        const std::string_view name = a.substr(2, eq == std::string_view::npos ? a.npos : eq - 2);
        const std::string flag = fmt::format("--{}", name);
        const option_spec* spec = find_spec(specs, name);
        if (spec == nullptr)
            return make_error(show_value(flag), "unknown option (see --help)");
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
                                                 min, max, show_value(text)));
    if (ec == std::errc::result_out_of_range || n < min || n > max)
        return make_error(v->origin, fmt::format("must be between {} and {} (got {})", min, max,
                                                 show_value(text)));
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
                                                 show_value(v->value)));
    if (*n < min || *n > max)
        return make_error(v->origin,
                          fmt::format("must be between {} and {} (got {})", format_size(min),
                                      format_size(max), show_value(v->value)));
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
    return make_error(v->origin,
                      fmt::format("must be true or false (got '{}')", show_value(v->value)));
}

config_result<std::optional<std::string>>
get_choice(const parsed_options& o, std::string_view name,
           std::initializer_list<std::string_view> choices) {
    const auto* v = o.find(name);
    if (v == nullptr)
        return std::optional<std::string>{};
    if (std::find(choices.begin(), choices.end(), v->value) == choices.end())
        return make_error(v->origin, fmt::format("must be one of {} (got '{}')",
                                                 join(choices, ", "), show_value(v->value)));
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
constexpr std::array<std::pair<std::string_view, command>, 6> command_words{{
    {"run", command::run},
    {"keygen", command::keygen},
    {"unmask", command::unmask},
    {"rejects", command::rejects},
    {"rekey", command::rekey},
    {"rds-token", command::rds_token},
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
                                    "unmask, rejects, rekey, rds-token; see sqs2pg --help)",
                                    show_value(args.front()))};
}

} // namespace sqs2pg::app
