// Redacted printing of credentials.
#include <sqs2pg/aws/credentials.hpp>

#include <chrono>
#include <cstdio>
#include <ostream>

namespace sqs2pg::aws {

std::string describe(const credentials& c) {
    std::string s = "credentials{access_key_id=";
    // Key ids are not secret (CloudTrail shows them), but the full id is still more than a
    // log line needs; the ends are enough to tell keys apart.
    const std::string& id = c.access_key_id;
    if (id.size() > 8)
        s.append(id, 0, 4).append("...").append(id, id.size() - 4, 4);
    else
        s += id;
    s += c.secret_access_key.empty() ? ", secret=<empty>" : ", secret=<redacted>";
    s += c.session_token.empty() ? ", session_token=<none>" : ", session_token=<present>";
    if (c.expiration) {
        using namespace std::chrono;
        const auto secs = floor<seconds>(*c.expiration);
        const auto day = floor<days>(secs);
        const year_month_day ymd{day};
        const hh_mm_ss hms{secs - day};
        char buf[40];
        std::snprintf(buf, sizeof buf, ", expiration=%04d-%02u-%02uT%02d:%02d:%02dZ",
                      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                      static_cast<int>(hms.minutes().count()),
                      static_cast<int>(hms.seconds().count()));
        s += buf;
    }
    s += '}';
    return s;
}

std::ostream& operator<<(std::ostream& os, const credentials& c) {
    return os << describe(c);
}

} // namespace sqs2pg::aws
