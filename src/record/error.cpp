// Reject codes and the "sqs2pg.record" error category.
#include <sqs2pg/record/error.hpp>

#include <array>
#include <string>

namespace sqs2pg::record {
namespace {

struct reason_info {
    reject_reason reason;
    std::string_view code;
    const char* message;
};

constexpr std::array<reason_info, 11> reasons{{
    {reject_reason::not_json, "not_json", "body is not JSON"},
    {reject_reason::not_object, "not_object", "body is not a JSON object"},
    {reject_reason::missing_field, "missing_field", "a required field is missing"},
    {reject_reason::null_field, "null_field", "a required field is null"},
    {reject_reason::wrong_type, "wrong_type", "a field has the wrong JSON type"},
    {reject_reason::too_long, "too_long", "a value is longer than its column"},
    {reject_reason::invalid_app_version, "invalid_app_version",
     "app_version is not a MAJOR[.MINOR[.PATCH]] version within the limits"},
    {reject_reason::invalid_text, "invalid_text", "a text value contains a NUL character"},
    {reject_reason::empty_field, "empty_field", "a required field is empty"},
    {reject_reason::ambiguous_field, "ambiguous_field",
     "two keys of the body flatten to the same field key"},
    {reject_reason::invalid_ip, "invalid_ip",
     "ip is not an IPv4 or IPv6 address, which its masking mode (ipcrypt) needs"},
}};

const reason_info* find(reject_reason r) noexcept {
    for (const auto& info : reasons)
        if (info.reason == r)
            return &info;
    return nullptr;
}

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sqs2pg.record"; }
    std::string message(int ev) const override {
        const auto* info = find(static_cast<reject_reason>(ev));
        return info ? info->message : "unknown record error";
    }
};

} // namespace

std::string_view reject_code(reject_reason r) noexcept {
    const auto* info = find(r);
    return info ? info->code : std::string_view("unknown");
}

std::optional<reject_reason> parse_reject_code(std::string_view code) noexcept {
    for (const auto& info : reasons)
        if (info.code == code)
            return info.reason;
    return std::nullopt;
}

const boost::system::error_category& reject_category() noexcept {
    static const category instance;
    return instance;
}

} // namespace sqs2pg::record
