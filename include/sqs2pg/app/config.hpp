// Command line and environment -> configuration. Sans-io: argv and the environment come
// in as values; a bad setting comes back as one line naming the flag or variable.
#pragma once

#include <sqs2pg/ops/endpoint.hpp>
#include <sqs2pg/ops/log.hpp>

#include <boost/system/result.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::app {

/// A configuration error. `message` is one line, "sqs2pg: <flag or VARIABLE>: <what is
/// wrong>", meant for stderr before exiting with status 2.
struct config_error {
    std::string message;
};

[[noreturn]] inline void throw_exception_from_error(const config_error& e,
                                                    const boost::source_location&) {
    throw std::invalid_argument(e.message);
}

template <class T>
using config_result = boost::system::result<T, config_error>;

/// Unwraps a config_result into `var`, or returns its error from the enclosing function
/// (which must return a config_result).
// NOLINTBEGIN(bugprone-macro-parentheses)
#define SQS2PG_TRY(var, expr)                                                                      \
    auto var##_r = (expr);                                                                         \
    if (!var##_r)                                                                                  \
        return var##_r.error();                                                                    \
    auto var = std::move(*var##_r)
// NOLINTEND(bugprone-macro-parentheses)

/// The process environment as the parser sees it; tests build one by hand.
struct environment {
    std::map<std::string, std::string, std::less<>> vars;
    bool stderr_is_tty = false;
    bool stdout_is_tty = false;

    /// This process's environment and whether stderr and stdout are terminals.
    static environment from_process();
    /// The value of `name`; nullopt when unset or empty (an empty variable counts as unset).
    std::optional<std::string_view> get(std::string_view name) const;
};

// --- generic options (shared by every subcommand) ------------------------------------

/// One option of a command: `--name VALUE` or `--name=VALUE`; a switch (`--name`, or
/// `--name=true|false`) when `metavar` is empty.
struct option_spec {
    std::string_view name;                 ///< without the leading "--"
    std::string_view metavar;              ///< "URL", "N", ...; empty for a switch
    std::string_view group;                ///< section of the help text
    std::string_view help;                 ///< one line
    std::string_view default_text;         ///< shown in the help; empty: no default
    std::array<std::string_view, 3> env{}; ///< environment names, earlier ones win
};

/// Where a value came from: the command line or the environment.
enum class value_source { flag, env };

struct option_value {
    std::string value;
    value_source source = value_source::flag;
    std::string origin; ///< "--receivers" or "SQS2PG_RECEIVERS": what error messages name
};

/// The options of one command, after flags and then environment fallbacks.
struct parsed_options {
    bool help = false;    ///< --help or -h was given
    bool version = false; ///< --version was given
    std::vector<std::string> positionals;
    std::map<std::string, option_value, std::less<>> values; ///< by option name

    /// The value of option `name`, or nullptr when neither flag nor environment set it.
    const option_value* find(std::string_view name) const;
};

/// Parses `args` (the arguments after the command word) against `specs`, then fills the
/// options not given from the environment names in each spec. A flag given twice keeps
/// the last value; "--" ends the options. --help, -h and --version are known to every
/// command and win over any error in the other arguments. `specs` must outlive the call.
config_result<parsed_options> parse_options(std::span<const option_spec> specs,
                                            std::span<const std::string> args,
                                            const environment& env);

/// Typed readers of a parsed option. Each returns nullopt when the option is not set,
/// the value when it is valid, and otherwise an error naming where it came from.
config_result<std::optional<std::string>> get_string(const parsed_options& o,
                                                     std::string_view name);
config_result<std::optional<std::int64_t>> get_int(const parsed_options& o, std::string_view name,
                                                   std::int64_t min, std::int64_t max);
/// Sizes: a count of bytes with an optional unit: B, K/KiB, M/MiB, G/GiB (1024-based) or
/// KB, MB, GB (1000-based), case-insensitive, e.g. "64MiB", "512k", "1048576".
config_result<std::optional<std::uint64_t>> get_size(const parsed_options& o, std::string_view name,
                                                     std::uint64_t min, std::uint64_t max);
/// Switches: true for "1", "true", "yes", "on"; false for "0", "false", "no", "off".
config_result<std::optional<bool>> get_bool(const parsed_options& o, std::string_view name);
/// One of `choices` (exact match); the error lists them.
config_result<std::optional<std::string>>
get_choice(const parsed_options& o, std::string_view name,
           std::initializer_list<std::string_view> choices);

/// Parses a size as get_size does; nullopt if `text` is not one.
std::optional<std::uint64_t> parse_size(std::string_view text);
/// "64MiB" for 67108864; plain bytes when no binary unit divides evenly.
std::string format_size(std::uint64_t bytes);

/// The option list of `specs` for a help text: grouped by section in the order the
/// groups first appear, each option with its default and environment names.
std::string format_options_help(std::span<const option_spec> specs);

/// "sqs2pg: <origin>: <what>" - the one-line error every reader above produces.
config_error make_error(std::string_view origin, std::string_view what);

// --- commands --------------------------------------------------------------------------

enum class command { run, keygen, unmask, rejects };

std::string_view command_name(command c);

/// argv split into the command and its arguments.
struct command_line {
    command cmd = command::run;
    std::vector<std::string> args; ///< everything after the command word
};

/// Reads the command word: `sqs2pg [run|keygen|unmask|rejects] ...`; without one (no
/// arguments, or an option first) the command is run. `args` excludes the program name.
/// An unknown word is an error listing the commands.
config_result<command_line> parse_command(std::span<const std::string> args);

// --- the run command -------------------------------------------------------------------

enum class sqs_protocol { query, json };
enum class mask_algorithm { hmac_sha256, aes_siv, sha256 };

/// A table, optionally schema-qualified; both parts are plain lowercase identifiers.
struct table_name {
    std::string schema; ///< empty: the search_path decides
    std::string name = "user_logins";
    friend bool operator==(const table_name&, const table_name&) = default;
};

/// Everything `sqs2pg run` needs, validated. Holds the Postgres connection string, which
/// may carry a password: never log it.
/// The queue and how to reach it: --queue-url or --queue-name (exactly one, required),
/// --endpoint-url, --region, --sqs-protocol.
struct sqs_target {
    std::string queue_url;                   ///< set, or queue_name is
    std::string queue_name;                  ///< resolved with GetQueueUrl
    std::optional<std::string> endpoint_url; ///< default: derived from the queue URL/region
    std::optional<std::string> region;       ///< default: the AWS chain / the queue URL
    std::optional<std::string> ca_bundle;    ///< extra trusted CAs (PEM), beside the system's
    sqs_protocol protocol = sqs_protocol::query;
};

struct run_config {
    sqs_target sqs;
    std::string pg; ///< conninfo or URL; empty: libpq's PG* variables
    table_name table;
    mask_algorithm mask = mask_algorithm::hmac_sha256;
    std::string mask_key_file; ///< required unless mask is sha256
    std::optional<std::string> dead_letter_queue_url;
    bool drain = false;
    int receivers = 4;
    int batch_size = 250;
    std::chrono::milliseconds batch_max_delay{50};
    /// Long-poll wait; nullopt: 20 s, or 1 s in drain mode (so the end of the queue is
    /// noticed within a second instead of a full long poll).
    std::optional<std::chrono::seconds> wait_time;
    std::optional<std::chrono::seconds> visibility_timeout; ///< default: the queue's own
    std::uint64_t max_in_flight_bytes = 64ull << 20;
    std::optional<ops::listen_address> listen;
    ops::log_format log_format = ops::log_format::json;
    ops::level log_level = ops::level::info;
};

/// The options of `sqs2pg run` (for parse_options and the help text).
std::span<const option_spec> run_options();

/// The run option called `name` (without "--"), so that other commands can offer the
/// same flag with the same environment names. Throws std::out_of_range for an unknown name.
const option_spec& run_option(std::string_view name);

// --- settings run shares with other commands (validated by the same rules) -------------

config_result<sqs_target> get_sqs_target(const parsed_options& o);

/// --pg: a key=value string or postgresql:// URL, "" when unset (libpq's PG* variables).
/// Error messages never echo the value: it may hold a password.
config_result<std::string> get_conninfo(const parsed_options& o);

/// --table: TABLE or SCHEMA.TABLE, plain lowercase identifiers; nullopt when unset.
config_result<std::optional<table_name>> get_table(const parsed_options& o);

/// Validates the parsed options of `run` into a run_config (`env` gives the TTY default
/// of --log-format).
config_result<run_config> make_run_config(const parsed_options& opts, const environment& env);

/// What main is asked to do.
struct invocation {
    command cmd = command::run;
    bool help = false;             ///< print help_text() (run) and exit 0
    bool version = false;          ///< print the version and exit 0
    run_config run;                ///< valid when cmd == run and neither help nor version
    std::vector<std::string> args; ///< the arguments after the command word, for other commands
};

/// The whole front door: command word, then for run its options, environment and
/// validation. Other commands come back with their arguments for their own parser.
/// `argv[0]` (the program name) is skipped.
config_result<invocation> parse_command_line(std::span<const std::string> argv,
                                             const environment& env);
config_result<invocation> parse_command_line(int argc, const char* const* argv,
                                             const environment& env);

/// `sqs2pg --help`: usage, the commands, and every run option grouped, with defaults
/// and environment names.
std::string help_text();

} // namespace sqs2pg::app
