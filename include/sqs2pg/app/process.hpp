// What the process sets up about itself before any command runs: SIGPIPE ignored (a
// closed stderr or socket is an error value, never a kill), and no core dumps unless
// asked for, since memory holds keys, AWS secrets and message bodies.
#pragma once

namespace sqs2pg::app {

/// Ignores SIGPIPE and makes the process non-dumpable (PR_SET_DUMPABLE 0, RLIMIT_CORE 0).
/// Call first thing in main.
void harden_process();

/// Undoes the core dump part (--allow-core-dumps, SQS2PG_ALLOW_CORE_DUMPS): dumpable
/// again, RLIMIT_CORE back to what the process was started with.
void allow_core_dumps();

/// PR_GET_DUMPABLE and the RLIMIT_CORE soft limit now (for tests).
struct dump_state {
    bool dumpable = false;
    unsigned long long core_limit = 0;
};
dump_state current_dump_state();

} // namespace sqs2pg::app
