// STS: request encoding, answer parsing, profile role plans, and the web identity and
// assume-role providers.
#include <sqs2pg/aws/sts.hpp>
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/base/time.hpp>

#include "refreshing_provider.hpp"

#include <pugixml.hpp>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete" // GCC bug 109224, as elsewhere
#endif

namespace sqs2pg::aws {
namespace {

namespace asio = boost::asio;

error make_error(errc e, std::string message) {
    return {make_error_code(e), std::move(message), {}};
}

void add_role_params(std::vector<std::pair<std::string, std::string>>& params,
                     const role_step& role) {
    params.emplace_back("RoleArn", role.role_arn);
    params.emplace_back("RoleSessionName",
                        role.session_name.empty() ? default_session_name() : role.session_name);
    if (role.duration_seconds)
        params.emplace_back("DurationSeconds", std::to_string(*role.duration_seconds));
}

// An STS call's failure, seen from the credential chain: STS refusing is the provider
// refusing, STS unreachable is the provider unavailable.
void as_provider_error(error& e) {
    if (e.code == make_error_code(errc::service_rejected))
        e.code = make_error_code(errc::provider_rejected);
    else if (e.code == make_error_code(errc::service_unavailable))
        e.code = make_error_code(errc::provider_unavailable);
}

std::string quoted(std::string_view s) {
    return "\"" + std::string(s) + "\"";
}

// ---- providers ----

http::client_options sts_http(const chain_options& opts) {
    http::client_options h;
    h.extra_ca_file = opts.extra_ca_file;
    return h;
}

service_options sts_options(const sts_target& sts, const chain_options& opts) {
    service_options o;
    o.region = sts.region;
    o.service = "sts";
    o.display = "STS";
    o.http = sts_http(opts);
    return o;
}

class web_identity_provider final : public detail::refreshing_provider {
public:
    web_identity_provider(asio::any_io_executor ex, std::string token_file, role_step role,
                          sts_target sts, chain_options opts)
        : refreshing_provider(ex, opts)
        , token_file_(std::move(token_file))
        , role_(std::move(role))
        , sts_(std::move(sts))
        , client_(ex, sts_.endpoint, nullptr, sts_options(sts_, opts_)) {}

    std::string source() const override {
        return "web identity (role " + role_.role_arn + ", token file " + token_file_ + ", STS " +
               sts_.endpoint.origin() + ")";
    }

protected:
    asio::awaitable<result<credentials>> async_fetch() override {
        // Read at every refresh: the kubelet rotates the projected token.
        auto token = read_web_identity_token(token_file_);
        if (!token)
            co_return token.error();
        service_request req = encode_assume_role_with_web_identity(role_, *token);
        base::cleanse(*token);
        auto body = co_await client_.async_call(std::move(req));
        base::cleanse(req.body);
        if (!body) {
            error e = body.error();
            as_provider_error(e);
            e.message = "web identity for role " + role_.role_arn + ": " + e.message;
            if (e.service_code == "AccessDenied" || e.service_code == "InvalidIdentityToken")
                e.message += "; check the role's trust policy (the OIDC provider and the "
                             "service account) and AWS_ROLE_ARN";
            co_return e;
        }
        co_return parse_sts_credentials(*body);
    }

private:
    std::string token_file_;
    role_step role_;
    sts_target sts_;
    service_client client_;
};

class assume_role_provider final : public detail::refreshing_provider {
public:
    assume_role_provider(asio::any_io_executor ex, std::unique_ptr<credentials_provider> source,
                         role_step role, sts_target sts, chain_options opts)
        : refreshing_provider(ex, opts)
        , source_(std::move(source))
        , role_(std::move(role))
        , sts_(std::move(sts))
        , client_(ex, sts_.endpoint, source_.get(), sts_options(sts_, opts_)) {}

    std::string source() const override {
        return "assumed role " + role_.role_arn +
               (role_.profile.empty() ? "" : " (profile " + quoted(role_.profile) + ")") +
               " from " + source_->source();
    }

protected:
    asio::awaitable<result<credentials>> async_fetch() override {
        service_request req = encode_assume_role(role_);
        auto body = co_await client_.async_call(std::move(req));
        if (!body) {
            error e = body.error();
            as_provider_error(e);
            e.message = "assuming role " + role_.role_arn + ": " + e.message;
            if (e.service_code == "AccessDenied")
                e.message += "; the source identity needs sts:AssumeRole on the role, and the "
                             "role's trust policy must allow it (and the external id, if any)";
            co_return e;
        }
        co_return parse_sts_credentials(*body);
    }

private:
    std::unique_ptr<credentials_provider> source_;
    role_step role_;
    sts_target sts_;
    service_client client_;
};

// credential_source = Environment: the keys in the environment, checked when asked.
class environment_keys_provider final : public credentials_provider {
public:
    explicit environment_keys_provider(environment env)
        : env_(std::move(env)) {}

