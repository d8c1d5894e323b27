// `sqs2pg run`: wires every module into the running pipeline. Startup problems that the
// user must fix exit 2 (keys, region, endpoint); failures while running exit 1.
#include <sqs2pg/app/commands/run.hpp>
#include <sqs2pg/app/mask_keys.hpp>
#include <sqs2pg/app/pg_iam.hpp>
#include <sqs2pg/app/sqs_settings.hpp>
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/base/backoff.hpp>
#include <sqs2pg/base/text.hpp>
#include <sqs2pg/flow/event.hpp>
#include <sqs2pg/flow/pipeline.hpp>
#include <sqs2pg/flow/ports.hpp>
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/ops/endpoint.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/ops/metrics.hpp>
#include <sqs2pg/pg/error.hpp>
#include <sqs2pg/pg/writer.hpp>
#include <sqs2pg/sqs/client.hpp>
#include <sqs2pg/version.hpp>

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/core.h>

#include <csignal>
#include <cstdio>

namespace sqs2pg::app {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// How long the run waits at startup for a PostgreSQL that refuses connections, and how
/// the attempts are paced.
constexpr auto pg_startup_deadline = 60s;
constexpr base::backoff_config pg_startup_pacing{500ms, 5s, base::jitter::none};

/// Everything the run needs that does not suspend; built before the io_context runs.
struct prepared {
    std::optional<mask::keyring> keys;
    std::optional<mask::masker> masker;
    std::optional<mask::sealer> sealer;
    sqs_settings sqs;
    std::optional<iam_target> iam; ///< --pg-iam-auth
    std::string iam_region;
};

/// Startup checks that need no I/O. On failure prints one message and returns the exit
/// status (2: configuration).
std::optional<int> prepare(const run_config& cfg, const environment& env, prepared& out) {
    key_options source;
    if (!cfg.mask_key_file.empty())
        source.key_file = cfg.mask_key_file;
    if (!cfg.mask_key_secret.empty())
        source.secret_id = cfg.mask_key_secret;
    if (auto v = env.get("SQS2PG_MASK_KEY"))
        source.env_value = std::string(*v);
    source.region = cfg.sqs.region;
    source.ca_bundle = cfg.sqs.ca_bundle;
    auto keys = load_mask_keys(source, env);
    if (!keys) {
        fmt::print(stderr, "{}\n", keys.error().message);
        return 2;
    }
    out.keys = std::move(*keys);
    auto masker = mask::make_masker(cfg.mask, out.keys ? &*out.keys : nullptr);
    if (!masker) {
        fmt::print(stderr, "sqs2pg: {}\n", masker.error().message);
        return 2;
    }
    out.masker.emplace(std::move(*masker));
    if (out.keys)
        out.sealer.emplace(*out.keys);

    auto settings = resolve_sqs_settings(cfg.sqs, env);
    if (!settings) {
        fmt::print(stderr, "{}\n", settings.error().message);
        return 2;
    }
    if (cfg.pg_iam_auth) {
        auto target = iam_auth_target(cfg.pg, env);
        if (!target) {
            fmt::print(stderr, "sqs2pg: --pg-iam-auth: {}\n", target.error().message);
            return 2;
        }
        out.iam = std::move(*target);
        // The database's region: the host name's when it is an RDS name, else the run's.
        out.iam_region = rds_host_region(out.iam->host).value_or(settings->region);
    }
    if (!settings->warning.empty())
        ops::log(ops::level::warn, "aws.region_mismatch", {{"detail", settings->warning}});
    out.sqs = std::move(*settings);
    return std::nullopt;
}

aws::chain_options chain_options_of(const run_config& cfg) {
    aws::chain_options o;
    if (cfg.sqs.ca_bundle)
        o.extra_ca_file = *cfg.sqs.ca_bundle;
    return o;
}

std::string table_of(const table_name& t) {
    return t.schema.empty() ? t.name : t.schema + "." + t.name;
}

class runner {
public:
    runner(asio::io_context& ioc, const run_config& cfg, prepared& p)
        : ioc_(ioc)
        , cfg_(cfg)
        , p_(p)
        , signals_(ioc, SIGINT, SIGTERM)
        , credentials_(
              aws::make_default_chain(ioc.get_executor(), p.sqs.env, chain_options_of(cfg)))
        , sqs_(ioc.get_executor(), p.sqs.endpoint, *credentials_,
               sqs_client_options(cfg.sqs, p.sqs)) {
        ops::add_build_info(registry_, version_string);
    }

    asio::awaitable<int> run() {
        // Without it no signal could stop the run: a failure ends the run instead.
        asio::co_spawn(ioc_, watch_signals(), [this](std::exception_ptr e) {
            if (e)
                task_failed("signal watcher", "signal.watch_failed", e);
        });
        const int code = co_await run_pipeline();
        signals_.cancel();
        co_return code;
    }

private:
    asio::awaitable<void> watch_signals() {
        for (;;) {
            auto [ec, sig] = co_await signals_.async_wait(use_tuple);
            if (ec)
                co_return;
            const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
            ops::log(ops::level::info, "signal", {{"signal", name}});
            ++signals_seen_;
            if (pipeline_)
                pipeline_->request_stop(name);
            startup_cancelled_.notify_all();
        }
    }

