// Credential sources: static, container endpoint and IMDSv2, on the refresh-ahead cache the
// HTTP-based ones share. Their pure decisions (documents, refresh times, endpoints) are in
// credential_sources.cpp; the default chain over them in default_chain.cpp.
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/http/client.hpp>

#include "refreshing_provider.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>

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

} // namespace

// ---- factories ----

std::unique_ptr<credentials_provider> make_static_provider(credentials c, std::string source) {
    return std::make_unique<static_provider>(std::move(c), std::move(source));
}

std::unique_ptr<credentials_provider>
make_container_provider(asio::any_io_executor ex, const environment& env, chain_options opts) {
    return std::make_unique<container_provider>(std::move(ex), env, std::move(opts));
}

std::unique_ptr<credentials_provider>
make_imds_provider(asio::any_io_executor ex, const environment& env, chain_options opts) {
    return std::make_unique<imds_provider>(std::move(ex), env, std::move(opts));
}

} // namespace sqs2pg::aws
