// The aws error category and its classification.
#include <sqs2pg/aws/error.hpp>

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace sqs2pg::aws {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sqs2pg.aws"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::no_credentials:
            return "no AWS credentials found";
        case errc::invalid_configuration:
            return "AWS configuration is invalid";
        case errc::provider_unavailable:
            return "credentials endpoint unavailable";
        case errc::provider_rejected:
            return "credentials endpoint refused the request";
        case errc::invalid_document:
            return "credentials endpoint answered with an unusable document";
        case errc::credentials_expired:
            return "credentials have expired";
        case errc::no_region:
            return "no AWS region configured";
        case errc::invalid_endpoint:
            return "invalid endpoint URL";
        case errc::cancelled:
            return "cancelled";
        case errc::service_rejected:
            return "AWS service refused the request";
        case errc::service_unavailable:
            return "AWS service unavailable";
        case errc::invalid_response:
            return "AWS service answered with an unusable response";
        }
        return "unknown aws error";
    }
};

} // namespace

const boost::system::error_category& aws_category() noexcept {
    static const category c;
    return c;
}

bool is_retryable(boost::system::error_code ec) noexcept {
    return ec == make_error_code(errc::provider_unavailable) ||
           ec == make_error_code(errc::service_unavailable);
}

bool is_fatal(boost::system::error_code ec) noexcept {
    if (ec.category() != aws_category())
        return false;
    switch (static_cast<errc>(ec.value())) {
    case errc::no_credentials:
    case errc::invalid_configuration:
    case errc::provider_rejected:
    case errc::no_region:
    case errc::invalid_endpoint:
    case errc::service_rejected:
        return true;
    default:
        return false;
    }
}

void throw_exception_from_error(const error& e, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(e.code, e.message), loc);
}

} // namespace sqs2pg::aws
