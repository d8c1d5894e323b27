// The region requests are signed for and the SQS endpoint they go to, from the
// environment, the shared profile and the queue URL.
#pragma once

#include <sqs2pg/aws/environment.hpp>
#include <sqs2pg/aws/error.hpp>
#include <sqs2pg/aws/profile.hpp>
#include <sqs2pg/http/endpoint.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::aws {

/// The region an SQS host name names: sqs.<region>.amazonaws.com[.cn],
/// sqs-fips.<region>.amazonaws.com, <region>.queue.amazonaws.com (legacy),
/// queue.amazonaws.com (us-east-1), vpce-….sqs.<region>.vpce.amazonaws.com, and emulators
/// that copy the form (sqs.<region>.localhost.localstack.cloud); nullopt otherwise.
std::optional<std::string> region_from_host(std::string_view host);

/// "us-east-1", "cn-north-1", "us-gov-west-1": lowercase words and a number, by dashes.
bool looks_like_region(std::string_view s);

struct resolved_region {
    std::string region;
    std::string source; ///< "AWS_REGION", "AWS_DEFAULT_REGION", "profile x", "queue URL"
    /// Set when the queue URL names another region than the configured one: requests are
    /// signed for `region` and AWS will reject them. For the operator; empty otherwise.
    std::string warning;
};

/// AWS_REGION, else AWS_DEFAULT_REGION, else the profile's `region`, else the region in
/// the queue URL's host. `queue_url` may be empty. Fails with no_region saying where it
/// looked, or invalid_configuration for a region that is not region-shaped.
result<resolved_region> resolve_region(const environment& env, std::string_view queue_url,
                                       const profile& p);

/// AWS_ENDPOINT_URL_SQS, else AWS_ENDPOINT_URL (both ignored when
/// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else the queue URL's scheme, host and port,
/// else https://sqs.<region>.amazonaws.com (.amazonaws.com.cn for cn-* regions). The path
/// is dropped: requests put the queue path in their target. Fails with invalid_endpoint
/// naming the variable or URL that is wrong, or no_region when the default is needed and
/// `region` is empty.
result<http::endpoint> resolve_sqs_endpoint(const environment& env, std::string_view queue_url,
                                            std::string_view region);

} // namespace sqs2pg::aws
