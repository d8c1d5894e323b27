// The AWS shared files: INI parsing (sans-io), locating and merging a profile.
#include <sqs2pg/aws/profile.hpp>
#include <sqs2pg/base/text.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sqs2pg::aws {
namespace {

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos)
        return {};
    const auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

error config_error(std::string message) {
    return {make_error_code(errc::invalid_configuration), std::move(message)};
}

// Reads `path`: the text, nullopt when the file does not exist, or an error.
result<std::optional<std::string>> read_optional_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT)
            return std::optional<std::string>{};
        return config_error("cannot read " + path + ": " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return std::optional<std::string>(text.str());
}

std::string expand_home(std::string path, const environment& env) {
    if (path.rfind("~/", 0) == 0) {
        if (auto home = env.get("HOME"))
            return *home + path.substr(1);
    }
    return path;
}

} // namespace

result<ini_sections> parse_ini(std::string_view text, std::string_view file) {
    ini_sections sections;
    std::map<std::string, std::string>* current = nullptr;
    bool have_setting = false; // an indented line continues the section's last setting
    std::size_t line_no = 0;
    for (std::size_t start = 0; start < text.size();) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos)
            nl = text.size();
        const std::string_view raw = text.substr(start, nl - start);
        start = nl + 1;
        ++line_no;
        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#' || line.front() == ';')
            continue;
        const bool indented = raw.front() == ' ' || raw.front() == '\t';
        if (indented && have_setting) {
            // A continuation: a nested setting ("s3 =" then "  max_concurrent_requests = 4")
            // or a value carried over; neither is a credential or region setting.
            continue;
        }
        if (line.front() == '[') {
            if (line.back() != ']')
                return config_error(std::string(file) + " line " + std::to_string(line_no) +
                                    ": a section header must end with ']'");
            const std::string name(trim(line.substr(1, line.size() - 2)));
            if (name.empty())
                return config_error(std::string(file) + " line " + std::to_string(line_no) +
                                    ": empty section name");
            current = &sections[name];
            have_setting = false;
            continue;
        }
        const std::size_t sep = line.find_first_of("=:");
        if (sep == std::string_view::npos || sep == 0)
            return config_error(std::string(file) + " line " + std::to_string(line_no) +
                                ": expected \"key = value\"");
        if (current == nullptr)
            return config_error(std::string(file) + " line " + std::to_string(line_no) +
                                ": a setting before any [section]");
        const std::string_view value = trim(line.substr(sep + 1));
        (*current)[base::ascii_lower(trim(line.substr(0, sep)))] = std::string(value);
        have_setting = true;
    }
    return sections;
}

ini_sections config_file_profiles(const ini_sections& config) {
    ini_sections profiles;
    // "[default]" first so that "[profile default]" (written by newer tools) wins.
    if (auto it = config.find("default"); it != config.end())
        profiles["default"] = it->second;
    for (const auto& [section, values] : config) {
        std::string_view s = section;
        if (s.rfind("profile", 0) != 0 || s.size() < 8 || (s[7] != ' ' && s[7] != '\t'))
            continue;
        const std::string name(trim(s.substr(8)));
        if (name.empty())
            continue;
        for (const auto& [k, v] : values)
            profiles[name][k] = v;
    }
    return profiles;
}

profile_location locate_profile(const environment& env) {
    profile_location loc;
    if (auto p = env.get("AWS_PROFILE")) {
        loc.name = *p;
        loc.named_explicitly = true;
    } else if (auto d = env.get("AWS_DEFAULT_PROFILE")) {
        loc.name = *d;
        loc.named_explicitly = true;
    } else {
        loc.name = "default";
    }
    const auto home = env.get("HOME");
    if (auto f = env.get("AWS_SHARED_CREDENTIALS_FILE"))
        loc.credentials_file = expand_home(*f, env);
    else if (home)
        loc.credentials_file = *home + "/.aws/credentials";
    if (auto f = env.get("AWS_CONFIG_FILE"))
        loc.config_file = expand_home(*f, env);
    else if (home)
        loc.config_file = *home + "/.aws/config";
    return loc;
}

std::string profile::get(std::string_view key) const {
    const auto it = values.find(std::string(key));
    return it == values.end() ? std::string() : it->second;
}

profile merge_profile(std::string_view name, const ini_sections* credentials_file,
                      const ini_sections* config_file) {
    profile p;
    p.name = std::string(name);
    if (config_file != nullptr) {
        const auto profiles = config_file_profiles(*config_file);
        if (auto it = profiles.find(p.name); it != profiles.end()) {
            p.values = it->second;
            p.found = true;
        }
    }
    if (credentials_file != nullptr) {
        // The credentials file names sections without the "profile " prefix.
        if (auto it = credentials_file->find(p.name); it != credentials_file->end()) {
            for (const auto& [k, v] : it->second)
                p.values[k] = v;
            p.found = true;
        }
    }
    return p;
}

profile shared_files::get(std::string_view name) const {
    profile p =
        merge_profile(name, credentials ? &*credentials : nullptr, config ? &*config : nullptr);
    p.sources = sources;
    return p;
}

result<shared_files> load_shared_files(const environment& env) {
    shared_files files;
    files.location = locate_profile(env);
    std::string& sources = files.sources;
    auto read = [&](const std::string& path,
                    std::optional<ini_sections>& out) -> std::optional<error> {
        if (!sources.empty())
            sources += ", ";
        if (path.empty()) {
            sources += "(no file: HOME is not set)";
            return std::nullopt;
        }
        auto text = read_optional_file(path);
        if (!text)
            return text.error();
        if (!*text) {
            sources += path + " (no such file)";
            return std::nullopt;
        }
        sources += path;
        auto parsed = parse_ini(**text, path);
        if (!parsed)
            return parsed.error();
        out = std::move(*parsed);
        return std::nullopt;
    };
    if (auto e = read(files.location.credentials_file, files.credentials))
        return *e;
    if (auto e = read(files.location.config_file, files.config))
        return *e;
    return files;
}

result<profile> load_profile(const environment& env) {
    auto files = load_shared_files(env);
    if (!files)
        return files.error();
    const profile_location& loc = files->location;
    profile p = files->get(loc.name);
    if (!p.found && loc.named_explicitly)
        return config_error("profile \"" + loc.name + "\" (from AWS_PROFILE) is in none of " +
                            files->sources + ": check the name or unset AWS_PROFILE");
    return p;
}

} // namespace sqs2pg::aws
