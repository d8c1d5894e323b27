// Process-wide setup: SIGPIPE, core dumps.
#include <sqs2pg/app/process.hpp>

#include <sys/prctl.h>
#include <sys/resource.h>

#include <csignal>

namespace sqs2pg::app {
namespace {

rlimit started_with{RLIM_INFINITY, RLIM_INFINITY};
bool saved = false;

} // namespace

void harden_process() {
    std::signal(SIGPIPE, SIG_IGN);
    if (!saved) {
        saved = getrlimit(RLIMIT_CORE, &started_with) == 0;
    }
    // The soft limit only: a lowered hard limit could not be raised again for
    // --allow-core-dumps without privileges.
    const rlimit none{0, saved ? started_with.rlim_max : RLIM_INFINITY};
    (void)setrlimit(RLIMIT_CORE, &none);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void allow_core_dumps() {
    if (saved)
        (void)setrlimit(RLIMIT_CORE, &started_with);
    (void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

dump_state current_dump_state() {
    dump_state s;
    s.dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1;
    rlimit r{};
    if (getrlimit(RLIMIT_CORE, &r) == 0)
        s.core_limit = r.rlim_cur;
    return s;
}

} // namespace sqs2pg::app
