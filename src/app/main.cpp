// sqs2pg entry point. Until the pipeline lands (docs/roadmap in README), the binary
// answers --help and --version and says plainly that it cannot run the job yet.
#include <sqs2pg/version.hpp>

#include <fmt/core.h>

#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--version") {
            fmt::print("sqs2pg {} ({})\n", sqs2pg::version_string, sqs2pg::vcs_revision);
            return 0;
        }
        if (arg == "--help" || arg == "-h") {
            fmt::print("usage: sqs2pg [--help] [--version]\n\n"
                       "Moves login events from an SQS queue into PostgreSQL, masking the\n"
                       "personal fields. The pipeline is not built yet in this version.\n");
            return 0;
        }
    }
    fmt::print(stderr, "sqs2pg: the pipeline is not implemented in this version yet "
                       "(only --help and --version work)\n");
    return 1;
}
