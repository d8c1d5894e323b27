// Credential sources: static, container endpoint, IMDSv2, the default chain over them, and
// the refresh-ahead cache the HTTP-based ones share.
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/profile.hpp>
#include <sqs2pg/aws/sts.hpp>
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/base/time.hpp>
#include <sqs2pg/http/client.hpp>
#include <sqs2pg/ops/log.hpp>

#include "refreshing_provider.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

// GCC 12 reports Asio's awaitable frames (allocated and freed by the frame's own operator
// new/delete) as mismatched once they are inlined into these virtual coroutines: a false
// positive (GCC bug 109224), silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace sqs2pg::aws {
namespace {

using detail::refreshing_provider;

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using sys_clock = std::chrono::system_clock;
using namespace std::chrono_literals;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

error make_error(errc e, std::string message) {
    return {make_error_code(e), std::move(message)};
}

std::string seconds_text(std::chrono::milliseconds d) {
    const auto ms = d.count();
    return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

// ---- static ----

class static_provider final : public credentials_provider {
public:
    static_provider(credentials c, std::string source)
        : creds_(std::move(c))
        , source_(std::move(source)) {}

    asio::awaitable<boost::system::result<credentials>> async_get() override { co_return creds_; }
    std::string last_failure() const override { return {}; }
    std::string source() const override { return source_; }

private:
    credentials creds_;
    std::string source_;
};

// Describes a failed HTTP exchange for a message: the transport error and its hint.
std::string describe_http_error(boost::system::error_code ec, std::chrono::milliseconds timeout) {
    if (ec == make_error_code(http::errc::timeout))
        return "no answer within " + seconds_text(timeout);
    std::string s = ec.message();
    if (auto h = http::hint(ec); !h.empty())
        s += " (" + std::string(h) + ")";
    return s;
}

// ---- container endpoint (ECS, EKS Pod Identity) ----

class container_provider final : public refreshing_provider {
public:
    container_provider(asio::any_io_executor ex, environment env, chain_options opts)
        : refreshing_provider(std::move(ex), std::move(opts))
        , env_(std::move(env)) {}

    std::string source() const override {
        auto t = container_endpoint(env_);
        return "container endpoint " + (t ? t->endpoint.origin() : std::string("(unset)"));
    }

protected:
    asio::awaitable<result<credentials>> async_fetch() override {
        auto target = container_endpoint(env_);
        if (!target)
            co_return target.error();
        auto auth = container_authorization(env_);
        if (!auth)
            co_return auth.error();
        const std::string where = "the container endpoint " + target->endpoint.origin();
        if (!client_ || !(client_->target() == target->endpoint))
            client_ = std::make_unique<http::client>(ex_, target->endpoint);
        std::string last;
        const int attempts = std::max(1, opts_.container_attempts);
        for (int i = 0; i < attempts; ++i) {
            http::request req{bhttp::verb::get, target->target, 11};
            req.set(bhttp::field::host, target->endpoint.host_header());
            req.set(bhttp::field::accept, "application/json");
            if (*auth)
                req.set(bhttp::field::authorization, **auth);
            auto res = co_await client_->async_send(std::move(req), opts_.container_timeout);
            if (!res) {
                if (res.error() == make_error_code(http::errc::cancelled))
                    co_return make_error(errc::cancelled, "cancelled");
                last = describe_http_error(res.error(), opts_.container_timeout);
                if (!http::is_retryable(res.error()))
                    break;
                continue;
            }
            const unsigned status = res->result_int();
            if (status == 200) {
                auto c = parse_credentials_document(res->body());
                if (!c)
                    co_return make_error(errc::invalid_document,
                                         where + " answered with " + c.error().message);
                co_return c;
            }
            if (status >= 500 || status == 429) {
                last = "HTTP " + std::to_string(status);
                continue;
            }
            std::string msg = where + " refused the request with HTTP " + std::to_string(status);
            if (status == 401 || status == 403)
                msg += *auth ? ": check AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or "
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN (the token is wrong or stale)"
                             : ": it wants an authorization token; set "
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or "
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN";
            else if (status == 404)
                msg += ": check AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI and that the "
                       "task or pod has a role";
            co_return make_error(errc::provider_rejected, msg);
        }
        co_return make_error(errc::provider_unavailable,
                             where + " did not answer after " + std::to_string(attempts) +
                                 (attempts == 1 ? " try: " : " tries: ") + last +
                                 "; check that the container runs with a task role (ECS) or "
                                 "the EKS Pod Identity Agent runs");
    }

private:
    environment env_;
    std::unique_ptr<http::client> client_;
};

// ---- EC2 instance metadata (IMDSv2) ----

class imds_provider final : public refreshing_provider {
public:
    imds_provider(asio::any_io_executor ex, environment env, chain_options opts)
        : refreshing_provider(std::move(ex), std::move(opts))
        , env_(std::move(env)) {
        if (auto t = env_.get("AWS_METADATA_SERVICE_TIMEOUT")) {
            double seconds = 0;
            const auto [end, ec] = std::from_chars(t->data(), t->data() + t->size(), seconds);
            if (ec == std::errc{} && end == t->data() + t->size() && seconds > 0)
                opts_.imds_timeout = std::chrono::milliseconds(static_cast<long>(seconds * 1000));
        }
        if (auto n = env_.get("AWS_METADATA_SERVICE_NUM_ATTEMPTS")) {
            int attempts = 0;
            const auto [end, ec] = std::from_chars(n->data(), n->data() + n->size(), attempts);
            if (ec == std::errc{} && end == n->data() + n->size() && attempts > 0)
                opts_.imds_attempts = attempts;
        }
    }

    std::string source() const override {
        auto ep = imds_endpoint(env_);
        return "instance metadata " + (ep ? ep->origin() : std::string("(invalid endpoint)")) +
               (role_.empty() ? "" : " (role " + role_ + ")");
    }

protected:
    asio::awaitable<result<credentials>> async_fetch() override {
        auto ep = imds_endpoint(env_);
        if (!ep)
            co_return ep.error();
        if (!client_ || !(client_->target() == *ep))
            client_ = std::make_unique<http::client>(ex_, *ep);
        base_ = ep->path;
        while (!base_.empty() && base_.back() == '/')
            base_.pop_back();
        where_ = "the instance metadata service at " + ep->origin();

        // A token that expired between calls shows as 401 on the first GET: one new token.
        for (int round = 0; round < 2; ++round) {
            http::request put{bhttp::verb::put, base_ + "/latest/api/token", 11};
            put.set("X-aws-ec2-metadata-token-ttl-seconds", "21600");
            auto token = co_await request(std::move(put), "the IMDSv2 token request");
            if (!token)
                co_return token.error();
            if (token->result_int() != 200)
                co_return refused(token->result_int(), "the IMDSv2 token request");
            const std::string tok = token->body();

            http::request list{bhttp::verb::get,
                               base_ + "/latest/meta-data/iam/security-credentials/", 11};
            list.set("X-aws-ec2-metadata-token", tok);
            auto roles = co_await request(std::move(list), "the role name request");
            if (!roles)
                co_return roles.error();
            if (roles->result_int() == 401)
                continue;
            if (roles->result_int() == 404)
                co_return make_error(errc::no_credentials,
                                     where_ + " says no IAM role is attached to this instance: "
                                              "attach an instance profile with a role");
            if (roles->result_int() != 200)
                co_return refused(roles->result_int(), "the role name request");
            const std::string& body = roles->body();
            std::string role(body.substr(0, body.find_first_of("\r\n")));
            while (!role.empty() && (role.back() == ' ' || role.back() == '\t'))
                role.pop_back();
            if (role.empty())
                co_return make_error(errc::no_credentials,
                                     where_ + " lists no IAM role for this instance: attach an "
                                              "instance profile with a role");

            http::request get{bhttp::verb::get,
                              base_ + "/latest/meta-data/iam/security-credentials/" + role, 11};
            get.set("X-aws-ec2-metadata-token", tok);
            auto doc = co_await request(std::move(get), "the credentials request");
            if (!doc)
                co_return doc.error();
            if (doc->result_int() == 401)
                continue;
            if (doc->result_int() != 200)
                co_return refused(doc->result_int(), "the credentials request for role " + role);
            auto c = parse_credentials_document(doc->body());
            if (!c)
                co_return make_error(errc::invalid_document,
                                     where_ + " answered with " + c.error().message);
            role_ = role;
            co_return c;
        }
        co_return make_error(errc::provider_rejected,
                             where_ + " rejected a fresh IMDSv2 token (HTTP 401 twice)");
    }

private:
    // Sends with the IMDS timeout and attempts; a transport failure becomes an error
    // that says where and what was asked.
    asio::awaitable<result<http::response>> request(http::request req, const std::string& what) {
        req.set(bhttp::field::host, client_->target().host_header());
        std::string last;
        const int attempts = std::max(1, opts_.imds_attempts);
        for (int i = 0; i < attempts; ++i) {
            auto res = co_await client_->async_send(req, opts_.imds_timeout);
            if (res && res->result_int() < 500)
                co_return std::move(*res);
            if (!res && res.error() == make_error_code(http::errc::cancelled))
                co_return make_error(errc::cancelled, "cancelled");
            last = res ? "HTTP " + std::to_string(res->result_int())
                       : describe_http_error(res.error(), opts_.imds_timeout);
            if (!res && !http::is_retryable(res.error()))
                break;
        }
        std::string msg = where_ + " did not answer " + what + ": " + last;
        if (what == "the IMDSv2 token request")
            msg += "; outside EC2 this is expected (set AWS_EC2_METADATA_DISABLED=true to skip "
                   "it); in a container on EC2, the instance's metadata hop limit must be 2";
        co_return make_error(errc::provider_unavailable, msg);
    }

    error refused(unsigned status, const std::string& what) const {
        std::string msg = where_ + " refused " + what + " with HTTP " + std::to_string(status);
        if (status == 403)
            msg += ": the instance metadata service is turned off for this instance";
        return make_error(errc::provider_rejected, msg);
    }

    environment env_;
    std::unique_ptr<http::client> client_;
    std::string base_, where_, role_;
};

// ---- the default chain ----

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
            co_return choose(std::make_unique<static_provider>(c, "environment"), c);
        }
        if (id || secret)
            co_return fail(errc::invalid_configuration,
                           std::string(id ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY "
                                            "is not"
                                          : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID "
                                            "is not") +
                               ": set both, or neither to use another source");
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
                           std::string(token_file ? "AWS_WEB_IDENTITY_TOKEN_FILE is set but "
                                                    "AWS_ROLE_ARN is not"
                                                  : "AWS_ROLE_ARN is set but "
                                                    "AWS_WEB_IDENTITY_TOKEN_FILE is not") +
                               ": web identity (EKS IAM roles for service accounts) needs both");
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
                co_return choose(std::make_unique<static_provider>(c, in), c);
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
            auto provider = std::make_unique<container_provider>(ex_, env_, opts_);
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
            auto provider = std::make_unique<imds_provider>(ex_, env_, opts_);
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