    asio::awaitable<boost::system::result<credentials>> async_get() override {
        const auto id = env_.get("AWS_ACCESS_KEY_ID");
        const auto secret = env_.get("AWS_SECRET_ACCESS_KEY");
        if (id && secret) {
            failure_.clear();
            co_return credentials{*id, *secret, env_.get("AWS_SESSION_TOKEN").value_or(""), {}};
        }
        failure_ = "credential_source = Environment, but AWS_ACCESS_KEY_ID and "
                   "AWS_SECRET_ACCESS_KEY are not both set";
        co_return make_error_code(errc::invalid_configuration);
    }
    std::string last_failure() const override { return failure_; }
    std::string source() const override { return "environment"; }

private:
    environment env_;
    std::string failure_;
};

} // namespace

std::string default_session_name() {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch());
    return "sqs2pg-" + std::to_string(now.count());
}

service_request encode_assume_role(const role_step& role) {
    std::vector<std::pair<std::string, std::string>> params;
    add_role_params(params, role);
    if (!role.external_id.empty())
        params.emplace_back("ExternalId", role.external_id);
    auto r = encode_query("AssumeRole", sts_version, params);
    // A repeated AssumeRole only issues other credentials: safe to retry.
    return r;
}

service_request encode_assume_role_with_web_identity(const role_step& role,
                                                     std::string_view token) {
    std::vector<std::pair<std::string, std::string>> params;
    add_role_params(params, role);
    params.emplace_back("WebIdentityToken", std::string(token));
    auto r = encode_query("AssumeRoleWithWebIdentity", sts_version, params);
    for (auto& [k, v] : params)
        base::cleanse(v);
    r.anonymous = true;
    return r;
}

result<credentials> parse_sts_credentials(std::string_view xml) {
    pugi::xml_document doc;
    if (!doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8))
        return make_error(errc::invalid_document, "STS answered with a document that is not XML");
    const pugi::xml_node node = doc.find_node([](const pugi::xml_node& n) {
        return n.type() == pugi::node_element && std::string_view(n.name()) == "Credentials";
    });
    if (!node)
        return make_error(errc::invalid_document, "STS answered without <Credentials>");
    credentials c;
    c.access_key_id = node.child("AccessKeyId").text().get();
    c.secret_access_key = node.child("SecretAccessKey").text().get();
    c.session_token = node.child("SessionToken").text().get();
    for (const auto& [field, name] : {std::pair{&c.access_key_id, "AccessKeyId"},
                                      std::pair{&c.secret_access_key, "SecretAccessKey"},
                                      std::pair{&c.session_token, "SessionToken"}})
        if (field->empty())
            return make_error(errc::invalid_document,
                              std::string("STS answered without <") + name + ">");
    const auto expiration = base::parse_iso8601(node.child("Expiration").text().get());
    if (!expiration)
        return make_error(errc::invalid_document, "STS answered without an ISO 8601 <Expiration>");
    c.expiration = *expiration;
    return c;
}

result<std::string> read_web_identity_token(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return make_error(errc::invalid_configuration, "cannot read the web identity token file " +
                                                           path + ": " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    std::string token = text.str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ' ||
                              token.back() == '\t'))
        token.pop_back();
    if (token.empty())
        return make_error(errc::invalid_configuration,
                          "the web identity token file " + path + " is empty");
    return token;
}

result<sts_target> resolve_sts(const environment& env, std::string_view profile_region) {
    std::string region;
    if (auto r = env.get("AWS_REGION"))
        region = *r;
    else if (auto d = env.get("AWS_DEFAULT_REGION"))
        region = *d;
    else
        region = std::string(profile_region);
    sts_target t;
    auto ep = resolve_service_endpoint(env, "STS", "sts", region.empty() ? "x" : region);
    if (!ep)
        return ep.error();
    const bool configured = ep->host != "sts.x.amazonaws.com";
    if (region.empty()) {
        t.region = "us-east-1";
        t.endpoint = configured ? *ep : http::endpoint::parse("https://sts.amazonaws.com").value();
    } else {
        t.region = region;
        t.endpoint = *ep;
    }
    return t;
}

