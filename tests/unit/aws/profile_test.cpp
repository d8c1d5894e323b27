// The shared files: INI parsing, profile sections, which files and profile, and merging
// (the credentials file wins over the config file).
#include <sqs2pg/aws/profile.hpp>

#include "test_env.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace sqs2pg::aws {
namespace {

namespace fs = std::filesystem;

TEST(Ini, SectionsKeysCommentsAndSeparators) {
    auto r = parse_ini("# comment\n"
                       "; another\n"
                       "[default]\n"
                       "aws_access_key_id = AKID\n"
                       "AWS_Secret_Access_Key=SECRET\n"
                       "\n"
                       "[ profile dev ]\r\n"
                       "region: eu-west-1\r\n"
                       "output =   json   \n",
                       "f");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->at("default").at("aws_access_key_id"), "AKID");
    EXPECT_EQ(r->at("default").at("aws_secret_access_key"), "SECRET"); // keys lowercased
    EXPECT_EQ(r->at("profile dev").at("region"), "eu-west-1");
    EXPECT_EQ(r->at("profile dev").at("output"), "json");
}

TEST(Ini, NestedSettingsAreSkippedAndRepeatsMerge) {
    auto r = parse_ini("[default]\n"
                       "s3 =\n"
                       "  max_concurrent_requests = 20\n"
                       "  region = wrong-1\n"
                       "region = us-east-2\n"
                       "[default]\n"
                       "output = text\n"
                       "region = us-west-2\n",
                       "f");
    ASSERT_TRUE(r) << r.error().message;
    const auto& d = r->at("default");
    EXPECT_EQ(d.at("region"), "us-west-2");
    EXPECT_EQ(d.at("output"), "text");
    EXPECT_EQ(d.count("max_concurrent_requests"), 0u);
}

TEST(Ini, IndentedFirstSettingOfASectionIsStillASetting) {
    auto r = parse_ini("[default]\n    aws_access_key_id = AKID\n", "f");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->at("default").at("aws_access_key_id"), "AKID");
}

TEST(Ini, ErrorsNameTheLineButNeverItsText) {
    auto r = parse_ini("[default]\naws_secret_access_key SECRETVALUE\n", "/x/credentials");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::invalid_configuration));
    EXPECT_NE(r.error().message.find("/x/credentials line 2"), std::string::npos);
    EXPECT_EQ(r.error().message.find("SECRETVALUE"), std::string::npos);
    EXPECT_FALSE(parse_ini("key = value\n", "f")); // before any section
    EXPECT_FALSE(parse_ini("[default\n", "f"));
    EXPECT_FALSE(parse_ini("[]\n", "f"));
}

TEST(ConfigProfiles, ProfilePrefixAndDefault) {
    const auto sections = parse_ini("[default]\nregion = a-one-1\n"
                                    "[profile default]\nregion = b-two-2\n"
                                    "[profile dev]\nregion = c-three-3\n"
                                    "[dev]\nregion = ignored-1\n"
                                    "[sso-session corp]\nsso_region = x\n",
                                    "config")
                              .value();
    const auto profiles = config_file_profiles(sections);
    EXPECT_EQ(profiles.at("default").at("region"), "b-two-2");
    EXPECT_EQ(profiles.at("dev").at("region"), "c-three-3");
    EXPECT_EQ(profiles.size(), 2u);
}

TEST(MergeProfile, CredentialsFileWinsKeyByKey) {
    const auto creds = parse_ini("[dev]\naws_access_key_id = FROM_CREDS\n", "c").value();
    const auto config = parse_ini("[profile dev]\naws_access_key_id = FROM_CONFIG\n"
                                  "aws_secret_access_key = S\nregion = eu-west-1\n",
                                  "k")
                            .value();
    const profile p = merge_profile("dev", &creds, &config);
    EXPECT_TRUE(p.found);
    EXPECT_EQ(p.get("aws_access_key_id"), "FROM_CREDS");
    EXPECT_EQ(p.get("aws_secret_access_key"), "S");
    EXPECT_EQ(p.get("region"), "eu-west-1");
    EXPECT_EQ(p.get("missing"), "");
    EXPECT_FALSE(merge_profile("other", &creds, &config).found);
    EXPECT_FALSE(merge_profile("dev", nullptr, nullptr).found);
}

