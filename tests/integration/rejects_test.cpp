// `sqs2pg rejects list|show|replay` against the PostgreSQL and moto that tests/run starts:
// rejects are written by the real pg::writer with bodies sealed by mask::sealer, then
// listed, opened and replayed to a fresh queue, by direct calls and through the binary.
#include <sqs2pg/app/commands/rejects.hpp>
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/mask/seal.hpp>
#include <sqs2pg/sqs/client.hpp>

#include "pg_fixture.hpp"
#include "test_env.hpp"
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

extern char** environ; // NOLINT: POSIX

namespace sqs2pg::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view key_a =
    "t1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
// Another key under the same id: the body does not authenticate.
constexpr std::string_view key_b =
    "t1 f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff";
// Another id altogether: the key is not in the keyring.
constexpr std::string_view key_c =
    "t9 f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff";

mask::keyring ring(std::string_view text) {
    auto r = mask::parse_keyring(text, "test");
    if (!r)
        throw std::runtime_error(r.error().message);
    return std::move(*r);
}

// A body with what the encoders and the terminal must get right: quotes, a backslash,
// unicode, a newline, '+', '&', '=' and '%'.
std::string body_of(int i) {
    return "{\"user_id\": \"u-" + std::to_string(i) + "\", \"ip\": \"203.0.113." +
           std::to_string(i) + "\", \"device_id\": \"d\\\\é-" + std::to_string(i) +
           "\",\n \"note\": \"a+b&c=d%20 ✓\", \"app_version\": \"x\"}";
}

struct outcome {
    int status = -1;
    std::string out;
    std::string err;
};

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> v;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);)
        v.push_back(l);
    return v;
}

class Rejects : public pg_test {
protected:
    void SetUp() override {
        pg_test::SetUp();
        credentials_ = aws::make_static_provider({require_env("SQS2PG_TEST_AWS_ACCESS_KEY_ID"),
                                                  require_env("SQS2PG_TEST_AWS_SECRET_ACCESS_KEY"),
                                                  {},
                                                  {}});
        sqs::client_options options;
        options.region = require_env("SQS2PG_TEST_AWS_REGION");
        sqs_ = std::make_unique<sqs::client>(
            io.get_executor(),
            http::endpoint::parse(require_env("SQS2PG_TEST_SQS_ENDPOINT")).value(), *credentials_,
            options);
        queue_name_ = unique_name("it_rejects_");
        auto url = await(sqs_->async_create_queue(queue_name_));
        ASSERT_TRUE(url) << sqs_->explain(url.error());
        queue_url_ = *url;
        start_writer();
    }

    void TearDown() override {
        if (!queue_url_.empty()) {
            auto deleted = await(sqs_->async_delete_queue(queue_url_));
            EXPECT_TRUE(deleted) << sqs_->explain(deleted.error());
        }
        sqs_.reset();
        pg_test::TearDown();
    }

    /// Writes rejects through the writer, bodies sealed with key A; `bodies[id]` empty
    /// stores no body.
    void add_rejects(const std::vector<std::pair<std::string, std::string>>& id_reason,
                     const std::map<std::string, std::string>& bodies) {
        const auto keys = ring(key_a);
        const mask::sealer sealer(keys);
        pg::batch b;
        for (const auto& [id, reason] : id_reason) {
            pg::reject_item r;
            r.message_id = id;
            r.reason = reason;
            r.receive_count = 2;
            r.sent_timestamp_ms = 1'700'000'000'000;
            const auto& body = bodies.at(id);
            if (!body.empty())
                r.sealed_body = sealer.seal(body, id);
            b.rejects.push_back(std::move(r));
        }
        const auto o = write(std::move(b));
        ASSERT_EQ(o.rejected, id_reason.size());
    }

    /// `n` rejects r-0 .. r-(n-1) with reason `reason` and body_of(i).
    std::map<std::string, std::string> add_numbered(int n, const std::string& reason,
                                                    const std::string& prefix = "r-") {
        std::vector<std::pair<std::string, std::string>> ids;
        std::map<std::string, std::string> bodies;
        for (int i = 0; i < n; ++i) {
            const std::string id = prefix + std::to_string(i);
            ids.emplace_back(id, reason);
            bodies[id] = body_of(i);
        }
        add_rejects(ids, bodies);
        return bodies;
    }

    /// Sets last_seen of `id` to `ts` (a timestamptz literal).
    void seen_at(const std::string& id, const std::string& ts) {
        db_->exec("UPDATE " + rejects() + " SET first_seen = timestamptz '" + ts +
                  "', last_seen = timestamptz '" + ts + "' WHERE message_id = '" + id + "'");
    }

