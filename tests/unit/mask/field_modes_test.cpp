// A mode per field, the ipcrypt modes in the masker (known answers computed independently
// in Python from the draft's pseudocode and the documented HKDF labels), the formats the
// unmasker reads, field and mode key separation, and the rekeyer.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/mask/normalize.hpp>

#include "test_keys.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace sqs2pg::mask {
namespace {

using record::reject_reason;
using testing::key_0_to_31;
using testing::other_key;
using testing::ring;
using testing::ring_k1;

constexpr mode all_modes[] = {mode::hmac_sha256, mode::aes_siv, mode::sha256, mode::ipcrypt,
                              mode::ipcrypt_pfx};

std::string masked(const masker& m, field f, std::string_view v) {
    auto r = m.mask(f, v);
    if (!r)
        throw std::runtime_error("mask failed: " + std::string(record::reject_code(r.error())));
    return *r;
}

masker ip_mode(mode m, const keyring& keys, mode device = mode::hmac_sha256) {
    return masker(field_modes{m, device}, keys);
}

TEST(FieldModes, EachFieldUsesItsOwnMode) {
    const masker m(field_modes{mode::ipcrypt_pfx, mode::aes_siv}, ring_k1());
    EXPECT_EQ(m.mode_of(field::ip), mode::ipcrypt_pfx);
    EXPECT_EQ(m.mode_of(field::device_id), mode::aes_siv);
    EXPECT_EQ(m.key_id(), "k1");
    // ip as the ipcrypt-pfx known answer below, device_id as masker_test's aes-siv one.
    EXPECT_EQ(masked(m, field::ip, "199.172.111.135"), "k1:69.5.193.21");
    EXPECT_EQ(masked(m, field::device_id, "593-47-5928"),
              "k1:cSOytOqU1PE56n6a-CrK9tfluu3nMYe1Pm5Q");
    // hmac for device_id beside an unkeyed ip: the key id is still the key's.
    const masker mixed(field_modes{mode::sha256, mode::hmac_sha256}, ring_k1());
    EXPECT_EQ(masked(mixed, field::ip, "199.172.111.135"),
              "a6d0e2f27f6111e10b06790db42f34123e724aa0fd24b280f4a0ef5ee986784c");
    EXPECT_EQ(masked(mixed, field::device_id, "593-47-5928"),
              "bab9b9be57b9261d5e6eed827dce9abd46145c1b4c63e30ddb1753e2dd0d32cf");
    EXPECT_EQ(mixed.key_id(), "k1");
}

TEST(FieldModes, IpcryptModesApplyToIpOnly) {
    for (mode m : {mode::ipcrypt, mode::ipcrypt_pfx}) {
        EXPECT_TRUE(mode_applies(m, field::ip));
        EXPECT_FALSE(mode_applies(m, field::device_id));
        EXPECT_THROW(masker(field_modes{mode::hmac_sha256, m}, ring_k1()), std::invalid_argument);
        EXPECT_THROW(masker(m, ring_k1()), std::invalid_argument) << "both fields";
        const keyring keys = ring_k1();
        auto r = make_masker(field_modes{mode::aes_siv, m}, &keys);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, errc::mode_not_for_field);
        EXPECT_NE(r.error().message.find("applies to ip only"), std::string::npos);
    }
    for (mode m : {mode::hmac_sha256, mode::aes_siv, mode::sha256})
        EXPECT_TRUE(mode_applies(m, field::device_id));
}

TEST(FieldModes, MakeMaskerNeedsAKeyWhenAnyFieldIsKeyed) {
    EXPECT_EQ(make_masker(field_modes{mode::sha256, mode::aes_siv}, nullptr).error().code,
              errc::no_key);
    EXPECT_EQ(make_masker(field_modes{mode::ipcrypt_pfx, mode::sha256}, nullptr).error().code,
              errc::no_key);
    auto unkeyed = make_masker(field_modes{mode::sha256, mode::sha256}, nullptr);
    ASSERT_TRUE(unkeyed);
    EXPECT_TRUE(unkeyed->key_id().empty());
}

