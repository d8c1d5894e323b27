// The default credential chain: environment, web identity, shared files (with role
// chains), container endpoint, instance metadata - the first source that has
// credentials is kept for the process's life.
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/profile.hpp>
#include <sqs2pg/aws/sts.hpp>
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/ops/log.hpp>

#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

// The GCC 12 false positive on Asio's awaitable frames in virtual coroutines (GCC bug
// 109224; see credentials_provider.cpp), silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace sqs2pg::aws {
namespace {

namespace asio = boost::asio;

// Why a pair of variables that only work together is unusable when one is set alone.
std::string only_one_set(bool first_set, std::string_view first, std::string_view second,
                         std::string_view advice) {
    return fmt::format("{} is set but {} is not: {}", first_set ? first : second,
                       first_set ? second : first, advice);
}

class default_chain final : public credentials_provider {
public:
    default_chain(asio::any_io_executor ex, environment env, chain_options opts)
        : ex_(std::move(ex))
        , env_(std::move(env))
        , opts_(std::move(opts)) {}

    asio::awaitable<boost::system::result<credentials>> async_get() override {
        if (chosen_) {
            auto r = co_await chosen_->async_get();
            if (!r)
                last_failure_ = chosen_->last_failure();
            co_return r;
        }
        co_return co_await resolve();
    }

    std::string last_failure() const override { return last_failure_; }
    std::string source() const override { return chosen_ ? chosen_->source() : std::string(); }

    void expire() override {
        if (chosen_)
            chosen_->expire();
    }

private:
    boost::system::result<credentials> fail(errc e, std::string message) {
        last_failure_ = std::move(message);
        return make_error_code(e);
    }

    boost::system::result<credentials> choose(std::unique_ptr<credentials_provider> p,
                                              credentials c) {
        chosen_ = std::move(p);
        last_failure_.clear();
        ops::log(ops::level::info, "aws.credentials", {{"source", chosen_->source()}});
        return c;
    }

    // A configured source: its first answer decides (an error is not a reason to try
    // the next source: that would switch identity silently).
    asio::awaitable<boost::system::result<credentials>>
    try_source(std::unique_ptr<credentials_provider> provider) {
        auto r = co_await provider->async_get();
        if (r)
            co_return choose(std::move(provider), *r);
        if (r.error() == make_error_code(errc::cancelled))
            co_return r.error();
        co_return fail(static_cast<errc>(r.error().value()), provider->last_failure());
    }

