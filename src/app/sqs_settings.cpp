// Region and endpoint resolution for the commands that call SQS.
#include <sqs2pg/app/sqs_settings.hpp>
#include <sqs2pg/aws/profile.hpp>
#include <sqs2pg/aws/region.hpp>

#include <fmt/core.h>

namespace sqs2pg::app {

config_result<sqs_settings> resolve_sqs_settings(const sqs_target& target, const environment& env) {
    sqs_settings s;
    for (const auto& [k, v] : env.vars)
        s.env.set(k, v);
    // --region goes in as AWS_REGION so that a queue URL naming another region still
    // gets its warning from the resolver.
    if (target.region)
        s.env.set("AWS_REGION", *target.region);
    auto profile = aws::load_profile(s.env);
    if (!profile)
        return config_error{fmt::format("sqs2pg: {}", profile.error().message)};
    auto region = aws::resolve_region(s.env, target.queue_url, *profile);
    if (!region)
        return config_error{
            fmt::format("sqs2pg: --region: {} (or pass --region)", region.error().message)};
    s.region = region->region;
    s.warning = region->warning;
    if (target.endpoint_url) {
        auto ep = http::endpoint::parse(*target.endpoint_url);
        if (!ep)
            return config_error{fmt::format("sqs2pg: --endpoint-url: {}", ep.error().message())};
        s.endpoint = *ep;
    } else {
        auto ep = aws::resolve_sqs_endpoint(s.env, target.queue_url, s.region);
        if (!ep)
            return config_error{fmt::format("sqs2pg: --endpoint-url: {}", ep.error().message)};
        s.endpoint = *ep;
    }
    return s;
}

sqs::client_options sqs_client_options(const sqs_target& target, const sqs_settings& s) {
    sqs::client_options o;
    o.wire = target.protocol == sqs_protocol::json ? sqs::protocol::json : sqs::protocol::query;
    o.region = s.region;
    if (target.ca_bundle)
        o.http.extra_ca_file = *target.ca_bundle;
    return o;
}

} // namespace sqs2pg::app
