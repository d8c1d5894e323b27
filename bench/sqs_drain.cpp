// sqs_drain: receive + delete throughput of the sqs2pg SQS client. N pollers receive (10
// per call, short wait) and delete in batches until GetQueueAttributes shows the queue
// empty, then one JSON line with the figures goes to stdout (logs to stderr).
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/environment.hpp>
#include <sqs2pg/aws/region.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/sqs/client.hpp>

#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
namespace sqs = sqs2pg::sqs;
using clock_type = std::chrono::steady_clock;

const char* usage =
    "usage: sqs_drain --queue-url URL [--endpoint-url URL] [--protocol query|json]\n"
    "                 [--pollers N] [--wait-time-seconds S] [--region R]\n"
    "                 [--fill N [--body-bytes B]] [--timeout-seconds S]\n"
    "Credentials: the AWS SDK chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles,\n"
    "container, instance metadata). Endpoint: --endpoint-url, else AWS_ENDPOINT_URL_SQS,\n"
    "AWS_ENDPOINT_URL, else the queue URL's origin. Region: --region, else AWS_REGION,\n"
    "AWS_DEFAULT_REGION, else us-east-1.\n"
    "--fill sends N messages (untimed) before draining, for smoke runs.\n";

struct settings {
    std::string queue_url;
    std::string endpoint_url;
    sqs::protocol wire = sqs::protocol::query;
    int pollers = 1;
    int wait_time_seconds = 1;
    std::string region;
    long fill = 0;
    long body_bytes = 200;
    int timeout_seconds = 3600;
};

std::string env_or(const char* name, std::string fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

[[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "sqs_drain: %s\n%s", why.c_str(), usage);
    std::exit(2);
}

settings parse_args(int argc, char** argv) {
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                fail(std::string(arg) + " needs a value");
            return argv[++i];
        };
        const auto number = [&](long lo, long hi) {
            const std::string v = value();
            char* end = nullptr;
            const long n = std::strtol(v.c_str(), &end, 10);
            if (end == v.c_str() || *end != '\0' || n < lo || n > hi)
                fail(std::string(arg) + ": expected a number in " + std::to_string(lo) + ".." +
                     std::to_string(hi));
            return n;
        };
        if (arg == "--queue-url")
            s.queue_url = value();
        else if (arg == "--endpoint-url" || arg == "--endpoint")
            s.endpoint_url = value();
        else if (arg == "--protocol") {
            const auto p = sqs::parse_protocol(value());
            if (!p)
                fail("--protocol is query or json");
            s.wire = *p;
        } else if (arg == "--pollers")
            s.pollers = static_cast<int>(number(1, 1024));
        else if (arg == "--wait-time-seconds")
            s.wait_time_seconds = static_cast<int>(number(0, 20));
        else if (arg == "--region")
            s.region = value();
        else if (arg == "--fill")
            s.fill = number(0, 10'000'000);
        else if (arg == "--body-bytes")
            s.body_bytes = number(1, 1'048'576);
        else if (arg == "--timeout-seconds")
            s.timeout_seconds = static_cast<int>(number(1, 86'400));
        else if (arg == "--help" || arg == "-h") {
            std::fputs(usage, stdout);
            std::exit(0);
        } else
            fail("unknown argument " + std::string(arg));
    }
    if (s.queue_url.empty())
        fail("--queue-url is required");
    if (s.region.empty())
        s.region = env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", "us-east-1"));
    return s;
}

struct usage_sample {
    double user_s = 0, sys_s = 0;
    long max_rss_kb = 0;
};

usage_sample rusage_now() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return {static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6,
            static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss};
}

struct drain_state {
    bool done = false;
    bool failed = false;
    std::string failure;
    long deleted = 0, received = 0, delete_failed = 0, receive_calls = 0, empty_receives = 0,
         errors = 0;
    std::optional<clock_type::time_point> first_receive, last_delete;
};

/// Sends `count` messages of `bytes` bytes in batches of 10 with `senders` coroutines.
asio::awaitable<void> fill(sqs::client& c, const settings& s, long& next, drain_state& st) {
    const std::string body(static_cast<std::size_t>(s.body_bytes), 'x');
    while (next < s.fill && !st.failed) {
        std::vector<sqs::send_entry> entries;
        for (int i = 0; i < sqs::max_batch_entries && next < s.fill; ++i, ++next)
            entries.push_back({"m" + std::to_string(i), body, {}, {}, {}, {}});
        auto res = co_await c.async_send_message_batch(s.queue_url, std::move(entries));
        if (!res) {
            st.failed = true;
            st.failure = c.explain(res.error());
        } else if (!res->all_succeeded()) {
            st.failed = true;
            st.failure = "send failed: " + res->failed.front().code;
        }
    }
}

const std::vector<std::string> count_attributes = {"ApproximateNumberOfMessages",
                                                   "ApproximateNumberOfMessagesNotVisible",
                                                   "ApproximateNumberOfMessagesDelayed"};

/// True when nothing is visible, in flight or delayed.
asio::awaitable<bool> drained(sqs::client& c, const settings& s, drain_state& st) {
    auto attrs = co_await c.async_get_queue_attributes(s.queue_url, count_attributes);
    if (!attrs) {
        ++st.errors;
        if (sqs::is_fatal(attrs.error())) {
            st.failed = true;
            st.failure = c.explain(attrs.error());
        }
        co_return false;
    }
    std::uint64_t total = 0;
    for (const auto& name : count_attributes)
        total += sqs::attribute_as_number(*attrs, name).value_or(0);
    co_return total == 0;
}