// ---- factories ----

std::unique_ptr<credentials_provider> make_static_provider(credentials c) {
    return std::make_unique<static_provider>(std::move(c), "static");
}

std::unique_ptr<credentials_provider>
make_default_chain(asio::any_io_executor ex, const environment& env, chain_options opts) {
    return std::make_unique<default_chain>(std::move(ex), env, std::move(opts));
}

std::unique_ptr<credentials_provider>
make_container_provider(asio::any_io_executor ex, const environment& env, chain_options opts) {
    return std::make_unique<container_provider>(std::move(ex), env, std::move(opts));
}

std::unique_ptr<credentials_provider>
make_imds_provider(asio::any_io_executor ex, const environment& env, chain_options opts) {
    return std::make_unique<imds_provider>(std::move(ex), env, std::move(opts));
}

// ---- pure pieces ----

result<credentials> parse_credentials_document(std::string_view json) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(json, ec);
    if (ec || !v.is_object())
        return make_error(errc::invalid_document, "a document that is not a JSON object");
    const auto& o = v.as_object();
    auto text = [&](const char* key) -> std::optional<std::string> {
        const auto* f = o.if_contains(key);
        if (f == nullptr || !f->is_string())
            return std::nullopt;
        return std::string(f->as_string());
    };
    if (const auto* code = o.if_contains("Code")) {
        if (!code->is_string() || code->as_string() != "Success")
            return make_error(errc::invalid_document,
                              "a document whose Code is " +
                                  (code->is_string() ? std::string(code->as_string())
                                                     : std::string("not a string")) +
                                  ", not Success");
    }
    credentials c;
    auto id = text("AccessKeyId");
    auto secret = text("SecretAccessKey");
    if (!id || id->empty())
        return make_error(errc::invalid_document, "a document without AccessKeyId");
    if (!secret || secret->empty())
        return make_error(errc::invalid_document, "a document without SecretAccessKey");
    c.access_key_id = std::move(*id);
    c.secret_access_key = std::move(*secret);
    if (auto tok = text("Token"))
        c.session_token = std::move(*tok);
    if (const auto* exp = o.if_contains("Expiration")) {
        const auto t = exp->is_string() ? base::parse_iso8601(exp->as_string()) : std::nullopt;
        if (!t)
            return make_error(errc::invalid_document,
                              "a document whose Expiration is not an ISO 8601 time");
        c.expiration = *t;
    }
    return c;
}

