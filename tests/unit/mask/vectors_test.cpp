// Published vectors: RFC 4231 (HMAC-SHA-256, all cases, through both base HMAC paths the
// masker relies on), RFC 5869 (HKDF-SHA256), RFC 5297 (AES-SIV, A.1 and A.2).
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/mask/primitives.hpp>

#include "test_env.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace sqs2pg::mask {
namespace {

namespace json = boost::json;

json::array cases(const char* file) {
    return json::parse(test::read_file(test::data_path(std::string("vectors/") + file)))
        .at("cases")
        .as_array();
}

std::string bytes_of(const json::value& hex) {
    auto b = base::from_hex(std::string_view(hex.as_string()));
    if (!b)
        throw std::runtime_error("bad hex in vector file");
    return *b;
}

TEST(Rfc4231, AllHmacSha256Cases) {
    const auto all = cases("rfc4231_hmac_sha256.json");
    ASSERT_EQ(all.size(), 7u);
    for (const auto& c : all) {
        const std::string key = bytes_of(c.at("key"));
        const std::string data = bytes_of(c.at("data"));
        const std::string expected(c.at("hmac_sha256").as_string());
        std::string one_shot = base::to_hex(base::as_bytes(base::hmac_sha256(key, data)));
        std::string prepared =
            base::to_hex(base::as_bytes(base::hmac_sha256_key(key).compute(data)));
        if (const auto* bits = c.as_object().if_contains("truncate_bits")) {
            // Case 5: the RFC gives only the leftmost 128 bits.
            const auto hex_digits = static_cast<std::size_t>(bits->as_int64() / 4);
            one_shot.resize(hex_digits);
            prepared.resize(hex_digits);
        }
        EXPECT_EQ(one_shot, expected) << "case " << c.at("case");
        EXPECT_EQ(prepared, expected) << "case " << c.at("case");
    }
}

TEST(Rfc5869, HkdfSha256Cases) {
    const auto all = cases("rfc5869_hkdf_sha256.json");
    ASSERT_EQ(all.size(), 3u);
    for (const auto& c : all) {
        const std::string okm =
            hkdf_sha256(bytes_of(c.at("ikm")), bytes_of(c.at("salt")), bytes_of(c.at("info")),
                        static_cast<std::size_t>(c.at("length").as_int64()));
        EXPECT_EQ(base::to_hex(okm), c.at("okm").as_string()) << "case " << c.at("case");
    }
}

TEST(Rfc5297, AesCmac128SivVectorsThroughOpenSslAes128Siv) {
    const auto all = cases("rfc5297_aes_siv.json");
    ASSERT_EQ(all.size(), 2u);
    for (const auto& c : all) {
        const aes_siv siv(bytes_of(c.at("key"))); // 256-bit key: AES-128-SIV
        std::vector<std::string> ad;
        for (const auto& a : c.at("ad").as_array())
            ad.push_back(bytes_of(a));
        const std::string plaintext = bytes_of(c.at("plaintext"));
        const std::string expected = bytes_of(c.at("output"));
        std::string out;
        std::optional<std::string> back;
        if (ad.size() == 1) {
            out = siv.encrypt(plaintext, {ad[0]});
            back = siv.decrypt(out, {ad[0]});
        } else {
            ASSERT_EQ(ad.size(), 3u);
            out = siv.encrypt(plaintext, {ad[0], ad[1], ad[2]});
            back = siv.decrypt(out, {ad[0], ad[1], ad[2]});
            EXPECT_FALSE(siv.decrypt(out, {ad[0], ad[2], ad[1]})) << "AD order matters";
        }
        EXPECT_EQ(base::to_hex(out), base::to_hex(expected)) << c.at("name");
        EXPECT_EQ(back, plaintext) << c.at("name");
        // The keyed context is reused: a second call must give the same answer.
        if (ad.size() == 1) {
            EXPECT_EQ(siv.encrypt(plaintext, {ad[0]}), expected);
        }
    }
}

TEST(AesSiv, Aes256SivRoundTripsAndDetectsTampering) {
    const aes_siv siv(hkdf_sha256("master", {}, "test", 64));
    for (std::string_view pt : {"a", "199.172.111.135", "2001:db8::1", "593-47-5928",
                                "a longer value that spans more than one AES block, 48+ bytes"}) {
        const std::string sealed = siv.encrypt(pt);
        EXPECT_EQ(sealed.size(), pt.size() + aes_siv::tag_size);
        EXPECT_EQ(siv.encrypt(pt), sealed) << "deterministic";
        EXPECT_EQ(siv.decrypt(sealed), pt);
        for (std::size_t i = 0; i < sealed.size(); ++i) {
            std::string bad = sealed;
            bad[i] = static_cast<char>(bad[i] ^ 0x01);
            EXPECT_FALSE(siv.decrypt(bad)) << "flip at " << i;
        }
        EXPECT_FALSE(siv.decrypt(sealed.substr(0, sealed.size() - 1)));
    }
    EXPECT_FALSE(siv.decrypt(std::string(16, 'x')));
    EXPECT_THROW(siv.encrypt(""), std::invalid_argument);
    EXPECT_THROW(aes_siv(std::string(31, 'k')), std::invalid_argument);
    const aes_siv other(hkdf_sha256("master", {}, "other", 64));
    EXPECT_FALSE(other.decrypt(siv.encrypt("x")));
}

} // namespace
} // namespace sqs2pg::mask
