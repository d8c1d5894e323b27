// The keygen and unmask subcommands as a user runs them: arguments, stdin, exit codes.
#include <sqs2pg/app/commands/keys.hpp>
#include <sqs2pg/mask/masker.hpp>

#include "test_env.hpp"
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

namespace sqs2pg::app {
namespace {

struct run_result {
    int status;
    std::string out;
    std::string err;
};

run_result keygen(std::vector<std::string_view> args) {
    std::ostringstream out, err;
    const int status = run_keygen(args, out, err);
    return {status, out.str(), err.str()};
}

run_result unmask(std::vector<std::string_view> args, std::optional<std::string_view> env,
                  const std::string& input = {}) {
    std::istringstream in(input);
    std::ostringstream out, err;
    const int status = run_unmask(args, env, in, out, err);
    return {status, out.str(), err.str()};
}

TEST(KeygenCommand, PrintsAKeyringThatMasks) {
    const run_result r = keygen({"--kid", "prod1"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto keys = mask::parse_keyring(r.out, "keygen output");
    ASSERT_TRUE(keys) << keys.error().message;
    EXPECT_EQ(keys->active().id(), "prod1");
    EXPECT_NE(r.err.find("secret"), std::string::npos);
    EXPECT_NE(keygen({}).out, keygen({}).out);
    EXPECT_EQ(keygen({"--kid", "no:colons"}).status, 2);
    EXPECT_EQ(keygen({"--bogus"}).status, 2);
    EXPECT_EQ(keygen({"--help"}).status, 0);
}

class UnmaskCommand : public ::testing::Test {
protected:
    void SetUp() override {
        key_text_ = keygen({"--kid", "k1"}).out;
        auto keys = mask::parse_keyring(key_text_, "x");
        ASSERT_TRUE(keys);
        const mask::masker m(mask::mode::aes_siv, *keys);
        ip_ = *m.mask(mask::field::ip, "203.0.113.9");
        dev_ = *m.mask(mask::field::device_id, "593-47-5928");
        hmac_ = *mask::masker(mask::mode::hmac_sha256, *keys).mask(mask::field::ip, "1.2.3.4");
    }
    std::string key_text_, ip_, dev_, hmac_;
};

TEST_F(UnmaskCommand, ValuesAsArgumentsWithTheKeyInTheEnvironment) {
    const run_result r = unmask({ip_, dev_}, key_text_);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "203.0.113.9\n593-47-5928\n");
    EXPECT_EQ(r.err, "");
}

TEST_F(UnmaskCommand, LinesOnStdinStayAlignedAndFailuresAreExplained) {
    const std::string input = ip_ + "\n\n" + hmac_ + "\r\n" + dev_ + "\nk7:abcd\n";
    const run_result r = unmask({}, key_text_, input);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "203.0.113.9\n\n\n593-47-5928\n\n");
    EXPECT_NE(r.err.find("cannot be unmasked"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("aes-siv"), std::string::npos);
    EXPECT_NE(r.err.find("'k7'"), std::string::npos);
}

TEST_F(UnmaskCommand, ControlCharactersAreEscapedUnlessRawIsAsked) {
    // A device_id is whatever the producer sent: a line break would shift every following
    // value, an escape sequence would drive the terminal.
    auto keys = mask::parse_keyring(key_text_, "x");
    ASSERT_TRUE(keys);
    const mask::masker m(mask::mode::aes_siv, *keys);
    const std::string evil = "dev\n\x1b[2J\\x0a\tend";
    const auto masked = m.mask(mask::field::device_id, evil);
    ASSERT_TRUE(masked);
    const run_result shown = unmask({*masked, ip_}, key_text_);
    EXPECT_EQ(shown.status, 0) << shown.err;
    EXPECT_EQ(shown.out, "dev\\x0a\\x1b[2J\\\\x0a\\x09end\n203.0.113.9\n");
    const run_result raw = unmask({"--raw", *masked}, key_text_);
    EXPECT_EQ(raw.status, 0) << raw.err;
    EXPECT_EQ(raw.out, evil + "\n");
}

TEST_F(UnmaskCommand, KeyFileOptionAndKeyringErrors) {
    const std::string path = "/tmp/" + test::unique_name("sqs2pg_unmask_");
    std::ofstream(path) << key_text_;
    ::chmod(path.c_str(), 0600);
    const run_result from_file = unmask({"--mask-key-file", path, ip_}, std::nullopt);
    EXPECT_EQ(from_file.status, 0) << from_file.err;
    EXPECT_EQ(from_file.out, "203.0.113.9\n");
    const run_result eq_form = unmask({"--mask-key-file=" + path, ip_}, std::nullopt);
    EXPECT_EQ(eq_form.status, 0) << eq_form.err;
    std::remove(path.c_str());

    const run_result none = unmask({ip_}, std::nullopt);
    EXPECT_EQ(none.status, 2);
    EXPECT_NE(none.err.find("SQS2PG_MASK_KEY"), std::string::npos);
    const run_result bad = unmask({ip_}, "k1 tooshort");
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.err.find("SQS2PG_MASK_KEY line 1"), std::string::npos);
    EXPECT_EQ(unmask({"--nope"}, key_text_).status, 2);
    EXPECT_EQ(unmask({"--mask-key-file"}, key_text_).status, 2);
}

} // namespace
} // namespace sqs2pg::app
