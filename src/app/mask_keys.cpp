// Loading masking keys from files, the environment, KMS keyrings and Secrets Manager.
#include <sqs2pg/app/mask_keys.hpp>
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/profile.hpp>
#include <sqs2pg/aws/service.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/ops/log.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include <exception>

namespace sqs2pg::app {
namespace {

namespace asio = boost::asio;

config_error fail(std::string message) {
    return config_error{std::move(message)};
}

// Runs one call of `service` on a private io_context with the default credentials chain.
config_result<std::string> call_once(const aws::environment& env, std::string_view service,
                                     std::string_view env_suffix, std::string_view display,
                                     const std::string& region,
                                     const std::optional<std::string>& ca_bundle,
                                     aws::service_request req) {
    auto ep = aws::resolve_service_endpoint(env, env_suffix, service, region);
    if (!ep)
        return fail(fmt::format("{}: {}", display, ep.error().message));
    asio::io_context ioc(1);
    aws::chain_options co;
    if (ca_bundle)
        co.extra_ca_file = *ca_bundle;
    auto chain = aws::make_default_chain(ioc.get_executor(), env, co);
    aws::service_options so;
    so.region = region;
    so.service = std::string(service);
    so.display = std::string(display);
    if (ca_bundle)
        so.http.extra_ca_file = *ca_bundle;
    std::optional<aws::result<std::string>> outcome;
    std::exception_ptr failure;
    {
        aws::service_client client(ioc.get_executor(), *ep, chain.get(), so);
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                outcome = co_await client.async_call(std::move(req));
            },
            [&](std::exception_ptr e) {
                failure = e;
                ioc.stop();
            });
        ioc.run();
    }
    if (failure)
        std::rethrow_exception(failure);
    if (!outcome)
        return fail(fmt::format("{}: no answer", display));
    if (!*outcome)
        return fail(outcome->error().message);
    return config_result<std::string>(boost::system::in_place_value, std::move(**outcome));
}

std::string context_text(const aws::encryption_context& ctx) {
    std::string out;
    for (const auto& [k, v] : ctx)
        out += (out.empty() ? "" : ",") + k + "=" + v;
    return out;
}

} // namespace

aws::environment aws_environment(const environment& env, const std::optional<std::string>& region) {
    aws::environment out;
    for (const auto& [k, v] : env.vars)
        out.set(k, v);
    if (region)
        out.set("AWS_REGION", *region);
    return out;
}

std::string region_for(const aws::environment& env, std::string_view resource) {
    if (auto r = aws::arn_region(resource))
        return *r;
    if (auto r = env.get("AWS_REGION"))
        return *r;
    if (auto r = env.get("AWS_DEFAULT_REGION"))
        return *r;
    if (auto p = aws::load_profile(env))
        return p->get("region");
    return {};
}

config_result<aws::data_key> generate_data_key(const std::string& key_id,
                                               const aws::encryption_context& ctx,
                                               const aws::environment& env,
                                               const std::optional<std::string>& ca_bundle) {
    auto body = call_once(env, "kms", "KMS", "KMS", region_for(env, key_id), ca_bundle,
                          aws::encode_generate_data_key(key_id, ctx));
    if (!body)
        return fail(fmt::format("--kms-key-id {}: {}{}", key_id, body.error().message,
                                body.error().message.find("AccessDenied") != std::string::npos
                                    ? " (keygen needs kms:GenerateDataKey on the key)"
                                    : ""));
    auto key = aws::parse_generate_data_key(*body);
    base::cleanse(*body);
    if (!key)
        return fail(fmt::format("--kms-key-id {}: {}", key_id, key.error().message));
    if (key->plaintext.size() != mask::key_bytes) {
        base::cleanse(key->plaintext);
        return fail(fmt::format("--kms-key-id {}: KMS returned a data key of {} bytes, not 32",
                                key_id, key->plaintext.size()));
    }
    return std::move(*key);
}