TEST(IpcryptModes, KnownAnswersFromTheDocumentedDerivation) {
    // Python (cryptography): k = HKDF-SHA256(master, salt=None, info=label, 32 or 16), then
    // the draft's pseudocode (section 9.5 / 9.6) on AES-ECB, written independently.
    const keyring keys = ring_k1();
    const masker pfx = ip_mode(mode::ipcrypt_pfx, keys);
    const masker det = ip_mode(mode::ipcrypt, keys);
    EXPECT_EQ(masked(pfx, field::ip, "199.172.111.135"), "k1:69.5.193.21");
    EXPECT_EQ(masked(pfx, field::ip, "199.172.111.7"), "k1:69.5.193.172"); // same /24
    EXPECT_EQ(masked(pfx, field::ip, "2001:db8::1"), "k1:f1d4:84c5:bdd4:64d3:d3fc:67c1:7769:c747");
    EXPECT_EQ(masked(pfx, field::ip, "2001:db8::ff00:42:8329"),
              "k1:f1d4:84c5:bdd4:64d3:d3fc:a540:6e4a:9d35");
    EXPECT_EQ(masked(det, field::ip, "199.172.111.135"),
              "k1~230c:7f77:e423:7ee1:c4ed:3654:161d:6f36");
    EXPECT_EQ(masked(det, field::ip, "199.172.111.7"),
              "k1~6d73:e185:92d0:5967:c9a6:d328:7471:8391"); // no shared prefix
    EXPECT_EQ(masked(det, field::ip, "2001:db8::1"), "k1~168b:4224:888f:6f82:ce71:2cfa:6e9c:40a");
}

TEST(IpcryptModes, SpellingsOfOneAddressMaskAlike) {
    for (mode m : {mode::ipcrypt, mode::ipcrypt_pfx}) {
        const masker k = ip_mode(m, ring_k1());
        const std::string v4 = masked(k, field::ip, "199.172.111.135");
        EXPECT_EQ(masked(k, field::ip, " 199.172.111.135\n"), v4);
        EXPECT_EQ(masked(k, field::ip, "::ffff:199.172.111.135"), v4);
        EXPECT_EQ(masked(k, field::ip, "::FFFF:C7AC:6F87"), v4);
        EXPECT_EQ(masked(k, field::ip, "2001:0DB8:0000::0001"),
                  masked(k, field::ip, "2001:db8::1"));
    }
}

TEST(IpcryptModes, AValueThatIsNotAnAddressIsRejectedAsInvalidIp) {
    for (mode m : {mode::ipcrypt, mode::ipcrypt_pfx}) {
        const masker k = ip_mode(m, ring_k1());
        for (const char* bad :
             {"router.example", "010.0.0.1", "10.0.0.256", "fe80::1%eth0", "1.2.3.4/24", "unknown"})
            EXPECT_EQ(k.mask(field::ip, bad).error(), reject_reason::invalid_ip) << bad;
        EXPECT_EQ(k.mask(field::ip, " \t").error(), reject_reason::empty_field);
        // The other field keeps its own mode and rules.
        EXPECT_TRUE(k.mask(field::device_id, "router.example"));
    }
}

TEST(IpcryptModes, OutputsAreAddressShapedAndFitTheColumn) {
    // The longest key id and the longest IPv6 text: 16 + 1 + 39 characters.
    const keyring keys = ring("a_sixteen_char_k " + std::string(key_0_to_31));
    for (mode m : {mode::ipcrypt, mode::ipcrypt_pfx}) {
        const masker k = ip_mode(m, keys);
        std::mt19937_64 rng(7);
        for (int i = 0; i < 500; ++i) {
            ip16 a{};
            for (auto& b : a)
                b = static_cast<unsigned char>(rng() | 0x11); // no zero groups to compress
            const std::string out = masked(k, field::ip, format_ip16(a));
            EXPECT_LE(out.size(), max_masked_length);
            const auto format = read_masked_format(out);
            ASSERT_TRUE(format) << out;
            EXPECT_EQ(format->masked_with, m);
            EXPECT_EQ(format->key_id, "a_sixteen_char_k");
            EXPECT_TRUE(parse_ip16(format->payload)) << out;
        }
    }
}