sys_clock::time_point refresh_time(sys_clock::time_point obtained, sys_clock::time_point expiration,
                                   sys_clock::duration ahead, sys_clock::duration jitter) {
    const auto lifetime = expiration - obtained;
    if (lifetime <= sys_clock::duration::zero())
        return obtained;
    return expiration - std::min<sys_clock::duration>(ahead + jitter, lifetime / 2);
}

bool is_allowed_container_host(std::string_view host) {
    if (base::ascii_lower(host) == "localhost")
        return true;
    boost::system::error_code ec;
    const auto addr = asio::ip::make_address(std::string(host), ec);
    if (ec)
        return false;
    if (addr.is_loopback())
        return true;
    for (const char* allowed : {"169.254.170.2", "169.254.170.23", "fd00:ec2::23"})
        if (addr == asio::ip::make_address(allowed))
            return true;
    return false;
}

result<container_target> container_endpoint(const environment& env) {
    if (auto rel = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
        container_target t;
        t.endpoint = http::endpoint::parse("http://169.254.170.2").value();
        t.target = rel->front() == '/' ? *rel : "/" + *rel;
        return t;
    }
    const auto full = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!full)
        return make_error(errc::invalid_configuration,
                          "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI is set");
    const std::size_t q = full->find('?');
    auto ep = http::endpoint::parse(std::string_view(*full).substr(0, q));
    if (!ep)
        return make_error(errc::invalid_configuration,
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL");
    if (!ep->tls && !is_allowed_container_host(ep->host))
        return make_error(errc::invalid_configuration,
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI uses plain http to " + ep->host +
                              ", which is allowed only for loopback addresses and the ECS/EKS "
                              "addresses 169.254.170.2, 169.254.170.23 and fd00:ec2::23: use "
                              "https");
    container_target t;
    t.target = ep->path.empty() ? "/" : ep->path;
    if (q != std::string::npos)
        t.target += full->substr(q);
    ep->path.clear();
    t.endpoint = std::move(*ep);
    return t;
}