asio::awaitable<void> poller(sqs::client& c, const settings& s, drain_state& st) {
    sqs::receive_options options; // all system and message attributes, as the pipeline asks
    options.max_number_of_messages = sqs::max_receive_messages;
    options.wait_time_seconds = s.wait_time_seconds;
    while (!st.done && !st.failed) {
        if (!st.first_receive)
            st.first_receive = clock_type::now();
        ++st.receive_calls;
        auto res = co_await c.async_receive_message(s.queue_url, options);
        if (!res) {
            ++st.errors;
            if (sqs::is_fatal(res.error())) {
                st.failed = true;
                st.failure = c.explain(res.error());
            }
            continue;
        }
        st.received += static_cast<long>(res->messages.size());
        if (res->messages.empty()) {
            ++st.empty_receives;
            if (co_await drained(c, s, st))
                st.done = true;
            continue;
        }
        std::vector<sqs::delete_entry> entries;
        entries.reserve(res->messages.size());
        for (std::size_t i = 0; i < res->messages.size(); ++i)
            entries.push_back({std::to_string(i), std::move(res->messages[i].receipt_handle)});
        auto del = co_await c.async_delete_message_batch(s.queue_url, std::move(entries));
        if (!del) {
            ++st.errors;
            st.delete_failed += static_cast<long>(res->messages.size());
            continue;
        }
        st.deleted += static_cast<long>(del->successful.size());
        st.delete_failed += static_cast<long>(del->failed.size());
        if (!del->successful.empty())
            st.last_delete = clock_type::now();
    }
}

} // namespace

int main(int argc, char** argv) try {
    const settings s = parse_args(argc, argv);
    sqs2pg::ops::configure_logging(sqs2pg::ops::level::warn, sqs2pg::ops::log_format::json);

    const auto env = sqs2pg::aws::environment::from_process();
    std::optional<sqs2pg::http::endpoint> endpoint;
    if (!s.endpoint_url.empty()) {
        auto parsed = sqs2pg::http::endpoint::parse(s.endpoint_url);
        if (!parsed)
            fail("bad endpoint URL " + s.endpoint_url);
        endpoint = *parsed;
    } else {
        auto resolved = sqs2pg::aws::resolve_sqs_endpoint(env, s.queue_url, s.region);
        if (!resolved)
            fail(resolved.error().message);
        endpoint = *resolved;
    }

    asio::io_context ioc(1);
    auto provider = sqs2pg::aws::make_default_chain(ioc.get_executor(), env);
    sqs::client_options options;
    options.wire = s.wire;
    options.region = s.region;
    options.http.max_idle_connections = static_cast<std::size_t>(s.pollers) + 4;
    sqs::client c(ioc.get_executor(), *endpoint, *provider, options);

    drain_state st;
    int running = 0;
    const auto finished = [&](std::exception_ptr e) {
        if (e) {
            st.failed = true;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                st.failure = ex.what();
            }
        }
        if (--running == 0)
            ioc.stop();
    };

    // Untimed fill for smoke runs (the figures runs load the queue with bench/load_queue.py).
    long next = 0;
    if (s.fill > 0) {
        for (int i = 0; i < std::min(s.pollers, 8); ++i, ++running)
            asio::co_spawn(ioc, fill(c, s, next, st), finished);
        ioc.run();
        ioc.restart();
        if (st.failed) {
            std::fprintf(stderr, "sqs_drain: fill failed: %s\n", st.failure.c_str());
            return 1;
        }
    }

    asio::steady_timer watchdog(ioc, std::chrono::seconds(s.timeout_seconds));
    watchdog.async_wait([&](boost::system::error_code ec) {
        if (!ec) {
            st.failed = true;
            st.failure = "timed out";
            ioc.stop();
        }
    });
    const auto before = rusage_now();
    const auto start = clock_type::now();
    for (int i = 0; i < s.pollers; ++i, ++running)
        asio::co_spawn(ioc, poller(c, s, st), finished);
    ioc.run();
    const auto end = clock_type::now();
    const auto after = rusage_now();

    const auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
    const double drain_s =
        st.first_receive && st.last_delete ? seconds(*st.last_delete - *st.first_receive) : 0.0;
    const double user = after.user_s - before.user_s, sys = after.sys_s - before.sys_s;
    const long messages = st.deleted;
    std::printf(
        "{\"tool\":\"sqs2pg_sqs_drain\",\"protocol\":\"%s\",\"pollers\":%d,"
        "\"wait_time_seconds\":%d,\"messages\":%ld,\"seconds\":%.3f,\"msgs_per_sec\":%.1f,"
        "\"seconds_total\":%.3f,\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"cpu_us_per_msg\":%.1f,"
        "\"peak_rss_kb\":%ld,\"received\":%ld,\"deleted\":%ld,\"delete_failed\":%ld,"
        "\"receive_calls\":%ld,\"empty_receives\":%ld,\"errors\":%ld,\"retries\":%llu,"
        "\"rejected\":%llu,\"connections_opened\":%zu,\"fill\":%ld,\"ok\":%s}\n",
        std::string(sqs::protocol_name(s.wire)).c_str(), s.pollers, s.wait_time_seconds, messages,
        drain_s, drain_s > 0 ? messages / drain_s : 0.0, seconds(end - start), user, sys,
        messages > 0 ? (user + sys) * 1e6 / messages : 0.0, after.max_rss_kb, st.received,
        st.deleted, st.delete_failed, st.receive_calls, st.empty_receives, st.errors,
        static_cast<unsigned long long>(c.stats().retries),
        static_cast<unsigned long long>(c.stats().rejected_messages),
        c.transport_stats().connections_opened, s.fill, st.failed ? "false" : "true");
    if (st.failed) {
        std::fprintf(stderr, "sqs_drain: %s\n", st.failure.c_str());
        return 1;
    }
    return st.delete_failed == 0 ? 0 : 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "sqs_drain: %s\n", e.what());
    return 1;
}
