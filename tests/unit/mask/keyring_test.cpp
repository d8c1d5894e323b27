// Keyring text format, its errors (which never echo key material), the key file with its
// permission refusal, key sources, the no-key refusal and key generation.
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/ops/log.hpp>

#include "test_env.hpp"
#include "test_keys.hpp"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace sqs2pg::mask {
namespace {

using testing::key_0_to_31;
using testing::other_key;

// Captures ops::log lines for the duration of a test.
class captured_log {
public:
    captured_log()
        : file_(std::tmpfile()) {
        ops::configure_logging(ops::level::debug, ops::log_format::json, file_);
    }
    ~captured_log() {
        ops::configure_logging(ops::level::info, ops::log_format::json, stderr);
        std::fclose(file_);
    }
    std::string text() {
        std::fflush(file_);
        std::rewind(file_);
        std::string out;
        char buf[4096];
        while (std::size_t n = std::fread(buf, 1, sizeof buf, file_))
            out.append(buf, n);
        return out;
    }

private:
    std::FILE* file_;
};

std::string write_key_file(const std::string& text, mode_t mode) {
    const std::string path = "/tmp/" + test::unique_name("sqs2pg_keys_");
    // Created owner-only, as a key file should be, then given the mode under test.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0) << path;
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    ::chmod(path.c_str(), mode);
    return path;
}

load_error parse_error(std::string_view text) {
    auto r = parse_keyring(text, "keys.txt");
    EXPECT_FALSE(r.has_value()) << text;
    return r ? load_error{} : r.error();
}

TEST(Keyring, SingleKeyIsActiveWithoutTheFlag) {
    auto r = parse_keyring("k1 " + std::string(key_0_to_31), "x");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->active().id(), "k1");
    EXPECT_EQ(base::to_hex(r->active().material()), key_0_to_31);
}

TEST(Keyring, SeveralKeysHexAndBase64CommentsAndSemicolons) {
    const std::string b64 = base::to_base64(*base::from_hex(other_key));
    const std::string b64url = base::to_base64url(*base::from_hex(other_key));
    const std::string text = "# keys\n\n  old " + std::string(key_0_to_31) +
                             "   # retired 2024\r\nnew\t" + b64 + " active\nk3 " + b64url +
                             "; k4 " + b64.substr(0, 43) + "\n";
    auto r = parse_keyring(text, "x");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->keys().size(), 4u);
    EXPECT_EQ(r->active().id(), "new");
    EXPECT_EQ(base::to_hex(r->find("new")->material()), other_key);
    EXPECT_EQ(base::to_hex(r->find("k3")->material()), other_key);
    EXPECT_EQ(base::to_hex(r->find("old")->material()), key_0_to_31);
    EXPECT_EQ(r->find("nope"), nullptr);
    // The environment form: entries separated by ';' on one line.
    auto env =
        parse_keyring("a " + std::string(key_0_to_31) + "; b " + std::string(other_key) + " active",
                      "SQS2PG_MASK_KEY");
    ASSERT_TRUE(env) << env.error().message;
    EXPECT_EQ(env->active().id(), "b");
}

TEST(Keyring, ErrorsNameTheLineAndNeverTheKey) {
    const std::string k(key_0_to_31);
    const std::string o(other_key);
    const std::pair<std::string, errc> cases[] = {
        {"", errc::key_syntax},
        {"# only a comment\n", errc::key_syntax},
        {"k1\n", errc::key_syntax},
        {"k1 " + k + " primary\n", errc::key_syntax},
        {"k1 " + k + " active extra\n", errc::key_syntax},
        {"bad:id " + k + "\n", errc::key_invalid_id},
        {"a_very_long_key_id_x " + k + "\n", errc::key_invalid_id},
        {"k1 " + k.substr(0, 62) + "\n", errc::key_invalid_material},
        {"k1 " + k + "00\n", errc::key_invalid_material},
        {"k1 not-a-key\n", errc::key_invalid_material},
        {"k1 " + std::string(64, '0') + "\n", errc::key_invalid_material},
        {"k1 " + k + "\nk1 " + o + " active\n", errc::key_duplicate_id},
        {"k1 " + k + "\nk2 " + o + "\n", errc::key_no_active},
        {"k1 " + k + " active\nk2 " + o + " active\n", errc::key_several_active},
    };
    for (const auto& [text, code] : cases) {
        const load_error e = parse_error(text);
        EXPECT_EQ(e.code, code) << text << " -> " << e.message;
        EXPECT_NE(e.message.find("keys.txt"), std::string::npos) << e.message;
        EXPECT_EQ(e.message.find(k.substr(0, 16)), std::string::npos) << e.message;
        EXPECT_EQ(e.message.find(o.substr(0, 16)), std::string::npos) << e.message;
    }
    EXPECT_NE(parse_error("k1 " + k + "\nk2 " + o + "\n").message.find("active"),
              std::string::npos);
    EXPECT_NE(parse_error("\n\nk1 nope\n").message.find("line 3"), std::string::npos);
}

