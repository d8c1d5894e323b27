// `sqs2pg rekey` command lines (sans-io): the modes as run reads them, the columns, the
// refusal of one-way columns with the reason, the batch size, the keyring.
#include <sqs2pg/app/commands/rekey.hpp>

#include <gtest/gtest.h>

#include <sstream>

namespace sqs2pg::app {
namespace {

using mask::field;
using mask::mode;

environment env_of(std::initializer_list<std::pair<const char*, const char*>> vars) {
    environment e;
    for (const auto& [k, v] : vars)
        e.vars[k] = v;
    return e;
}

const environment with_key = env_of({{"SQS2PG_MASK_KEY", "k1 00112233445566778899aabbccddeeff"
                                                         "00112233445566778899aabbccddeefe"}});

config_result<rekey_request> parse(std::vector<std::string> args,
                                   const environment& env = with_key) {
    return parse_rekey_args(args, env);
}

std::string error_of(std::vector<std::string> args, const environment& env = with_key) {
    auto r = parse(std::move(args), env);
    if (r) {
        ADD_FAILURE() << "expected an error";
        return {};
    }
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "one line";
    return r.error().message;
}

TEST(RekeyArgs, ReversibleColumnsAsRunHasThem) {
    auto r = parse({"--mask-ip", "ipcrypt-pfx", "--pg", "dbname=x", "--table", "s.logins"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->modes, (mask::field_modes{mode::ipcrypt_pfx, mode::hmac_sha256}));
    EXPECT_TRUE(r->columns.empty()) << "every reversible column";
    EXPECT_EQ(r->batch_rows, rekey_default_batch);
    EXPECT_FALSE(r->dry_run);
    EXPECT_EQ(r->conninfo, "dbname=x");
    EXPECT_EQ(r->table.schema, "s");
    EXPECT_EQ(r->table.name, "logins");
    ASSERT_TRUE(r->keys.env_value);

    // The same variables as run.
    r = parse({}, env_of({{"SQS2PG_MASK", "aes-siv"},
                          {"SQS2PG_MASK_IP", "ipcrypt"},
                          {"SQS2PG_MASK_KEY_FILE", "/k"}}));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->modes, (mask::field_modes{mode::ipcrypt, mode::aes_siv}));
    EXPECT_EQ(r->keys.key_file, "/k");

    r = parse({"--mask=aes-siv", "--column", "ip,device_id", "--batch-size=50", "--dry-run"});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->columns, (std::vector<field>{field::ip, field::device_id}));
    EXPECT_EQ(r->batch_rows, 50u);
    EXPECT_TRUE(r->dry_run);
    r = parse({"--mask=aes-siv", "--column=masked_device_id"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->columns, (std::vector<field>{field::device_id}));
}

TEST(RekeyArgs, OneWayColumnsAreRefusedWithTheReason) {
    // Defaults: both hmac-sha256.
    const std::string none = error_of({});
    EXPECT_NE(none.find("nothing to re-key: masked_ip is hmac-sha256 and masked_device_id is "
                        "hmac-sha256"),
              std::string::npos)
        << none;
    EXPECT_NE(none.find("cannot be re-keyed without the originals"), std::string::npos) << none;
    // Asked for by name.
    const std::string named = error_of({"--mask-ip=ipcrypt-pfx", "--column", "device_id"});
    EXPECT_TRUE(named.starts_with("sqs2pg: --column: masked_device_id is hmac-sha256: its values "
                                  "are one-way and cannot be re-keyed without the originals"))
        << named;
    EXPECT_NE(error_of({"--mask=sha256", "--column=ip"}).find("masked_ip is sha256"),
              std::string::npos);
    // ipcrypt modes stay ip's only here too.
    EXPECT_NE(error_of({"--mask=ipcrypt"}).find("applies to ip only"), std::string::npos);
}

TEST(RekeyArgs, UsageErrors) {
    EXPECT_NE(error_of({"--mask=aes-siv", "--column=user_id"}).find("must be ip, device_id"),
              std::string::npos);
    EXPECT_NE(error_of({"--mask=aes-siv", "--batch-size=0"}).find("between 1 and 100000"),
              std::string::npos);
    EXPECT_NE(error_of({"--mask=aes-siv", "extra"}).find("unexpected argument 'extra'"),
              std::string::npos);
    EXPECT_NE(error_of({"--mask=aes-siv"}, {}).find("--mask-key-file"), std::string::npos);
    EXPECT_NE(error_of({"--mask=aes-siv", "--queue-url=x"}).find("unknown option"),
              std::string::npos);
}

TEST(RekeyArgs, HelpNamesTheOptionsAndExitStatuses) {
    auto r = parse({"--help"});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->help);
    const std::string h = rekey_help();
    for (const char* s : {"--dry-run", "--column", "--batch-size", "--mask-ip", "--mask-device-id",
                          "--mask-key-file", "--pg", "--table", "SQS2PG_MASK_IP", "Exit status"})
        EXPECT_NE(h.find(s), std::string::npos) << s;
    std::istringstream lines(h);
    for (std::string l; std::getline(lines, l);)
        EXPECT_LE(l.size(), 80u) << l;
    std::ostringstream out, err;
    const std::vector<std::string> args{"--help"};
    EXPECT_EQ(run_rekey(args, with_key, out, err), 0);
    EXPECT_EQ(out.str(), h);
}

TEST(RekeyArgs, RefusalsExitWithStatusTwoBeforeConnecting) {
    std::ostringstream out, err;
    const std::vector<std::string> args{"--pg", "host=192.0.2.1 connect_timeout=1"};
    EXPECT_EQ(run_rekey(args, with_key, out, err), 2);
    EXPECT_NE(err.str().find("nothing to re-key"), std::string::npos) << err.str();
    EXPECT_EQ(out.str(), "");
}

} // namespace
} // namespace sqs2pg::app
