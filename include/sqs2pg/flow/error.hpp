// Why a run stops: the causes the pipeline core knows, which of them are failures (exit
// status 1) and which of them cancel everything at once instead of letting work finish.
#pragma once

#include <boost/system/error_code.hpp>

#include <string_view>
#include <type_traits>

namespace sqs2pg::flow {

enum class errc {
    stop_requested = 1,   ///< a first SIGTERM/SIGINT (or request_stop): finish, then exit 0
    drained,              ///< --drain found the queue empty with nothing held
    second_stop,          ///< a second stop request while the first one was finishing
    grace_expired,        ///< the shutdown grace period ran out before the work finished
    sqs_unusable,         ///< SQS refused the queue in a way no retry fixes (auth, no queue, TLS)
    dead_letter_unusable, ///< the same for the dead-letter queue
    pg_refused,           ///< PostgreSQL refused a write with an error no retry fixes (permissions,
                          ///< a dropped table, a trigger that raises)
    pg_gave_up,           ///< the PostgreSQL writer stopped reconnecting (e.g. a changed password)
    internal_error,       ///< a stage ended with an exception: a bug
};

const boost::system::error_category& flow_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), flow_category()};
}

/// A failure: the run ends with exit status 1 and says why on stderr.
constexpr bool is_fatal(errc e) noexcept {
    return e == errc::sqs_unusable || e == errc::dead_letter_unusable || e == errc::pg_refused ||
           e == errc::pg_gave_up || e == errc::internal_error;
}

/// Cancels every call in flight at once (phase two of the shutdown) rather than letting
/// outstanding work finish. A Postgres refusal is not hard: SQS still works, so the
/// outstanding long polls finish and what they bring is handed back at once rather than
/// left invisible for a whole visibility timeout.
constexpr bool is_hard(errc e) noexcept {
    return e == errc::second_stop || e == errc::grace_expired || e == errc::sqs_unusable ||
           e == errc::dead_letter_unusable || e == errc::pg_gave_up || e == errc::internal_error;
}

/// Short name for logs: "stop_requested", "pg_refused", ...
std::string_view cause_name(errc e) noexcept;

} // namespace sqs2pg::flow

template <>
struct boost::system::is_error_code_enum<sqs2pg::flow::errc> : std::true_type {};