    app::environment env(std::string_view keyring = key_a) const {
        app::environment e;
        e.vars["AWS_ACCESS_KEY_ID"] = require_env("SQS2PG_TEST_AWS_ACCESS_KEY_ID");
        e.vars["AWS_SECRET_ACCESS_KEY"] = require_env("SQS2PG_TEST_AWS_SECRET_ACCESS_KEY");
        e.vars["AWS_REGION"] = require_env("SQS2PG_TEST_AWS_REGION");
        e.vars["AWS_ENDPOINT_URL_SQS"] = require_env("SQS2PG_TEST_SQS_ENDPOINT");
        e.vars["AWS_EC2_METADATA_DISABLED"] = "true";
        e.vars["SQS2PG_QUEUE_URL"] = queue_url_;
        if (!keyring.empty())
            e.vars["SQS2PG_MASK_KEY"] = std::string(keyring);
        return e;
    }

    /// `sqs2pg rejects ARGS --pg ... --table <schema>.user_logins`, called directly.
    outcome rejects_cmd(std::vector<std::string> args, const app::environment& e) {
        args.insert(args.end(), {"--pg", conninfo_, "--table", table()});
        std::ostringstream out;
        std::ostringstream err;
        outcome o;
        o.status = app::run_rejects(args, e, out, err);
        o.out = out.str();
        o.err = err.str();
        return o;
    }
    outcome rejects_cmd(std::vector<std::string> args) {
        return rejects_cmd(std::move(args), env());
    }

    /// Every message on the queue (received, not deleted: they stay invisible for 30 s).
    std::vector<sqs::message> drain_queue(std::size_t expected) {
        std::vector<sqs::message> got;
        sqs::receive_options options;
        options.wait_time_seconds = 1;
        options.visibility_timeout = 60;
        options.message_attribute_names = {"All"};
        for (int round = 0; round < 30; ++round) {
            auto r = await(sqs_->async_receive_message(queue_url_, options));
            EXPECT_TRUE(r) << sqs_->explain(r.error());
            if (!r)
                break;
            for (auto& m : r->messages)
                got.push_back(std::move(m));
            if (r->messages.empty() && got.size() >= expected)
                break;
        }
        return got;
    }

    std::string replayed_as(const std::string& id) {
        return db_->value("SELECT coalesce(replayed_message_id, '<none>') FROM " + rejects() +
                          " WHERE message_id = '" + id + "'");
    }

    std::unique_ptr<aws::credentials_provider> credentials_;
    std::unique_ptr<sqs::client> sqs_;
    std::string queue_name_;
    std::string queue_url_;
};

// --- list ---

TEST_F(Rejects, ListShowsTheNewestFirstWithoutBodiesAndWithoutAKey) {
    add_numbered(3, "not_json");
    seen_at("r-0", "2024-03-01 10:00:00Z");
    seen_at("r-1", "2024-03-03 10:00:00Z");
    seen_at("r-2", "2024-03-02 10:00:00Z");

    const auto o = rejects_cmd({"list"}, env(""));
    ASSERT_EQ(o.status, 0) << o.err;
    const auto l = lines(o.out);
    ASSERT_EQ(l.size(), 4u) << o.out;
    for (const char* col :
         {"MESSAGE ID", "REASON", "RECEIVES", "SENT AT", "FIRST SEEN", "LAST SEEN", "REPLAYED"})
        EXPECT_NE(l[0].find(col), std::string::npos) << col;
    EXPECT_TRUE(l[1].starts_with("r-1 ")) << l[1];
    EXPECT_TRUE(l[2].starts_with("r-2 ")) << l[2];
    EXPECT_TRUE(l[3].starts_with("r-0 ")) << l[3];
    EXPECT_NE(l[1].find("not_json"), std::string::npos);
    EXPECT_NE(l[1].find("2023-11-14T22:13:20Z"), std::string::npos) << l[1]; // sent at
    EXPECT_NE(l[1].find("2024-03-03T10:00:00Z"), std::string::npos) << l[1];
    // Columns line up: every row has "not_json" where the header has REASON.
    const auto reason_col = l[0].find("REASON");
    for (std::size_t i = 1; i < l.size(); ++i)
        EXPECT_EQ(l[i].find("not_json"), reason_col) << l[i];
    // No body, nothing of it.
    EXPECT_EQ(o.out.find("203.0.113"), std::string::npos);
    EXPECT_EQ(o.err.find("203.0.113"), std::string::npos);
}

