// The keygen and unmask subcommands as a user runs them: arguments, stdin, exit codes.
#include <sqs2pg/app/commands/keys.hpp>
#include <sqs2pg/mask/masker.hpp>

#include "test_env.hpp"
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
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

// A fresh directory for files the commands write; removed with what is in it.
class scratch_dir {
public:
    scratch_dir()
        : path_("/tmp/" + test::unique_name("sqs2pg_keygen_")) {
        ::mkdir(path_.c_str(), 0700);
    }
    ~scratch_dir() { std::filesystem::remove_all(path_); }
    std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

private:
    std::string path_;
};

mode_t mode_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return 07777;
    return st.st_mode & 07777;
}

std::string contents(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

TEST(KeygenCommand, OutCreatesTheFileOwnerOnlyFromTheStart) {
    const scratch_dir dir;
    const std::string path = dir.file("mask.keys");
    // Even with a umask that would leave the file open to everyone.
    const mode_t old_umask = ::umask(0);
    const run_result r = keygen({"--kid", "file1", "--out", path});
    ::umask(old_umask);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "") << "the key goes to the file only";
    EXPECT_EQ(mode_of(path), 0600u);
    auto keys = mask::parse_keyring(contents(path), "mask.keys");
    ASSERT_TRUE(keys) << keys.error().message;
    EXPECT_EQ(keys->active().id(), "file1");
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    // The file loads as a key file (owner-only, so no complaint).
    auto loaded = mask::load_keyring_file(path);
    ASSERT_TRUE(loaded) << loaded.error().message;

    // The --out=FILE spelling.
    const std::string second = dir.file("second.keys");
    ASSERT_EQ(keygen({"--out=" + second}).status, 0);
    EXPECT_EQ(mode_of(second), 0600u);
}

TEST(KeygenCommand, OutNeverOverwritesAnExistingFile) {
    const scratch_dir dir;
    const std::string path = dir.file("mask.keys");
    ASSERT_EQ(keygen({"--out", path}).status, 0);
    const std::string before = contents(path);
    const run_result again = keygen({"--out", path});
    EXPECT_EQ(again.status, 2);
    EXPECT_EQ(again.out, "");
    EXPECT_EQ(std::count(again.err.begin(), again.err.end(), '\n'), 1) << again.err;
    EXPECT_TRUE(again.err.starts_with("sqs2pg keygen: ")) << again.err;
    EXPECT_NE(again.err.find(path), std::string::npos) << again.err;
    EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
    EXPECT_EQ(contents(path), before) << "the existing key must stay as it was";

    // A symlink, even one pointing nowhere, is not followed.
    const std::string link = dir.file("link.keys");
    ASSERT_EQ(::symlink(dir.file("target.keys").c_str(), link.c_str()), 0);
    EXPECT_EQ(keygen({"--out", link}).status, 2);
    EXPECT_FALSE(std::filesystem::exists(dir.file("target.keys")));

    // A directory that does not exist: named, status 2.
    const run_result missing = keygen({"--out", dir.file("no/such/dir.keys")});
    EXPECT_EQ(missing.status, 2);
    EXPECT_NE(missing.err.find(dir.file("no/such/dir.keys")), std::string::npos) << missing.err;

    EXPECT_EQ(keygen({"--out"}).status, 2);
    EXPECT_EQ(keygen({"--out="}).status, 2);
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

TEST_F(UnmaskCommand, AddressShapedValuesOfEitherIpcryptModeInOnePipe) {
    // One column may hold every reversible format (e.g. after a change of --mask-ip): each
    // value says how it was made, so one pipe unmasks them all, and a key id naming no key
    // is reported with the key id whatever the separator.
    auto keys = mask::parse_keyring(key_text_, "x");
    ASSERT_TRUE(keys);
    const mask::masker pfx(mask::field_modes{mask::mode::ipcrypt_pfx, mask::mode::aes_siv}, *keys);
    const mask::masker det(mask::field_modes{mask::mode::ipcrypt, mask::mode::aes_siv}, *keys);
    const std::string v4 = *pfx.mask(mask::field::ip, "203.0.113.9");
    const std::string v6 = *pfx.mask(mask::field::ip, "2001:DB8::7");
    const std::string d4 = *det.mask(mask::field::ip, "::ffff:203.0.113.9");
    EXPECT_TRUE(v4.starts_with("k1:")) << v4;
    EXPECT_TRUE(d4.starts_with("k1~")) << d4;
    const std::string input = v4 + "\n" + v6 + "\n" + d4 + "\n" + ip_ + "\nk7~2001:db8::1\n";
    const run_result r = unmask({}, key_text_, input);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "203.0.113.9\n2001:db8::7\n203.0.113.9\n203.0.113.9\n\n");
    EXPECT_NE(r.err.find("value 5: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("'k7'"), std::string::npos) << r.err;
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

TEST_F(UnmaskCommand, AKeyFileOthersCanReadIsRefused) {
    const scratch_dir dir;
    const std::string path = dir.file("mask.keys");
    std::ofstream(path) << key_text_; // the key the values were masked with
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    const run_result r = unmask({"--mask-key-file", path, ip_}, std::nullopt);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "sqs2pg unmask: --mask-key-file " + path +
                         ": readable by group or others (mode 0644); run chmod 600 " + path + "\n");
}

} // namespace
} // namespace sqs2pg::app