TEST(KeySeparation, TheSameStringNeverMasksEquallyInBothColumnsInAnyMode) {
    // Every mode ip can take against every mode device_id can take: an address-like
    // string and a device-like one, as both fields.
    const keyring keys = ring_k1();
    for (mode ipm : all_modes) {
        for (mode devm : all_modes) {
            if (!mode_applies(devm, field::device_id))
                continue;
            const masker m(field_modes{ipm, devm}, keys);
            for (const char* v : {"10.0.0.1", "2001:db8::1", "aa:bb:cc:dd:ee:ff"}) {
                const auto ip = m.mask(field::ip, v);
                const auto dev = m.mask(field::device_id, v);
                if (ipm == mode::sha256 && devm == mode::sha256)
                    continue; // unkeyed: equal by definition (the original script's output)
                if (ip && dev) {
                    EXPECT_NE(*ip, *dev) << mode_name(ipm) << "/" << mode_name(devm) << " " << v;
                }
            }
        }
    }
}

TEST(KeySeparation, EveryModeAndFieldHasItsOwnLabel) {
    std::set<std::string> labels;
    std::size_t pairs = 0;
    for (mode m : all_modes) {
        if (!is_keyed(m))
            continue;
        for (field f : {field::ip, field::device_id}) {
            if (!mode_applies(m, f))
                continue;
            ++pairs;
            labels.insert(hkdf_label(m, f));
        }
    }
    EXPECT_EQ(pairs, 6u);
    EXPECT_EQ(labels.size(), pairs);
    // The two ip modes of ipcrypt never share a key with each other or with aes-siv: the
    // same address gives unrelated outputs.
    const keyring keys = ring_k1();
    const std::string det = masked(ip_mode(mode::ipcrypt, keys), field::ip, "10.0.0.1");
    const std::string pfx = masked(ip_mode(mode::ipcrypt_pfx, keys), field::ip, "10.0.0.1");
    EXPECT_NE(det.substr(3), pfx.substr(3));
}

TEST(MaskedFormat, IsReadFromTheTextAlone) {
    const auto siv = read_masked_format("k1:kSepRnFT6XRCDsZ3kWCtog5RkDB3UkxaaCLJ64T0jQ");
    ASSERT_TRUE(siv);
    EXPECT_EQ(siv->masked_with, mode::aes_siv);
    EXPECT_EQ(siv->key_id, "k1");
    const auto pfx4 = read_masked_format("k1:203.0.113.77");
    ASSERT_TRUE(pfx4);
    EXPECT_EQ(pfx4->masked_with, mode::ipcrypt_pfx);
    EXPECT_EQ(pfx4->payload, "203.0.113.77");
    const auto pfx6 = read_masked_format("k2025-b:2001:db8::1");
    ASSERT_TRUE(pfx6);
    EXPECT_EQ(pfx6->masked_with, mode::ipcrypt_pfx);
    EXPECT_EQ(pfx6->key_id, "k2025-b");
    EXPECT_EQ(pfx6->payload, "2001:db8::1");
    const auto det = read_masked_format("k_1~2001:db8::1");
    ASSERT_TRUE(det);
    EXPECT_EQ(det->masked_with, mode::ipcrypt);
    EXPECT_EQ(det->key_id, "k_1");
    // A base64url payload made only of hex digits is still aes-siv (no '.' or ':').
    EXPECT_EQ(read_masked_format("k1:abcdef0123")->masked_with, mode::aes_siv);
    for (const char* not_masked :
         {"3fa5fafd523078897704b932bf2a2d769a4a7c7c45fa360533fc0f2ce4f1a573", "10.0.0.1",
          ":10.0.0.1", "k1:", "k1~", "seventeen_chars_k:1.2.3.4", "k 1:1.2.3.4"})
        EXPECT_FALSE(read_masked_format(not_masked)) << not_masked;
}