TEST_F(Rejects, ListFiltersByReasonTimeAndLimit) {
    add_numbered(2, "not_json", "a-");
    add_numbered(2, "missing_field", "b-");
    seen_at("a-0", "2024-03-01 10:00:00Z");
    seen_at("a-1", "2024-03-02 10:00:00Z");
    seen_at("b-0", "2024-03-03 10:00:00Z");
    seen_at("b-1", "2024-03-04 10:00:00+02:00");

    auto ids_of = [](const outcome& o) {
        std::vector<std::string> ids;
        for (const auto& l : lines(o.out))
            ids.push_back(std::string(boost::json::parse(l).at("message_id").as_string()));
        return ids;
    };
    auto by_reason = rejects_cmd({"list", "--reason", "missing_field", "--format", "json"});
    ASSERT_EQ(by_reason.status, 0) << by_reason.err;
    EXPECT_EQ(ids_of(by_reason), (std::vector<std::string>{"b-1", "b-0"}));

    auto window = rejects_cmd(
        {"list", "--since", "2024-03-02", "--until", "2024-03-03T10:00:00Z", "--format=json"});
    ASSERT_EQ(window.status, 0) << window.err;
    EXPECT_EQ(ids_of(window), (std::vector<std::string>{"a-1"}));

    auto recent = rejects_cmd({"list", "--since", "1h", "--format", "json"});
    ASSERT_EQ(recent.status, 0) << recent.err;
    EXPECT_TRUE(ids_of(recent).empty());
    EXPECT_NE(recent.err.find("no rejects match"), std::string::npos) << recent.err;

    auto limited = rejects_cmd({"list", "--limit", "3", "--format", "json"});
    ASSERT_EQ(limited.status, 0) << limited.err;
    EXPECT_EQ(ids_of(limited), (std::vector<std::string>{"b-1", "b-0", "a-1"}));
    EXPECT_NE(limited.err.find("more match"), std::string::npos) << limited.err;

    auto exact = rejects_cmd({"list", "--limit", "4", "--format", "json"});
    EXPECT_EQ(ids_of(exact).size(), 4u);
    EXPECT_EQ(exact.err.find("more match"), std::string::npos) << exact.err;
}

TEST_F(Rejects, ListJsonHasOneObjectPerLineAndLeavesReplayedOnesOutUnlessAsked) {
    add_numbered(2, "wrong_type");
    seen_at("r-0", "2024-03-01 10:00:00.123456Z");
    db_->exec("UPDATE " + rejects() +
              " SET replayed_at = timestamptz '2024-03-05 00:00:00Z', replayed_message_id = "
              "'new-1' WHERE message_id = 'r-1'");

    auto o = rejects_cmd({"list", "--format", "json"});
    ASSERT_EQ(o.status, 0) << o.err;
    auto l = lines(o.out);
    ASSERT_EQ(l.size(), 1u) << o.out;
    const auto v = boost::json::parse(l[0]).as_object();
    EXPECT_EQ(v.at("message_id").as_string(), "r-0");
    EXPECT_EQ(v.at("reason").as_string(), "wrong_type");
    EXPECT_EQ(v.at("receive_count").as_int64(), 2);
    EXPECT_EQ(v.at("sent_at").as_string(), "2023-11-14T22:13:20.000000Z");
    EXPECT_EQ(v.at("last_seen").as_string(), "2024-03-01T10:00:00.123456Z");
    EXPECT_TRUE(v.at("replayed_at").is_null());
    EXPECT_TRUE(v.at("replayed_message_id").is_null());
    EXPECT_FALSE(v.contains("body"));

    o = rejects_cmd({"list", "--include-replayed", "--format", "json"});
    l = lines(o.out);
    ASSERT_EQ(l.size(), 2u) << o.out;
    bool found = false;
    for (const auto& line : l) {
        const auto obj = boost::json::parse(line).as_object();
        if (obj.at("message_id") == "r-1") {
            found = true;
            EXPECT_EQ(obj.at("replayed_at").as_string(), "2024-03-05T00:00:00.000000Z");
            EXPECT_EQ(obj.at("replayed_message_id").as_string(), "new-1");
        }
    }
    EXPECT_TRUE(found);

    const auto table = rejects_cmd({"list", "--include-replayed"});
    EXPECT_NE(table.out.find("REPLAYED AS"), std::string::npos);
    EXPECT_NE(table.out.find("new-1"), std::string::npos);
}

TEST_F(Rejects, ListOfAMissingTableSaysWhichTable) {
    const std::string other = unique_name("nosuch_");
    db_->exec("CREATE SCHEMA " + other);
    std::ostringstream out;
    std::ostringstream err;
    const std::vector<std::string> args{"list", "--pg", conninfo_, "--table",
                                        other + ".user_logins"};
    const int status = app::run_rejects(args, env(), out, err);
    db_->exec("DROP SCHEMA " + other);
    EXPECT_EQ(status, 1);
    EXPECT_NE(err.str().find("\"" + other + "\".\"sqs2pg_rejects\" does not exist"),
              std::string::npos)
        << err.str();
}

// --- show ---

