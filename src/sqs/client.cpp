// The asynchronous SQS client: a thin driver around the sans-io codec and retry policy,
// signing every attempt with fresh credentials and sending it on the HTTP transport.
#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/aws/error.hpp>
#include <sqs2pg/aws/signer.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/http/error.hpp>
#include <sqs2pg/ops/log.hpp>
#include <sqs2pg/sqs/client.hpp>

#include "http_exchange.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <random>
#include <span>
#include <stdexcept>

namespace sqs2pg::sqs {
namespace asio = boost::asio;

namespace {

// Transport failures reduced to what the retry policy and the caller need.
error transport_error(std::string_view action, boost::system::error_code ec) {
    error e;
    e.action = action;
    e.transport_error = ec;
    e.http_status = 0;
    e.sender_fault = false;
    if (ec == http::errc::timeout || ec == asio::error::timed_out)
        e.kind = errc::timeout;
    else if (ec == http::errc::cancelled || ec == asio::error::operation_aborted)
        e.kind = errc::cancelled;
    else if (http::is_fatal(ec))
        e.kind = errc::configuration;
    else
        e.kind = errc::transport;
    // Nothing reached the server before these: a repeat cannot duplicate anything.
    e.request_sent = !(ec == http::errc::resolve_failed || ec == http::errc::connect_failed ||
                       ec == http::errc::tls_failed || ec == http::errc::tls_verify_failed ||
                       ec == http::errc::invalid_url);
    return e;
}

// The caller's say on retries: only a receive carries one (receive_options::retry_allowed).
const std::function<bool()>* retry_hook(const receive_message_request& r) noexcept {
    return &r.options.retry_allowed;
}
template <class Request>
const std::function<bool()>* retry_hook(const Request&) noexcept {
    return nullptr;
}

} // namespace

struct client::impl {
    impl(asio::any_io_executor ex, http::endpoint ep, aws::credentials_provider& creds,
         client_options opts)
        : executor(ex)
        , endpoint(ep)
        , credentials(creds)
        , options(std::move(opts))
        , transport(ex, std::move(ep), detail::transport_options(options.http))
        , signer(options.region, "sqs")
        , policy(options.retry)
        , host(endpoint.host_header()) {
        rng.seed(base::random_seed());
    }

    asio::any_io_executor executor;
    http::endpoint endpoint;
    aws::credentials_provider& credentials;
    client_options options;
    http::client transport;
    aws::signer signer;
    retry_policy policy;
    std::mt19937_64 rng;
    client_stats stats;
    const std::string host; ///< the Host header of every request

    // The coroutines below keep in their frames only what lives across a suspension: the
    // request's building and signing, the answer's decoding and the log lines are plain
    // functions. GCC gives every local and temporary of a coroutine a slot in its frame,
    // and Asio recycles frames of at most 1020 bytes only; larger ones cost a malloc and a
    // free of a large block per call (docs/performance.md, the fifth round).

    /// Why the credentials could not be had, as the retry policy sees it.
    template <class Request>
    static error credentials_error(boost::system::error_code ec) {
        error e;
        // A provider that is only unreachable for now (container agent or instance
        // metadata timing out, 5xx) is retried like a dropped connection: nothing was
        // sent. Missing or refused credentials stay fatal.
        e.kind = ec == aws::errc::cancelled || ec == asio::error::operation_aborted
                     ? errc::cancelled
                 : aws::is_retryable(ec) ? errc::transport
                                         : errc::credentials;
        e.action = Request::action;
        e.transport_error = ec;
        e.request_sent = false;
        return e;
    }

    /// The HTTP request of `w`, signed with `creds` now (http_exchange.hpp).
    http::raw_request signed_request(const wire_request& w, const aws::credentials& creds) {
        return detail::signed_request(signer, host, w, creds, std::chrono::system_clock::now());
    }

    /// The answer (or the transport's failure) decoded for `r`.
    template <class Request>
    result<typename Request::result_type>
    decode(const Request& r, const boost::system::result<http::response>& res) const {
        if (!res)
            return transport_error(Request::action, res.error());
        return decode_response(options.wire, r, detail::wire_of(*res));
    }