    bool startup_interrupted() const { return signals_seen_ > 0; }

    /// A task spawned beside the pipeline ended with an exception (a bug): logs `event`
    /// and stops the run with exit status 1. Before the pipeline exists the failure waits
    /// for it: run_pipeline hands it over as soon as the pipeline is built.
    void task_failed(std::string_view task, std::string_view event, const std::exception_ptr& e) {
        const std::string what = base::exception_text(e);
        ops::log(ops::level::error, event, {{"error", what}});
        std::string detail = fmt::format("internal error in the {}: {}", task, what);
        if (pipeline_)
            pipeline_->fail(flow::errc::internal_error, std::move(detail));
        else if (!early_failure_)
            early_failure_ = std::move(detail);
    }

    /// The one summary line on stdout that harnesses read.
    static void print_summary(const flow::run_summary& s) {
        std::fputs((s.to_json() + "\n").c_str(), stdout);
        std::fflush(stdout);
    }

    /// The summary of a stop before the pipeline started: nothing was received.
    static flow::run_summary nothing_received() {
        flow::run_summary s;
        s.peak_rss_kb = flow::peak_rss_kb();
        return s;
    }

    asio::awaitable<std::optional<int>> resolve_queue() {
        queue_url_ = cfg_.sqs.queue_url;
        if (queue_url_.empty()) {
            const std::string name = cfg_.sqs.queue_name;
            auto url = co_await sqs_.async_get_queue_url(name);
            if (!url) {
                fmt::print(stderr, "sqs2pg: --queue-name {}: {}\n", name,
                           sqs_.explain(url.error()));
                co_return 1;
            }
            queue_url_ = *url;
        }
        // One call that also proves the credentials, the endpoint and the queue work.
        std::vector<std::string> names;
        names.push_back("VisibilityTimeout");
        names.push_back("MessageRetentionPeriod");
        const std::string url = queue_url_;
        auto attrs = co_await sqs_.async_get_queue_attributes(url, names);
        if (!attrs) {
            fmt::print(stderr, "sqs2pg: {}: {}\n", queue_url_, sqs_.explain(attrs.error()));
            co_return 1;
        }
        queue_visibility_ = std::chrono::seconds(
            sqs::attribute_as_number(*attrs, "VisibilityTimeout").value_or(30));
        retention_ = std::chrono::seconds(
            sqs::attribute_as_number(*attrs, "MessageRetentionPeriod").value_or(14 * 86400));
        co_return std::nullopt;
    }

    asio::awaitable<std::optional<int>> start_writer() {
        pg::writer_config wc;
        wc.conninfo = cfg_.pg;
        if (p_.iam)
            wc.password = make_token_source(*p_.iam, p_.iam_region, *credentials_);
        wc.table = table_of(cfg_.table);
        wc.ledger_retention = retention_;
        // A sidecar should resume within seconds of its database coming back; a connect
        // attempt every 5 s at most costs the server nothing.
        wc.reconnect.max = 5s;
        writer_.emplace(ioc_.get_executor(), std::move(wc));
        const auto deadline = std::chrono::steady_clock::now() + pg_startup_deadline;
        base::backoff pacing(pg_startup_pacing);
        for (;;) {
            auto started = co_await writer_->async_start();
            if (started)
                break;
            const auto ec = started.error();
            const std::string detail = writer_->error_detail();
            if (startup_interrupted() && !pg::is_fatal(ec)) {
                // Stopped while waiting for the database: nothing was received, so this
                // is a clean stop (status 0), not a failure.
                ops::log(ops::level::info, "pg.startup_cancelled", {{"error", ec.message()}});
                co_return 0;
            }
            if (pg::is_fatal(ec) || std::chrono::steady_clock::now() >= deadline) {
                fmt::print(stderr, "sqs2pg: --pg: {}{}{}\n", ec.message(),
                           detail.empty() ? "" : ": ", detail);
                co_return 1;
            }
            const auto delay = pacing.next(0);
            ops::log(ops::level::warn, "pg.startup_retry",
                     {{"error", ec.message()}, {"retry_in_ms", delay.count()}});
            co_await startup_cancelled_.async_wait_for(delay);
        }
        asio::co_spawn(
            ioc_, writer_->async_run(), [this](std::exception_ptr e, boost::system::error_code ec) {
                if (e)
                    ops::log(ops::level::error, "pg.writer_failed", {});
                else if (ec && ec != asio::error::operation_aborted)
                    ops::log(ops::level::debug, "pg.writer_stopped", {{"reason", ec.message()}});
                // A writer that gave up (a fatal reconnect error such as a changed
                // password, or an internal error) can commit nothing more: stop the run
                // instead of holding messages while waiting for a connection for ever.
                if (pipeline_ && (e || (ec && pg::is_fatal(ec)))) {
                    const std::string detail = writer_->error_detail();
                    pipeline_->fail(e ? flow::errc::internal_error : flow::errc::pg_gave_up,
                                    fmt::format("--pg: {}{}{}",
                                                e ? "internal error in the writer" : ec.message(),
                                                detail.empty() ? "" : ": ", detail));
                }
                writer_running_ = false;
                writer_done_.notify_all();
            });
        writer_running_ = true;
        co_return std::nullopt;
    }

