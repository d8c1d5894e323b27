// `sqs2pg run`, the default command: the pipeline from SQS to PostgreSQL.
#pragma once

#include <sqs2pg/app/options.hpp>
#include <sqs2pg/app/run_options.hpp>

namespace sqs2pg::app {

/// Runs the pipeline until a stop signal, the end of the queue (drain mode) or a fatal
/// error; prints the JSON summary line on stdout. Returns the exit status: 0 done, 1 a
/// failure while running (the message is on stderr), 2 a configuration problem found at
/// startup (keys, region, endpoint).
int run_command(const run_config& cfg, const environment& env);

} // namespace sqs2pg::app
