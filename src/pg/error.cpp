// The pg error category, the SQLSTATE classification table and the SQLSTATEs named in
// words.
#include <sqs2pg/pg/error.hpp>

#include <string>

namespace sqs2pg::pg {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sqs2pg.pg"; }

    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::connect_failed:
            return "could not connect to PostgreSQL";
        case errc::connect_timeout:
            return "connecting to PostgreSQL timed out";
        case errc::invalid_conninfo:
            return "the PostgreSQL connection string is invalid";
        case errc::connection_lost:
            return "the connection to PostgreSQL was lost";
        case errc::read_only:
            return "the PostgreSQL server is read-only (a standby?)";
        case errc::protocol:
            return "unexpected results from libpq";
        case errc::data_rejected:
            return "PostgreSQL refused the row's values";
        case errc::transient:
            return "transient PostgreSQL error (serialization failure or deadlock)";
        case errc::statement_timeout:
            return "the statement was cancelled (statement_timeout)";
        case errc::resources:
            return "PostgreSQL lacks resources (disk, memory, connections)";
        case errc::server_error:
            return "PostgreSQL reported an error no retry can fix";
        case errc::schema_mismatch:
            return "the target table does not have the expected columns";
        case errc::invalid_table_name:
            return "invalid table name";
        case errc::stopped:
            return "the PostgreSQL writer is stopped";
        case errc::no_answer:
            return "PostgreSQL did not answer in time";
        }
        return "unknown pg error";
    }
};

bool is_class(std::string_view s, std::string_view cls) {
    return s.substr(0, 2) == cls;
}

} // namespace

const boost::system::error_category& pg_category() noexcept {
    static const category c;
    return c;
}

sqlstate_action classify_sqlstate(std::string_view s) noexcept {
    if (s.size() != 5)
        return sqlstate_action::reconnect;
    // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now: the server
    // is going away or not yet back; 25006 means we reached a standby after a failover.
    if (is_class(s, "08") || s == "57P01" || s == "57P02" || s == "57P03" || s == "25006")
        return sqlstate_action::reconnect;
    if (is_class(s, "22") || is_class(s, "23"))
        return sqlstate_action::reject;
    if (is_class(s, "40"))
        return sqlstate_action::retry;
    if (s == "57014")
        return sqlstate_action::retry_smaller;
    // 55P03 lock_not_available only happens with lock_timeout: someone holds the table.
    if (is_class(s, "53") || s == "55P03")
        return sqlstate_action::retry_later;
    return sqlstate_action::fatal;
}

errc errc_from_sqlstate(std::string_view s) noexcept {
    if (s == "25006")
        return errc::read_only;
    switch (classify_sqlstate(s)) {
    case sqlstate_action::reconnect:
        return errc::connection_lost;
    case sqlstate_action::reject:
        return errc::data_rejected;
    case sqlstate_action::retry:
        return errc::transient;
    case sqlstate_action::retry_smaller:
        return errc::statement_timeout;
    case sqlstate_action::retry_later:
        return errc::resources;
    case sqlstate_action::fatal:
        return errc::server_error;
    }
    return errc::server_error;
}

object_problem object_problem_of(std::string_view s) noexcept {
    if (s == "42P01" || s == "3F000")
        return object_problem::missing;
    if (s == "42501")
        return object_problem::permission_denied;
    return object_problem::other;
}

std::string_view describe(object_problem p) noexcept {
    switch (p) {
    case object_problem::missing:
        return "does not exist";
    case object_problem::permission_denied:
        return "permission denied";
    case object_problem::other:
        break;
    }
    return {};
}

bool is_retryable(boost::system::error_code ec) noexcept {
    if (ec.category() != pg_category())
        return false;
    switch (static_cast<errc>(ec.value())) {
    case errc::connect_failed:
    case errc::connect_timeout:
    case errc::connection_lost:
    case errc::read_only:
    case errc::protocol:
    case errc::no_answer:
    case errc::transient:
    case errc::statement_timeout:
    case errc::resources:
        return true;
    default:
        return false;
    }
}

bool is_fatal(boost::system::error_code ec) noexcept {
    if (ec.category() != pg_category())
        return false;
    switch (static_cast<errc>(ec.value())) {
    case errc::invalid_conninfo:
    case errc::server_error:
    case errc::schema_mismatch:
    case errc::invalid_table_name:
        return true;
    default:
        return false;
    }
}

} // namespace sqs2pg::pg
