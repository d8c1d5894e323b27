// The front door: the command word, then for `run` its options, environment and
// validation (run_options.hpp) into what main is asked to do. Sans-io: argv and the
// environment come in as values; a bad setting comes back as one line naming the flag
// or variable.
#pragma once

#include <sqs2pg/app/options.hpp>
#include <sqs2pg/app/run_options.hpp>

#include <span>
#include <string>
#include <vector>

namespace sqs2pg::app {

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
