// libFuzzer target: arbitrary bytes as an SQS message body through parse_login (default
// and nested field maps), checking the invariants a row relies on and that the fast path
// answers as the general one does; plus the app_version and SentTimestamp parsers and the
// mask normalizers on the same bytes.
#include <sqs2pg/mask/normalize.hpp>
#include <sqs2pg/record/app_version.hpp>
#include <sqs2pg/record/create_date.hpp>
#include <sqs2pg/record/login.hpp>

#include "login_detail.hpp" // parse_login_general: the fast path must agree with it

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace sqs2pg;

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

bool has_nul(std::string_view s) {
    return s.find('\0') != std::string_view::npos;
}

void check_login(const record::login& l) {
    check(!l.user_id.empty() && record::utf8_length(l.user_id) <= record::max_user_id_chars,
          "user_id length");
    check(!l.device_type.empty() &&
              record::utf8_length(l.device_type) <= record::max_device_type_chars,
          "device_type length");
    check(!l.locale || record::utf8_length(*l.locale) <= record::max_locale_chars, "locale length");
    check(!has_nul(l.user_id) && !has_nul(l.device_type) && !has_nul(l.ip) &&
              !has_nul(l.device_id) && !(l.locale && has_nul(*l.locale)),
          "no NUL in text");
    check(!mask::trim_ascii(l.ip).empty() && !mask::trim_ascii(l.device_id).empty(),
          "masked fields not blank");
    const auto v = record::decode_app_version(l.app_version);
    check(v.has_value(), "app_version decodes");
    check(record::encode_version(*v) == l.app_version, "app_version round trip");
    const std::string ip = mask::normalize_ip(l.ip);
    check(mask::normalize_ip(ip) == ip, "normalize_ip idempotent");
    const std::string dev = mask::normalize_device_id(l.device_id);
    check(mask::normalize_device_id(dev) == dev, "normalize_device_id idempotent");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    static const record::field_map nested =
        record::parse_field_map("device_id=device.id,ip=client.net.ip,locale=meta.locale");
    for (const record::field_map* map : {&record::field_map::defaults(), &nested}) {
        const auto r = record::parse_login(body, *map);
        const auto general = record::detail::parse_login_general(body, *map);
        check(r.has_value() == general.has_value() &&
                  (r ? *r == *general : r.error() == general.error()),
              "fast and general paths agree");
        if (r) {
            check_login(*r);
            continue;
        }
        const record::reject& rej = r.error();
        check(record::reject_code(rej.reason) != "unknown", "known reject code");
        const bool whole_body = rej.reason == record::reject_reason::not_json ||
                                rej.reason == record::reject_reason::not_object;
        bool field_is_a_key = false;
        for (std::size_t i = 0; i < record::field_count; ++i)
            field_is_a_key |= rej.field == map->key(static_cast<record::field>(i));
        check(whole_body ? rej.field.empty() : field_is_a_key, "reject names a configured key");
    }
    if (const auto e = record::encode_app_version(body)) {
        const auto v = record::decode_app_version(*e);
        check(v && record::encode_app_version(record::format_version(*v)) == e,
              "app_version text round trip");
    }
    if (const auto ms = record::parse_sent_timestamp(body))
        check(*ms >= 0 && *ms <= record::max_sent_timestamp_ms, "SentTimestamp range");
    return 0;
}