TEST(UnmaskIpcrypt, RecoversTheNormalizedAddressAndSaysHow) {
    const keyring keys = ring_k1();
    const unmasker u(keys);
    for (mode m : {mode::ipcrypt, mode::ipcrypt_pfx}) {
        const masker k = ip_mode(m, keys);
        for (const auto& [in, normal] :
             std::vector<std::pair<std::string, std::string>>{{" ::ffff:192.0.2.7", "192.0.2.7"},
                                                              {"2001:DB8::1", "2001:db8::1"},
                                                              {"::1.2.3.4", "::1.2.3.4"},
                                                              {"::", "::"}}) {
            const auto back = u.unmask(masked(k, field::ip, in));
            ASSERT_TRUE(back) << mode_name(m) << " " << in;
            EXPECT_EQ(back->value, normal);
            EXPECT_EQ(back->value, normalize_ip(in));
            EXPECT_EQ(back->source, field::ip);
            EXPECT_EQ(back->key_id, "k1");
            EXPECT_EQ(back->masked_with, m);
        }
    }
    EXPECT_EQ(u.unmask("k1:1.2.3").error(), errc::malformed);
    EXPECT_EQ(u.unmask("k1~zz::1").error(), errc::malformed);
    EXPECT_EQ(u.unmask("k1~10.0.0.1/8").error(), errc::malformed);
    EXPECT_EQ(u.unmask("k9:10.0.0.1").error(), errc::key_unknown_id);
    EXPECT_EQ(u.unmask("k9~2001:db8::1").error(), errc::key_unknown_id);
}

TEST(UnmaskIpcrypt, OldKeysStillUnmaskAfterRotation) {
    const std::string k1 = "k1 " + std::string(key_0_to_31);
    const std::string k2 = "k2 " + std::string(other_key);
    const keyring before = ring(k1);
    const keyring after = ring(k1 + "\n" + k2 + " active\n");
    const std::string old_value = masked(ip_mode(mode::ipcrypt_pfx, before), field::ip, "10.1.2.3");
    const std::string new_value = masked(ip_mode(mode::ipcrypt_pfx, after), field::ip, "10.1.2.3");
    EXPECT_TRUE(old_value.starts_with("k1:"));
    EXPECT_TRUE(new_value.starts_with("k2:"));
    const unmasker u(after);
    EXPECT_EQ(u.unmask(old_value)->value, "10.1.2.3");
    EXPECT_EQ(u.unmask(new_value)->value, "10.1.2.3");
    EXPECT_EQ(unmasker(ring(k2)).unmask(old_value).error(), errc::key_unknown_id);
}

TEST(Rekeyer, MovesEveryReversibleModeToTheActiveKeyInTheSameMode) {
    const std::string k1 = "k1 " + std::string(key_0_to_31);
    const std::string k2 = "k2 " + std::string(other_key);
    const keyring before = ring(k1);
    const keyring after = ring(k1 + "\n" + k2 + " active\n");
    const rekeyer ip(after, field::ip);
    const rekeyer device(after, field::device_id);
    EXPECT_EQ(ip.active_key_id(), "k2");
    for (mode m : {mode::aes_siv, mode::ipcrypt, mode::ipcrypt_pfx}) {
        const std::string old_value = masked(ip_mode(m, before), field::ip, "203.0.113.77");
        const std::string expected = masked(ip_mode(m, after), field::ip, "203.0.113.77");
        auto r = ip.rekey(old_value);
        ASSERT_TRUE(r) << mode_name(m);
        ASSERT_TRUE(*r) << mode_name(m);
        EXPECT_EQ(**r, expected) << mode_name(m) << ": the same mode, the active key";
        auto again = ip.rekey(**r);
        ASSERT_TRUE(again);
        EXPECT_FALSE(*again) << "already under the active key: nothing to do";
    }
    const std::string dev_old = masked(masker(mode::aes_siv, before), field::device_id, "d-1");
    EXPECT_EQ(**device.rekey(dev_old),
              masked(masker(mode::aes_siv, after), field::device_id, "d-1"));
}