TEST_F(Rejects, ShowOpensEachBodyExactlyAndWarnsOnceAboutPersonalData) {
    const auto bodies = add_numbered(2, "not_json");
    auto o = rejects_cmd({"show", "r-1", "r-0", "--format", "json"});
    ASSERT_EQ(o.status, 0) << o.err;
    const auto l = lines(o.out);
    ASSERT_EQ(l.size(), 2u) << o.out;
    const auto first = boost::json::parse(l[0]).as_object();
    const auto second = boost::json::parse(l[1]).as_object();
    EXPECT_EQ(first.at("message_id").as_string(), "r-1");
    EXPECT_EQ(std::string(first.at("body").as_string()), bodies.at("r-1"));
    EXPECT_EQ(std::string(second.at("body").as_string()), bodies.at("r-0"));
    EXPECT_EQ(first.at("reason").as_string(), "not_json");
    // One warning, before the bodies, naming personal data.
    const auto e = lines(o.err);
    ASSERT_EQ(e.size(), 1u) << o.err;
    EXPECT_NE(e[0].find("personal data"), std::string::npos);

    // Text: the record, then the body byte for byte (stdout is not a terminal here).
    o = rejects_cmd({"show", "r-0"});
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_NE(o.out.find("message id:     r-0\n"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("reason:         not_json\n"), std::string::npos);
    EXPECT_NE(o.out.find("receive count:  2\n"), std::string::npos);
    EXPECT_NE(o.out.find("replayed:       no\n"), std::string::npos);
    EXPECT_NE(o.out.find(bodies.at("r-0")), std::string::npos) << o.out;
}

TEST_F(Rejects, ShowReportsEachBodyThatCannotBeOpenedAndStillShowsTheOthers) {
    add_rejects({{"ok", "not_json"}, {"nobody", "db_refused:22001"}},
                {{"ok", body_of(1)}, {"nobody", ""}});
    auto o = rejects_cmd({"show", "ok", "nobody", "missing", "--format", "json"});
    EXPECT_EQ(o.status, 1);
    const auto l = lines(o.out);
    ASSERT_EQ(l.size(), 2u) << o.out; // "missing" has no record to print
    EXPECT_EQ(std::string(boost::json::parse(l[0]).at("body").as_string()), body_of(1));
    const auto nobody = boost::json::parse(l[1]).as_object();
    EXPECT_TRUE(nobody.at("body").is_null());
    EXPECT_EQ(nobody.at("body_error").as_string(), "no_body");
    EXPECT_NE(o.err.find("nobody: no body was kept"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("missing: no such reject"), std::string::npos) << o.err;

    // The wrong key: every body fails, each by id, with a reason a person can act on.
    add_rejects({{"other", "not_json"}}, {{"other", body_of(2)}});
    o = rejects_cmd({"show", "ok", "other"}, env(key_b));
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.err.find("ok: its body does not open with key 't1'"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("other: its body does not open with key 't1'"), std::string::npos);
    EXPECT_EQ(o.out.find("203.0.113"), std::string::npos);
    EXPECT_EQ(o.err.find("personal data"), std::string::npos) << "no body was shown";

    o = rejects_cmd({"show", "ok"}, env(key_c));
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.err.find("sealed with key 't1', which is not in the keyring"), std::string::npos)
        << o.err;
}

TEST_F(Rejects, ShowOnATerminalEscapesControlCharacters) {
    const std::string body = "{\"ip\": \"\x1b]0;owned\x07\", \"x\": \"\xc2\x9b"
                             "2J\x7f\"}\n";
    add_rejects({{"esc", "not_json"}}, {{"esc", body}});
    auto e = env();
    e.stdout_is_tty = true;
    const auto o = rejects_cmd({"show", "esc"}, e);
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out.find('\x1b'), std::string::npos);
    EXPECT_EQ(o.out.find("\xc2\x9b"), std::string::npos);
    EXPECT_NE(o.out.find("\\x1b]0;owned\\x07"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("\\u009b2J"), std::string::npos) << o.out;
    // JSON escapes what JSON escapes itself, and DEL and the C1 controls as \u escapes.
    const auto j = rejects_cmd({"show", "esc", "--format", "json"}, e);
    ASSERT_EQ(j.status, 0) << j.err;
    EXPECT_EQ(std::string(boost::json::parse(lines(j.out)[0]).at("body").as_string()), body);
    EXPECT_EQ(j.out.find('\x1b'), std::string::npos) << j.out;
    EXPECT_EQ(j.out.find('\x7f'), std::string::npos) << j.out;
    EXPECT_EQ(j.out.find("\xc2\x9b"), std::string::npos) << j.out;
    EXPECT_NE(j.out.find("\\u009b2J"), std::string::npos) << j.out;
    EXPECT_NE(j.out.find("\\u007f"), std::string::npos) << j.out;
}

// --- replay ---

TEST_F(Rejects, ReplaySendsTheBodiesWithTheAttributeAndMarksThemWithTheNewIds) {
    const auto bodies = add_numbered(12, "missing_field"); // two batches: 10 + 2
    add_numbered(1, "not_json", "other-");

    auto o = rejects_cmd({"replay", "--reason", "missing_field"});
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(lines(o.out).size(), 12u) << o.out;
    EXPECT_NE(o.err.find("12 replayed"), std::string::npos) << o.err;

    const auto got = drain_queue(12);
    ASSERT_EQ(got.size(), 12u);
    std::set<std::string> seen;
    for (const auto& m : got) {
        const auto* attr = m.find_message_attribute(app::replay_attribute);
        ASSERT_NE(attr, nullptr) << m.body;
        EXPECT_EQ(attr->data_type, "String");
        ASSERT_TRUE(bodies.count(attr->value)) << attr->value;
        EXPECT_EQ(m.body, bodies.at(attr->value));
        EXPECT_EQ(replayed_as(attr->value), m.message_id);
        EXPECT_NE(o.out.find("replayed " + attr->value + " as " + m.message_id + "\n"),
                  std::string::npos);
        seen.insert(attr->value);
    }
    EXPECT_EQ(seen.size(), 12u);
    EXPECT_EQ(replayed_as("other-0"), "<none>");

    // Again: nothing is sent twice, and that is success.
    o = rejects_cmd({"replay", "--reason", "missing_field"});
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_NE(o.err.find("no rejects match that are not replayed yet"), std::string::npos) << o.err;
    o = rejects_cmd({"replay", "r-3", "r-4"});
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_NE(o.err.find("r-3: already replayed"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("0 replayed"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("2 skipped"), std::string::npos) << o.err;
    EXPECT_TRUE(drain_queue(0).empty());

    // --force sends one again, under a new id.
    const std::string before = replayed_as("r-3");
    o = rejects_cmd({"replay", "r-3", "--force", "--format", "json"});
    ASSERT_EQ(o.status, 0) << o.err;
    const auto v = boost::json::parse(lines(o.out).at(0)).as_object();
    EXPECT_EQ(v.at("status").as_string(), "replayed");
    const auto again = drain_queue(1);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].body, bodies.at("r-3"));
    EXPECT_EQ(v.at("new_message_id").as_string(), again[0].message_id);
    EXPECT_EQ(replayed_as("r-3"), again[0].message_id);
    EXPECT_NE(replayed_as("r-3"), before);
}

TEST_F(Rejects, DryRunOpensTheBodiesButSendsAndMarksNothing) {
    add_numbered(3, "missing_field");
    const auto o = rejects_cmd({"replay", "--all", "--dry-run"});
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(lines(o.out).size(), 3u) << o.out;
    EXPECT_NE(o.out.find("would replay r-1 ("), std::string::npos) << o.out;
    EXPECT_NE(o.err.find("dry run: 3 would be replayed"), std::string::npos) << o.err;
    EXPECT_TRUE(drain_queue(0).empty());
    EXPECT_EQ(db_->count("SELECT count(*) FROM " + rejects() + " WHERE replayed_at IS NOT NULL"),
              0);

    // A body that does not open fails the dry run too.
    const auto wrong = rejects_cmd({"replay", "--all", "--dry-run"}, env(key_c));
    EXPECT_EQ(wrong.status, 1);
    EXPECT_NE(wrong.err.find("3 failed"), std::string::npos) << wrong.err;
}

TEST_F(Rejects, ReplaySendsWhatOpensMarksOnlyThatAndExitsOne) {
    add_rejects({{"good", "not_json"}, {"bare", "db_refused:22001"}},
                {{"good", body_of(5)}, {"bare", ""}});
    auto e = env();
    const auto o = rejects_cmd(
        {"replay", "good", "bare", "ghost", "--sqs-protocol", "json", "--format", "json"}, e);
    EXPECT_EQ(o.status, 1);
    std::map<std::string, std::string> status;
    for (const auto& l : lines(o.out)) {
        const auto v = boost::json::parse(l).as_object();
        status[std::string(v.at("message_id").as_string())] = v.at("status").as_string();
    }
    EXPECT_EQ(status["good"], "replayed");
    EXPECT_EQ(status["bare"], "failed");
    EXPECT_EQ(status["ghost"], "failed");
    const auto got = drain_queue(1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].body, body_of(5));
    EXPECT_EQ(replayed_as("good"), got[0].message_id);
    EXPECT_EQ(replayed_as("bare"), "<none>");
}

