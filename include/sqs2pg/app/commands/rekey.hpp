// `sqs2pg rekey`: after a key rotation, rewrites the reversible masked values (aes-siv,
// ipcrypt, ipcrypt-pfx) still under an old key id so that they name the active key, in
// small batches, while `run` goes on writing. `--dry-run` counts rows per key id.
#pragma once

#include <sqs2pg/app/options.hpp>
#include <sqs2pg/app/shared_options.hpp>
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/ops/log.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sqs2pg::app {

/// Rows rewritten per statement (one short transaction) when --batch-size is not given,
/// and the most it takes.
inline constexpr std::size_t rekey_default_batch = 1000;
inline constexpr std::int64_t rekey_max_batch = 100'000;

/// A parsed and validated `sqs2pg rekey` command line.
struct rekey_request {
    bool help = false;
    std::string conninfo; ///< --pg; may hold a password: never log it
    table_name table;
    /// Each column's mode, from the flags and variables `run` reads (--mask, --mask-ip,
    /// --mask-device-id): a column whose mode is one-way is not rewritten.
    mask::field_modes modes;
    /// The fields asked for with --column; empty: every column whose mode is reversible.
    std::vector<mask::field> columns;
    std::size_t batch_rows = rekey_default_batch;
    bool dry_run = false;
    mask::key_source keys; ///< --mask-key-file / SQS2PG_MASK_KEY
    ops::log_format log_format = ops::log_format::json;
    ops::level log_level = ops::level::warn;
};

/// Parses the words after "rekey". Refuses (exit status 2) a one-way column asked for
/// with --column, and a run with no reversible column at all, saying why: an hmac-sha256
/// or sha256 value cannot be re-keyed without the original, which it does not hold.
config_result<rekey_request> parse_rekey_args(std::span<const std::string> args,
                                              const environment& env);

/// `sqs2pg rekey --help`.
std::string rekey_help();

/// What a test may do between two statements of a rekey (in-process only).
struct rekey_hooks {
    /// Called after each rewrite statement with the column and its rows rewritten so far;
    /// returning false stops the rekey there, as a first Ctrl-C does.
    std::function<bool(std::string_view column, std::uint64_t rows_done)> after_batch;
};

/// `sqs2pg rekey [OPTIONS]` (docs/masking.md, "Re-keying"). `args` are the words after
/// "rekey". Runs its own io_context on this thread. A one-line JSON summary goes to `out`;
/// progress (on a terminal) and messages for the operator to `err`. Returns 0 when every
/// value under an old key id was moved (or, with --dry-run, counted), 1 when some could not
/// be (their key is not in the keyring, or they do not open), the run was interrupted, or
/// PostgreSQL failed - a rerun continues where it stopped -, 2 for usage or configuration
/// errors (nothing was done).
int run_rekey(std::span<const std::string> args, const environment& env, std::ostream& out,
              std::ostream& err, const rekey_hooks& hooks = {});

} // namespace sqs2pg::app
