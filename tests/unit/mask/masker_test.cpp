// The maskers: known answers computed independently (Python hmac/hashlib and
// cryptography's AESSIV over the documented HKDF labels), normalization, rotation,
// unmasking, the varchar(256) bound, and random-input properties.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/mask/normalize.hpp>

#include "test_keys.hpp"
#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>

namespace sqs2pg::mask {
namespace {

using testing::key_0_to_31;
using testing::other_key;
using testing::ring;
using testing::ring_k1;

std::string masked(const masker& m, field f, std::string_view v) {
    auto r = m.mask(f, v);
    if (!r)
        throw std::runtime_error("mask failed");
    return *r;
}

TEST(Modes, NamesRoundTrip) {
    for (mode m :
         {mode::hmac_sha256, mode::aes_siv, mode::sha256, mode::ipcrypt, mode::ipcrypt_pfx})
        EXPECT_EQ(parse_mode(mode_name(m)), m);
    EXPECT_EQ(mode_name(mode::ipcrypt), "ipcrypt");
    EXPECT_EQ(mode_name(mode::ipcrypt_pfx), "ipcrypt-pfx");
    EXPECT_FALSE(parse_mode("md5"));
    EXPECT_FALSE(parse_mode("HMAC"));
    EXPECT_FALSE(parse_mode("pfx"));
    EXPECT_EQ(hkdf_label(mode::hmac_sha256, field::ip), "sqs2pg/v1 mask hmac-sha256 ip");
    EXPECT_EQ(hkdf_label(mode::aes_siv, field::device_id), "sqs2pg/v1 mask aes-siv device_id");
    EXPECT_EQ(hkdf_label(mode::ipcrypt, field::ip), "sqs2pg/v1 mask ipcrypt ip");
    EXPECT_EQ(hkdf_label(mode::ipcrypt_pfx, field::ip), "sqs2pg/v1 mask ipcrypt-pfx ip");
}

TEST(HmacMode, KnownAnswersFromTheDocumentedDerivation) {
    // Python: hmac(HKDF-SHA256(key, salt=None, info=label, 32), value).hexdigest()
    const masker m(mode::hmac_sha256, ring_k1());
    EXPECT_EQ(masked(m, field::ip, "199.172.111.135"),
              "3fa5fafd523078897704b932bf2a2d769a4a7c7c45fa360533fc0f2ce4f1a573");
    EXPECT_EQ(masked(m, field::device_id, "593-47-5928"),
              "bab9b9be57b9261d5e6eed827dce9abd46145c1b4c63e30ddb1753e2dd0d32cf");
    EXPECT_EQ(m.key_id(), "k1");
}

TEST(HmacMode, FieldsAndKeysGiveDifferentOutputs) {
    const masker a(mode::hmac_sha256, ring_k1());
    const masker b(mode::hmac_sha256, ring("k2 " + std::string(other_key)));
    EXPECT_NE(masked(a, field::ip, "1.2.3.4"), masked(a, field::device_id, "1.2.3.4"));
    EXPECT_NE(masked(a, field::ip, "1.2.3.4"), masked(b, field::ip, "1.2.3.4"));
    // Not the unkeyed hash either.
    EXPECT_NE(masked(a, field::ip, "1.2.3.4"), base::sha256_hex("1.2.3.4"));
}

TEST(AesSivMode, KnownAnswersFromTheDocumentedDerivation) {
    // Python: "k1:" + urlsafe_b64(AESSIV(HKDF(key, info=label, 64)).encrypt(value, None))
    const masker m(mode::aes_siv, ring_k1());
    EXPECT_EQ(masked(m, field::ip, "199.172.111.135"),
              "k1:kSepRnFT6XRCDsZ3kWCtog5RkDB3UkxaaCLJ64T0jQ");
    EXPECT_EQ(masked(m, field::device_id, "593-47-5928"),
              "k1:cSOytOqU1PE56n6a-CrK9tfluu3nMYe1Pm5Q");
}

TEST(Sha256Mode, IsThePlainHashOfTheValueAsSent) {
    const masker m(mode::sha256);
    EXPECT_EQ(masked(m, field::ip, "199.172.111.135"),
              "a6d0e2f27f6111e10b06790db42f34123e724aa0fd24b280f4a0ef5ee986784c");
    // No normalization: compatibility with the original script's outputs wins.
    EXPECT_EQ(masked(m, field::ip, " 199.172.111.135"), base::sha256_hex(" 199.172.111.135"));
    EXPECT_EQ(masked(m, field::device_id, "ABC"), base::sha256_hex("ABC"));
    EXPECT_TRUE(m.key_id().empty());
    EXPECT_THROW(masker(mode::hmac_sha256), std::invalid_argument);
}

TEST(Normalize, IpAddresses) {
    const std::pair<const char*, const char*> cases[] = {
        {"199.172.111.135", "199.172.111.135"},
        {" 10.0.0.1\t\n", "10.0.0.1"},
        {"::ffff:10.0.0.1", "10.0.0.1"},
        {"::FFFF:0a00:0001", "10.0.0.1"},
        {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
        {"2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1"},
        {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
        {"0:0:0:0:0:0:0:1", "::1"},
        {"010.0.0.1", "010.0.0.1"},       // not dotted-decimal to inet_pton: kept as text
        {"10.0.0.256", "10.0.0.256"},     // not an address
        {"fe80::1%eth0", "fe80::1%eth0"}, // zone ids are not normalized
        {" Router.Example ", "Router.Example"},
        {"", ""},
    };
    for (const auto& [in, out] : cases)
        EXPECT_EQ(normalize_ip(in), out) << in;
}

TEST(Normalize, EveryIpv4OctetIsWrittenAsInetNtopWritesIt) {
    // normalize_ip formats IPv4 itself (inet_ntop goes through printf): every octet value
    // in every position, and both the plain and the v4-mapped spelling, must match it.
    for (unsigned v = 0; v < 256; ++v) {
        for (int pos = 0; pos < 4; ++pos) {
            unsigned char b[4] = {10, 200, 3, 99};
            b[pos] = static_cast<unsigned char>(v);
            in_addr a{};
            std::memcpy(&a.s_addr, b, 4);
            char want[INET_ADDRSTRLEN];
            ASSERT_NE(inet_ntop(AF_INET, &a, want, sizeof want), nullptr);
            EXPECT_EQ(normalize_ip(want), want);
            EXPECT_EQ(normalize_ip(std::string("::ffff:") + want), want);
        }
    }
}

TEST(Normalize, DeviceIds) {
    EXPECT_EQ(normalize_device_id("593-47-5928"), "593-47-5928");
    EXPECT_EQ(normalize_device_id(" 6F9619FF-8B86-D011-B42D-00C04FC964FF "),
              "6f9619ff-8b86-d011-b42d-00c04fc964ff");
    EXPECT_EQ(normalize_device_id("AA:BB:CC:00:11:22"), "aa:bb:cc:00:11:22");
    EXPECT_EQ(normalize_device_id("dGVzdA-Token_XYZ"), "dGVzdA-Token_XYZ"); // case may matter
    EXPECT_EQ(normalize_device_id("Ab-Cz"), "Ab-Cz");
}

TEST(Normalize, SpellingsOfOneValueMaskAlike) {
    for (mode md : {mode::hmac_sha256, mode::aes_siv}) {
        const masker m(md, ring_k1());
        EXPECT_EQ(masked(m, field::ip, "10.0.0.1"), masked(m, field::ip, " ::FFFF:10.0.0.1 "));
        EXPECT_EQ(masked(m, field::ip, "2001:db8::1"),
                  masked(m, field::ip, "2001:0DB8:0000:0000:0000:0000:0000:0001"));
        EXPECT_EQ(masked(m, field::device_id, "6f9619ff-8b86-d011-b42d-00c04fc964ff"),
                  masked(m, field::device_id, "6F9619FF-8B86-D011-B42D-00C04FC964FF\n"));
        EXPECT_EQ(m.mask(field::ip, "  ").error(), record::reject_reason::empty_field);
    }
}

TEST(AesSivMode, OutputFitsVarchar256OrIsTooLong) {
    for (std::string_view kid : {"k", "k1", "a_sixteen_char_k"}) {
        const masker m(mode::aes_siv, ring(std::string(kid) + " " + std::string(key_0_to_31)));
        const std::size_t max = m.max_plaintext();
        const auto at_limit = m.mask(field::device_id, std::string(max, 'x'));
        ASSERT_TRUE(at_limit) << kid;
        EXPECT_LE(at_limit->size(), max_masked_length);
        EXPECT_GT(at_limit->size(), max_masked_length - 4) << "the bound is tight";
        EXPECT_EQ(m.mask(field::device_id, std::string(max + 1, 'x')).error(),
                  record::reject_reason::too_long);
    }
    EXPECT_EQ(masker(mode::aes_siv, ring_k1()).max_plaintext(), 173u);
}

TEST(Unmask, RecoversValuesAndExplainsWhatItCannot) {
    const keyring keys = ring_k1();
    const masker m(mode::aes_siv, keys);
    const unmasker u(keys);
    const auto ip = u.unmask(masked(m, field::ip, " ::ffff:192.0.2.7"));
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->value, "192.0.2.7"); // the normalized original
    EXPECT_EQ(ip->source, field::ip);
    EXPECT_EQ(ip->key_id, "k1");
    const auto dev = u.unmask(masked(m, field::device_id, "593-47-5928"));
    ASSERT_TRUE(dev);
    EXPECT_EQ(dev->value, "593-47-5928");
    EXPECT_EQ(dev->source, field::device_id);

    const masker h(mode::hmac_sha256, keys);
    EXPECT_EQ(u.unmask(masked(h, field::ip, "1.2.3.4")).error(), errc::not_reversible);
    EXPECT_EQ(u.unmask(base::sha256_hex("1.2.3.4")).error(), errc::not_reversible);
    EXPECT_EQ(u.unmask("plain text").error(), errc::malformed);
    EXPECT_EQ(u.unmask("k1:***").error(), errc::malformed);
    EXPECT_EQ(u.unmask("k1:AAAA").error(), errc::malformed);
    EXPECT_EQ(u.unmask("k9:kSepRnFT6XRCDsZ3kWCtog5RkDB3UkxaaCLJ64T0jQ").error(),
              errc::key_unknown_id);
    std::string tampered = masked(m, field::ip, "10.1.2.3");
    tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
    EXPECT_EQ(u.unmask(tampered).error(), errc::authentication_failed);
}

TEST(Rotation, OldValuesStillUnmaskAndNewValuesNameTheNewKey) {
    const std::string k1 = "k1 " + std::string(key_0_to_31);
    const std::string k2 = "k2 " + std::string(other_key);
    const keyring before = ring(k1);
    const keyring after = ring(k1 + "\n" + k2 + " active\n");
    const masker old_masker(mode::aes_siv, before);
    const masker new_masker(mode::aes_siv, after);
    const std::string old_value = masked(old_masker, field::device_id, "device-123");
    const std::string new_value = masked(new_masker, field::device_id, "device-123");
    EXPECT_EQ(old_value.substr(0, 3), "k1:");
    EXPECT_EQ(new_value.substr(0, 3), "k2:");
    EXPECT_EQ(new_masker.key_id(), "k2");
    const unmasker u(after);
    EXPECT_EQ(u.unmask(old_value)->value, "device-123");
    EXPECT_EQ(u.unmask(new_value)->value, "device-123");
    // Once the old key is dropped, its values say which key they need.
    const unmasker only_new(ring(k2));
    EXPECT_EQ(only_new.unmask(old_value).error(), errc::key_unknown_id);
    // hmac values change with the active key (documented: dedup restarts at rotation).
    EXPECT_NE(masked(masker(mode::hmac_sha256, before), field::ip, "1.2.3.4"),
              masked(masker(mode::hmac_sha256, after), field::ip, "1.2.3.4"));
}

std::string random_value(std::mt19937& rng) {
    static constexpr std::string_view alphabet = "0123456789abcdefABCDEF:.-_ xyzXYZ\xc3\xa9";
    std::uniform_int_distribution<std::size_t> len(1, 40), pick(0, alphabet.size() - 1);
    std::string s;
    for (std::size_t n = len(rng); n > 0; --n)
        s += alphabet[pick(rng)];
    return s;
}

TEST(Properties, EqualInEqualOutDifferentInDifferentOutAndRoundTrip) {
    std::mt19937 rng(5297);
    const keyring keys = ring_k1();
    const masker hmac(mode::hmac_sha256, keys);
    const masker siv(mode::aes_siv, keys);
    const masker sha(mode::sha256);
    const unmasker u(keys);
    std::map<std::string, std::string> seen_hmac, seen_siv; // normalized in -> out
    std::set<std::string> outs_hmac, outs_siv;
    for (int i = 0; i < 3000; ++i) {
        const field f = i % 2 ? field::ip : field::device_id;
        const std::string v = random_value(rng);
        const std::string norm = f == field::ip ? normalize_ip(v) : normalize_device_id(v);
        if (norm.empty())
            continue;
        const std::string key = std::string(field_name(f)) + '/' + norm;
        const std::string h = masked(hmac, f, v);
        const std::string s = masked(siv, f, v);
        EXPECT_EQ(masked(hmac, f, v), h);
        EXPECT_EQ(masked(sha, f, v), masked(sha, f, std::string(v)));
        ASSERT_EQ(h.size(), 64u);
        EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
        if (auto [it, fresh] = seen_hmac.emplace(key, h); !fresh)
            EXPECT_EQ(it->second, h) << "equal normalized input, equal output";
        else
            EXPECT_TRUE(outs_hmac.insert(h).second) << "different input, different output";
        if (auto [it, fresh] = seen_siv.emplace(key, s); !fresh)
            EXPECT_EQ(it->second, s);
        else
            EXPECT_TRUE(outs_siv.insert(s).second);
        const auto back = u.unmask(s);
        ASSERT_TRUE(back);
        EXPECT_EQ(back->value, norm);
        EXPECT_EQ(back->source, f);
    }
    EXPECT_GT(outs_hmac.size(), 2500u);
}

} // namespace
} // namespace sqs2pg::mask
