// login -> login_row through each mode, the masked-length reject, and the 100 sample
// messages end to end (99 rows, 1 reject) through every mode, ipcrypt ones for ip.
#include <sqs2pg/mask/row.hpp>
#include <sqs2pg/record/create_date.hpp>

#include "test_env.hpp"
#include "test_keys.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <set>

namespace sqs2pg::mask {
namespace {

using namespace std::chrono;
using testing::ring_k1;

record::login sample_login() {
    record::login l;
    l.user_id = "424cdd21-063a-43a7-b91b-7ca1a833afae";
    l.device_type = "android";
    l.ip = "199.172.111.135";
    l.device_id = "593-47-5928";
    l.locale = "RU";
    l.app_version = 2'003'000;
    return l;
}

TEST(ToRow, MasksThePersonalFieldsAndKeepsTheRest) {
    const masker m(mode::hmac_sha256, ring_k1());
    const auto day = sys_days(2024y / May / 1);
    auto row = to_row(sample_login(), day, m);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->user_id, "424cdd21-063a-43a7-b91b-7ca1a833afae");
    EXPECT_EQ(row->device_type, "android");
    EXPECT_EQ(row->masked_ip, "3fa5fafd523078897704b932bf2a2d769a4a7c7c45fa360533fc0f2ce4f1a573");
    EXPECT_EQ(row->masked_device_id,
              "bab9b9be57b9261d5e6eed827dce9abd46145c1b4c63e30ddb1753e2dd0d32cf");
    EXPECT_EQ(row->locale, "RU");
    EXPECT_EQ(row->app_version, 2'003'000);
    EXPECT_EQ(row->create_date, day);
}

TEST(ToRow, TooLongMaskedValueIsARejectNamingTheConfiguredKey) {
    const masker m(mode::aes_siv, ring_k1());
    record::login l = sample_login();
    l.device_id = std::string(m.max_plaintext() + 1, 'd');
    const auto map = record::parse_field_map("device_id=device.id");
    auto row = to_row(std::move(l), sys_days(2024y / May / 1), m, map);
    ASSERT_FALSE(row);
    EXPECT_EQ(row.error(), (record::reject{record::reject_reason::too_long, "device.id"}));
    l = sample_login();
    l.ip = " \t";
    EXPECT_EQ(to_row(std::move(l), sys_days(2024y / May / 1), m).error(),
              (record::reject{record::reject_reason::empty_field, "ip"}));
}

TEST(ToRow, AnIpThatIsNotAnAddressUnderAnIpcryptModeIsARejectNamingTheKey) {
    const masker m(field_modes{mode::ipcrypt_pfx, mode::aes_siv}, ring_k1());
    record::login l = sample_login();
    l.ip = "router.example";
    const auto map = record::parse_field_map("ip=client.addr");
    EXPECT_EQ(to_row(std::move(l), sys_days(2024y / May / 1), m, map).error(),
              (record::reject{record::reject_reason::invalid_ip, "client.addr"}));
    EXPECT_EQ(record::reject_code(record::reject_reason::invalid_ip), "invalid_ip");
}

TEST(SampleMessages, NinetyNineRowsAndOneReject) {
    const auto sample =
        boost::json::parse(test::read_file(test::data_path("sample_data.json"))).as_array();
    ASSERT_EQ(sample.size(), 100u);
    const keyring keys = ring_k1();
    const masker hmac(mode::hmac_sha256, keys);
    const masker siv(mode::aes_siv, keys);
    const masker sha(mode::sha256);
    const masker pfx(field_modes{mode::ipcrypt_pfx, mode::aes_siv}, keys);
    const masker det(field_modes{mode::ipcrypt, mode::hmac_sha256}, keys);
    const unmasker u(keys);
    // SentTimestamp of 2024-05-01T23:59:59.999Z: still May 1st in UTC.
    const auto date = record::create_date("1714607999999", system_clock::now());
    ASSERT_EQ(date.source, record::date_source::sent_timestamp);

    std::size_t rows = 0;
    std::vector<record::reject> rejects;
    std::set<std::string> masked_ips;
    for (const auto& message : sample) {
        // Each element is one message body, as scripts/services sends it.
        const std::string body = boost::json::serialize(message);
        auto login = record::parse_login(body);
        if (!login) {
            rejects.push_back(login.error());
            continue;
        }
        const auto& obj = message.as_object();
        for (const masker* m : {&hmac, &siv, &sha, &pfx, &det}) {
            auto row = to_row(record::login(*login), date.date, *m);
            ASSERT_TRUE(row) << body;
            EXPECT_EQ(row->create_date, sys_days(2024y / May / 1));
            EXPECT_EQ(row->user_id, obj.at("user_id").as_string());
            EXPECT_LE(row->masked_ip.size(), record::max_masked_chars);
            EXPECT_LE(row->masked_device_id.size(), record::max_masked_chars);
            if (m == &siv || m == &pfx) {
                EXPECT_EQ(u.unmask(row->masked_ip)->value, obj.at("ip").as_string());
                EXPECT_EQ(u.unmask(row->masked_device_id)->value, obj.at("device_id").as_string());
            }
            if (m == &pfx) { // the sample's ips are IPv4: so are their pfx values
                EXPECT_NE(row->masked_ip.find('.'), std::string::npos) << row->masked_ip;
            }
            if (m == &det) {
                EXPECT_EQ(u.unmask(row->masked_ip)->value, obj.at("ip").as_string());
            }
            if (m == &hmac)
                masked_ips.insert(row->masked_ip);
        }
        ++rows;
    }
    EXPECT_EQ(rows, 99u);
    ASSERT_EQ(rejects.size(), 1u);
    EXPECT_EQ(rejects[0], (record::reject{record::reject_reason::missing_field, "user_id"}));
    EXPECT_EQ(masked_ips.size(), 99u); // the sample's 99 IPs are distinct
}

} // namespace
} // namespace sqs2pg::mask
