// The options of `sqs2pg run`: their table (for parsing and the help text) and their
// validation into run_config, which holds each module's own config where one exists.
#pragma once

#include <sqs2pg/app/options.hpp>
#include <sqs2pg/app/shared_options.hpp>
#include <sqs2pg/flow/pipeline.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/ops/endpoint.hpp>
#include <sqs2pg/ops/log.hpp>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sqs2pg::app {

/// A masking mode as the options name it (--mask, --mask-ip, --mask-device-id).
using mask_algorithm = mask::mode;

/// The receive wait with --drain when --wait-time-seconds is not given: short polls, so
/// the end of the queue is noticed at once and no long poll is left to wait for when the
/// drain is confirmed (the run ends within milliseconds of its last delete). The core
/// paces receivers after an empty answer (flow::core_config::empty_poll_pause), so an
/// empty queue is not polled in a tight loop.
inline constexpr std::chrono::seconds drain_wait_time{0};

/// Everything `sqs2pg run` needs, validated. Holds the Postgres connection string, which
/// may carry a password: never log it.
struct run_config {
    sqs_target sqs;
    std::string pg; ///< conninfo or URL; empty: libpq's PG* variables
    table_name table;
    /// Each column's mode: --mask-ip / --mask-device-id, else --mask, else hmac-sha256.
    mask::field_modes mask;
    std::string mask_key_file;   ///< required unless every column is sha256 (or a secret / env key)
    std::string mask_key_secret; ///< --mask-key-secret: Secrets Manager secret with the keys
    /// --pg-iam-auth: the password is an RDS IAM auth token, made fresh for every connect.
    bool pg_iam_auth = false;
    /// The pipeline's settings, defaults from flow::pipeline_config itself. The options
    /// fill dead_letter_queue_url, drain, receivers, batch_size, batch_max_delay,
    /// max_in_flight_bytes and wait_time (drain_wait_time with --drain), and
    /// visibility_timeout with send_visibility_timeout when --visibility-timeout is given.
    /// The run fills the rest once it knows the queue: queue_url, the queue's own
    /// visibility timeout when no flag set one, progress.
    flow::pipeline_config pipeline;
    std::optional<ops::listen_address> listen;
    ops::log_format log_format = ops::log_format::json;
    ops::level log_level = ops::level::info;
    /// --allow-core-dumps: main() makes the process non-dumpable unless this is set.
    bool allow_core_dumps = false;
};

/// The options of `sqs2pg run` (for parse_options and the help text).
std::span<const option_spec> run_options();

/// The run option called `name` (without "--"), so that other commands can offer the
/// same flag with the same environment names. Throws std::out_of_range for an unknown name.
const option_spec& run_option(std::string_view name);

/// run_option(name) offered by another command in its own help group, with its own help
/// or default text where they are given (same flag, same environment names).
option_spec shared_run_option(std::string_view name, std::string_view group,
                              std::string_view help = {}, std::string_view default_text = {});

/// How a command logs, from --log-format and --log-level as run reads them.
struct log_settings {
    ops::log_format format = ops::log_format::json;
    ops::level level = ops::level::info;
};

/// --log-format (default: text when stderr is a terminal, else json) and --log-level
/// (default: `default_level`).
config_result<log_settings> get_log_settings(const parsed_options& o, const environment& env,
                                             ops::level default_level);

/// The mode of each masked column from --mask-ip, --mask-device-id and --mask (run's flags
/// and variables; `rekey` reads the same): for each column its own option, else --mask,
/// else hmac-sha256, where a flag beats any variable (so `--mask aes-siv` on the command
/// line overrides an exported SQS2PG_MASK_IP). The ipcrypt modes are ip's only: --mask or
/// --mask-device-id naming one is an error that says to use --mask-ip.
config_result<mask::field_modes> get_mask_modes(const parsed_options& opts);

/// Validates the parsed options of `run` into a run_config (`env` gives the TTY default
/// of --log-format).
config_result<run_config> make_run_config(const parsed_options& opts, const environment& env);

} // namespace sqs2pg::app