    /// One signed attempt of an encoded request.
    template <class Request>
    asio::awaitable<result<typename Request::result_type>>
    async_attempt(const Request& r, const wire_request& w, std::chrono::milliseconds deadline) {
        auto creds = co_await credentials.async_get();
        if (!creds)
            co_return credentials_error<Request>(creds.error());
        ++stats.requests;
        // A named request moved in: GCC 12 mishandles some temporaries in co_await
        // expressions (see the public calls below).
        http::raw_request req = signed_request(w, *creds);
        const auto res = co_await transport.async_send(std::move(req), deadline);
        co_return decode(r, res);
    }

    void log_fatal(const error& e) const {
        ops::log(ops::level::error, "sqs_fatal",
                 {{"action", e.action},
                  {"kind", kind_name(e.kind)},
                  {"code", e.code},
                  {"http_status", e.http_status},
                  {"request_id", e.request_id},
                  {"endpoint", host},
                  {"region", options.region},
                  {"protocol", protocol_name(options.wire)},
                  {"hint", hint(e.kind)}});
    }

    static void log_retry(const error& e, unsigned attempt, std::chrono::milliseconds delay) {
        ops::log(ops::level::warn, "sqs_retry",
                 {{"action", e.action},
                  {"kind", kind_name(e.kind)},
                  {"code", e.code},
                  {"http_status", e.http_status},
                  {"request_id", e.request_id},
                  {"attempt", attempt},
                  {"delay_ms", delay.count()}});
    }

    template <class Request>
    static error cancelled_error(boost::system::error_code ec) {
        error cancelled;
        cancelled.kind = errc::cancelled;
        cancelled.action = Request::action;
        cancelled.transport_error = ec;
        return cancelled;
    }

    /// Validate, encode once, then attempt until success or the policy gives up.
    template <class Request>
    asio::awaitable<result<typename Request::result_type>>
    async_call(Request r, std::chrono::milliseconds deadline) {
        if (auto invalid = validate(r)) {
            ++stats.failures;
            co_return std::move(*invalid);
        }
        wire_request w = encode(options.wire, r);
        if (w.target == "/" && !endpoint.path.empty())
            w.target = endpoint.path;
        co_return co_await async_attempts(r, w, deadline);
    }

    /// Attempts `w` until success or the policy gives up (async_call's loop, a coroutine
    /// of its own so that neither frame outgrows Asio's recycling).
    template <class Request>
    asio::awaitable<result<typename Request::result_type>>
    async_attempts(const Request& r, const wire_request& w, std::chrono::milliseconds deadline) {
        const std::function<bool()>* const hook = retry_hook(r);
        for (unsigned attempt = 1;; ++attempt) {
            auto res = co_await async_attempt(r, w, deadline);
            if (res)
                co_return res;
            const error& e = res.error();
            // The retry for an expired session token must carry fresh credentials, even
            // when the provider's own schedule (clock skew) still trusts the cached ones.
            if (e.kind == errc::auth && is_expired_token(e.code))
                credentials.expire();
            const auto delay = policy.next_delay(e, attempt, Request::idempotent, rng());
            if (!delay) {
                ++stats.failures;
                if (is_fatal(e))
                    log_fatal(e);
                co_return res;
            }
            // The caller may stop retries (a stopping process) without cancelling: asked
            // before the pause, and again after it.
            if (withheld(hook, e, attempt))
                co_return res;
            log_retry(e, attempt, *delay);
            if (delay->count() > 0) {
                asio::steady_timer timer(executor, *delay);
                auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
                if (ec) {
                    ++stats.failures;
                    co_return cancelled_error<Request>(ec);
                }
            }
            if (withheld(hook, e, attempt))
                co_return res;
            ++stats.retries;
        }
    }

    /// Whether the caller's hook refuses the retry after `e`; counts and logs the refusal.
    bool withheld(const std::function<bool()>* hook, const error& e, unsigned attempt) {
        if (hook == nullptr || !*hook || (*hook)())
            return false;
        ++stats.failures;
        ops::log(ops::level::info, "sqs_retry_withheld",
                 {{"action", e.action},
                  {"kind", kind_name(e.kind)},
                  {"code", e.code},
                  {"http_status", e.http_status},
                  {"request_id", e.request_id},
                  {"attempt", attempt}});
        return true;
    }

