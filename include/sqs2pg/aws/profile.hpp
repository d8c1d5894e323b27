// The AWS shared files (~/.aws/credentials and ~/.aws/config): the INI dialect, where
// they are, and the settings of one profile merged from both.
#pragma once

#include <sqs2pg/aws/environment.hpp>
#include <sqs2pg/aws/error.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::aws {

/// Section name → (key → value), in the order-insensitive form the SDKs read.
using ini_sections = std::map<std::string, std::map<std::string, std::string>>;

/// Parses the INI dialect of the AWS shared files: "[section]" headers (names trimmed),
/// "key = value" or "key: value" lines (keys lowercased, values trimmed), full-line '#'
/// and ';' comments, blank lines. An indented line continues the previous setting (nested
/// settings such as "s3 =" followed by indented lines) and is skipped. A repeated section
/// adds to the earlier one; a repeated key overrides. Fails with invalid_configuration on
/// a setting outside any section or a line that is none of these; the message names the
/// line number, never the line (it may hold a secret). `file` only names the source.
result<ini_sections> parse_ini(std::string_view text, std::string_view file);

/// The profiles of a config file: "[profile x]" is x; "[default]" and "[profile default]"
/// are default (the latter wins); other sections ([sso-session x], [services x]) are left out.
ini_sections config_file_profiles(const ini_sections& config);

/// Which profile, and which files: AWS_PROFILE (else AWS_DEFAULT_PROFILE, else
/// "default"), AWS_SHARED_CREDENTIALS_FILE (else $HOME/.aws/credentials), AWS_CONFIG_FILE
/// (else $HOME/.aws/config). A leading "~/" in a path is $HOME.
struct profile_location {
    std::string name;
    bool named_explicitly = false; ///< AWS_PROFILE or AWS_DEFAULT_PROFILE was set
    std::string credentials_file;  ///< "" when HOME is unset and no variable names it
    std::string config_file;
};
profile_location locate_profile(const environment& env);

/// One profile's settings.
struct profile {
    std::string name;
    /// The config file's settings, overridden key by key by the credentials file's.
    std::map<std::string, std::string> values;
    bool found = false; ///< the profile is in at least one of the files
    /// What was read, for messages: "/root/.aws/credentials (no such file), /root/.aws/config".
    std::string sources;

    /// The value of `key`, or "" when the profile does not set it.
    std::string get(std::string_view key) const;
};

/// Merges profile `name` from parsed files (either may be null: file missing). Pure.
profile merge_profile(std::string_view name, const ini_sections* credentials_file,
                      const ini_sections* config_file);

/// Both shared files, parsed (a missing file is nullopt), and what was read.
struct shared_files {
    profile_location location;
    std::optional<ini_sections> credentials;
    std::optional<ini_sections> config;
    /// For messages: "/root/.aws/credentials (no such file), /root/.aws/config".
    std::string sources;

    /// Profile `name` merged from both files (see merge_profile), `sources` filled in.
    profile get(std::string_view name) const;
};

/// Reads the files locate_profile() names. A missing file counts as empty. Fails with
/// invalid_configuration when a file cannot be read or parsed.
result<shared_files> load_shared_files(const environment& env);

/// Reads the files locate_profile() names and merges the profile. A missing file counts as
/// empty. Fails with invalid_configuration when a file cannot be read or parsed, or when a
/// profile named by AWS_PROFILE is in neither file (the SDKs refuse that too).
result<profile> load_profile(const environment& env);

} // namespace sqs2pg::aws