    asio::awaitable<int> run_pipeline() {
        if (auto code = co_await resolve_queue())
            co_return *code;
        if (startup_interrupted()) {
            print_summary(nothing_received());
            co_return 0;
        }
        if (auto code = co_await start_writer()) {
            if (*code == 0)
                print_summary(nothing_received());
            co_return *code;
        }

        // The options filled the pipeline's settings; what only the queue can tell is added.
        flow::pipeline_config pc = cfg_.pipeline;
        pc.queue_url = queue_url_;
        if (!pc.send_visibility_timeout)
            pc.visibility_timeout = queue_visibility_;
        pc.progress = pc.drain && ::isatty(STDERR_FILENO) == 1;
        queue_.emplace(sqs_, flow::receive_settings_of(pc));
        sink_.emplace(*writer_);
        pipeline_.emplace(ioc_.get_executor(), pc,
                          flow::pipeline_parts{*queue_, *sink_, *p_.masker,
                                               p_.sealer ? &*p_.sealer : nullptr, registry_});

        std::optional<ops::endpoint> ops_endpoint;
        bool ops_running = false;
        flow::event ops_done(ioc_.get_executor());
        if (cfg_.listen) {
            ops_endpoint.emplace(ioc_.get_executor(), registry_,
                                 [this] { return pipeline_->readiness(); });
            auto bound = ops_endpoint->listen(*cfg_.listen);
            if (!bound) {
                fmt::print(stderr, "sqs2pg: --listen {}:{}: {}\n", cfg_.listen->host,
                           cfg_.listen->port, bound.error().message());
                writer_->stop();
                co_return 1;
            }
            ops_running = true;
            asio::co_spawn(ioc_, ops_endpoint->async_run(), [&](std::exception_ptr e) {
                if (e)
                    task_failed("ops endpoint", "ops.endpoint_failed", e);
                ops_running = false;
                ops_done.notify_all();
            });
        }
        if (early_failure_)
            pipeline_->fail(flow::errc::internal_error, *early_failure_);
        if (startup_interrupted())
            pipeline_->request_stop("signal during startup");

        const auto result = co_await pipeline_->async_run();

        writer_->stop();
        while (writer_running_)
            co_await writer_done_.async_wait();
        if (ops_endpoint) {
            ops_endpoint->stop();
            while (ops_running)
                co_await ops_done.async_wait();
        }
        print_summary(result.summary);
        if (!result.error.empty())
            fmt::print(stderr, "sqs2pg: {}\n", result.error);
        co_return result.exit_code;
    }

    asio::io_context& ioc_;
    const run_config& cfg_;
    prepared& p_;
    asio::signal_set signals_;
    int signals_seen_ = 0;
    flow::event startup_cancelled_{ioc_.get_executor()};
    std::unique_ptr<aws::credentials_provider> credentials_;
    sqs::client sqs_;
    ops::registry registry_;
    std::string queue_url_;
    std::chrono::seconds queue_visibility_{30};
    std::chrono::seconds retention_{14 * 86400};
    std::optional<pg::writer> writer_;
    bool writer_running_ = false;
    flow::event writer_done_{ioc_.get_executor()};
    std::optional<flow::sqs_queue> queue_;
    std::optional<flow::pg_sink> sink_;
    std::optional<flow::pipeline> pipeline_;
    std::optional<std::string> early_failure_; ///< a task failed before the pipeline existed
};

} // namespace

int run_command(const run_config& cfg, const environment& env) {
    ops::configure_logging(cfg.log_level, cfg.log_format);
    prepared p;
    if (auto code = prepare(cfg, env, p))
        return *code;

    asio::io_context ioc(1);
    int exit_code = 1;
    {
        runner r(ioc, cfg, p);
        asio::co_spawn(ioc, r.run(), [&](std::exception_ptr e, int code) {
            if (e) {
                const std::string what = base::exception_text(e);
                ops::log(ops::level::error, "run.failed", {{"error", what}});
                fmt::print(stderr, "sqs2pg: internal error: {}\n", what);
                code = 1;
            }
            exit_code = code;
            // Idle keep-alive connections and refresh timers may still be pending:
            // the run is over, so don't wait for them.
            ioc.stop();
        });
        ioc.run();
    }
    ops::flush_logs(std::chrono::seconds(2)); // what a slow stderr has not taken yet
    return exit_code;
}

} // namespace sqs2pg::app