TEST(KeyringFile, LoadsOnlyWhenGroupAndOthersHaveNoAccess) {
    const std::string text = "# test\nk1 " + std::string(key_0_to_31) + "\n";
    for (const mode_t mode : {0600, 0400}) {
        captured_log log;
        const std::string path = write_key_file(text, mode);
        auto r = load_keyring_file(path);
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(r->active().id(), "k1");
        EXPECT_EQ(log.text(), "");
        std::remove(path.c_str());
    }
    // Like ssh with a private key: any access for group or others is refused, and the
    // message says how to fix it. Nothing is read, so nothing of the key shows anywhere.
    const std::pair<mode_t, std::string_view> refused[] = {
        {0644, "readable by group or others (mode 0644)"},
        {0640, "readable by group or others (mode 0640)"},
        {0604, "readable by group or others (mode 0604)"},
        {0620, "writable by group or others (mode 0620)"},
        {0602, "writable by group or others (mode 0602)"},
        {0610, "accessible to group or others (mode 0610)"},
    };
    for (const auto& [mode, what] : refused) {
        captured_log log;
        const std::string path = write_key_file(text, mode);
        auto r = load_keyring_file(path);
        ASSERT_FALSE(r) << std::oct << mode;
        EXPECT_EQ(r.error().message,
                  "--mask-key-file " + path + ": " + std::string(what) + "; run chmod 600 " + path);
        EXPECT_EQ(r.error().message.find(std::string(key_0_to_31)), std::string::npos);
        EXPECT_EQ(log.text().find(std::string(key_0_to_31)), std::string::npos);
        // load_keyring, the path every command takes, refuses it the same way.
        auto via_source = load_keyring({path, std::nullopt});
        ASSERT_FALSE(via_source);
        EXPECT_EQ(via_source.error().message, r.error().message);
        std::remove(path.c_str());
    }
}

TEST(KeyringFile, TheFixQuotesAPathTheShellWouldSplit) {
    const std::string dir = "/tmp/" + test::unique_name("sqs2pg keys ");
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    const std::string path = dir + "/it's.keys";
    { std::ofstream(path) << "k1 " << key_0_to_31 << "\n"; }
    ::chmod(path.c_str(), 0640);
    auto r = load_keyring_file(path);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("; run chmod 600 '" + dir + "/it'\\''s.keys'"),
              std::string::npos)
        << r.error().message;
    std::remove(path.c_str());
    ::rmdir(dir.c_str());
}

TEST(KeyringFile, MissingFileAndDirectory) {
    auto missing = load_keyring_file("/nonexistent/sqs2pg.keys");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, errc::key_file_unreadable);
    EXPECT_NE(missing.error().message.find("/nonexistent/sqs2pg.keys"), std::string::npos);
    auto dir = load_keyring_file("/tmp");
    ASSERT_FALSE(dir);
    EXPECT_EQ(dir.error().code, errc::key_file_unreadable);
}

TEST(KeySource, FileWinsOverEnvironmentAndNothingMeansNoKeyring) {
    const std::string path = write_key_file("fk " + std::string(key_0_to_31) + "\n", 0600);
    captured_log log;
    auto both = load_keyring({path, "ek " + std::string(other_key)});
    ASSERT_TRUE(both);
    ASSERT_TRUE(*both);
    EXPECT_EQ((*both)->active().id(), "fk");
    EXPECT_NE(log.text().find("mask_key_env_ignored"), std::string::npos);
    auto env = load_keyring({std::nullopt, "ek " + std::string(other_key)});
    ASSERT_TRUE(env && *env);
    EXPECT_EQ((*env)->active().id(), "ek");
    auto none = load_keyring({});
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    auto bad_env = load_keyring({std::nullopt, "ek short"});
    ASSERT_FALSE(bad_env);
    EXPECT_NE(bad_env.error().message.find("SQS2PG_MASK_KEY"), std::string::npos);
    std::remove(path.c_str());
}

TEST(NoKey, KeyedModesRefuseWithHowToMakeAKey) {
    for (mode m : {mode::hmac_sha256, mode::aes_siv}) {
        auto r = make_masker(m, nullptr);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, errc::no_key);
        EXPECT_TRUE(is_fatal(r.error().code));
        const std::string& msg = r.error().message;
        EXPECT_EQ(msg, no_key_message());
        EXPECT_NE(msg.find("sqs2pg keygen"), std::string::npos);
        EXPECT_NE(msg.find("--mask-key-file"), std::string::npos);
        EXPECT_NE(msg.find("SQS2PG_MASK_KEY"), std::string::npos);
        EXPECT_NE(msg.find("sha256"), std::string::npos);
    }
}

TEST(NoKey, ExplicitSha256StartsWithAWarning) {
    captured_log log;
    auto r = make_masker(mode::sha256, nullptr);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->mode_of(field::ip), mode::sha256);
    EXPECT_EQ(r->mode_of(field::device_id), mode::sha256);
    const std::string lines = log.text();
    EXPECT_NE(lines.find("\"level\":\"warn\""), std::string::npos);
    EXPECT_NE(lines.find("mask_mode_unkeyed"), std::string::npos);
    EXPECT_NE(lines.find("enumeration"), std::string::npos);
}

TEST(KeyGen, ProducesAParsableFreshKeyLine) {
    const std::string a = generate_key_text("k2025");
    const std::string b = generate_key_text("k2025");
    EXPECT_NE(a, b);
    EXPECT_EQ(a.rfind("# ", 0), 0u);
    auto r = parse_keyring(a, "keygen");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->active().id(), "k2025");
    EXPECT_THROW(generate_key_text("bad id"), std::invalid_argument);
    const std::string id = random_key_id();
    EXPECT_TRUE(valid_key_id(id));
    EXPECT_EQ(id.size(), 7u);
    EXPECT_NE(random_key_id(), random_key_id());
    // Two generated keys appended, the old one demoted: a valid rotation keyring.
    std::string rotated = generate_key_text("old");
    rotated.replace(rotated.rfind(" active"), 7, "");
    rotated += generate_key_text("new");
    auto both = parse_keyring(rotated, "x");
    ASSERT_TRUE(both) << both.error().message;
    EXPECT_EQ(both->active().id(), "new");
}

} // namespace
} // namespace sqs2pg::mask
