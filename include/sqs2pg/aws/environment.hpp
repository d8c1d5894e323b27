// A snapshot of environment variables that the credential, region and endpoint lookups
// read, so tests can hand them any environment without touching the process's.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sqs2pg::aws {

class environment {
public:
    environment() = default;
    environment(std::initializer_list<std::pair<const std::string, std::string>> vars);

    /// A copy of the process environment, taken now.
    static environment from_process();

    /// The value of `name`; nullopt when unset or empty (the AWS SDKs treat both alike).
    std::optional<std::string> get(std::string_view name) const;

    void set(std::string name, std::string value);
    void unset(std::string_view name);

private:
    std::map<std::string, std::string, std::less<>> vars_;
};

} // namespace sqs2pg::aws
