// The run summary as one JSON line.
#include <sqs2pg/flow/summary.hpp>

#include <sys/resource.h>

#include <fmt/format.h>

namespace sqs2pg::flow {
namespace {

std::string number_or_null(const std::optional<double>& v) {
    return v ? fmt::format("{:.3f}", *v) : std::string("null");
}

} // namespace

std::string run_summary::to_json() const {
    return fmt::format(
        "{{\"received\":{},\"inserted\":{},\"duplicates_skipped\":{},\"rejected\":{},"
        "\"dead_lettered\":{},\"deleted\":{},\"released\":{},\"create_date_fallbacks\":{},"
        "\"integrity_failures\":{},\"seconds\":{:.3f},\"seconds_total\":{:.3f},"
        "\"msgs_per_sec\":{:.1f},\"p50_ms\":{},\"p99_ms\":{},\"peak_rss_kb\":{}}}",
        received, inserted, duplicates_skipped, rejected, dead_lettered, deleted, released,
        create_date_fallbacks, integrity_failures, seconds, seconds_total, msgs_per_sec,
        number_or_null(p50_ms), number_or_null(p99_ms), peak_rss_kb);
}

long peak_rss_kb() {
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return ru.ru_maxrss; // KiB on Linux
}

} // namespace sqs2pg::flow