TEST(Rekeyer, SaysWhyAValueCannotBeMoved) {
    const std::string k1 = "k1 " + std::string(key_0_to_31);
    const std::string k2 = "k2 " + std::string(other_key);
    const keyring before = ring(k1);
    const keyring after = ring(k1 + "\n" + k2 + " active\n");
    const rekeyer ip(after, field::ip);
    const std::string hmac = masked(masker(mode::hmac_sha256, before), field::ip, "10.0.0.1");
    EXPECT_EQ(ip.rekey(hmac).error(), errc::not_reversible);
    EXPECT_EQ(ip.rekey("garbage").error(), errc::malformed);
    EXPECT_EQ(ip.rekey("k0:10.0.0.1").error(), errc::key_unknown_id);
    // A device_id value in the ip column: its aes-siv authenticates only under the
    // device_id key.
    const std::string dev = masked(masker(mode::aes_siv, before), field::device_id, "10.0.0.1");
    EXPECT_EQ(ip.rekey(dev).error(), errc::wrong_field);
    EXPECT_EQ(rekeyer(after, field::device_id).rekey("k1:10.0.0.1").error(), errc::wrong_field);
    // A value that fitted under a 2-character key id but not under a 16-character one.
    const keyring longer = ring(k1 + "\nlonger_key_id_16 " + std::string(other_key) + " active\n");
    const masker old_siv(mode::aes_siv, before);
    const std::string at_limit =
        masked(old_siv, field::device_id, std::string(old_siv.max_plaintext(), 'x'));
    EXPECT_EQ(rekeyer(longer, field::device_id).rekey(at_limit).error(), errc::too_long);
}

TEST(IpcryptProperties, EqualInEqualOutDifferentInDifferentOutAndRoundTrip) {
    std::mt19937_64 rng(1689);
    const keyring keys = ring_k1();
    const unmasker u(keys);
    for (mode m : {mode::ipcrypt, mode::ipcrypt_pfx}) {
        const masker k = ip_mode(m, keys);
        std::map<std::string, std::string> seen; // normalized in -> out
        std::set<std::string> outs;
        for (int i = 0; i < 3000; ++i) {
            ip16 a{};
            for (auto& b : a)
                b = static_cast<unsigned char>(rng());
            if (i % 2 == 0) { // IPv4, from a small space so that repeats happen
                std::fill(a.begin(), a.begin() + 10, 0);
                a[10] = a[11] = 0xff;
                a[12] = 10;
                a[13] = 0;
                a[14] = static_cast<unsigned char>(rng() % 4);
            }
            const std::string in = format_ip16(a);
            const std::string out = masked(k, field::ip, in);
            if (auto [it, fresh] = seen.emplace(normalize_ip(in), out); !fresh)
                EXPECT_EQ(it->second, out) << "equal input, equal output";
            else
                EXPECT_TRUE(outs.insert(out).second) << "different input, different output";
            const auto back = u.unmask(out);
            ASSERT_TRUE(back);
            EXPECT_EQ(back->value, normalize_ip(in));
        }
        EXPECT_LT(seen.size(), 3000u) << "some IPv4 addresses repeated";
    }
}

} // namespace
} // namespace sqs2pg::mask