TEST_F(Rejects, ReplayToAMissingQueueFailsWithoutMarkingAnything) {
    add_numbered(2, "not_json");
    auto e = env();
    e.vars["SQS2PG_QUEUE_URL"] = queue_url_ + "-nosuch";
    const auto o = rejects_cmd({"replay", "--all"}, e);
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.err.find("NonExistentQueue"), std::string::npos) << o.err;
    EXPECT_EQ(db_->count("SELECT count(*) FROM " + rejects() + " WHERE replayed_at IS NOT NULL"),
              0);
}

// --- the binary ---

// The sqs2pg binary started with exactly `envp` as its environment, stdout and stderr
// going to files.
class binary {
public:
    binary(const std::vector<std::string>& args, const std::vector<std::string>& envp)
        : dir_(std::filesystem::temp_directory_path() / unique_name("rejects_bin_")) {
        const std::string bin = require_env("SQS2PG_BIN");
        std::filesystem::create_directories(dir_);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, out_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
        posix_spawn_file_actions_addopen(&fa, 2, err_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
        std::vector<char*> argv{const_cast<char*>(bin.c_str())};
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        std::vector<char*> env;
        for (const auto& v : envp)
            env.push_back(const_cast<char*>(v.c_str()));
        env.push_back(nullptr);
        const int rc = posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), env.data());
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0)
            throw std::runtime_error("cannot start " + bin);
    }
    ~binary() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        std::filesystem::remove_all(dir_);
    }
    binary(const binary&) = delete;
    binary& operator=(const binary&) = delete;

    pid_t pid() const { return pid_; }
    std::string err_so_far() const { return read_file(err_path()); }

    outcome wait() {
        int ws = 0;
        ::waitpid(pid_, &ws, 0);
        pid_ = 0;
        outcome o;
        o.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        o.out = read_file(out_path());
        o.err = read_file(err_path());
        return o;
    }

