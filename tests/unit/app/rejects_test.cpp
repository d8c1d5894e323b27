// The pure parts of `sqs2pg rejects`: the command line of each action (with the run
// command's flags and variables), --since/--until times, the table and JSON formats,
// escaping for a terminal, and the help text. (The batch planner is tested in
// tests/unit/sqs, the sealed key id in tests/unit/mask, time formats in tests/unit/base.)
#include <sqs2pg/app/commands/rejects.hpp>

#include "test_env.hpp"
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace sqs2pg::app {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

const system_clock::time_point now = sys_days(year(2024) / 3 / 10) + 12h;

environment env_of(std::initializer_list<std::pair<const char*, const char*>> vars) {
    environment e;
    for (const auto& [k, v] : vars)
        e.vars[k] = v;
    return e;
}

const environment with_key = env_of({{"SQS2PG_MASK_KEY", "k1 00"}});

config_result<rejects_request> parse(const std::vector<std::string>& args,
                                     const environment& env = with_key) {
    return parse_rejects_args(args, env, now);
}

rejects_request ok(const std::vector<std::string>& args, const environment& env = with_key) {
    auto r = parse(args, env);
    if (!r)
        throw std::runtime_error(r.error().message);
    return std::move(*r);
}

std::string error_of(const std::vector<std::string>& args, const environment& env = with_key) {
    auto r = parse(args, env);
    return r ? std::string("<no error>") : r.error().message;
}

pg::time_point at(std::string_view text) {
    auto t = parse_time_arg(text, now);
    if (!t)
        throw std::runtime_error("bad time in test");
    return *t;
}

// --- command line ---

TEST(RejectsArgs, ListDefaultsAndFilters) {
    auto r = ok({"list"}, {});
    EXPECT_EQ(r.action, rejects_action::list);
    EXPECT_EQ(r.filter.limit, 100u);
    EXPECT_FALSE(r.filter.include_replayed);
    EXPECT_EQ(r.format, rejects_format::text);
    EXPECT_EQ(r.table.name, "user_logins");
    EXPECT_TRUE(r.table.schema.empty());
    EXPECT_TRUE(r.conninfo.empty());
    EXPECT_EQ(r.log_level, ops::level::warn);

    r = ok({"list", "--reason", "not_json", "--since=2024-03-01", "--until", "1d",
            "--include-replayed", "--limit", "5", "--format", "json", "--table", "app.logins"},
           {});
    EXPECT_EQ(r.filter.reason, "not_json");
    EXPECT_EQ(r.filter.since, pg::time_point(sys_days(year(2024) / 3 / 1)));
    EXPECT_EQ(r.filter.until, floor<microseconds>(now - 24h));
    EXPECT_TRUE(r.filter.include_replayed);
    EXPECT_EQ(r.filter.limit, 5u);
    EXPECT_EQ(r.format, rejects_format::json);
    EXPECT_EQ(r.table.schema, "app");
    EXPECT_EQ(r.table.name, "logins");
    EXPECT_EQ(ok({"list", "--format", "table"}, {}).format, rejects_format::text);
}

TEST(RejectsArgs, SharedSettingsComeFromTheRunCommandsVariables) {
    const auto env = env_of({{"DATABASE_URL", "postgresql://u@db/x"},
                             {"SQS2PG_TABLE", "s.t"},
                             {"SQS2PG_LOG_LEVEL", "debug"},
                             {"SQS2PG_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/q"},
                             {"SQS2PG_SQS_PROTOCOL", "json"},
                             {"AWS_REGION", "eu-west-1"},
                             {"SQS2PG_MASK_KEY_FILE", "/etc/sqs2pg/mask.keys"}});
    auto r = ok({"replay", "--all"}, env);
    EXPECT_EQ(r.conninfo, "postgresql://u@db/x");
    EXPECT_EQ(r.table.schema, "s");
    EXPECT_EQ(r.log_level, ops::level::debug);
    ASSERT_TRUE(r.target);
    EXPECT_EQ(r.target->queue_url, "https://sqs.eu-west-1.amazonaws.com/1/q");
    EXPECT_EQ(r.target->protocol, sqs_protocol::json);
    EXPECT_EQ(r.target->region, "eu-west-1");
    EXPECT_EQ(r.keys.key_file, "/etc/sqs2pg/mask.keys");
    EXPECT_FALSE(r.keys.env_value);
    // A flag wins over the environment, as for run.
    r = ok({"replay", "--all", "--queue-name", "other", "--pg", "host=h"}, env);
    EXPECT_EQ(r.target->queue_name, "other");
    EXPECT_TRUE(r.target->queue_url.empty());
    EXPECT_EQ(r.conninfo, "host=h");
    // The key text itself in SQS2PG_MASK_KEY.
    r = ok({"show", "id"});
    EXPECT_EQ(r.keys.env_value, "k1 00");
}

TEST(RejectsArgs, ShowAndReplayTakeDistinctMessageIdsInOrder) {
    auto r = ok({"show", "b", "a", "b", "c"});
    EXPECT_EQ(r.message_ids, (std::vector<std::string>{"b", "a", "c"}));
    r = ok({"replay", "x", "x", "--queue-url", "http://127.0.0.1:1/1/q"});
    EXPECT_EQ(r.message_ids, (std::vector<std::string>{"x"}));
    EXPECT_FALSE(r.select_all);
    EXPECT_FALSE(r.force);
    EXPECT_FALSE(r.dry_run);
    // An id that starts with a dash after "--".
    r = ok({"show", "--", "-odd"});
    EXPECT_EQ(r.message_ids, (std::vector<std::string>{"-odd"}));
}

TEST(RejectsArgs, ReplaySelectionRules) {
    const std::vector<std::string> q{"--queue-url", "http://127.0.0.1:1/1/q"};
    auto with = [&](std::vector<std::string> a) {
        a.insert(a.end(), q.begin(), q.end());
        return a;
    };
    auto r = ok(with({"replay", "--reason", "missing_field", "--since", "7d", "--force"}));
    EXPECT_EQ(r.filter.reason, "missing_field");
    EXPECT_TRUE(r.force);
    EXPECT_TRUE(r.filter.include_replayed); // --force selects replayed ones too
    EXPECT_EQ(r.filter.limit, 10000u);
    r = ok(with({"replay", "--all", "--dry-run"}));
    EXPECT_TRUE(r.select_all);
    EXPECT_TRUE(r.dry_run);
    EXPECT_FALSE(r.filter.include_replayed);

    EXPECT_NE(error_of(with({"replay"})).find("say which rejects"), std::string::npos);
    EXPECT_NE(error_of(with({"replay", "--since", "1d"})).find("add --all"), std::string::npos);
    EXPECT_NE(error_of(with({"replay", "id", "--all"})).find("not both"), std::string::npos);
    EXPECT_NE(error_of(with({"replay", "--all", "--reason", "x"})).find("not both"),
              std::string::npos);
    EXPECT_NE(error_of(with({"replay", "id", "--limit", "3"})).find("do not apply"),
              std::string::npos);
    EXPECT_NE(error_of({"replay", "--all"}).find("--queue-url or --queue-name is required"),
              std::string::npos);
}

TEST(RejectsArgs, UsageErrorsAreOneLineNamingWhatIsWrong) {
    EXPECT_NE(error_of({}).find("say what to do"), std::string::npos);
    EXPECT_NE(error_of({"purge"}).find("unknown action 'purge'"), std::string::npos);
    EXPECT_EQ(error_of({"list", "--dry-run"}), "sqs2pg: --dry-run: unknown option (see --help)");
    EXPECT_NE(error_of({"list", "id"}).find("list takes only options"), std::string::npos);
    EXPECT_NE(error_of({"show"}).find("give the message ids"), std::string::npos);
    EXPECT_NE(error_of({"show", "id"}, {}).find("--mask-key-file"), std::string::npos);
    EXPECT_NE(error_of({"show", "bad id"}).find("'bad id' is not a message id"), std::string::npos);
    EXPECT_NE(error_of({"list", "--limit", "0"}).find("--limit: must be between 1 and 1000000"),
              std::string::npos);
    EXPECT_NE(error_of({"list", "--since", "2024-03-02", "--until", "2024-03-01"})
                  .find("--since must be earlier than --until"),
              std::string::npos);
    EXPECT_NE(error_of({"list", "--since", "yesterday"}).find("--since: must be a date"),
              std::string::npos);
    EXPECT_NE(error_of({"list", "--format", "csv"}).find("table, text, json"), std::string::npos);
    EXPECT_NE(error_of({"list", "--table", "Bad-Name"}).find("--table"), std::string::npos);
    // The --pg value is never echoed (it may hold a password).
    const auto pg = error_of({"list", "--pg", "mysql://root:hunter2@h/db"});
    EXPECT_NE(pg.find("--pg"), std::string::npos);
    EXPECT_EQ(pg.find("hunter2"), std::string::npos);
    for (const auto& e : {error_of({"purge"}), error_of({"show"}), error_of({"list", "x"})})
        EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(RejectsArgs, HelpWinsEverywhere) {
    EXPECT_TRUE(ok({"--help"}).help);
    EXPECT_FALSE(ok({"--help"}).action);
    auto r = ok({"replay", "--bogus", "-h"}, {});
    EXPECT_TRUE(r.help);
    EXPECT_EQ(r.action, rejects_action::replay);
}

TEST(RejectsRun, UsageErrorsExitTwoWithoutTouchingAnything) {
    std::ostringstream out;
    std::ostringstream err;
    const std::vector<std::string> args{"show", "id", "--mask-key-file", "/nonexistent/keys"};
    EXPECT_EQ(run_rejects(args, {}, out, err), 2);
    EXPECT_TRUE(out.str().empty());
    EXPECT_NE(err.str().find("/nonexistent/keys"), std::string::npos) << err.str();

    std::ostringstream help;
    const std::vector<std::string> h{"list", "--help"};
    EXPECT_EQ(run_rejects(h, {}, help, err), 0);
    EXPECT_TRUE(help.str().starts_with("usage: sqs2pg rejects list")) << help.str();
}

TEST(RejectsRun, AKeyFileOthersCanReadIsRefusedBeforeAnythingIsTouched) {
    const std::string path = "/tmp/" + test::unique_name("sqs2pg_rejects_keys_");
    {
        std::ofstream f(path);
        f << "k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    }
    ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
    // The --pg given would fail at once if it were used: status 2 shows it was not.
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"show", "id", "--mask-key-file", path, "--pg",
                                   "host=/nonexistent port=1"},
          std::vector<std::string>{"replay", "id", "--mask-key-file", path, "--pg",
                                   "host=/nonexistent port=1", "--queue-url",
                                   "http://127.0.0.1:1/1/q", "--region", "eu-west-1"}}) {
        std::ostringstream out;
        std::ostringstream err;
        // (No instance metadata lookup either, should anything ask for credentials.)
        const auto env = env_of({{"AWS_EC2_METADATA_DISABLED", "true"},
                                 {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                                 {"AWS_SECRET_ACCESS_KEY", "secret"}});
        EXPECT_EQ(run_rejects(args, env, out, err), 2) << args[0] << ": " << err.str();
        EXPECT_TRUE(out.str().empty()) << out.str();
        EXPECT_EQ(err.str(), "sqs2pg rejects " + args[0] + ": --mask-key-file " + path +
                                 ": readable by group or others (mode 0640); run chmod 600 " +
                                 path + "\n");
    }
    std::remove(path.c_str());
}

TEST(RejectsArgs, PlainHttpToAwsIsRefusedForReplay) {
    EXPECT_EQ(error_of({"replay", "--all", "--queue-url",
                        "http://sqs.eu-west-1.amazonaws.com/123456789012/q"}),
              "sqs2pg: --queue-url: plain http:// to an AWS host (sqs.eu-west-1.amazonaws.com) "
              "would send the session token and the messages unencrypted; use https://");
    EXPECT_NE(error_of({"replay", "--all", "--queue-name", "q", "--endpoint-url",
                        "http://sqs.eu-west-1.amazonaws.com"})
                  .find("sqs2pg: --endpoint-url: plain http:// to an AWS host"),
              std::string::npos);
    auto env = with_key;
    env.vars["SQS2PG_QUEUE_URL"] = "http://sqs.cn-north-1.amazonaws.com.cn/1/q";
    EXPECT_NE(error_of({"replay", "--all"}, env).find("sqs2pg: SQS2PG_QUEUE_URL: plain http://"),
              std::string::npos);
    env = with_key;
    env.vars["AWS_ENDPOINT_URL_SQS"] = "http://sqs.us-east-1.amazonaws.com";
    EXPECT_NE(error_of({"replay", "--all", "--queue-name", "q"}, env)
                  .find("sqs2pg: AWS_ENDPOINT_URL_SQS: plain http://"),
              std::string::npos);
    // Emulators and other hosts stay reachable over plain http.
    EXPECT_TRUE(parse({"replay", "--all", "--queue-url", "http://127.0.0.1:4566/1/q"}));
    EXPECT_TRUE(
        parse({"replay", "--all", "--queue-name", "q", "--endpoint-url", "http://localhost:4566"}));
    EXPECT_TRUE(parse(
        {"replay", "--all", "--queue-url", "https://sqs.eu-west-1.amazonaws.com/123456789012/q"}));
}

TEST(RejectsHelp, NamesEveryOptionAndFitsEightyColumns) {
    const std::string all = rejects_help(std::nullopt);
    for (const char* o : {"--reason",
                          "--since",
                          "--until",
                          "--include-replayed",
                          "--limit",
                          "--format",
                          "--all",
                          "--force",
                          "--dry-run",
                          "--queue-url",
                          "--queue-name",
                          "--endpoint-url",
                          "--region",
                          "--sqs-protocol",
                          "--mask-key-file",
                          "--pg",
                          "--table",
                          "--log-level",
                          "SQS2PG_PG",
                          "DATABASE_URL",
                          "SQS2PG_MASK_KEY_FILE",
                          "SQS2PG_QUEUE_URL",
                          "AWS_ENDPOINT_URL_SQS",
                          "sqs2pg-replay-of",
                          "personal data",
                          "Exit status"})
        EXPECT_NE(all.find(o), std::string::npos) << o;
    std::istringstream in(all);
    for (std::string line; std::getline(in, line);)
        EXPECT_LE(line.size(), 80u) << line;
    const std::string list = rejects_help(rejects_action::list);
    EXPECT_EQ(list.find("--dry-run"), std::string::npos);
    EXPECT_NE(list.find("--include-replayed"), std::string::npos);
}

// --- times ---

TEST(RejectsTime, DatesTimesAndSpans) {
    EXPECT_EQ(at("2024-03-01"), pg::time_point(sys_days(year(2024) / 3 / 1)));
    EXPECT_EQ(at("2024-03-01T12:30:00Z"),
              pg::time_point(sys_days(year(2024) / 3 / 1) + 12h + 30min));
    EXPECT_EQ(at("2024-03-01 12:30:00Z"), at("2024-03-01T12:30:00Z"));
    EXPECT_EQ(at("2024-03-01T14:30:00+02:00"), at("2024-03-01T12:30:00Z"));
    EXPECT_EQ(at("2024-03-01T12:30:00.000250Z"), at("2024-03-01T12:30:00Z") + 250us);
    EXPECT_EQ(at("90s"), floor<microseconds>(now - 90s));
    EXPECT_EQ(at("90m"), floor<microseconds>(now - 90min));
    EXPECT_EQ(at("36h"), floor<microseconds>(now - 36h));
    EXPECT_EQ(at("7d"), floor<microseconds>(now - days(7)));
    EXPECT_EQ(at("2w"), floor<microseconds>(now - weeks(2)));
    for (const char* bad :
         {"", "d", "7", "7y", "-7d", "7 d", "2024-02-30", "2024-3-1", "2024-03-01T12:30:00",
          "2024-03-01T25:00:00Z", "yesterday", "999999999999d"})
        EXPECT_FALSE(parse_time_arg(bad, now)) << bad;
}

// --- formats ---

pg::reject_record record(std::string id, std::string reason) {
    pg::reject_record r;
    r.message_id = std::move(id);
    r.reason = std::move(reason);
    r.receive_count = 3;
    r.first_seen = pg::time_point(sys_days(year(2024) / 3 / 1));
    r.last_seen = r.first_seen + 1h;
    return r;
}

TEST(RejectsFormat, TableIsAlignedAndShowsNoControlCharacters) {
    std::vector<pg::reject_record> v{record("a", "not_json"), record("long-id-\x1b[2J", "x")};
    v[1].sent_at = pg::time_point(sys_days(year(2024) / 2 / 29));
    v[1].replayed_at = v[1].last_seen;
    v[1].replayed_message_id = "new";
    const std::string t = format_reject_table(v, true);
    std::istringstream in(t);
    std::vector<std::string> l;
    for (std::string s; std::getline(in, s);)
        l.push_back(s);
    ASSERT_EQ(l.size(), 3u) << t;
    EXPECT_EQ(l[0].find("REASON"), l[1].find("not_json"));
    EXPECT_EQ(l[0].find("REASON"), l[2].find("x "));
    EXPECT_EQ(l[0].find("RECEIVES"), l[1].find("3 "));
    EXPECT_EQ(l[0].find("REPLAYED AS"), l[2].find("new"));
    EXPECT_NE(l[2].find("long-id-?[2J"), std::string::npos);
    EXPECT_EQ(t.find('\x1b'), std::string::npos);
    EXPECT_NE(l[1].find("  -  "), std::string::npos); // no sent_at
    EXPECT_NE(l[2].find("2024-02-29T00:00:00Z"), std::string::npos);
    EXPECT_EQ(format_reject_table(v, false).find("REPLAYED AS"), std::string::npos);
    EXPECT_EQ(format_reject_table({}, false), "");
}

TEST(RejectsFormat, JsonHasEveryFieldAndEscapes) {
    auto r = record("id\"1", "not_json");
    auto v = boost::json::parse(format_reject_json(r)).as_object();
    EXPECT_EQ(v.at("message_id").as_string(), "id\"1");
    EXPECT_EQ(v.at("receive_count").as_int64(), 3);
    EXPECT_TRUE(v.at("sent_at").is_null());
    EXPECT_EQ(v.at("first_seen").as_string(), "2024-03-01T00:00:00.000000Z");
    EXPECT_EQ(v.at("last_seen").as_string(), "2024-03-01T01:00:00.000000Z");
    EXPECT_TRUE(v.at("replayed_at").is_null());
    EXPECT_TRUE(v.at("replayed_message_id").is_null());
    EXPECT_FALSE(v.contains("body"));
    const std::string body = "{\"ip\":\"1.2.3.4\"}\n\x01";
    const std::string line = format_reject_json(r, std::string_view(body));
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(boost::json::parse(line).at("body").as_string(), body);
    v = boost::json::parse(format_reject_json(r, std::nullopt, "no_body")).as_object();
    EXPECT_TRUE(v.at("body").is_null());
    EXPECT_EQ(v.at("body_error").as_string(), "no_body");
}

TEST(RejectsFormat, JsonEscapesDelAndC1ControlsTooForTerminals) {
    // JSON itself escapes only U+0000..U+001F, '"' and '\\': DEL and the C1 controls
    // (U+009B is CSI to many terminals) would reach the terminal raw.
    auto r = record("id\x7f", "not_json");
    const std::string body = "a\x7f b\xc2\x9b"
                             "2J c\xc2\x80 d\xc2\x9f e\xc2\xa0 f\xc3\xa9 g\xe2\x9c\x93";
    const std::string line = format_reject_json(r, std::string_view(body));
    EXPECT_EQ(line.find('\x7f'), std::string::npos) << line;
    for (const char* c1 : {"\xc2\x80", "\xc2\x9b", "\xc2\x9f"})
        EXPECT_EQ(line.find(c1), std::string::npos) << line;
    EXPECT_NE(line.find(R"("message_id":"id\u007f")"), std::string::npos) << line;
    EXPECT_NE(line.find(R"(a\u007f b\u009b2J c\u0080 d\u009f e)"), std::string::npos) << line;
    // Printable characters beyond stay as they are (U+00A0, U+00E9, U+2713).
    EXPECT_NE(line.find("e\xc2\xa0 f\xc3\xa9 g\xe2\x9c\x93"), std::string::npos) << line;
    // Still one valid JSON object with the exact values.
    const auto v = boost::json::parse(line).as_object();
    EXPECT_EQ(v.at("body").as_string(), body);
    EXPECT_EQ(v.at("message_id").as_string(), "id\x7f");
}

TEST(RejectsFormat, TerminalEscaping) {
    EXPECT_EQ(escape_for_terminal("{\"a\": 1}\n\tb"), "{\"a\": 1}\n\tb");
    EXPECT_EQ(escape_for_terminal("x\x1b]0;t\x07y\rz\x7f"), "x\\x1b]0;t\\x07y\\x0dz\\x7f");
    EXPECT_EQ(escape_for_terminal("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"),
              "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
    EXPECT_EQ(escape_for_terminal("\xc2\x9b"
                                  "2J"),
              "\\u009b2J"); // C1 CSI as UTF-8
    EXPECT_EQ(escape_for_terminal("\x9b"
                                  "2J"),
              "\\x9b2J");                                              // a lone CSI byte
    EXPECT_EQ(escape_for_terminal("\xc0\xaf"), "\\xc0\\xaf");          // overlong
    EXPECT_EQ(escape_for_terminal("\xed\xa0\x80"), "\\xed\\xa0\\x80"); // surrogate
    EXPECT_EQ(escape_for_terminal("\xe2\x9c"), "\\xe2\\x9c");          // cut short
    EXPECT_EQ(escape_for_terminal(std::string_view("a\0b", 3)), "a\\x00b");
}

} // namespace
} // namespace sqs2pg::app