    asio::awaitable<boost::system::result<credentials>> resolve() {
        std::vector<std::string> tried;

        // 1. Environment.
        const auto id = env_.get("AWS_ACCESS_KEY_ID");
        const auto secret = env_.get("AWS_SECRET_ACCESS_KEY");
        if (id && secret) {
            credentials c{*id, *secret, env_.get("AWS_SESSION_TOKEN").value_or(""), {}};
            co_return choose(make_static_provider(c, "environment"), c);
        }
        if (id || secret)
            co_return fail(errc::invalid_configuration,
                           only_one_set(id.has_value(), "AWS_ACCESS_KEY_ID",
                                        "AWS_SECRET_ACCESS_KEY",
                                        "set both, or neither to use another source"));
        tried.push_back("environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");

        // 2. Web identity (EKS IAM roles for service accounts), as the SDKs do next.
        const auto token_file = env_.get("AWS_WEB_IDENTITY_TOKEN_FILE");
        const auto role_arn = env_.get("AWS_ROLE_ARN");
        if (token_file && role_arn) {
            auto sts = resolve_sts(env_, {});
            if (!sts)
                co_return fail(static_cast<errc>(sts.error().code.value()), sts.error().message);
            role_step role;
            role.role_arn = *role_arn;
            role.session_name = env_.get("AWS_ROLE_SESSION_NAME").value_or("");
            // Named first: GCC 12 destroys temporaries in a co_await expression twice.
            auto provider =
                make_web_identity_provider(ex_, *token_file, std::move(role), *sts, opts_);
            co_return co_await try_source(std::move(provider));
        }
        if (token_file || role_arn)
            co_return fail(errc::invalid_configuration,
                           only_one_set(token_file.has_value(), "AWS_WEB_IDENTITY_TOKEN_FILE",
                                        "AWS_ROLE_ARN",
                                        "web identity (EKS IAM roles for service accounts) "
                                        "needs both"));
        tried.push_back("web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set");

        // 3. Shared files: an assumed role (or web identity) first, then static keys.
        auto files = load_shared_files(env_);
        if (!files)
            co_return fail(static_cast<errc>(files.error().code.value()), files.error().message);
        const std::string profile_name = files->location.name;
        const profile prof = files->get(profile_name);
        if (!prof.found && files->location.named_explicitly)
            co_return fail(errc::invalid_configuration,
                           "profile \"" + profile_name + "\" (from AWS_PROFILE) is in none of " +
                               files->sources + ": check the name or unset AWS_PROFILE");
        auto plan = plan_profile_roles(profile_name, *files);
        if (!plan)
            co_return fail(static_cast<errc>(plan.error().code.value()), plan.error().message);
        if (*plan) {
            auto sts = resolve_sts(env_, (*plan)->region);
            if (!sts)
                co_return fail(static_cast<errc>(sts.error().code.value()), sts.error().message);
            auto provider = make_role_plan_provider(ex_, **plan, env_, *sts, opts_);
            co_return co_await try_source(std::move(provider));
        }
        const profile* p = &prof;
        const std::string in = "profile \"" + p->name + "\" (" + p->sources + ")";
        if (p->found) {
            const std::string key = p->get("aws_access_key_id");
            const std::string sec = p->get("aws_secret_access_key");
            std::string tok = p->get("aws_session_token");
            if (tok.empty())
                tok = p->get("aws_security_token");
            if (!key.empty() && !sec.empty()) {
                credentials c{key, sec, tok, {}};
                co_return choose(make_static_provider(c, in), c);
            }
            if (!key.empty() || !sec.empty())
                co_return fail(errc::invalid_configuration,
                               in + " sets " +
                                   (key.empty()
                                        ? "aws_secret_access_key but not aws_access_key_id"
                                        : "aws_access_key_id but not aws_secret_access_key") +
                                   ": set both");
            for (const char* unsupported : {"credential_process", "sso_session", "sso_start_url"})
                if (!p->get(unsupported).empty())
                    co_return fail(errc::invalid_configuration,
                                   in + " gets credentials through " + unsupported +
                                       ", which sqs2pg does not support: give it "
                                       "aws_access_key_id and aws_secret_access_key, a role_arn "
                                       "with a source_profile, export AWS_ACCESS_KEY_ID / "
                                       "AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (e.g. from "
                                       "`aws configure export-credentials --format env`), or "
                                       "run with a task, pod or instance role");
            tried.push_back("shared files: " + in + " has no aws_access_key_id");
        } else {
            tried.push_back("shared files: no profile \"" + p->name + "\" in " + p->sources);
        }

        // 4. Container endpoint.
        if (env_.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
            env_.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
            auto provider = make_container_provider(ex_, env_, opts_);
            auto r = co_await provider->async_get();
            if (r)
                co_return choose(std::move(provider), *r);
            co_return fail(static_cast<errc>(r.error().value()), provider->last_failure());
        }
        tried.push_back("container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI are not set");

        // 5. Instance metadata.
        errc code = errc::no_credentials;
        const auto disabled = env_.get("AWS_EC2_METADATA_DISABLED");
        if (disabled && base::ascii_lower(*disabled) == "true") {
            tried.push_back("instance metadata: AWS_EC2_METADATA_DISABLED is true");
        } else {
            auto provider = make_imds_provider(ex_, env_, opts_);
            auto r = co_await provider->async_get();
            if (r)
                co_return choose(std::move(provider), *r);
            if (r.error() == make_error_code(errc::cancelled))
                co_return r.error();
            // Unreachable metadata usually means "not on EC2": nothing left to try.
            if (r.error() != make_error_code(errc::provider_unavailable))
                code = static_cast<errc>(r.error().value());
            tried.push_back("instance metadata: " + provider->last_failure());
        }

        std::string msg = "no AWS credentials found. Tried, in order:";
        for (std::size_t i = 0; i < tried.size(); ++i)
            msg += " " + std::to_string(i + 1) + ") " + tried[i] + ";";
        msg += " Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or put keys for the profile in "
               "the credentials file (AWS_PROFILE picks the profile), or run with a role (ECS "
               "task role, EKS Pod Identity, EC2 instance profile).";
        co_return fail(code, msg);
    }

    asio::any_io_executor ex_;
    environment env_;
    chain_options opts_;
    std::unique_ptr<credentials_provider> chosen_;
    std::string last_failure_;
};

} // namespace

std::unique_ptr<credentials_provider>
make_default_chain(asio::any_io_executor ex, const environment& env, chain_options opts) {
    return std::make_unique<default_chain>(std::move(ex), env, std::move(opts));
}

} // namespace sqs2pg::aws
