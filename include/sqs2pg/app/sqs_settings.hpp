// Where a command's SQS calls go: region and endpoint resolved as the AWS SDKs do, with
// the command's flags winning. Shared by `run` and `rejects`.
#pragma once

#include <sqs2pg/app/options.hpp>
#include <sqs2pg/app/shared_options.hpp>
#include <sqs2pg/aws/environment.hpp>
#include <sqs2pg/http/endpoint.hpp>
#include <sqs2pg/sqs/client.hpp>

#include <string>

namespace sqs2pg::app {

struct sqs_settings {
    aws::environment env; ///< the process environment with --region applied
    std::string region;
    http::endpoint endpoint;
    std::string warning; ///< e.g. the queue URL names another region; empty if none
};

/// Resolves the signing region (--region, AWS_REGION, AWS_DEFAULT_REGION, the profile,
/// the queue URL's host) and the endpoint (--endpoint-url - which wins over every
/// variable, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS included -, AWS_ENDPOINT_URL_SQS,
/// AWS_ENDPOINT_URL, the queue URL, the region's default). An error is one line that
/// names the flag to set.
config_result<sqs_settings> resolve_sqs_settings(const sqs_target& target, const environment& env);

/// Client options for `target` resolved as `s` (protocol and signing region).
sqs::client_options sqs_client_options(const sqs_target& target, const sqs_settings& s);

} // namespace sqs2pg::app
