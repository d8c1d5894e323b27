// The pipeline's Prometheus metrics (names and meaning in docs/operations.md). Counts are
// the core's own, read at each scrape; only the batch histograms are observed here.
#pragma once

#include <sqs2pg/ops/metrics.hpp>

#include <cstdint>
#include <functional>

namespace sqs2pg::flow {

class core;

/// Registers every pipeline metric in `reg`. `c` must outlive any render of `reg`;
/// `sqs_client_retries` reads the SQS client's own retry count.
class pipeline_metrics {
public:
    pipeline_metrics(ops::registry& reg, const core& c,
                     std::function<std::uint64_t()> sqs_client_retries);

    ops::histogram& batch_latency; ///< seconds from a batch sent to its outcome
    ops::histogram& batch_rows;    ///< items per batch
};

} // namespace sqs2pg::flow
