// The front door: the command word, run's options into an invocation, and the help
// text of `sqs2pg --help`.
#include <sqs2pg/app/config.hpp>

#include <algorithm>

namespace sqs2pg::app {

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
        "  unmask     reveal masked values with the key (aes-siv, ipcrypt, ipcrypt-pfx)\n"
        "  rekey      move those values to the active key after a rotation\n"
        "  rejects    list, show or replay rejected messages\n"
        "  rds-token  print an RDS IAM auth token (for psql)\n"
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