private:
    std::string out_path() const { return (dir_ / "out").string(); }
    std::string err_path() const { return (dir_ / "err").string(); }

    std::filesystem::path dir_;
    pid_t pid_ = 0;
};

outcome run_binary(const std::vector<std::string>& args, const std::vector<std::string>& envp) {
    binary b(args, envp);
    return b.wait();
}

TEST_F(Rejects, TheBinaryRefusesBadUsageWithStatusTwoAndReplaysWithTheRunSettings) {
    const std::vector<std::string> bare{"PATH=/usr/bin:/bin"};
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"rejects"},
             {"rejects", "frobnicate"},
             {"rejects", "list", "--no-such-option"},
             {"rejects", "list", "--limit", "0"},
             {"rejects", "list", "--since", "last tuesday"},
             {"rejects", "show"},
             {"rejects", "show", "some-id"}, // no key
             {"rejects", "replay", "--mask-key-file", "/nonexistent/keys", "--all", "--queue-url",
              "http://127.0.0.1:1/1/q"},
             {"rejects", "replay", "--all", "--queue-url", "http://127.0.0.1:1/1/q"}, // no key
             {"rejects", "replay", "id-1", "--reason", "not_json"},
         }) {
        auto with_key = bare;
        if (args.size() > 2 && args[1] == "replay" && args[2] == "id-1")
            with_key.push_back("SQS2PG_MASK_KEY=" + std::string(key_a));
        const auto o = run_binary(args, with_key);
        EXPECT_EQ(o.status, 2) << args.back() << ": " << o.err;
        EXPECT_TRUE(o.out.empty()) << o.out;
        EXPECT_EQ(lines(o.err).size(), 1u) << o.err;
        EXPECT_TRUE(o.err.starts_with("sqs2pg")) << o.err;
    }
    const auto help = run_binary({"rejects", "--help"}, bare);
    EXPECT_EQ(help.status, 0);
    for (const char* what : {"list", "show", "replay", "--include-replayed", "--dry-run", "--force",
                             "--queue-url", "SQS2PG_MASK_KEY_FILE", "DATABASE_URL",
                             "sqs2pg-replay-of", "personal data", "Exit status"})
        EXPECT_NE(help.out.find(what), std::string::npos) << what;

    // The happy path with the environment a deployment of `sqs2pg run` has: the key in a
    // file, the database in DATABASE_URL, the queue by name, AWS settings as exported.
    const auto bodies = add_numbered(3, "invalid_app_version");
    const auto dir = std::filesystem::temp_directory_path() / unique_name("rejects_key_");
    std::filesystem::create_directories(dir);
    const std::string key_file = (dir / "mask.keys").string();
    {
        std::ofstream f(key_file);
        f << "# test key\n" << key_a << '\n';
        f.close();
        ASSERT_TRUE(f) << key_file;
        ASSERT_EQ(::chmod(key_file.c_str(), 0600), 0);
    }
    std::vector<std::string> deployed = bare;
    for (const auto& [k, v] : env("").vars)
        if (k != "SQS2PG_QUEUE_URL")
            deployed.push_back(k + "=" + v);
    deployed.push_back("DATABASE_URL=" + conninfo_);
    deployed.push_back("SQS2PG_TABLE=" + table());
    deployed.push_back("SQS2PG_MASK_KEY_FILE=" + key_file);
    deployed.push_back("SQS2PG_QUEUE_NAME=" + queue_name_);

    const auto replay = run_binary({"rejects", "replay", "--all"}, deployed);
    std::filesystem::remove_all(dir);
    ASSERT_EQ(replay.status, 0) << replay.err;
    EXPECT_EQ(lines(replay.out).size(), 3u) << replay.out;
    EXPECT_NE(replay.err.find("3 replayed to " + queue_url_), std::string::npos) << replay.err;
    const auto got = drain_queue(3);
    ASSERT_EQ(got.size(), 3u);
    for (const auto& m : got) {
        const auto* attr = m.find_message_attribute(app::replay_attribute);
        ASSERT_NE(attr, nullptr);
        EXPECT_EQ(m.body, bodies.at(attr->value));
    }

    const auto listed =
        run_binary({"rejects", "list", "--include-replayed", "--format", "json"}, deployed);
    ASSERT_EQ(listed.status, 0) << listed.err;
    const auto l = lines(listed.out);
    ASSERT_EQ(l.size(), 3u) << listed.out;
    for (const auto& line : l)
        EXPECT_FALSE(boost::json::parse(line).at("replayed_message_id").is_null()) << line;
}

