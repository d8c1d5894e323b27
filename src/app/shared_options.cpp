// The settings run shares with other commands, validated by the same rules: the queue
// and how to reach it, the PostgreSQL connection string, the table.
#include <sqs2pg/app/shared_options.hpp>
#include <sqs2pg/base/text.hpp>

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace sqs2pg::app {
namespace {

bool is_plain_identifier(std::string_view s) {
    if (s.empty() || s.size() > 63 || (s.front() >= '0' && s.front() <= '9'))
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

bool is_queue_name(std::string_view s) {
    if (s.empty() || s.size() > 80)
        return false;
    auto base = s;
    if (base.ends_with(".fifo"))
        base.remove_suffix(5);
    return !base.empty() && std::all_of(base.begin(), base.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

} // namespace

bool is_http_url(std::string_view s, bool need_path) {
    std::string_view rest;
    if (s.starts_with("https://"))
        rest = s.substr(8);
    else if (s.starts_with("http://"))
        rest = s.substr(7);
    else
        return false;
    if (std::any_of(s.begin(), s.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
        return false;
    const auto slash = rest.find('/');
    const auto host = rest.substr(0, slash);
    if (host.empty() || host.starts_with(':'))
        return false;
    if (!need_path)
        return true;
    if (slash == std::string_view::npos)
        return false;
    auto path = rest.substr(slash);
    while (path.ends_with('/'))
        path.remove_suffix(1);
    return path.size() > 1;
}

std::optional<std::string> plain_http_aws_host(std::string_view url) {
    constexpr std::string_view http = "http://";
    if (url.size() < http.size() || !base::iequals_ascii(url.substr(0, http.size()), http))
        return std::nullopt;
    std::string_view authority = url.substr(http.size());
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority.remove_prefix(at + 1);
    if (authority.starts_with('['))
        return std::nullopt; // an IPv6 address
    std::string host = base::ascii_lower(authority.substr(0, authority.find(':')));
    while (host.ends_with('.'))
        host.pop_back(); // the fully qualified spelling names the same host
    const auto is_or_under = [&](std::string_view domain) {
        return host == domain || (host.size() > domain.size() && host.ends_with(domain) &&
                                  host[host.size() - domain.size() - 1] == '.');
    };
    // AWS's own domains: the global and China partitions, and the dual-stack endpoints.
    if (is_or_under("amazonaws.com") || is_or_under("amazonaws.com.cn") || is_or_under("api.aws"))
        return host;
    return std::nullopt;
}

std::optional<config_error> refuse_plain_http_to_aws(std::string_view origin,
                                                     std::string_view url) {
    const auto host = plain_http_aws_host(url);
    if (!host)
        return std::nullopt;
    return make_error(origin, fmt::format("plain http:// to an AWS host ({}) would send the "
                                          "session token and the messages unencrypted; use "
                                          "https://",
                                          show_value(*host)));
}

config_result<sqs_target> get_sqs_target(const parsed_options& o) {
    sqs_target t;
    // The queue: exactly one of URL and name. A flag beats the environment, so a
    // --queue-name on the command line overrides an exported SQS2PG_QUEUE_URL.
    const auto* url = o.find("queue-url");
    const auto* name = o.find("queue-name");
    if (url && name) {
        const bool url_flag = url->source == value_source::flag;
        const bool name_flag = name->source == value_source::flag;
        if (url_flag == name_flag)
            return config_error{
                fmt::format("sqs2pg: {} and {}: give only one of them", url->origin, name->origin)};
        (url_flag ? name : url) = nullptr;
    }
    if (!url && !name)
        return config_error{"sqs2pg: --queue-url or --queue-name is required (or set "
                            "SQS2PG_QUEUE_URL or SQS2PG_QUEUE_NAME)"};
    if (url) {
        if (!is_http_url(url->value, true))
            return make_error(url->origin,
                              fmt::format("must be the queue's http(s) URL, e.g. "
                                          "https://sqs.us-east-1.amazonaws.com/123456789012/"
                                          "login-queue (got '{}')",
                                          show_value(url->value)));
        if (auto refused = refuse_plain_http_to_aws(url->origin, url->value))
            return *refused;
        t.queue_url = url->value;
    } else {
        if (!is_queue_name(name->value))
            return make_error(name->origin,
                              fmt::format("must be 1 to 80 letters, digits, - or _ (optionally "
                                          "ending in .fifo) (got '{}')",
                                          show_value(name->value)));
        t.queue_name = name->value;
    }

    SQS2PG_TRY(endpoint, get_string(o, "endpoint-url"));
    if (endpoint && !is_http_url(*endpoint, false))
        return make_error(
            o.find("endpoint-url")->origin,
            fmt::format("must be an http:// or https:// URL (got '{}')", show_value(*endpoint)));
    if (endpoint) {
        if (auto refused = refuse_plain_http_to_aws(o.find("endpoint-url")->origin, *endpoint))
            return *refused;
    }
    t.endpoint_url = endpoint;

    SQS2PG_TRY(region, get_string(o, "region"));
    if (region && !std::all_of(region->begin(), region->end(), [](char ch) {
            return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-';
        }))
        return make_error(
            o.find("region")->origin,
            fmt::format("must be a region name such as eu-west-1 (got '{}')", show_value(*region)));
    t.region = region;

    SQS2PG_TRY(ca_bundle, get_string(o, "ca-bundle"));
    if (ca_bundle && ::access(ca_bundle->c_str(), R_OK) != 0)
        return make_error(o.find("ca-bundle")->origin,
                          fmt::format("cannot read '{}'", show_value(*ca_bundle)));
    t.ca_bundle = ca_bundle;

    SQS2PG_TRY(protocol, get_choice(o, "sqs-protocol", {"query", "json"}));
    // (Compared as an optional: GCC 12 -O2 takes `*protocol == "json"` in this small unit
    // for a read of an uninitialized string.)
    if (protocol == "json")
        t.protocol = sqs_protocol::json;
    return t;
}

config_result<std::string> get_conninfo(const parsed_options& o) {
    // May be empty (libpq then reads PG*); the value is never echoed: it may hold a
    // password.
    const auto* pg = o.find("pg");
    // (in_place_value: config_error is constructible from a string too)
    if (pg == nullptr)
        return config_result<std::string>(boost::system::in_place_value);
    const auto scheme_end = pg->value.find("://");
    if (scheme_end != std::string::npos && !pg->value.starts_with("postgresql://") &&
        !pg->value.starts_with("postgres://"))
        return make_error(pg->origin, "must be a key=value connection string or a "
                                      "postgresql:// URL");
    return config_result<std::string>(boost::system::in_place_value, pg->value);
}

config_result<std::optional<table_name>> get_table(const parsed_options& o) {
    SQS2PG_TRY(table, get_string(o, "table"));
    if (!table)
        return std::optional<table_name>{};
    const auto dot = table->find('.');
    table_name t;
    if (dot == std::string::npos) {
        t.name = *table;
    } else {
        t.schema = table->substr(0, dot);
        t.name = table->substr(dot + 1);
    }
    if (!is_plain_identifier(t.name) ||
        (dot != std::string::npos && !is_plain_identifier(t.schema)))
        return make_error(o.find("table")->origin,
                          fmt::format("must be TABLE or SCHEMA.TABLE, each a lowercase "
                                      "letter or _ then letters, digits or _, at most 63 "
                                      "(got '{}')",
                                      show_value(*table)));
    return std::optional<table_name>(std::move(t));
}

} // namespace sqs2pg::app
