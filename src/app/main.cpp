// sqs2pg entry point: parses the command line (bad configuration: one line, exit 2) and
// hands each command to its implementation in the app module.
#include <sqs2pg/app/commands/keys.hpp>
#include <sqs2pg/app/commands/rejects.hpp>
#include <sqs2pg/app/commands/rekey.hpp>
#include <sqs2pg/app/commands/run.hpp>
#include <sqs2pg/app/config.hpp>
#include <sqs2pg/app/pg_iam.hpp>
#include <sqs2pg/app/process.hpp>
#include <sqs2pg/version.hpp>

#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace sqs2pg;

std::vector<std::string_view> views(const std::vector<std::string>& args) {
    return {args.begin(), args.end()};
}

} // namespace

int main(int argc, char** argv) {
    // Before anything reads a key or a secret.
    app::harden_process();
    const auto env = app::environment::from_process();
    if (const auto v = env.get("SQS2PG_ALLOW_CORE_DUMPS");
        v && (*v == "1" || *v == "true" || *v == "yes" || *v == "on"))
        app::allow_core_dumps(); // for every command; run also has --allow-core-dumps
    const auto inv = app::parse_command_line(argc, argv, env);
    if (!inv) {
        fmt::print(stderr, "{}\n", inv.error().message);
        return 2;
    }
    if (inv->version) {
        fmt::print("sqs2pg {} ({})\n", version_string, vcs_revision);
        return 0;
    }
    switch (inv->cmd) {
    case app::command::keygen:
        return app::run_keygen(views(inv->args), env, std::cout, std::cerr);
    case app::command::unmask:
        return app::run_unmask(views(inv->args), env, std::cin, std::cout, std::cerr);
    case app::command::rds_token:
        return app::run_rds_token(inv->args, env, std::cout, std::cerr);
    case app::command::rejects:
        return app::run_rejects(inv->args, env, std::cout, std::cerr);
    case app::command::rekey:
        return app::run_rekey(inv->args, env, std::cout, std::cerr);
    case app::command::run:
        break;
    }
    if (inv->help) {
        fmt::print("{}", app::help_text());
        return 0;
    }
    if (inv->run.allow_core_dumps)
        app::allow_core_dumps();
    return app::run_command(inv->run, env);
}