// Ctrl-C while a batch is in flight: the batch is finished and marked, nothing more is
// sent, and nothing is left sent-but-unmarked.
TEST_F(Rejects, TheFirstInterruptLetsTheBatchInFlightFinishAndBeMarked) {
    const auto bodies = add_numbered(12, "not_json"); // ids in list order: r-0, r-1, r-10, ...
    // A SHARE lock on the table: the replay reads and locks the first batch's rows and
    // sends them, then marking them waits on the lock. (A row lock would not do: a
    // replay skips rows another transaction holds, as another replay would hold them.)
    sync_db locker(conninfo_);
    locker.exec("BEGIN");
    locker.exec("LOCK TABLE " + rejects() + " IN SHARE MODE");

    std::vector<std::string> envp{"PATH=/usr/bin:/bin"};
    for (const auto& [k, v] : env().vars)
        envp.push_back(k + "=" + v);
    binary replay({"rejects", "replay", "--all", "--pg", conninfo_, "--table", table()}, envp);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    auto waiting = [&] {
        return db_->count("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                          "'sqs2pg rejects' AND wait_event_type = 'Lock'") > 0;
    };
    while (!waiting()) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << replay.err_so_far();
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(::kill(replay.pid(), SIGINT), 0);
    while (replay.err_so_far().find("stopping after the batch in flight") == std::string::npos) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << replay.err_so_far();
        std::this_thread::sleep_for(20ms);
    }
    locker.exec("ROLLBACK");

    const auto o = replay.wait();
    EXPECT_EQ(o.status, 1) << o.err;
    EXPECT_NE(o.err.find("stopped on request: 2 reject(s) not attempted"), std::string::npos)
        << o.err;
    EXPECT_NE(o.err.find("10 replayed"), std::string::npos) << o.err;
    const auto got = drain_queue(10);
    ASSERT_EQ(got.size(), 10u);
    for (const auto& m : got) {
        const auto* attr = m.find_message_attribute(app::replay_attribute);
        ASSERT_NE(attr, nullptr);
        EXPECT_EQ(replayed_as(attr->value), m.message_id);
    }
    EXPECT_EQ(db_->count("SELECT count(*) FROM " + rejects() + " WHERE replayed_at IS NULL"), 2);

    // Running it again sends the other two.
    const auto rest = rejects_cmd({"replay", "--all"});
    EXPECT_EQ(rest.status, 0) << rest.err;
    EXPECT_NE(rest.err.find("2 replayed"), std::string::npos) << rest.err;
}