result<std::optional<std::string>> container_authorization(const environment& env) {
    std::string token;
    if (auto file = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
        std::ifstream in(*file, std::ios::binary);
        if (!in)
            return make_error(errc::invalid_configuration,
                              "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + *file + ": " +
                                  std::strerror(errno));
        std::ostringstream text;
        text << in.rdbuf();
        token = text.str();
        while (!token.empty() && (token.back() == '\n' || token.back() == '\r' ||
                                  token.back() == ' ' || token.back() == '\t'))
            token.pop_back();
        if (token.empty())
            return make_error(errc::invalid_configuration,
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + *file + " is empty");
    } else if (auto t = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
        token = *t;
    } else {
        return std::optional<std::string>{};
    }
    if (token.find_first_of("\r\n") != std::string::npos)
        return make_error(errc::invalid_configuration,
                          "the container authorization token holds a line break");
    return std::optional<std::string>(std::move(token));
}

result<http::endpoint> imds_endpoint(const environment& env) {
    if (auto url = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
        auto ep = http::endpoint::parse(*url);
        if (!ep)
            return make_error(errc::invalid_configuration, "AWS_EC2_METADATA_SERVICE_ENDPOINT=" +
                                                               *url + " is not an http(s) URL");
        return *ep;
    }
    const auto mode = env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    if (mode && base::ascii_lower(*mode) == "ipv6")
        return http::endpoint::parse("http://[fd00:ec2::254]").value();
    return http::endpoint::parse("http://169.254.169.254").value();
}

} // namespace sqs2pg::aws
