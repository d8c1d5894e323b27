// ISO 8601 / RFC 3339 times: parsing and formatting.
#include <sqs2pg/base/time.hpp>

#include <cstdint>
#include <cstdio>

namespace sqs2pg::base {
namespace {

using sys_clock = std::chrono::system_clock;

// The value of `n` decimal digits of `s` at `pos`, or -1 (past the end, not a digit).
int digits(std::string_view s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size())
        return -1;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

std::optional<std::chrono::year_month_day> date_at_start(std::string_view s) {
    using namespace std::chrono;
    if (s.size() < 10 || s[4] != '-' || s[7] != '-')
        return std::nullopt;
    const int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
    if (y < 0 || mo < 0 || d < 0)
        return std::nullopt;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                             day{static_cast<unsigned>(d)}};
    if (!ymd.ok())
        return std::nullopt;
    return ymd;
}

} // namespace

std::optional<sys_clock::time_point> parse_iso8601(std::string_view s) {
    using namespace std::chrono;
    if (s.size() < 20 || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return std::nullopt;
    const auto ymd = date_at_start(s);
    const int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
    if (!ymd || h < 0 || mi < 0 || sec < 0 || h > 23 || mi > 59 || sec > 60)
        return std::nullopt;
    std::size_t pos = 19;
    sys_clock::duration frac{0};
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::int64_t nanos = 0;
        int n = 0;
        for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++n)
            if (n < 9)
                nanos = nanos * 10 + (s[pos] - '0');
        if (n == 0)
            return std::nullopt;
        for (int i = n; i < 9; ++i)
            nanos *= 10;
        frac = duration_cast<sys_clock::duration>(nanoseconds(nanos));
    }
    minutes offset{0};
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        const int oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
        if (oh < 0 || om < 0 || pos + 3 >= s.size() || s[pos + 3] != ':' || oh > 23 || om > 59)
            return std::nullopt;
        offset = hours(oh) + minutes(om);
        if (s[pos] == '-')
            offset = -offset;
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != s.size())
        return std::nullopt;
    return sys_days{*ymd} + hours{h} + minutes{mi} + seconds{sec} + frac - offset;
}

std::optional<std::chrono::sys_days> parse_iso8601_date(std::string_view text) {
    if (text.size() != 10)
        return std::nullopt;
    const auto ymd = date_at_start(text);
    if (!ymd)
        return std::nullopt;
    return std::chrono::sys_days(*ymd);
}

std::string format_iso8601(std::chrono::sys_time<std::chrono::microseconds> t, bool micros) {
    using namespace std::chrono;
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss hms{t - day};
    // Room for any int in every field, so nothing can be cut short.
    char buf[96];
    const int n = std::snprintf(
        buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
        static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
        static_cast<int>(hms.seconds().count()));
    std::string s(buf, static_cast<std::size_t>(n > 0 ? n : 0));
    if (micros) {
        std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(hms.subseconds().count()));
        s += buf;
    }
    s += 'Z';
    return s;
}

} // namespace sqs2pg::base
