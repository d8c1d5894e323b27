// Configuration: every flag in both spellings, environment fallbacks and precedence,
// one-line errors naming the flag or variable, --help/--version, commands, help text.
#include <sqs2pg/app/config.hpp>
#include <sqs2pg/app/sqs_settings.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace sqs2pg::app {
namespace {

using namespace std::chrono_literals;

environment env_of(std::initializer_list<std::pair<const char*, const char*>> vars,
                   bool tty = false) {
    environment e;
    for (const auto& [k, v] : vars)
        e.vars[k] = v;
    e.stderr_is_tty = tty;
    return e;
}

config_result<invocation> parse(std::vector<std::string> args, const environment& env = {}) {
    args.insert(args.begin(), "sqs2pg");
    return parse_command_line(std::span<const std::string>(args), env);
}

run_config run_ok(std::vector<std::string> args, const environment& env = {}) {
    auto r = parse(std::move(args), env);
    if (!r) {
        ADD_FAILURE() << r.error().message;
        return {};
    }
    EXPECT_EQ(r->cmd, command::run);
    EXPECT_FALSE(r->help);
    EXPECT_FALSE(r->version);
    return r->run;
}

std::string error_of(std::vector<std::string> args, const environment& env = {}) {
    auto r = parse(std::move(args), env);
    if (r) {
        ADD_FAILURE() << "expected an error";
        return {};
    }
    const auto& m = r.error().message;
    EXPECT_TRUE(m.starts_with("sqs2pg: ")) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m; // exactly one line
    return m;
}

const std::vector<std::string> minimal = {"--queue-url", "http://127.0.0.1:5000/123/q",
                                          "--mask-key-file", "/k"};

std::vector<std::string> with_minimal(std::vector<std::string> extra) {
    auto v = minimal;
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
}

TEST(Config, Defaults) {
    const auto c = run_ok(minimal);
    EXPECT_EQ(c.sqs.queue_url, "http://127.0.0.1:5000/123/q");
    EXPECT_EQ(c.sqs.queue_name, "");
    EXPECT_FALSE(c.sqs.endpoint_url);
    EXPECT_FALSE(c.sqs.region);
    EXPECT_FALSE(c.sqs.ca_bundle);
    EXPECT_EQ(c.sqs.protocol, sqs_protocol::query);
    EXPECT_EQ(c.pg, "");
    EXPECT_EQ(c.table, (table_name{"", "user_logins"}));
    EXPECT_EQ(c.mask,
              (mask::field_modes{mask_algorithm::hmac_sha256, mask_algorithm::hmac_sha256}));
    EXPECT_EQ(c.mask_key_file, "/k");
    EXPECT_FALSE(c.pipeline.dead_letter_queue_url);
    EXPECT_FALSE(c.pipeline.drain);
    EXPECT_EQ(c.pipeline.receivers, 4);
    EXPECT_EQ(c.pipeline.batch_size, 250u);
    EXPECT_EQ(c.pipeline.batch_max_delay, 50ms);
    EXPECT_EQ(c.pipeline.wait_time, 20s);             // 1 s with --drain (WaitTimeFollowsDrain)
    EXPECT_FALSE(c.pipeline.send_visibility_timeout); // the queue's own
    EXPECT_EQ(c.pipeline.max_in_flight_bytes, 64u << 20);
    EXPECT_FALSE(c.listen);
    EXPECT_EQ(c.log_format, ops::log_format::json);
    EXPECT_EQ(c.log_level, ops::level::info);
}

const std::vector<std::string> every_flag = {
    "--queue-name=login-queue.fifo",
    "--endpoint-url=http://localhost:4566",
    "--region=eu-west-1",
    "--sqs-protocol=json",
    "--ca-bundle=/etc/ssl/certs/ca-certificates.crt",
    "--pg=postgresql://u@h/db",
    "--table=ingest.logins_2",
    "--mask=aes-siv",
    "--mask-key-file=/etc/sqs2pg/key",
    "--dead-letter-queue-url=https://sqs.eu-west-1.amazonaws.com/1/dlq",
    "--drain",
    "--receivers=16",
    "--batch-size=1000",
    "--batch-max-delay-ms=0",
    "--wait-time-seconds=0",
    "--visibility-timeout=43200",
    "--max-in-flight-bytes=1GiB",
    "--listen=[::1]:9464",
    "--log-format=text",
    "--log-level=debug",
};

void expect_every_flag(const run_config& c) {
    EXPECT_EQ(c.sqs.queue_url, "");
    EXPECT_EQ(c.sqs.queue_name, "login-queue.fifo");
    EXPECT_EQ(c.sqs.endpoint_url, "http://localhost:4566");
    EXPECT_EQ(c.sqs.region, "eu-west-1");
    EXPECT_EQ(c.sqs.protocol, sqs_protocol::json);
    EXPECT_EQ(c.sqs.ca_bundle, "/etc/ssl/certs/ca-certificates.crt");
    EXPECT_EQ(c.pg, "postgresql://u@h/db");
    EXPECT_EQ(c.table, (table_name{"ingest", "logins_2"}));
    EXPECT_EQ(c.mask, (mask::field_modes{mask_algorithm::aes_siv, mask_algorithm::aes_siv}));
    EXPECT_EQ(c.mask_key_file, "/etc/sqs2pg/key");
    EXPECT_EQ(c.pipeline.dead_letter_queue_url, "https://sqs.eu-west-1.amazonaws.com/1/dlq");
    EXPECT_TRUE(c.pipeline.drain);
    EXPECT_EQ(c.pipeline.receivers, 16);
    EXPECT_EQ(c.pipeline.batch_size, 1000u);
    EXPECT_EQ(c.pipeline.batch_max_delay, 0ms);
    EXPECT_EQ(c.pipeline.wait_time, 0s);
    EXPECT_EQ(c.pipeline.visibility_timeout, 43200s);
    EXPECT_TRUE(c.pipeline.send_visibility_timeout);
    EXPECT_EQ(c.pipeline.max_in_flight_bytes, 1u << 30);
    EXPECT_EQ(c.listen, (ops::listen_address{"::1", 9464}));
    EXPECT_EQ(c.log_format, ops::log_format::text);
    EXPECT_EQ(c.log_level, ops::level::debug);
}

TEST(Config, EveryFlagWithEquals) {
    expect_every_flag(run_ok(every_flag));
}

TEST(Config, EveryFlagWithSeparateValue) {
    std::vector<std::string> split;
    for (const auto& a : every_flag) {
        const auto eq = a.find('=');
        if (eq == std::string::npos) {
            split.push_back(a);
        } else {
            split.push_back(a.substr(0, eq));
            split.push_back(a.substr(eq + 1));
        }
    }
    expect_every_flag(run_ok(split));
}

TEST(Config, EveryFlagFromTheEnvironment) {
    const auto env = env_of({
        {"SQS2PG_QUEUE_NAME", "login-queue.fifo"},
        {"SQS2PG_ENDPOINT_URL", "http://localhost:4566"},
        {"SQS2PG_REGION", "eu-west-1"},
        {"SQS2PG_SQS_PROTOCOL", "json"},
        {"AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"},
        {"SQS2PG_PG", "postgresql://u@h/db"},
        {"SQS2PG_TABLE", "ingest.logins_2"},
        {"SQS2PG_MASK", "aes-siv"},
        {"SQS2PG_MASK_KEY_FILE", "/etc/sqs2pg/key"},
        {"SQS2PG_DEAD_LETTER_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/dlq"},
        {"SQS2PG_DRAIN", "yes"},
        {"SQS2PG_RECEIVERS", "16"},
        {"SQS2PG_BATCH_SIZE", "1000"},
        {"SQS2PG_BATCH_MAX_DELAY_MS", "0"},
        {"SQS2PG_WAIT_TIME_SECONDS", "0"},
        {"SQS2PG_VISIBILITY_TIMEOUT", "43200"},
        {"SQS2PG_MAX_IN_FLIGHT_BYTES", "1GiB"},
        {"SQS2PG_LISTEN", "[::1]:9464"},
        {"SQS2PG_LOG_FORMAT", "text"},
        {"SQS2PG_LOG_LEVEL", "debug"},
    });
    expect_every_flag(run_ok({}, env));
}

TEST(Config, EveryRunOptionHasItsEnvironmentName) {
    for (const auto& spec : run_options()) {
        std::string expected = "SQS2PG_";
        for (char ch : spec.name)
            expected += ch == '-' ? '_' : static_cast<char>(std::toupper(ch));
        EXPECT_EQ(spec.env[0], expected) << spec.name;
    }
}

TEST(Config, StandardAwsAndPostgresNames) {
    auto c = run_ok(minimal, env_of({{"AWS_ENDPOINT_URL", "http://generic:1"},
                                     {"AWS_DEFAULT_REGION", "us-west-2"},
                                     {"DATABASE_URL", "postgres://d"}}));
    EXPECT_EQ(c.sqs.endpoint_url, "http://generic:1");
    EXPECT_EQ(c.sqs.region, "us-west-2");
    EXPECT_EQ(c.pg, "postgres://d");

    // The service-specific and newer names win over the generic ones...
    c = run_ok(minimal, env_of({{"AWS_ENDPOINT_URL", "http://generic:1"},
                                {"AWS_ENDPOINT_URL_SQS", "http://sqs:2"},
                                {"AWS_DEFAULT_REGION", "us-west-2"},
                                {"AWS_REGION", "ap-south-1"}}));
    EXPECT_EQ(c.sqs.endpoint_url, "http://sqs:2");
    EXPECT_EQ(c.sqs.region, "ap-south-1");

    // ...and sqs2pg's own names win over both.
    c = run_ok(minimal, env_of({{"AWS_ENDPOINT_URL_SQS", "http://sqs:2"},
                                {"SQS2PG_ENDPOINT_URL", "http://own:3"},
                                {"AWS_REGION", "ap-south-1"},
                                {"SQS2PG_REGION", "eu-north-1"},
                                {"DATABASE_URL", "postgres://d"},
                                {"SQS2PG_PG", "host=own"}}));
    EXPECT_EQ(c.sqs.endpoint_url, "http://own:3");
    EXPECT_EQ(c.sqs.region, "eu-north-1");
    EXPECT_EQ(c.pg, "host=own");
}

TEST(Config, FlagsWinOverTheEnvironment) {
    const auto env = env_of({{"SQS2PG_RECEIVERS", "8"},
                             {"SQS2PG_DRAIN", "1"},
                             {"SQS2PG_MASK", "sha256"},
                             {"AWS_REGION", "us-east-1"},
                             {"DATABASE_URL", "postgres://env"}});
    const auto c =
        run_ok(with_minimal({"--receivers", "2", "--drain=false", "--mask", "hmac-sha256",
                             "--region", "eu-west-3", "--pg", "host=flag"}),
               env);
    EXPECT_EQ(c.pipeline.receivers, 2);
    EXPECT_FALSE(c.pipeline.drain);
    EXPECT_EQ(c.mask,
              (mask::field_modes{mask_algorithm::hmac_sha256, mask_algorithm::hmac_sha256}));
    EXPECT_EQ(c.sqs.region, "eu-west-3");
    EXPECT_EQ(c.pg, "host=flag");
}

TEST(Config, EmptyVariablesCountAsUnset) {
    const auto c = run_ok(
        minimal, env_of({{"SQS2PG_RECEIVERS", ""}, {"DATABASE_URL", ""}, {"AWS_REGION", ""}}));
    EXPECT_EQ(c.pipeline.receivers, 4);
    EXPECT_EQ(c.pg, "");
    EXPECT_FALSE(c.sqs.region);
}

TEST(Config, LastRepeatedFlagWins) {
    EXPECT_EQ(run_ok(with_minimal({"--receivers=3", "--receivers=5"})).pipeline.receivers, 5);
}

TEST(Config, EmptyPgMeansLibpqVariables) {
    EXPECT_EQ(run_ok(with_minimal({"--pg="}), env_of({{"DATABASE_URL", "postgres://x"}})).pg, "");
}

TEST(Config, LogFormatFollowsTheTerminal) {
    EXPECT_EQ(run_ok(minimal, env_of({}, true)).log_format, ops::log_format::text);
    EXPECT_EQ(run_ok(minimal, env_of({}, false)).log_format, ops::log_format::json);
    EXPECT_EQ(run_ok(with_minimal({"--log-format=json"}), env_of({}, true)).log_format,
              ops::log_format::json);
}

TEST(Config, DefaultsAreThePipelinesOwn) {
    const flow::pipeline_config defaults{};
    const auto c = run_ok(minimal);
    EXPECT_EQ(c.pipeline.receivers, defaults.receivers);
    EXPECT_EQ(c.pipeline.batch_size, defaults.batch_size);
    EXPECT_EQ(c.pipeline.batch_max_delay, defaults.batch_max_delay);
    EXPECT_EQ(c.pipeline.max_in_flight_bytes, defaults.max_in_flight_bytes);
    EXPECT_EQ(c.pipeline.wait_time, defaults.wait_time);
}

TEST(Config, WaitTimeFollowsDrain) {
    EXPECT_EQ(run_ok(with_minimal({"--drain"})).pipeline.wait_time, 0s);
    EXPECT_EQ(run_ok(with_minimal({"--drain", "--wait-time-seconds=5"})).pipeline.wait_time, 5s);
    EXPECT_EQ(run_ok(with_minimal({"--wait-time-seconds=5"})).pipeline.wait_time, 5s);
    EXPECT_EQ(run_ok(minimal, env_of({{"SQS2PG_DRAIN", "1"}})).pipeline.wait_time, 0s);
}

TEST(Config, ShaMaskNeedsNoKey) {
    const auto c = run_ok({"--queue-url=http://h/1/q", "--mask=sha256"});
    EXPECT_EQ(c.mask, (mask::field_modes{mask_algorithm::sha256, mask_algorithm::sha256}));
    EXPECT_EQ(c.mask_key_file, "");
}

TEST(Config, SizesWithUnits) {
    EXPECT_EQ(parse_size("1048576"), 1048576u);
    EXPECT_EQ(parse_size("64MiB"), 64u << 20);
    EXPECT_EQ(parse_size("64mib"), 64u << 20);
    EXPECT_EQ(parse_size("64M"), 64u << 20);
    EXPECT_EQ(parse_size("512k"), 512u << 10);
    EXPECT_EQ(parse_size("2G"), 2ull << 30);
    EXPECT_EQ(parse_size("100MB"), 100'000'000u);
    EXPECT_EQ(parse_size("5 KB"), 5000u);
    EXPECT_EQ(parse_size("7B"), 7u);
    EXPECT_FALSE(parse_size(""));
    EXPECT_FALSE(parse_size("MiB"));
    EXPECT_FALSE(parse_size("1.5GiB"));
    EXPECT_FALSE(parse_size("-1"));
    EXPECT_FALSE(parse_size("64 MiBs"));
    EXPECT_FALSE(parse_size("99999999999999999999"));
    EXPECT_FALSE(parse_size("99999999999G")); // overflows 64 bits
    EXPECT_EQ(format_size(64u << 20), "64MiB");
    EXPECT_EQ(format_size(1536), "1536"); // 1.5 KiB: no whole binary unit
}

// --- the queue: exactly one of URL and name ---------------------------------------------

TEST(Config, QueueMustBeGiven) {
    EXPECT_EQ(error_of({"--mask-key-file=/k"}),
              "sqs2pg: --queue-url or --queue-name is required (or set SQS2PG_QUEUE_URL or "
              "SQS2PG_QUEUE_NAME)");
}

TEST(Config, QueueFromTheEnvironment) {
    const auto c = run_ok({"--mask-key-file=/k"},
                          env_of({{"SQS2PG_QUEUE_URL", "http://127.0.0.1:5000/123/login-queue"}}));
    EXPECT_EQ(c.sqs.queue_url, "http://127.0.0.1:5000/123/login-queue");
}

TEST(Config, OnlyOneQueue) {
    EXPECT_EQ(error_of(with_minimal({"--queue-name=q"})),
              "sqs2pg: --queue-url and --queue-name: give only one of them");
    EXPECT_EQ(error_of({"--mask-key-file=/k"},
                       env_of({{"SQS2PG_QUEUE_URL", "http://h/1/q"}, {"SQS2PG_QUEUE_NAME", "q"}})),
              "sqs2pg: SQS2PG_QUEUE_URL and SQS2PG_QUEUE_NAME: give only one of them");
}

TEST(Config, AQueueFlagOverridesTheOtherQueueVariable) {
    auto c = run_ok({"--queue-name=other", "--mask-key-file=/k"},
                    env_of({{"SQS2PG_QUEUE_URL", "http://h/1/q"}}));
    EXPECT_EQ(c.sqs.queue_name, "other");
    EXPECT_EQ(c.sqs.queue_url, "");
    c = run_ok({"--queue-url=http://h/1/q2", "--mask-key-file=/k"},
               env_of({{"SQS2PG_QUEUE_NAME", "q"}}));
    EXPECT_EQ(c.sqs.queue_url, "http://h/1/q2");
    EXPECT_EQ(c.sqs.queue_name, "");
}

// --- errors: one line naming the flag or variable ---------------------------------------

TEST(ConfigErrors, RangeNamesTheFlag) {
    EXPECT_EQ(error_of(with_minimal({"--receivers", "0"})),
              "sqs2pg: --receivers: must be between 1 and 64 (got 0)");
    EXPECT_EQ(error_of(with_minimal({"--receivers=65"})),
              "sqs2pg: --receivers: must be between 1 and 64 (got 65)");
    EXPECT_EQ(error_of(with_minimal({"--batch-size=1001"})),
              "sqs2pg: --batch-size: must be between 1 and 1000 (got 1001)");
    EXPECT_EQ(error_of(with_minimal({"--wait-time-seconds=21"})),
              "sqs2pg: --wait-time-seconds: must be between 0 and 20 (got 21)");
    EXPECT_EQ(error_of(with_minimal({"--visibility-timeout=0"})),
              "sqs2pg: --visibility-timeout: must be between 1 and 43200 (got 0)");
    EXPECT_EQ(error_of(with_minimal({"--batch-max-delay-ms=10001"})),
              "sqs2pg: --batch-max-delay-ms: must be between 0 and 10000 (got 10001)");
    EXPECT_EQ(error_of(with_minimal({"--receivers=99999999999999999999999"})),
              "sqs2pg: --receivers: must be between 1 and 64 (got 99999999999999999999999)");
}

TEST(ConfigErrors, RangeNamesTheVariable) {
    EXPECT_EQ(error_of(minimal, env_of({{"SQS2PG_RECEIVERS", "0"}})),
              "sqs2pg: SQS2PG_RECEIVERS: must be between 1 and 64 (got 0)");
}

TEST(ConfigErrors, NotANumber) {
    EXPECT_EQ(error_of(with_minimal({"--receivers=four"})),
              "sqs2pg: --receivers: must be a whole number between 1 and 64 (got 'four')");
    EXPECT_EQ(error_of(with_minimal({"--receivers=4x"})),
              "sqs2pg: --receivers: must be a whole number between 1 and 64 (got '4x')");
    EXPECT_EQ(error_of(with_minimal({"--receivers="})),
              "sqs2pg: --receivers: must be a whole number between 1 and 64 (got '')");
}

TEST(ConfigErrors, Choices) {
    EXPECT_EQ(error_of(with_minimal({"--sqs-protocol=xml"})),
              "sqs2pg: --sqs-protocol: must be one of query, json (got 'xml')");
    EXPECT_EQ(error_of(with_minimal({"--mask=md5"})),
              "sqs2pg: --mask: must be one of hmac-sha256, aes-siv, sha256 (got 'md5')");
    EXPECT_EQ(error_of(with_minimal({"--log-format=xml"})),
              "sqs2pg: --log-format: must be one of json, text (got 'xml')");
    EXPECT_EQ(error_of(minimal, env_of({{"SQS2PG_LOG_LEVEL", "verbose"}})),
              "sqs2pg: SQS2PG_LOG_LEVEL: must be one of debug, info, warn, error (got 'verbose')");
}

TEST(ConfigErrors, Sizes) {
    EXPECT_EQ(error_of(with_minimal({"--max-in-flight-bytes=lots"})),
              "sqs2pg: --max-in-flight-bytes: must be a size such as 64MiB, 512KiB or 1GiB "
              "(got 'lots')");
    EXPECT_EQ(error_of(with_minimal({"--max-in-flight-bytes=100KiB"})),
              "sqs2pg: --max-in-flight-bytes: must be between 1MiB and 64GiB (got 100KiB)");
}

TEST(ConfigErrors, Switches) {
    EXPECT_EQ(error_of(minimal, env_of({{"SQS2PG_DRAIN", "maybe"}})),
              "sqs2pg: SQS2PG_DRAIN: must be true or false (got 'maybe')");
    EXPECT_TRUE(run_ok(minimal, env_of({{"SQS2PG_DRAIN", "TRUE"}})).pipeline.drain);
    EXPECT_FALSE(run_ok(minimal, env_of({{"SQS2PG_DRAIN", "0"}})).pipeline.drain);
}

TEST(Config, CaBundleReachesTheHttpsTransport) {
    const auto c = run_ok(with_minimal({"--ca-bundle=/etc/ssl/certs/ca-certificates.crt"}));
    const auto env = env_of({{"AWS_REGION", "eu-west-1"}});
    auto s = resolve_sqs_settings(c.sqs, env);
    ASSERT_TRUE(s);
    EXPECT_EQ(sqs_client_options(c.sqs, *s).http.extra_ca_file,
              "/etc/ssl/certs/ca-certificates.crt");
    EXPECT_EQ(sqs_client_options(run_ok(minimal).sqs, *s).http.extra_ca_file, "");
}

TEST(ConfigErrors, CaBundleMustBeReadable) {
    EXPECT_EQ(error_of(with_minimal({"--ca-bundle=/nonexistent/ca.pem"})),
              "sqs2pg: --ca-bundle: cannot read '/nonexistent/ca.pem'");
    // The AWS SDKs' variable works too, and names itself in the error.
    EXPECT_EQ(error_of(minimal, env_of({{"AWS_CA_BUNDLE", "/nonexistent/b.pem"}})),
              "sqs2pg: AWS_CA_BUNDLE: cannot read '/nonexistent/b.pem'");
}

TEST(ConfigErrors, Urls) {
    EXPECT_EQ(error_of({"--queue-url=login-queue", "--mask-key-file=/k"}),
              "sqs2pg: --queue-url: must be the queue's http(s) URL, e.g. "
              "https://sqs.us-east-1.amazonaws.com/123456789012/login-queue (got 'login-queue')");
    EXPECT_NE(error_of({"--queue-url=http://host/", "--mask-key-file=/k"}).find("--queue-url"),
              std::string::npos);
    EXPECT_EQ(error_of(with_minimal({"--endpoint-url=localhost:4566"})),
              "sqs2pg: --endpoint-url: must be an http:// or https:// URL (got 'localhost:4566')");
    EXPECT_EQ(error_of(minimal, env_of({{"AWS_ENDPOINT_URL_SQS", "ftp://x"}})),
              "sqs2pg: AWS_ENDPOINT_URL_SQS: must be an http:// or https:// URL (got 'ftp://x')");
    EXPECT_NE(error_of(with_minimal({"--dead-letter-queue-url=dlq"}))
                  .find("sqs2pg: --dead-letter-queue-url: must be the dead-letter queue's"),
              std::string::npos);
}

TEST(ConfigErrors, PlainHttpToAwsIsRefused) {
    // Plain http:// to AWS would carry the signed requests, and with them a session token,
    // in clear: refused at configuration time, for every URL option and its variables.
    const std::string why = ": plain http:// to an AWS host (sqs.us-east-1.amazonaws.com) would "
                            "send the session token and the messages unencrypted; use https://";
    EXPECT_EQ(error_of({"--queue-url=http://sqs.us-east-1.amazonaws.com/123456789012/q",
                        "--mask-key-file=/k"}),
              "sqs2pg: --queue-url" + why);
    EXPECT_EQ(error_of(with_minimal({"--endpoint-url=http://sqs.us-east-1.amazonaws.com"})),
              "sqs2pg: --endpoint-url" + why);
    EXPECT_EQ(error_of(with_minimal(
                  {"--dead-letter-queue-url=http://sqs.us-east-1.amazonaws.com/123456789012/dlq"})),
              "sqs2pg: --dead-letter-queue-url" + why);
    EXPECT_EQ(
        error_of(minimal, env_of({{"AWS_ENDPOINT_URL_SQS", "http://sqs.us-east-1.amazonaws.com"}})),
        "sqs2pg: AWS_ENDPOINT_URL_SQS" + why);
    EXPECT_EQ(
        error_of(minimal, env_of({{"AWS_ENDPOINT_URL", "http://sqs.us-east-1.amazonaws.com/"}})),
        "sqs2pg: AWS_ENDPOINT_URL" + why);
    EXPECT_EQ(error_of({"--mask-key-file=/k"},
                       env_of({{"SQS2PG_QUEUE_URL",
                                "http://sqs.us-east-1.amazonaws.com/123456789012/q"}})),
              "sqs2pg: SQS2PG_QUEUE_URL" + why);
    EXPECT_NE(error_of(minimal, env_of({{"SQS2PG_DEAD_LETTER_QUEUE_URL",
                                         "http://sqs.us-east-1.amazonaws.com/1/dlq"}}))
                  .find("sqs2pg: SQS2PG_DEAD_LETTER_QUEUE_URL: plain http://"),
              std::string::npos);
    // Every spelling of an AWS host: any case, a port, a trailing dot, the bare domain,
    // China's partition.
    for (const char* url :
         {"http://SQS.US-EAST-1.AMAZONAWS.COM", "http://sqs.us-east-1.amazonaws.com:80",
          "http://sqs.us-east-1.amazonaws.com.", "http://amazonaws.com",
          "http://vpce-1a2b.sqs.us-east-1.vpce.amazonaws.com",
          "http://sqs.cn-north-1.amazonaws.com.cn", "http://sqs.us-east-1.api.aws",
          "http://amazonaws.com.cn:8080/"}) {
        const auto m = error_of(with_minimal({std::string("--endpoint-url=") + url}));
        EXPECT_TRUE(m.starts_with("sqs2pg: --endpoint-url: plain http:// to an AWS host"))
            << url << ": " << m;
    }
    // Emulators, private hosts and look-alikes stay allowed over http, AWS over https.
    for (const char* url :
         {"http://127.0.0.1:4566", "http://localhost", "http://sqs.internal", "http://[::1]:4566",
          "http://notamazonaws.com", "http://amazonaws.com.example.org",
          "https://sqs.us-east-1.amazonaws.com", "https://sqs.cn-north-1.amazonaws.com.cn"})
        EXPECT_EQ(run_ok(with_minimal({std::string("--endpoint-url=") + url})).sqs.endpoint_url,
                  url);
    EXPECT_EQ(run_ok({"--queue-url=https://sqs.us-east-1.amazonaws.com/123456789012/q",
                      "--mask-key-file=/k",
                      "--dead-letter-queue-url=https://sqs.us-east-1.amazonaws.com/1/dlq"})
                  .sqs.queue_url,
              "https://sqs.us-east-1.amazonaws.com/123456789012/q");
}

TEST(ConfigErrors, QueueNames) {
    EXPECT_EQ(error_of({"--queue-name=bad name", "--mask-key-file=/k"}),
              "sqs2pg: --queue-name: must be 1 to 80 letters, digits, - or _ (optionally ending "
              "in .fifo) (got 'bad name')");
    EXPECT_FALSE(parse({"--queue-name=" + std::string(81, 'q'), "--mask-key-file=/k"}));
    EXPECT_TRUE(parse({"--queue-name=" + std::string(80, 'q'), "--mask-key-file=/k"}));
}

TEST(ConfigErrors, Tables) {
    for (const char* bad :
         {"Users", "1table", "a.b.c", "a-b", ".t", "s.", "drop table x", "t\";--"}) {
        const auto m = error_of(with_minimal({std::string("--table=") + bad}));
        EXPECT_TRUE(m.starts_with("sqs2pg: --table: must be TABLE or SCHEMA.TABLE")) << m;
    }
    EXPECT_FALSE(parse(with_minimal({"--table=" + std::string(64, 't')})));
    EXPECT_EQ(run_ok(with_minimal({"--table=_t9"})).table, (table_name{"", "_t9"}));
}

TEST(ConfigErrors, ListenAddress) {
    EXPECT_EQ(error_of(with_minimal({"--listen=9464"})),
              "sqs2pg: --listen: expected HOST:PORT, e.g. 127.0.0.1:9464 (got '9464')");
    EXPECT_EQ(error_of(minimal, env_of({{"SQS2PG_LISTEN", "127.0.0.1:99999"}})),
              "sqs2pg: SQS2PG_LISTEN: the port must be a number from 0 to 65535 (got "
              "'127.0.0.1:99999')");
    EXPECT_EQ(run_ok(with_minimal({"--listen", "localhost:0"})).listen,
              (ops::listen_address{"127.0.0.1", 0}));
}

TEST(ConfigErrors, MaskKeyRequiredForKeyedMasks) {
    EXPECT_EQ(
        error_of({"--queue-url=http://h/1/q"}),
        "sqs2pg: --mask-key-file: a key is required for hmac-sha256 masking (create one "
        "with `sqs2pg keygen --out mask.keys`, then pass --mask-key-file mask.keys or put its "
        "line in SQS2PG_MASK_KEY)");
    EXPECT_NE(error_of({"--queue-url=http://h/1/q", "--mask=aes-siv"}).find("for aes-siv masking"),
              std::string::npos);
    EXPECT_EQ(error_of(with_minimal({"--mask-key-file="})),
              "sqs2pg: --mask-key-file: must not be empty");
}

TEST(Config, EachColumnHasItsOwnMaskMode) {
    using enum mask::mode;
    EXPECT_EQ(run_ok(with_minimal({"--mask-ip", "ipcrypt-pfx"})).mask,
              (mask::field_modes{ipcrypt_pfx, hmac_sha256}));
    EXPECT_EQ(run_ok(with_minimal({"--mask=aes-siv", "--mask-ip=ipcrypt"})).mask,
              (mask::field_modes{ipcrypt, aes_siv}));
    EXPECT_EQ(run_ok(with_minimal({"--mask-device-id", "aes-siv", "--mask", "sha256"})).mask,
              (mask::field_modes{sha256, aes_siv}));
    EXPECT_EQ(run_ok(with_minimal({"--mask-ip=sha256", "--mask-device-id=hmac-sha256"})).mask,
              (mask::field_modes{sha256, hmac_sha256}));
    // From the environment, the column's own variable over SQS2PG_MASK.
    EXPECT_EQ(
        run_ok(minimal, env_of({{"SQS2PG_MASK", "aes-siv"}, {"SQS2PG_MASK_IP", "ipcrypt-pfx"}}))
            .mask,
        (mask::field_modes{ipcrypt_pfx, aes_siv}));
    EXPECT_EQ(run_ok(minimal, env_of({{"SQS2PG_MASK_DEVICE_ID", "aes-siv"}})).mask,
              (mask::field_modes{hmac_sha256, aes_siv}));
    // A flag beats every variable: --mask on the command line overrides SQS2PG_MASK_IP.
    EXPECT_EQ(
        run_ok(with_minimal({"--mask=aes-siv"}), env_of({{"SQS2PG_MASK_IP", "ipcrypt"}})).mask,
        (mask::field_modes{aes_siv, aes_siv}));
    EXPECT_EQ(run_ok(with_minimal({"--mask-ip=ipcrypt"}), env_of({{"SQS2PG_MASK", "sha256"}})).mask,
              (mask::field_modes{ipcrypt, sha256}));
}

TEST(ConfigErrors, IpcryptModesAreForIpOnly) {
    EXPECT_EQ(error_of(with_minimal({"--mask=ipcrypt-pfx"})),
              "sqs2pg: --mask: ipcrypt-pfx encrypts IP addresses, so it applies to ip only: use "
              "--mask-ip ipcrypt-pfx (and --mask or --mask-device-id for device_id)");
    EXPECT_EQ(error_of(with_minimal({"--mask-device-id", "ipcrypt"})),
              "sqs2pg: --mask-device-id: ipcrypt encrypts IP addresses, so it applies to ip only: "
              "choose it with --mask-ip; device_id takes hmac-sha256, aes-siv or sha256");
    EXPECT_NE(error_of(minimal, env_of({{"SQS2PG_MASK", "ipcrypt"}})).find("SQS2PG_MASK: ipcrypt"),
              std::string::npos);
    EXPECT_EQ(error_of(with_minimal({"--mask-ip=pfx"})),
              "sqs2pg: --mask-ip: must be one of hmac-sha256, aes-siv, sha256, ipcrypt, "
              "ipcrypt-pfx (got 'pfx')");
    // Any keyed column needs the key.
    EXPECT_NE(error_of({"--queue-url=http://h/1/q", "--mask=sha256", "--mask-ip=ipcrypt-pfx"})
                  .find("a key is required for ipcrypt-pfx masking"),
              std::string::npos);
    EXPECT_EQ(
        run_ok({"--queue-url=http://h/1/q", "--mask-ip=sha256", "--mask-device-id=sha256"}).mask,
        (mask::field_modes{mask::mode::sha256, mask::mode::sha256}));
}

TEST(Config, MaskKeyFromTheEnvironmentIsEnough) {
    const auto c =
        run_ok({"--queue-url=http://h/1/q"},
               env_of({{"SQS2PG_MASK_KEY",
                        "k1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}));
    EXPECT_EQ(c.mask,
              (mask::field_modes{mask_algorithm::hmac_sha256, mask_algorithm::hmac_sha256}));
    EXPECT_EQ(c.mask_key_file, "");
}

TEST(ConfigErrors, PgValueIsNeverEchoed) {
    const auto m = error_of(with_minimal({"--pg=http://user:s3cret@host/db"}));
    EXPECT_EQ(m, "sqs2pg: --pg: must be a key=value connection string or a postgresql:// URL");
    EXPECT_EQ(m.find("s3cret"), std::string::npos);
}

TEST(ConfigErrors, UnknownOptionsAndMissingValues) {
    EXPECT_EQ(error_of(with_minimal({"--recievers=4"})),
              "sqs2pg: --recievers: unknown option (see --help)");
    EXPECT_EQ(error_of(with_minimal({"-r"})),
              "sqs2pg: -r: unknown option (options start with --; see --help)");
    EXPECT_EQ(error_of(with_minimal({"--receivers"})), "sqs2pg: --receivers: needs a value (N)");
    EXPECT_EQ(error_of(with_minimal({"--pg", "--drain"})),
              "sqs2pg: --pg: needs a value (CONNINFO)");
    EXPECT_EQ(error_of(with_minimal({"extra"})),
              "sqs2pg: unexpected argument 'extra' (run takes only options; see sqs2pg --help)");
}

TEST(ConfigErrors, ValuesAreShownOnOneLineAndShort) {
    const auto m = error_of(with_minimal({"--receivers=1\n2"}));
    EXPECT_NE(m.find("(got '1?2')"), std::string::npos) << m;
    const auto long_value = error_of(with_minimal({"--region=" + std::string(500, '!')}));
    EXPECT_LT(long_value.size(), 200u);
    EXPECT_NE(long_value.find("...')"), std::string::npos);
}

// --- help, version, commands --------------------------------------------------------------

TEST(Config, HelpAndVersionWinOverMistakes) {
    auto r = parse({"--help"});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->help);
    r = parse({"-h"});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->help);
    r = parse({"--receivers=0", "--bogus", "--version"});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->version);
    EXPECT_FALSE(r->help);
    r = parse({"run", "--help"});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->help);
    EXPECT_EQ(r->cmd, command::run);
}

TEST(Config, DoubleDashEndsOptions) {
    EXPECT_EQ(error_of(with_minimal({"--", "--help"})),
              "sqs2pg: unexpected argument '--help' (run takes only options; see sqs2pg --help)");
}

TEST(Config, CommandWords) {
    EXPECT_EQ(run_ok({"run", "--queue-url=http://h/1/q", "--mask=sha256"}).sqs.queue_url,
              "http://h/1/q");

    auto r = parse({"unmask", "--mask-key-file", "/k", "v1", "v2"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->cmd, command::unmask);
    EXPECT_EQ(r->args, (std::vector<std::string>{"--mask-key-file", "/k", "v1", "v2"}));

    r = parse({"rejects", "list"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->cmd, command::rejects);
    EXPECT_EQ(r->args, (std::vector<std::string>{"list"}));

    r = parse({"keygen", "--help"}); // the command's own parser answers its --help
    ASSERT_TRUE(r);
    EXPECT_EQ(r->cmd, command::keygen);
    EXPECT_FALSE(r->help);

    EXPECT_EQ(error_of({"start"}), "sqs2pg: unknown command 'start' (commands: run, keygen, "
                                   "unmask, rejects, rekey, rds-token; see sqs2pg --help)");
    EXPECT_EQ(command_name(command::rejects), "rejects");
}

TEST(Config, GenericParserServesOtherCommands) {
    // What keygen/unmask/rejects do with their own tables.
    static constexpr std::array<option_spec, 2> specs{{
        {"mask-key-file", "PATH", "Key", "key file", "", {"SQS2PG_MASK_KEY_FILE"}},
        {"force", "", "Key", "overwrite", "", {}},
    }};
    const std::vector<std::string> args = {"--force", "a", "--mask-key-file=/k", "-", "b"};
    auto r = parse_options(specs, args, env_of({{"SQS2PG_MASK_KEY_FILE", "/env"}}));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->positionals, (std::vector<std::string>{"a", "-", "b"}));
    EXPECT_EQ(*get_string(*r, "mask-key-file").value(), "/k");
    EXPECT_EQ(get_bool(*r, "force").value(), true);
    EXPECT_EQ(r->find("mask-key-file")->source, value_source::flag);

    r = parse_options(specs, {}, env_of({{"SQS2PG_MASK_KEY_FILE", "/env"}}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->find("mask-key-file")->origin, "SQS2PG_MASK_KEY_FILE");
    EXPECT_FALSE(get_bool(*r, "force").value().has_value());
    EXPECT_THROW((void)get_int(*r, "mask-key-file", 0, 1).value(), std::invalid_argument);
}

TEST(Config, ArgcArgvEntryPoint) {
    const char* argv[] = {
        "sqs2pg", "--queue-url", "http://h/1/q", "--mask", "sha256", "--receivers", "7"};
    auto r = parse_command_line(7, argv, environment{});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->run.pipeline.receivers, 7);
}

TEST(Config, EnvironmentFromProcessSeesRealVariables) {
    ::setenv("SQS2PG_CONFIG_TEST_VAR", "42", 1);
    const auto env = environment::from_process();
    EXPECT_EQ(env.get("SQS2PG_CONFIG_TEST_VAR"), "42");
    EXPECT_FALSE(env.get("SQS2PG_CONFIG_TEST_UNSET_VAR"));
    ::unsetenv("SQS2PG_CONFIG_TEST_VAR");
}

TEST(Config, HelpListsEveryOptionDefaultAndVariable) {
    const auto help = help_text();
    for (const auto& spec : run_options()) {
        EXPECT_NE(help.find("--" + std::string(spec.name)), std::string::npos) << spec.name;
        for (auto e : spec.env) {
            if (!e.empty()) {
                EXPECT_NE(help.find(e), std::string::npos) << e;
            }
        }
        if (!spec.default_text.empty()) {
            EXPECT_NE(help.find("default: " + std::string(spec.default_text)), std::string::npos)
                << spec.name;
        }
    }
    // The defaults derived from flow::pipeline_config and table_name read as they always did.
    for (const char* d :
         {"  --receivers N\n      concurrent long-poll receivers, 1..64\n      default: 4\n",
          "  --batch-size N\n      rows per PostgreSQL batch, 1..1000\n      default: 250\n",
          "      default: 50\n      env: SQS2PG_BATCH_MAX_DELAY_MS\n",
          "      default: 64MiB\n      env: SQS2PG_MAX_IN_FLIGHT_BYTES\n",
          "      default: 20, or 0 with --drain\n      env: SQS2PG_WAIT_TIME_SECONDS\n",
          "      default: user_logins\n      env: SQS2PG_TABLE\n",
          "      default: off\n      env: SQS2PG_DRAIN\n"})
        EXPECT_NE(help.find(d), std::string::npos) << d;
    // The key text's variable has no option of its own: the key file's help names it.
    EXPECT_NE(help.find("SQS2PG_MASK_KEY;"), std::string::npos);
    for (auto word : {"keygen", "unmask", "rejects", "--help", "--version", "Exit status"})
        EXPECT_NE(help.find(word), std::string::npos) << word;
    std::istringstream lines(help);
    std::string line;
    while (std::getline(lines, line))
        EXPECT_LE(line.size(), 80u) << line;
}

} // namespace
} // namespace sqs2pg::app
