// sqs2pg entry point. Until the pipeline lands (docs/roadmap in README), the binary
// answers --help and --version, runs the key subcommands (keygen, unmask) and says
// plainly that it cannot run the job yet.
#include <sqs2pg/app/commands/keys.hpp>
#include <sqs2pg/version.hpp>

#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
    // Subcommands: the first word, the rest are theirs.
    if (argc > 1) {
        const std::string_view command = argv[1];
        if (command == "keygen" || command == "unmask") {
            const std::vector<std::string_view> rest(argv + 2, argv + argc);
            if (command == "keygen")
                return sqs2pg::app::run_keygen(rest, std::cout, std::cerr);
            const char* env_key = std::getenv("SQS2PG_MASK_KEY");
            return sqs2pg::app::run_unmask(
                rest, env_key ? std::optional<std::string_view>(env_key) : std::nullopt, std::cin,
                std::cout, std::cerr);
        }
    }
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--version") {
            fmt::print("sqs2pg {} ({})\n", sqs2pg::version_string, sqs2pg::vcs_revision);
            return 0;
        }
        if (arg == "--help" || arg == "-h") {
            fmt::print("usage: sqs2pg [--help] [--version]\n"
                       "       sqs2pg keygen [--kid ID]\n"
                       "       sqs2pg unmask [--mask-key-file PATH] [VALUE...]\n\n"
                       "Moves login events from an SQS queue into PostgreSQL, masking the\n"
                       "personal fields. The pipeline is not built yet in this version.\n");
            return 0;
        }
    }
    fmt::print(stderr, "sqs2pg: the pipeline is not implemented in this version yet "
                       "(only --help, --version, keygen and unmask work)\n");
    return 1;
}
