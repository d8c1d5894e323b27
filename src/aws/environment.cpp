// The environment snapshot.
#include <sqs2pg/aws/environment.hpp>

#include <unistd.h>

extern char** environ;

namespace sqs2pg::aws {

environment::environment(std::initializer_list<std::pair<const std::string, std::string>> vars)
    : vars_(vars.begin(), vars.end()) {}

environment environment::from_process() {
    environment env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const std::size_t eq = entry.find('=');
        if (eq == std::string_view::npos)
            continue;
        env.vars_.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    }
    return env;
}

std::optional<std::string> environment::get(std::string_view name) const {
    const auto it = vars_.find(name);
    if (it == vars_.end() || it->second.empty())
        return std::nullopt;
    return it->second;
}

void environment::set(std::string name, std::string value) {
    vars_.insert_or_assign(std::move(name), std::move(value));
}

void environment::unset(std::string_view name) {
    const auto it = vars_.find(name);
    if (it != vars_.end())
        vars_.erase(it);
}

} // namespace sqs2pg::aws
