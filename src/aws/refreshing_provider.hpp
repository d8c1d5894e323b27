// The refresh-ahead cache the HTTP-based credential sources share (container endpoint,
// instance metadata, STS): internal to the aws module.
#pragma once

#include <sqs2pg/aws/credentials_provider.hpp>
#include <sqs2pg/ops/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <random>

namespace sqs2pg::aws::detail {

inline std::chrono::system_clock::duration random_jitter(std::chrono::seconds max) {
    if (max.count() <= 0)
        return std::chrono::system_clock::duration::zero();
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_int_distribution<std::int64_t> dist(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(max).count());
    return std::chrono::milliseconds(dist(rng));
}

// Fetches through async_fetch() when there are no credentials or they are due for refresh;
// one fetch at a time, other callers wait for its outcome. A failed refresh keeps serving
// credentials that still work (as the SDKs do), and tries again a little later.
class refreshing_provider : public credentials_provider {
public:
    refreshing_provider(boost::asio::any_io_executor ex, chain_options opts)
        : ex_(std::move(ex))
        , opts_(std::move(opts))
        , fetched_(ex_, boost::asio::steady_timer::time_point::max()) {
        if (!opts_.clock)
            opts_.clock = [] { return std::chrono::system_clock::now(); };
    }

    boost::asio::awaitable<boost::system::result<credentials>> async_get() final {
        co_await boost::asio::this_coro::throw_if_cancelled(false);
        for (;;) {
            if (cached_ && opts_.clock() < refresh_at_)
                co_return *cached_;
            if (fetching_) {
                const auto generation = generation_;
                (void)co_await fetched_.async_wait(
                    boost::asio::as_tuple(boost::asio::use_awaitable));
                const auto cancelled =
                    (co_await boost::asio::this_coro::cancellation_state).cancelled();
                if (cancelled != boost::asio::cancellation_type::none)
                    co_return make_error_code(errc::cancelled);
                if (generation_ != generation && last_outcome_ &&
                    *last_outcome_ != make_error_code(errc::cancelled))
                    co_return *last_outcome_;
                continue; // the fetch was cancelled by its own caller: try ourselves
            }
            fetching_ = true;
            auto fetched = co_await async_fetch();
            fetching_ = false;
            ++generation_;
            last_outcome_ = settle(std::move(fetched));
            fetched_.cancel(); // wake the waiters
            co_return *last_outcome_;
        }
    }

    std::string last_failure() const final { return last_failure_; }

    void expire() final { refresh_at_ = {}; }

protected:
    /// One fetch from the source, with a message for the operator on failure.
    virtual boost::asio::awaitable<result<credentials>> async_fetch() = 0;

    std::chrono::system_clock::time_point now() const { return opts_.clock(); }

    boost::asio::any_io_executor ex_;
    chain_options opts_;

private:
    boost::system::result<credentials> settle(result<credentials> fetched) {
        const auto t = now();
        if (fetched && fetched->expiration && *fetched->expiration <= t)
            fetched = error{make_error_code(errc::credentials_expired),
                            "the " + source() +
                                " returned credentials that have already "
                                "expired: check the system clock"};
        if (fetched) {
            cached_ = std::move(*fetched);
            refresh_at_ = cached_->expiration
                              ? refresh_time(t, *cached_->expiration, opts_.refresh_ahead,
                                             random_jitter(opts_.refresh_jitter))
                              : std::chrono::system_clock::time_point::max();
            last_failure_.clear();
            return *cached_;
        }
        if (fetched.error().code == make_error_code(errc::cancelled))
            return fetched.error().code;
        if (cached_ && (!cached_->expiration || t < *cached_->expiration)) {
            const auto left = cached_->expiration
                                  ? *cached_->expiration - t
                                  : std::chrono::system_clock::duration(opts_.retry_after_failure);
            refresh_at_ = t + std::min<std::chrono::system_clock::duration>(
                                  opts_.retry_after_failure, left / 2);
            ops::log(
                ops::level::warn, "aws.credentials_refresh_failed",
                {{"source", source()},
                 {"error", fetched.error().code.message()},
                 {"detail", fetched.error().message},
                 {"expires_in_s", std::chrono::duration_cast<std::chrono::seconds>(left).count()}});
            return *cached_;
        }
        cached_.reset();
        last_failure_ = fetched.error().message;
        return fetched.error().code;
    }

    std::optional<credentials> cached_;
    std::chrono::system_clock::time_point refresh_at_{};
    bool fetching_ = false;
    std::uint64_t generation_ = 0;
    std::optional<boost::system::result<credentials>> last_outcome_;
    boost::asio::steady_timer fetched_;
    std::string last_failure_;
};

} // namespace sqs2pg::aws::detail
