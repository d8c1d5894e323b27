// End to end: the command line as a user meets it. Bad configuration exits 2 with one
// line on stderr that names the flag (or variable) and what is wrong, before touching
// any service; --help, --version and keygen answer; a queue that does not exist fails.
#include <sqs2pg/mask/keyring.hpp>

#include "harness.hpp"
#include "test_env.hpp"
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

namespace sqs2pg::e2e {
namespace {

class command_line : public e2e_test {
protected:
    // `args` without the flag `name` and its value.
    static std::vector<std::string> without(std::vector<std::string> args, std::string_view name) {
        const auto it = std::find(args.begin(), args.end(), name);
        if (it != args.end())
            args.erase(it, it + 2);
        return args;
    }

    // Runs sqs2pg and expects exit 2, nothing on stdout, and one stderr line starting
    // with "sqs2pg: " that contains each of `needles`. Also checks that nothing was done:
    // no table created, no message taken from the queue.
    void expect_refused(const std::vector<std::string>& args, const std::vector<std::string>& env,
                        std::initializer_list<std::string_view> needles) {
        sqs().send(queue_url_, {R"({"user_id":"u"})"});
        auto r = run(args, env, 30s);
        EXPECT_TRUE(r.status.exited_with(2)) << r.status.describe() << "\n" << r.err;
        EXPECT_EQ(r.out, "");
        const auto lines = lines_of(r.err);
        ASSERT_EQ(lines.size(), 1u) << "expected one line on stderr, got:\n" << r.err;
        EXPECT_TRUE(lines[0].starts_with("sqs2pg: ")) << lines[0];
        for (const auto n : needles)
            EXPECT_NE(lines[0].find(n), std::string::npos) << "'" << n << "' not in: " << lines[0];
        EXPECT_EQ(rows_if_any(), -1) << "a refused configuration created the table";
        EXPECT_EQ(counts().visible, 1u) << "a refused configuration received a message";
    }
};

TEST_F(command_line, AnUnknownFlagIsNamed) {
    expect_refused(run_args({"--drain", "--no-such-flag"}), run_env(), {"--no-such-flag"});
}

TEST_F(command_line, AnOutOfRangeNumberNamesTheFlagAndTheRange) {
    expect_refused(run_args({"--receivers", "0"}), run_env(), {"--receivers", "0", "64"});
}

TEST_F(command_line, ABatchSizeAboveTheLimitIsRefused) {
    expect_refused(run_args({"--batch-size", "1001"}), run_env(), {"--batch-size", "1001"});
}

TEST_F(command_line, AnUnknownLogLevelListsTheChoices) {
    expect_refused(run_args({"--log-level", "verbose"}), run_env(),
                   {"--log-level", "verbose", "debug"});
}

TEST_F(command_line, ABadValueFromTheEnvironmentNamesTheVariable) {
    expect_refused(run_args(), run_env({"SQS2PG_RECEIVERS=0"}), {"SQS2PG_RECEIVERS"});
}

TEST_F(command_line, AMissingQueueSaysWhichFlagsCanGiveIt) {
    expect_refused(without(run_args(), "--queue-url"), run_env(), {"--queue-url", "--queue-name"});
}

TEST_F(command_line, AMissingKeySaysHowToMakeOne) {
    expect_refused(without(run_args(), "--mask-key-file"), run_env(),
                   {"--mask-key-file", "keygen"});
}

TEST_F(command_line, AKeyFileThatDoesNotExistIsNamed) {
    const auto missing = dir_ + "/no-such.keys";
    auto args = without(run_args(), "--mask-key-file");
    args.insert(args.end(), {"--mask-key-file", missing});
    expect_refused(args, run_env(), {missing});
}

TEST_F(command_line, AKeyFileThatIsNotAKeyringIsNamedWithoutEchoingIt) {
    const auto bad = dir_ + "/bad.keys";
    {
        std::ofstream f(bad);
        f << "k1 not-a-key-secretish-material\n";
    }
    ::chmod(bad.c_str(), 0600); // a readable key file is refused too: not this test's point
    auto args = without(run_args(), "--mask-key-file");
    args.insert(args.end(), {"--mask-key-file", bad});
    expect_refused(args, run_env(), {bad});
    // (expect_refused checked the single line; the value must not be echoed in it)
    auto r = run(args, run_env(), 30s);
    EXPECT_EQ(r.err.find("secretish"), std::string::npos) << r.err;
}

TEST_F(command_line, AKeyFileGroupOrOthersCanReadIsRefusedWithTheFix) {
    const auto shared = dir_ + "/shared.keys";
    std::filesystem::copy_file(key_file_, shared);
    ASSERT_EQ(::chmod(shared.c_str(), 0640), 0);
    auto args = without(run_args(), "--mask-key-file");
    args.insert(args.end(), {"--mask-key-file", shared});
    expect_refused(args, run_env(),
                   {"--mask-key-file " + shared + ": readable by group or others (mode 0640)",
                    "run chmod 600 " + shared});
    // From the variable too.
    auto r = run(without(run_args(), "--mask-key-file"),
                 run_env({"SQS2PG_MASK_KEY_FILE=" + shared}), 30s);
    EXPECT_TRUE(r.status.exited_with(2)) << r.status.describe() << "\n" << r.err;
    EXPECT_NE(r.err.find("run chmod 600 " + shared), std::string::npos) << r.err;
}

// Each of these would sign requests for AWS and send them, session token included, in
// clear: refused before anything is sent.
TEST_F(command_line, PlainHttpToAnAwsEndpointIsRefused) {
    auto args = without(run_args(), "--endpoint-url");
    args.insert(args.end(), {"--endpoint-url", "http://sqs.us-east-1.amazonaws.com"});
    expect_refused(args, run_env(),
                   {"--endpoint-url", "plain http://", "sqs.us-east-1.amazonaws.com", "https://"});
}

TEST_F(command_line, PlainHttpToAwsFromTheEnvironmentIsRefused) {
    // The standard AWS variable feeds --endpoint-url and is named.
    expect_refused(without(run_args(), "--endpoint-url"),
                   run_env({"AWS_ENDPOINT_URL_SQS=http://sqs.us-east-1.amazonaws.com"}),
                   {"AWS_ENDPOINT_URL_SQS", "plain http://"});
}

TEST_F(command_line, PlainHttpAwsQueueUrlsAreRefused) {
    auto args = without(run_args(), "--queue-url");
    args.insert(args.end(),
                {"--queue-url", "http://sqs.eu-west-1.amazonaws.com/123456789012/login-queue"});
    expect_refused(args, run_env(), {"--queue-url", "plain http://"});
    auto r = run(run_args({"--dead-letter-queue-url", "http://sqs.us-east-1.amazonaws.com/1/dlq"}),
                 run_env(), 30s);
    EXPECT_TRUE(r.status.exited_with(2)) << r.status.describe() << "\n" << r.err;
    EXPECT_TRUE(r.err.starts_with("sqs2pg: --dead-letter-queue-url: plain http://")) << r.err;
}

TEST_F(command_line, ABadDatabaseUrlIsRefusedWithoutEchoingThePassword) {
    auto args = without(run_args(), "--pg");
    args.insert(args.end(), {"--pg", "mysql://user:hunter2secret@127.0.0.1/db"});
    expect_refused(args, run_env(), {"--pg"});
    auto r = run(args, run_env(), 30s);
    EXPECT_EQ(r.err.find("hunter2secret"), std::string::npos) << r.err;
}

TEST_F(command_line, AnUnknownCommandListsTheCommands) {
    expect_refused({"frobnicate"}, run_env(), {"frobnicate", "keygen"});
}

TEST_F(command_line, HelpAndVersionAnswerEvenWithBadArguments) {
    auto help = run({"--help", "--receivers", "0"}, run_env(), 30s);
    EXPECT_TRUE(help.status.exited_with(0)) << help.status.describe() << "\n" << help.err;
    for (const char* flag : {"--queue-url", "--queue-name", "--pg", "--mask-key-file", "--drain",
                             "--receivers", "--batch-size", "--visibility-timeout", "--listen",
                             "--dead-letter-queue-url", "--log-format", "--log-level"})
        EXPECT_NE(help.out.find(flag), std::string::npos) << flag << " missing from --help";

    auto version = run({"--version"}, run_env(), 30s);
    EXPECT_TRUE(version.status.exited_with(0)) << version.status.describe();
    EXPECT_TRUE(version.out.starts_with("sqs2pg ")) << version.out;
    EXPECT_EQ(lines_of(version.out).size(), 1u) << version.out;
    // "sqs2pg VERSION (REVISION)": the revision is filled in (git describe, the revision
    // option, or 'unknown'), never left empty.
    static const std::regex version_line(R"(sqs2pg [0-9]+\.[0-9]+\.[0-9]+ \([^()\s]+\)\n?)");
    EXPECT_TRUE(std::regex_match(version.out, version_line)) << version.out;
}

TEST_F(command_line, KeygenWritesAKeyringThatLoads) {
    // SetUp made key_text_ with `sqs2pg keygen`; each call gives a new key.
    auto keys = mask::parse_keyring(key_text_, "keygen");
    ASSERT_TRUE(keys) << "keygen's output does not parse as a keyring";
    EXPECT_EQ(keys->keys().size(), 1u);
    auto again = run({"keygen", "--kid", "e2e"}, run_env(), 30s);
    ASSERT_TRUE(again.status.exited_with(0)) << again.err;
    auto second = mask::parse_keyring(again.out, "keygen");
    ASSERT_TRUE(second);
    EXPECT_EQ(second->active().id(), "e2e");
    EXPECT_NE(second->active().material(), keys->active().material());
}

// Not a flag error: the queue is looked up at start. It must fail rather than wait, and
// say which queue.
TEST_F(command_line, AQueueThatDoesNotExistFailsAndIsNamed) {
    const auto name = test::unique_name("e2e_missing_");
    auto args = without(run_args({"--drain"}), "--queue-url");
    args.insert(args.end(), {"--queue-name", name});
    auto r = run(args, run_env(), 60s);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.status.signal, 0) << r.status.describe();
    EXPECT_NE(r.status.code, 0) << r.err;
    EXPECT_NE(r.err.find(name), std::string::npos) << "the queue is not named:\n" << r.err;
}

} // namespace
} // namespace sqs2pg::e2e
