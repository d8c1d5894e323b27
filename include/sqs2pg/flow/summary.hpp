// The figures of a run, printed as one JSON line on stdout when sqs2pg exits (what
// benchmark harnesses read).
#pragma once

#include <sqs2pg/flow/error.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace sqs2pg::flow {

struct run_summary {
    std::uint64_t received = 0;              ///< messages received (redeliveries included)
    std::uint64_t inserted = 0;              ///< rows written to the target table
    std::uint64_t duplicates_skipped = 0;    ///< already committed earlier (redelivery)
    std::uint64_t rejected = 0;              ///< kept as rejects (table or dead-letter queue)
    std::uint64_t dead_lettered = 0;         ///< of the rejects, sent to the dead-letter queue
    std::uint64_t deleted = 0;               ///< deleted from SQS after commit
    std::uint64_t released = 0;              ///< handed back to SQS uncommitted (visibility 0)
    std::uint64_t create_date_fallbacks = 0; ///< rows dated by receipt: no SentTimestamp
    std::uint64_t integrity_failures = 0;    ///< received with a wrong MD5, never processed
    double seconds = 0;                      ///< first message received to last delete done
    double seconds_total = 0;                ///< the whole run, start to exit
    double msgs_per_sec = 0;                 ///< deleted / seconds
    std::optional<double> p50_ms; ///< receive-to-commit latency; null when nothing committed
    std::optional<double> p99_ms;
    long peak_rss_kb = 0;

    /// One JSON object, no newline; field order fixed.
    std::string to_json() const;
};

/// How a run ended: `exit_code` 0 for a drained queue or a graceful stop, 1 when work
/// had to be abandoned (hard stop, fatal error; then `error` says why, for stderr).
struct run_result {
    run_summary summary;
    int exit_code = 0;
    std::string error;
    /// The first reason the run stopped (a stop request, drained, a fatal error).
    std::optional<errc> cause;
};

/// Peak resident set size of this process so far, in KiB (getrusage).
long peak_rss_kb();

} // namespace sqs2pg::flow