// Two replays of the same rejects at the same time (two processes, two connections): each
// reject is sent exactly once, by one of them, and marked with the id it arrived with;
// the other skips it. The same holds for two --force replays.
TEST_F(Rejects, TwoReplaysAtOnceSendEachRejectExactlyOnce) {
    const auto bodies = add_numbered(30, "not_json"); // three batches each
    std::vector<std::string> envp{"PATH=/usr/bin:/bin"};
    for (const auto& [k, v] : env().vars)
        envp.push_back(k + "=" + v);

    // Both runs start, and each gets as far as marking what it sent, before either can
    // commit a mark: a SHARE lock on the table lets them read, lock rows and send, but
    // holds every UPDATE until both wait on it.
    const auto both = [&](std::vector<std::string> extra) {
        sync_db locker(conninfo_);
        locker.exec("BEGIN");
        locker.exec("LOCK TABLE " + rejects() + " IN SHARE MODE");
        std::vector<std::string> args{"rejects", "replay",  "--all",   "--format", "json",
                                      "--pg",    conninfo_, "--table", table()};
        args.insert(args.end(), extra.begin(), extra.end());
        binary first(args, envp);
        binary second(args, envp);
        const auto deadline = std::chrono::steady_clock::now() + 25s;
        while (db_->count("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                          "'sqs2pg rejects' AND wait_event_type = 'Lock'") < 2) {
            if (std::chrono::steady_clock::now() > deadline) {
                ADD_FAILURE() << "the two runs did not both reach marking:\n"
                              << first.err_so_far() << second.err_so_far();
                break;
            }
            std::this_thread::sleep_for(20ms);
        }
        locker.exec("ROLLBACK");
        return std::vector<outcome>{first.wait(), second.wait()};
    };
    // What the runs said about each reject ("replayed", "skipped", ...).
    const auto statuses = [](const std::vector<outcome>& runs) {
        std::map<std::string, std::vector<std::string>> by_id;
        for (const auto& o : runs)
            for (const auto& l : lines(o.out)) {
                const auto v = boost::json::parse(l).as_object();
                by_id[std::string(v.at("message_id").as_string())].push_back(
                    std::string(v.at("status").as_string()));
            }
        return by_id;
    };
    const auto check_sent_once = [&](const std::vector<outcome>& runs) {
        for (const auto& o : runs)
            EXPECT_EQ(o.status, 0) << o.err;
        const auto got = drain_queue(bodies.size());
        std::map<std::string, int> times;
        for (const auto& m : got) {
            const auto* attr = m.find_message_attribute(app::replay_attribute);
            ASSERT_NE(attr, nullptr) << m.body;
            ++times[attr->value];
            EXPECT_EQ(m.body, bodies.at(attr->value));
        }
        EXPECT_EQ(got.size(), bodies.size()) << runs[0].err << runs[1].err;
        EXPECT_EQ(times.size(), bodies.size());
        for (const auto& [id, n] : times)
            EXPECT_EQ(n, 1) << id << " was sent " << n << " times";
        // The row names the copy that was sent, and one run says it replayed it.
        for (const auto& m : got) {
            if (const auto* attr = m.find_message_attribute(app::replay_attribute)) {
                EXPECT_EQ(replayed_as(attr->value), m.message_id) << attr->value;
            }
        }
        const auto said = statuses(runs);
        EXPECT_EQ(said.size(), bodies.size());
        for (const auto& [id, what] : said)
            EXPECT_EQ(std::count(what.begin(), what.end(), "replayed"), 1) << id;
    };

    check_sent_once(both({}));
    EXPECT_EQ(db_->count("SELECT count(*) FROM " + rejects() + " WHERE replayed_at IS NULL"), 0);

    // --force sends replayed rejects again; two forced runs at once still send each once.
    check_sent_once(both({"--force"}));
}

// End to end with the pipeline: `sqs2pg run --drain` keeps the sample's bad message as a
// reject; list, show and replay find it, and the replayed copy comes back through run
// as a new reject pointing at the old one.
TEST_F(Rejects, RejectsOfTheRealPipelineAreListedOpenedAndReplayedThroughIt) {
    std::set<std::string> sent;
    {
        const auto sample = boost::json::parse(read_file(data_path("sample_data.json")));
        std::vector<sqs::send_entry> batch;
        auto flush = [&] {
            auto r = await(sqs_->async_send_message_batch(queue_url_, std::move(batch)));
            ASSERT_TRUE(r) << sqs_->explain(r.error());
            ASSERT_TRUE(r->all_succeeded());
            batch.clear();
        };
        for (const auto& element : sample.as_array()) {
            std::string body = boost::json::serialize(element);
            sent.insert(body);
            batch.emplace_back("m" + std::to_string(batch.size()), std::move(body));
            if (batch.size() == 10)
                flush();
        }
        if (!batch.empty())
            flush();
    }
    ASSERT_EQ(sent.size(), 100u);
    stop_writer(); // sqs2pg run connects on its own

    std::vector<std::string> envp{"PATH=/usr/bin:/bin"};
    for (const auto& [k, v] : env().vars)
        envp.push_back(k + "=" + v);
    envp.push_back("DATABASE_URL=" + conninfo_);
    envp.push_back("SQS2PG_TABLE=" + table());
    const auto drained = run_binary({"run", "--drain"}, envp);
    ASSERT_EQ(drained.status, 0) << drained.err;
    ASSERT_EQ(rows_in_table(), 99);

    auto listed = run_binary({"rejects", "list", "--format", "json"}, envp);
    ASSERT_EQ(listed.status, 0) << listed.err;
    auto l = lines(listed.out);
    ASSERT_EQ(l.size(), 1u) << listed.out;
    const auto first = boost::json::parse(l[0]).as_object();
    const std::string id(first.at("message_id").as_string());
    const std::string reason(first.at("reason").as_string());
    EXPECT_EQ(first.at("receive_count").as_int64(), 1);

    const auto shown = run_binary({"rejects", "show", id, "--format", "json"}, envp);
    ASSERT_EQ(shown.status, 0) << shown.err;
    const std::string body(boost::json::parse(lines(shown.out).at(0)).at("body").as_string());
    EXPECT_TRUE(sent.count(body)) << body;

    // run --drain exits with its last long polls (1 s in drain mode) still open on the
    // server; a message sent before they end is handed to a closed connection and stays
    // invisible for the visibility timeout. Let them end first.
    std::this_thread::sleep_for(1500ms);
    const auto replayed = run_binary({"rejects", "replay", "--all"}, envp);
    ASSERT_EQ(replayed.status, 0) << replayed.err;
    const std::string new_id = replayed_as(id);
    ASSERT_NE(new_id, "<none>");

    // The unchanged body is rejected again, now under its new id.
    const auto again = run_binary({"run", "--drain"}, envp);
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(rows_in_table(), 99);
    listed = run_binary({"rejects", "list", "--include-replayed", "--format", "json"}, envp);
    l = lines(listed.out);
    ASSERT_EQ(l.size(), 2u) << listed.out;
    const auto newer = boost::json::parse(l[0]).as_object();
    EXPECT_EQ(newer.at("message_id").as_string(), new_id);
    EXPECT_EQ(newer.at("reason").as_string(), reason);
    EXPECT_TRUE(newer.at("replayed_at").is_null());
    const auto older = boost::json::parse(l[1]).as_object();
    EXPECT_EQ(older.at("message_id").as_string(), id);
    EXPECT_EQ(older.at("replayed_message_id").as_string(), new_id);
    const auto reopened = run_binary({"rejects", "show", new_id, "--format", "json"}, envp);
    EXPECT_EQ(std::string(boost::json::parse(lines(reopened.out).at(0)).at("body").as_string()),
              body);
}

} // namespace
} // namespace sqs2pg::test
