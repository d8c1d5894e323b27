// The settings `run` shares with other commands (`rejects`), read from the same flags and
// variables and validated by the same rules: the queue and how to reach it, the
// PostgreSQL connection string, the table.
#pragma once

#include <sqs2pg/app/options.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace sqs2pg::app {

enum class sqs_protocol { query, json };

/// A table, optionally schema-qualified; both parts are plain lowercase identifiers.
struct table_name {
    std::string schema; ///< empty: the search_path decides
    std::string name = "user_logins";
    friend bool operator==(const table_name&, const table_name&) = default;
};

/// The queue and how to reach it: --queue-url or --queue-name (exactly one, required),
/// --endpoint-url, --region, --ca-bundle, --sqs-protocol.
struct sqs_target {
    std::string queue_url;                   ///< set, or queue_name is
    std::string queue_name;                  ///< resolved with GetQueueUrl
    std::optional<std::string> endpoint_url; ///< default: derived from the queue URL/region
    std::optional<std::string> region;       ///< default: the AWS chain / the queue URL
    std::optional<std::string> ca_bundle;    ///< extra trusted CAs (PEM), beside the system's
    sqs_protocol protocol = sqs_protocol::query;
};

config_result<sqs_target> get_sqs_target(const parsed_options& o);

/// --pg: a key=value string or postgresql:// URL, "" when unset (libpq's PG* variables).
/// Error messages never echo the value: it may hold a password.
config_result<std::string> get_conninfo(const parsed_options& o);

/// --table: TABLE or SCHEMA.TABLE, plain lowercase identifiers; nullopt when unset.
config_result<std::optional<table_name>> get_table(const parsed_options& o);

/// http(s)://host[:port][/path], no spaces or control characters; with `need_path`, a
/// non-empty last path segment too (a queue URL).
bool is_http_url(std::string_view s, bool need_path);

/// The host of `url` (lowercase, without port or trailing dot) when `url` is plain http://
/// to AWS - amazonaws.com, amazonaws.com.cn, api.aws or a host under one of them -, where
/// the signed requests, a session token among them, would travel unencrypted; nullopt for
/// https://, other hosts (emulators, private endpoints) and anything unparsable.
std::optional<std::string> plain_http_aws_host(std::string_view url);

/// The one-line refusal of plain http:// to AWS for the value of `origin` (a flag or the
/// variable it came from), or nullopt when `url` is fine. Used for every URL option that
/// decides where SQS requests go: queue, endpoint and dead-letter queue URLs.
std::optional<config_error> refuse_plain_http_to_aws(std::string_view origin, std::string_view url);

} // namespace sqs2pg::app