result<std::optional<role_plan>> plan_profile_roles(std::string_view name,
                                                    const shared_files& files) {
    const profile first = files.get(name);
    if (!first.found ||
        (first.get("role_arn").empty() && first.get("web_identity_token_file").empty()))
        return std::optional<role_plan>{};
    role_plan plan;
    plan.region = first.get("region");
    plan.description = "profile " + quoted(name);
    std::set<std::string> seen;
    std::vector<role_step> reversed; // outermost role first, as found
    std::string current(name);
    for (;;) {
        const profile p = files.get(current);
        if (!p.found)
            return make_error(errc::invalid_configuration,
                              "source_profile " + quoted(current) + " (named by profile " +
                                  quoted(name) + ") is in none of " + files.sources);
        const std::string in = "profile " + quoted(current) + " (" + files.sources + ")";
        if (!seen.insert(current).second)
            return make_error(errc::invalid_configuration,
                              in + ": source_profile chain loops back to " + quoted(current));
        const std::string role_arn = p.get("role_arn");
        const std::string token_file = p.get("web_identity_token_file");
        const std::string source_profile = p.get("source_profile");
        const std::string credential_source = p.get("credential_source");
        const bool has_keys =
            !p.get("aws_access_key_id").empty() && !p.get("aws_secret_access_key").empty();
        // A profile reached as a source with keys and no role: the keys are the base.
        if (role_arn.empty()) {
            if (!has_keys)
                return make_error(errc::invalid_configuration,
                                  in + " is a source_profile but has neither "
                                       "aws_access_key_id/aws_secret_access_key nor role_arn");
            plan.base = role_plan::base_kind::static_keys;
            plan.keys = credentials{p.get("aws_access_key_id"),
                                    p.get("aws_secret_access_key"),
                                    p.get("aws_session_token"),
                                    {}};
            plan.description += " via keys of profile " + quoted(current);
            break;
        }
        role_step step;
        step.role_arn = role_arn;
        step.session_name = p.get("role_session_name");
        step.external_id = p.get("external_id");
        step.profile = current;
        if (const std::string d = p.get("duration_seconds"); !d.empty()) {
            int seconds = 0;
            const auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), seconds);
            if (ec != std::errc{} || end != d.data() + d.size() || seconds < 900 || seconds > 43200)
                return make_error(errc::invalid_configuration,
                                  in + ": duration_seconds must be 900 to 43200");
            step.duration_seconds = seconds;
        }
        if (!token_file.empty()) {
            plan.base = role_plan::base_kind::web_identity;
            plan.token_file = token_file;
            plan.web_identity_role = step;
            plan.description += " via web identity (role " + role_arn + ")";
            break;
        }
        reversed.push_back(step);
        if (!source_profile.empty() && !credential_source.empty())
            return make_error(errc::invalid_configuration,
                              in + " sets both source_profile and credential_source: keep one");
        if (!credential_source.empty()) {
            if (credential_source == "Environment")
                plan.base = role_plan::base_kind::environment;
            else if (credential_source == "Ec2InstanceMetadata")
                plan.base = role_plan::base_kind::imds;
            else if (credential_source == "EcsContainer")
                plan.base = role_plan::base_kind::container;
            else
                return make_error(errc::invalid_configuration,
                                  in + ": credential_source must be Environment, "
                                       "Ec2InstanceMetadata or EcsContainer");
            plan.description += " via credential_source " + credential_source;
            break;
        }
        if (source_profile.empty())
            return make_error(errc::invalid_configuration,
                              in + " sets role_arn without source_profile, credential_source "
                                   "or web_identity_token_file: say where the credentials that "
                                   "assume the role come from");
        if (source_profile == current) {
            // A profile naming itself: its own keys assume its role.
            if (!has_keys)
                return make_error(errc::invalid_configuration,
                                  in + " is its own source_profile but has no keys");
            plan.base = role_plan::base_kind::static_keys;
            plan.keys = credentials{p.get("aws_access_key_id"),
                                    p.get("aws_secret_access_key"),
                                    p.get("aws_session_token"),
                                    {}};
            plan.description += " via its own keys";
            break;
        }
        current = source_profile;
    }
    // Innermost first: the base's credentials assume the last role found, and so on out.
    plan.roles.assign(reversed.rbegin(), reversed.rend());
    if (!plan.roles.empty())
        plan.description += ", assuming " + std::to_string(plan.roles.size()) +
                            (plan.roles.size() == 1 ? " role" : " roles") + " (" +
                            plan.roles.back().role_arn + " last)";
    return std::optional<role_plan>(std::move(plan));
}

std::unique_ptr<credentials_provider> make_web_identity_provider(asio::any_io_executor ex,
                                                                 std::string token_file,
                                                                 role_step role, sts_target sts,
                                                                 chain_options opts) {
    return std::make_unique<web_identity_provider>(
        std::move(ex), std::move(token_file), std::move(role), std::move(sts), std::move(opts));
}

std::unique_ptr<credentials_provider>
make_assume_role_provider(asio::any_io_executor ex, std::unique_ptr<credentials_provider> source,
                          role_step role, sts_target sts, chain_options opts) {
    return std::make_unique<assume_role_provider>(std::move(ex), std::move(source), std::move(role),
                                                  std::move(sts), std::move(opts));
}

std::unique_ptr<credentials_provider> make_role_plan_provider(asio::any_io_executor ex,
                                                              const role_plan& plan,
                                                              const environment& env,
                                                              sts_target sts, chain_options opts) {
    std::unique_ptr<credentials_provider> p;
    switch (plan.base) {
    case role_plan::base_kind::static_keys:
        p = make_static_provider(plan.keys);
        break;
    case role_plan::base_kind::web_identity:
        p = make_web_identity_provider(ex, plan.token_file, plan.web_identity_role, sts, opts);
        break;
    case role_plan::base_kind::environment:
        p = std::make_unique<environment_keys_provider>(env);
        break;
    case role_plan::base_kind::imds:
        p = make_imds_provider(ex, env, opts);
        break;
    case role_plan::base_kind::container:
        p = make_container_provider(ex, env, opts);
        break;
    }
    for (const auto& role : plan.roles)
        p = make_assume_role_provider(ex, std::move(p), role, sts, opts);
    return p;
}

} // namespace sqs2pg::aws
