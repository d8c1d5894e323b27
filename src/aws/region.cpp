// Region and SQS endpoint resolution (sans-io).
#include <sqs2pg/aws/region.hpp>
#include <sqs2pg/base/text.hpp>

#include <vector>

namespace sqs2pg::aws {
namespace {

std::vector<std::string_view> split_labels(std::string_view host) {
    std::vector<std::string_view> labels;
    std::size_t start = 0;
    for (;;) {
        const std::size_t dot = host.find('.', start);
        labels.push_back(host.substr(start, dot == std::string_view::npos ? dot : dot - start));
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    return labels;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

} // namespace

bool looks_like_region(std::string_view s) {
    // word(-word)*-digits, words of lowercase letters: us-east-1, us-gov-west-1, il-central-1.
    const std::size_t last_dash = s.rfind('-');
    if (last_dash == std::string_view::npos || last_dash == 0 || last_dash + 1 == s.size())
        return false;
    for (char c : s.substr(last_dash + 1))
        if (c < '0' || c > '9')
            return false;
    bool word_start = true;
    for (char c : s.substr(0, last_dash)) {
        if (c == '-') {
            if (word_start)
                return false;
            word_start = true;
        } else if (c >= 'a' && c <= 'z') {
            word_start = false;
        } else {
            return false;
        }
    }
    return !word_start && s.find('-') < last_dash;
}

std::optional<std::string> region_from_host(std::string_view host_in) {
    const std::string host = base::ascii_lower(host_in);
    const auto labels = split_labels(host);
    if (host == "queue.amazonaws.com")
        return "us-east-1";
    for (std::size_t i = 0; i + 1 < labels.size(); ++i) {
        if ((labels[i] == "sqs" || labels[i] == "sqs-fips") && looks_like_region(labels[i + 1]))
            return std::string(labels[i + 1]);
        if (labels[i + 1] == "queue" && looks_like_region(labels[i]) &&
            (ends_with(host, ".amazonaws.com") || ends_with(host, ".amazonaws.com.cn")))
            return std::string(labels[i]);
    }
    return std::nullopt;
}

result<resolved_region> resolve_region(const environment& env, std::string_view queue_url,
                                       const profile& p) {
    resolved_region r;
    if (auto v = env.get("AWS_REGION")) {
        r = {*v, "AWS_REGION", {}};
    } else if (auto d = env.get("AWS_DEFAULT_REGION")) {
        r = {*d, "AWS_DEFAULT_REGION", {}};
    } else if (auto pr = p.get("region"); !pr.empty()) {
        r = {pr, "profile " + p.name, {}};
    }
    std::optional<std::string> from_url;
    if (!queue_url.empty()) {
        if (auto ep = http::endpoint::parse(queue_url))
            from_url = region_from_host(ep->host);
    }
    if (r.region.empty()) {
        if (!from_url) {
            std::string where = "AWS_REGION and AWS_DEFAULT_REGION are unset, profile \"" + p.name +
                                "\" sets no region";
            if (!p.sources.empty())
                where += " (" + p.sources + ")";
            where += queue_url.empty() ? ", and there is no queue URL"
                                       : ", and the queue URL's host names none";
            return error{make_error_code(errc::no_region),
                         "no AWS region: " + where + ". Set AWS_REGION (e.g. us-east-1)."};
        }
        return resolved_region{*from_url, "queue URL", {}};
    }
    if (!looks_like_region(r.region))
        return error{make_error_code(errc::invalid_configuration),
                     r.source + " is \"" + r.region +
                         "\", which is not a region name such as us-east-1"};
    if (from_url && *from_url != r.region)
        r.warning = "the queue URL is in region " + *from_url + " but " + r.source + " says " +
                    r.region + "; requests are signed for " + r.region +
                    " and AWS will reject them unless that is right";
    return r;
}

result<http::endpoint> resolve_sqs_endpoint(const environment& env, std::string_view queue_url,
                                            std::string_view region) {
    auto configured = [&](const char* var) -> std::optional<result<http::endpoint>> {
        const auto v = env.get(var);
        if (!v)
            return std::nullopt;
        auto ep = http::endpoint::parse(*v);
        if (!ep)
            return result<http::endpoint>(
                error{make_error_code(errc::invalid_endpoint),
                      std::string(var) + "=" + *v +
                          " is not an endpoint URL: write it as http(s)://host[:port]"});
        ep->path.clear();
        return result<http::endpoint>(*ep);
    };
    const auto ignore = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (!(ignore && base::ascii_lower(*ignore) == "true")) {
        if (auto r = configured("AWS_ENDPOINT_URL_SQS"))
            return *r;
        if (auto r = configured("AWS_ENDPOINT_URL"))
            return *r;
    }
    if (!queue_url.empty()) {
        auto ep = http::endpoint::parse(queue_url);
        if (!ep)
            return error{make_error_code(errc::invalid_endpoint),
                         "the queue URL \"" + std::string(queue_url) +
                             "\" is not a URL: it looks like "
                             "https://sqs.us-east-1.amazonaws.com/123456789012/queue-name"};
        ep->path.clear();
        return *ep;
    }
    if (region.empty())
        return error{make_error_code(errc::no_region),
                     "no SQS endpoint: no AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, queue URL or "
                     "region to derive one from. Set AWS_REGION or give the queue URL."};
    if (!looks_like_region(region))
        return error{make_error_code(errc::invalid_configuration),
                     "\"" + std::string(region) + "\" is not a region name such as us-east-1"};
    const bool china = region.substr(0, 3) == "cn-";
    http::endpoint ep;
    ep.tls = true;
    ep.host = "sqs." + std::string(region) + (china ? ".amazonaws.com.cn" : ".amazonaws.com");
    ep.port = 443;
    return ep;
}

} // namespace sqs2pg::aws
