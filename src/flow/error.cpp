// The flow error category: the causes that stop a run, in words.
#include <sqs2pg/flow/error.hpp>

#include <string>

namespace sqs2pg::flow {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sqs2pg.flow"; }

    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::stop_requested:
            return "stop requested";
        case errc::drained:
            return "the queue is drained";
        case errc::second_stop:
            return "a second stop request";
        case errc::grace_expired:
            return "the shutdown grace period is over";
        case errc::sqs_unusable:
            return "SQS refused the queue";
        case errc::dead_letter_unusable:
            return "SQS refused the dead-letter queue";
        case errc::pg_refused:
            return "PostgreSQL refused a write";
        case errc::pg_gave_up:
            return "the PostgreSQL writer gave up";
        case errc::internal_error:
            return "internal error";
        }
        return "unknown flow error";
    }
};

} // namespace

const boost::system::error_category& flow_category() noexcept {
    static const category c;
    return c;
}

std::string_view cause_name(errc e) noexcept {
    switch (e) {
    case errc::stop_requested:
        return "stop_requested";
    case errc::drained:
        return "drained";
    case errc::second_stop:
        return "second_stop";
    case errc::grace_expired:
        return "grace_expired";
    case errc::sqs_unusable:
        return "sqs_unusable";
    case errc::dead_letter_unusable:
        return "dead_letter_unusable";
    case errc::pg_refused:
        return "pg_refused";
    case errc::pg_gave_up:
        return "pg_gave_up";
    case errc::internal_error:
        return "internal_error";
    }
    return "unknown";
}

} // namespace sqs2pg::flow