    std::chrono::milliseconds receive_deadline(const receive_options& o) const {
        return options.call_timeout +
               std::chrono::seconds(o.wait_time_seconds.value_or(max_wait_time_seconds));
    }

    /// Logs the rejected messages (ids, reasons and receive counts only) and makes them
    /// visible again after a pause that grows with their receive count.
    asio::awaitable<void> async_release(const std::string& queue_url,
                                        const std::vector<rejected_message>& rejected) {
        const auto& release = options.rejected_release;
        std::vector<visibility_entry> entries;
        for (const auto& m : rejected) {
            const int timeout = release.timeout(m.receive_count);
            const bool released = release.enabled && !m.receipt_handle.empty();
            const std::string count =
                m.receive_count ? std::to_string(*m.receive_count) : std::string("unknown");
            ops::log(ops::level::warn, "sqs_message_rejected",
                     {{"message_id", m.message_id},
                      {"reason", m.reason},
                      {"receive_count", count},
                      {"released", released},
                      {"visibility_timeout_s", timeout}});
            if (released) {
                std::string id = "r"; // not "r" + to_string(): GCC 12 warns falsely (-Wrestrict)
                id += std::to_string(entries.size());
                entries.push_back({std::move(id), m.receipt_handle, timeout});
            }
        }
        stats.rejected_messages += rejected.size();
        // At most 10 entries per call: a response may hold more messages than a receive
        // can ask for, and one oversized batch would be refused whole.
        for (std::size_t begin = 0; begin < entries.size(); begin += max_batch_entries) {
            const std::size_t end =
                std::min(entries.size(), begin + static_cast<std::size_t>(max_batch_entries));
            std::vector<visibility_entry> batch(std::make_move_iterator(entries.begin() + begin),
                                                std::make_move_iterator(entries.begin() + end));
            change_message_visibility_batch_request request{queue_url, std::move(batch)};
            auto res = co_await async_call(std::move(request), options.call_timeout);
            if (!res) {
                ops::log(ops::level::warn, "sqs_release_failed",
                         {{"kind", kind_name(res.error().kind)}, {"code", res.error().code}});
                continue;
            }
            stats.released_messages += res->successful.size();
            for (const auto& f : res->failed)
                ops::log(ops::level::warn, "sqs_release_failed", {{"code", f.code}});
        }
    }
};

int rejected_release_options::timeout(std::optional<std::uint32_t> receive_count) const noexcept {
    const auto clamp = [](std::int64_t s) {
        return static_cast<int>(std::clamp<std::int64_t>(s, 0, max_visibility_timeout_seconds));
    };
    const std::int64_t cap = clamp(max.count());
    if (!receive_count)
        return clamp(unknown_count.count());
    // first * 2^(n-1), doubling at most until the cap is reached (no overflow, and at most
    // ~16 steps whatever n is).
    std::int64_t t = clamp(first.count());
    for (std::uint32_t n = 1; n < *receive_count && t > 0 && t < cap; ++n)
        t *= 2;
    return static_cast<int>(std::min(t, cap));
}

// The public calls build their request (an aggregate) in a named local before awaiting
// async_call: GCC 12 destroys a braced aggregate temporary inside a co_await expression
// twice (heap corruption); a named object moved in is fine (see types.hpp).

client::client(asio::any_io_executor ex, http::endpoint endpoint,
               aws::credentials_provider& credentials, client_options options) {
    if (options.region.empty())
        throw std::invalid_argument("sqs::client: the signing region is empty");
    impl_ = std::make_unique<impl>(ex, std::move(endpoint), credentials, std::move(options));
}

client::~client() = default;

asio::awaitable<result<std::string>> client::async_get_queue_url(std::string queue_name,
                                                                 std::string owner_account_id) {
    get_queue_url_request request{std::move(queue_name), std::move(owner_account_id)};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

asio::awaitable<result<std::string>>
client::async_create_queue(std::string queue_name,
                           std::vector<std::pair<std::string, std::string>> attributes) {
    create_queue_request request{std::move(queue_name), std::move(attributes), {}};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

asio::awaitable<result<empty_result>> client::async_delete_queue(std::string queue_url) {
    delete_queue_request request{std::move(queue_url)};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

asio::awaitable<result<empty_result>> client::async_purge_queue(std::string queue_url) {
    purge_queue_request request{std::move(queue_url)};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

asio::awaitable<result<queue_attributes>>
client::async_get_queue_attributes(std::string queue_url, std::vector<std::string> names) {
    get_queue_attributes_request request{std::move(queue_url), std::move(names)};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

asio::awaitable<result<queue_attributes>>
client::async_get_queue_attributes(std::string queue_url) {
    // Not a coroutine: the list is built here, outside any co_await expression.
    return async_get_queue_attributes(std::move(queue_url), std::vector<std::string>(1, "All"));
}

asio::awaitable<result<empty_result>>
client::async_set_queue_attributes(std::string queue_url,
                                   std::vector<std::pair<std::string, std::string>> attributes) {
    set_queue_attributes_request request{std::move(queue_url), std::move(attributes)};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

asio::awaitable<result<receive_result>> client::async_receive_message(std::string queue_url,
                                                                      receive_options options) {
    const auto deadline = impl_->receive_deadline(options);
    receive_message_request request{queue_url, std::move(options)};
    auto res = co_await impl_->async_call(std::move(request), deadline);
    if (res && !res->rejected.empty())
        co_await impl_->async_release(queue_url, res->rejected);
    co_return res;
}

asio::awaitable<result<send_batch_result>>
client::async_send_message_batch(std::string queue_url, std::vector<send_entry> entries) {
    send_message_batch_request request{std::move(queue_url), std::move(entries)};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

asio::awaitable<result<sent_message>> client::async_send_message(std::string queue_url,
                                                                 send_entry message) {
    send_message_request request{std::move(queue_url), std::move(message)};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

asio::awaitable<result<batch_result>>
client::async_delete_message_batch(std::string queue_url, std::vector<delete_entry> entries) {
    delete_message_batch_request request{std::move(queue_url), std::move(entries)};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

asio::awaitable<result<empty_result>> client::async_delete_message(std::string queue_url,
                                                                   std::string receipt_handle) {
    delete_message_request request{std::move(queue_url), std::move(receipt_handle)};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

asio::awaitable<result<batch_result>>
client::async_change_message_visibility_batch(std::string queue_url,
                                              std::vector<visibility_entry> entries) {
    change_message_visibility_batch_request request{std::move(queue_url), std::move(entries)};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

asio::awaitable<result<empty_result>>
client::async_change_message_visibility(std::string queue_url, std::string receipt_handle,
                                        int visibility_timeout) {
    change_message_visibility_request request{std::move(queue_url), std::move(receipt_handle),
                                              visibility_timeout};
    co_return co_await impl_->async_call(std::move(request), impl_->options.call_timeout);
}

std::string client::explain(const error& e) const {
    std::string out = describe(e);
    out += " [endpoint ";
    out += impl_->endpoint.origin();
    out += impl_->endpoint.path;
    out += ", region ";
    out += impl_->options.region;
    out += ", protocol ";
    out += protocol_name(impl_->options.wire);
    out += ']';
    if (e.kind == errc::credentials) {
        // What the provider tried and what to check; it never holds a secret.
        if (const auto why = impl_->credentials.last_failure(); !why.empty()) {
            out += ": ";
            out += why;
        }
    }
    if (e.kind == errc::transport || e.kind == errc::configuration) {
        if (const auto h = http::hint(e.transport_error); !h.empty()) {
            out += ": ";
            out += h;
        }
    }
    return out;
}

protocol client::wire_protocol() const noexcept {
    return impl_->options.wire;
}

const http::endpoint& client::endpoint() const noexcept {
    return impl_->endpoint;
}

const client_stats& client::stats() const noexcept {
    return impl_->stats;
}

http::client_stats client::transport_stats() const {
    return impl_->transport.stats();
}

} // namespace sqs2pg::sqs