config_result<std::string> unwrap_data_key(const mask::envelope& e, std::string_view origin,
                                           const aws::environment& env,
                                           const std::optional<std::string>& ca_bundle) {
    auto body = call_once(env, "kms", "KMS", "KMS", region_for(env, e.kms_key_id), ca_bundle,
                          aws::encode_decrypt(e.wrapped_data_key, e.kms_key_id, e.context));
    if (!body) {
        std::string hint;
        const std::string& m = body.error().message;
        if (m.find("AccessDenied") != std::string::npos)
            hint = fmt::format(
                " (who may open this keyring is an IAM decision: the identity "
                "needs kms:Decrypt on {}{})",
                e.kms_key_id,
                e.context.empty() ? "" : " with encryption context " + context_text(e.context));
        else if (m.find("InvalidCiphertextException") != std::string::npos)
            hint = " (the kms-data-key or kms-context line was changed, or the blob belongs to "
                   "another key)";
        return fail(fmt::format("{}: opening the KMS keyring: {}{}", origin, m, hint));
    }
    auto plain = aws::parse_decrypt(*body);
    base::cleanse(*body);
    if (!plain)
        return fail(fmt::format("{}: {}", origin, plain.error().message));
    (void)base::protect_secret_memory(plain->data(), plain->size());
    return config_result<std::string>(boost::system::in_place_value, std::move(*plain));
}

config_result<std::optional<mask::keyring>> load_mask_keys(const key_options& k,
                                                           const environment& env) {
    using keys = std::optional<mask::keyring>;
    if (k.key_file && k.secret_id)
        return fail("sqs2pg: --mask-key-file and --mask-key-secret: give only one of them");
    if ((k.key_file || k.secret_id) && k.env_value)
        ops::log(ops::level::info, "mask_key_env_ignored",
                 {{"reason", k.key_file ? "--mask-key-file is set and wins over SQS2PG_MASK_KEY"
                                        : "--mask-key-secret is set and wins over "
                                          "SQS2PG_MASK_KEY"}});
    const auto aws_env = aws_environment(env, k.region);
    if (k.key_file) {
        auto text = mask::read_key_file(*k.key_file);
        if (!text)
            return fail("sqs2pg: " + text.error().message);
        if (!mask::is_envelope_keyring(*text)) {
            auto kr = mask::parse_keyring(*text, *k.key_file);
            base::cleanse(*text);
            if (!kr)
                return fail("sqs2pg: " + kr.error().message);
            return keys(std::move(*kr));
        }
        auto e = mask::parse_envelope(*text, *k.key_file);
        base::cleanse(*text);
        if (!e)
            return fail("sqs2pg: " + e.error().message);
        auto data_key = unwrap_data_key(*e, *k.key_file, aws_env, k.ca_bundle);
        if (!data_key)
            return fail("sqs2pg: --mask-key-file " + data_key.error().message);
        auto kr = mask::open_envelope(*e, *data_key, *k.key_file);
        base::cleanse(*data_key);
        if (!kr)
            return fail("sqs2pg: " + kr.error().message);
        ops::log(ops::level::info, "mask_keys_opened",
                 {{"source", "kms"},
                  {"kms_key_id", e->kms_key_id},
                  {"keys", static_cast<std::int64_t>(kr->keys().size())}});
        return keys(std::move(*kr));
    }
    if (k.secret_id) {
        auto body = call_once(aws_env, "secretsmanager", "SECRETS_MANAGER", "Secrets Manager",
                              region_for(aws_env, *k.secret_id), k.ca_bundle,
                              aws::encode_get_secret_value(*k.secret_id));
        if (!body) {
            const std::string& m = body.error().message;
            return fail(fmt::format("sqs2pg: --mask-key-secret {}: {}{}", *k.secret_id, m,
                                    m.find("AccessDenied") != std::string::npos
                                        ? " (the identity needs secretsmanager:GetSecretValue "
                                          "on the secret, and kms:Decrypt on its KMS key)"
                                        : ""));
        }
        auto secret = aws::parse_get_secret_value(*body);
        base::cleanse(*body);
        if (!secret)
            return fail(fmt::format("sqs2pg: --mask-key-secret {}: {}", *k.secret_id,
                                    secret.error().message));
        (void)base::protect_secret_memory(secret->data(), secret->size());
        auto kr = mask::parse_keyring(*secret, "secret " + *k.secret_id);
        base::cleanse(*secret);
        if (!kr)
            return fail("sqs2pg: --mask-key-secret: " + kr.error().message);
        ops::log(
            ops::level::info, "mask_keys_opened",
            {{"source", "secretsmanager"}, {"keys", static_cast<std::int64_t>(kr->keys().size())}});
        return keys(std::move(*kr));
    }
    if (k.env_value) {
        auto kr = mask::parse_keyring(*k.env_value, "SQS2PG_MASK_KEY");
        if (!kr)
            return fail("sqs2pg: " + kr.error().message);
        return keys(std::move(*kr));
    }
    return keys();
}

} // namespace sqs2pg::app
