// The option engine every command uses: flags and environment fallbacks parsed against
// a table of option_spec, typed readers with one-line errors, the help text of a table,
// and the command word. Sans-io: argv and the environment come in as values.
#pragma once

#include <boost/system/result.hpp>

#include <array>
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
/// (which must return a config_result). `var` names a variable, so it cannot be
/// parenthesized.
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

// --- options -----------------------------------------------------------------------------

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

/// A user's value as it may appear inside an error line: control characters as '?',
/// at most 60 characters and then "...", so the error stays one short line.
std::string show_value(std::string_view v);

// --- commands ----------------------------------------------------------------------------

enum class command { run, keygen, unmask, rejects, rekey, rds_token };

std::string_view command_name(command c);

/// argv split into the command and its arguments.
struct command_line {
    command cmd = command::run;
    std::vector<std::string> args; ///< everything after the command word
};

/// Reads the command word: `sqs2pg [run|keygen|unmask|rejects|rekey|rds-token] ...`;
/// without one (no arguments, or an option first) the command is run. `args` excludes the program
/// name. An unknown word is an error listing the commands.
config_result<command_line> parse_command(std::span<const std::string> args);

} // namespace sqs2pg::app