TEST(LocateProfile, VariablesThenHome) {
    auto loc = locate_profile(environment{{"HOME", "/home/u"}});
    EXPECT_EQ(loc.name, "default");
    EXPECT_FALSE(loc.named_explicitly);
    EXPECT_EQ(loc.credentials_file, "/home/u/.aws/credentials");
    EXPECT_EQ(loc.config_file, "/home/u/.aws/config");

    loc = locate_profile(environment{{"HOME", "/home/u"},
                                     {"AWS_PROFILE", "prod"},
                                     {"AWS_DEFAULT_PROFILE", "legacy"},
                                     {"AWS_SHARED_CREDENTIALS_FILE", "~/creds"},
                                     {"AWS_CONFIG_FILE", "/etc/aws/config"}});
    EXPECT_EQ(loc.name, "prod");
    EXPECT_TRUE(loc.named_explicitly);
    EXPECT_EQ(loc.credentials_file, "/home/u/creds");
    EXPECT_EQ(loc.config_file, "/etc/aws/config");

    EXPECT_EQ(locate_profile(environment{{"AWS_DEFAULT_PROFILE", "legacy"}}).name, "legacy");
    EXPECT_EQ(locate_profile(environment{{"AWS_PROFILE", ""}}).name, "default"); // empty = unset
    EXPECT_EQ(locate_profile(environment{}).credentials_file, "");
}

class TempDir {
public:
    TempDir()
        : path_(fs::temp_directory_path() / test::unique_name("sqs2pg_aws_")) {
        fs::create_directories(path_ / ".aws");
    }
    ~TempDir() { fs::remove_all(path_); }
    std::string path() const { return path_.string(); }
    void write(const std::string& rel, const std::string& text) const {
        std::ofstream(path_ / rel, std::ios::binary) << text;
    }

private:
    fs::path path_;
};

TEST(LoadProfile, ReadsBothFilesAndNotesWhatWasRead) {
    TempDir home;
    home.write(".aws/credentials", "[default]\naws_access_key_id = AKID\n");
    home.write(".aws/config", "[default]\nregion = eu-central-1\n");
    auto p = load_profile(environment{{"HOME", home.path()}});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(p->found);
    EXPECT_EQ(p->get("aws_access_key_id"), "AKID");
    EXPECT_EQ(p->get("region"), "eu-central-1");
    EXPECT_EQ(p->sources, home.path() + "/.aws/credentials, " + home.path() + "/.aws/config");
}

TEST(LoadProfile, MissingFilesAreEmptyUnlessAProfileWasAskedFor) {
    TempDir home;
    auto p = load_profile(environment{{"HOME", home.path()}});
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->found);
    EXPECT_NE(p->sources.find("credentials (no such file)"), std::string::npos);

    auto named = load_profile(environment{{"HOME", home.path()}, {"AWS_PROFILE", "prod"}});
    ASSERT_FALSE(named);
    EXPECT_EQ(named.error().code, make_error_code(errc::invalid_configuration));
    EXPECT_NE(named.error().message.find("profile \"prod\""), std::string::npos);
    EXPECT_NE(named.error().message.find("AWS_PROFILE"), std::string::npos);
}

TEST(LoadProfile, MalformedFileIsAnError) {
    TempDir home;
    home.write(".aws/config", "[default]\nthis is not a setting\n");
    auto p = load_profile(environment{{"HOME", home.path()}});
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("config line 2"), std::string::npos);
}

TEST(Environment, EmptyIsUnset) {
    environment env{{"A", "1"}, {"B", ""}};
    EXPECT_EQ(env.get("A"), "1");
    EXPECT_FALSE(env.get("B"));
    EXPECT_FALSE(env.get("C"));
    env.set("C", "3");
    env.unset("A");
    EXPECT_EQ(env.get("C"), "3");
    EXPECT_FALSE(env.get("A"));
    EXPECT_TRUE(environment::from_process().get("PATH").has_value());
}

} // namespace
} // namespace sqs2pg::aws
