// ipcrypt (draft-denis-ipcrypt-13): the draft's vectors for ipcrypt-deterministic and
// ipcrypt-pfx byte for byte in both directions, round trips, the prefix property over
// random pairs, IPv4-mapped addresses, the address text, and the key checks.
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/mask/ipcrypt.hpp>

#include "test_env.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <random>

namespace sqs2pg::mask {
namespace {

namespace json = boost::json;

json::object vector_file() {
    return json::parse(test::read_file(test::data_path("vectors/draft_denis_ipcrypt_13.json")))
        .as_object();
}

std::string key_of(const json::value& v) {
    auto b = base::from_hex(std::string_view(v.at("key").as_string()));
    if (!b)
        throw std::runtime_error("bad hex in vector file");
    return *b;
}

ip16 ip(std::string_view text) {
    auto a = parse_ip16(text);
    if (!a)
        throw std::runtime_error("not an address: " + std::string(text));
    return *a;
}

// Number of leading bits `a` and `b` share (128 when equal).
unsigned common_prefix(const ip16& a, const ip16& b) {
    for (unsigned i = 0; i < 128; ++i) {
        const unsigned byte = i / 8, shift = 7 - i % 8;
        if (((a[byte] >> shift) & 1u) != ((b[byte] >> shift) & 1u))
            return i;
    }
    return 128;
}

TEST(IpcryptVectors, DeterministicMatchesTheDraftInBothDirections) {
    const auto all = vector_file().at("deterministic").as_array();
    ASSERT_EQ(all.size(), 3u);
    for (const auto& v : all) {
        const ipcrypt_deterministic c(key_of(v));
        const std::string in(v.at("input").as_string());
        const std::string out(v.at("output").as_string());
        EXPECT_EQ(format_ip16(c.encrypt(ip(in))), out) << v.at("name");
        EXPECT_EQ(format_ip16(c.decrypt(ip(out))), in) << v.at("name");
    }
}

TEST(IpcryptVectors, PfxMatchesTheDraftInBothDirections) {
    const auto all = vector_file().at("pfx").as_array();
    ASSERT_EQ(all.size(), 16u);
    for (const auto& v : all) {
        const ipcrypt_pfx c(key_of(v));
        const std::string in(v.at("input").as_string());
        const std::string out(v.at("output").as_string());
        EXPECT_EQ(format_ip16(c.encrypt(ip(in))), out) << v.at("name") << " " << in;
        EXPECT_EQ(format_ip16(c.decrypt(ip(out))), in) << v.at("name") << " " << out;
        // IPv4 stays IPv4, IPv6 stays IPv6.
        EXPECT_EQ(is_ipv4_mapped(ip(in)), is_ipv4_mapped(ip(out))) << in;
    }
}

TEST(IpcryptVectors, PfxGroupsShareExactlyTheirInputsPrefixes) {
    // The prefix-preserving vectors come in groups of three from one network (same /24,
    // same /16, same /64, same /32): every pair shares as many output bits as input bits.
    const auto all = vector_file().at("pfx").as_array();
    std::map<std::string, std::vector<std::pair<ip16, ip16>>> groups;
    for (const auto& v : all)
        groups[std::string(v.at("name").as_string())].emplace_back(ip(v.at("input").as_string()),
                                                                   ip(v.at("output").as_string()));
    std::size_t pairs = 0;
    for (const auto& [name, members] : groups) {
        for (std::size_t i = 0; i < members.size(); ++i)
            for (std::size_t j = i + 1; j < members.size(); ++j, ++pairs)
                EXPECT_EQ(common_prefix(members[i].second, members[j].second),
                          common_prefix(members[i].first, members[j].first))
                    << name;
    }
    EXPECT_EQ(pairs, 12u); // four groups of three
}

// A random address: IPv4 (as mapped) or IPv6 (never in ::ffff:0:0/96).
ip16 random_ip(std::mt19937_64& rng, bool v4) {
    ip16 a{};
    for (auto& b : a)
        b = static_cast<unsigned char>(rng());
    if (v4) {
        std::fill(a.begin(), a.begin() + 10, 0);
        a[10] = a[11] = 0xff;
    } else if (is_ipv4_mapped(a)) {
        a[0] = 0x20;
    }
    return a;
}

std::string random_key(std::mt19937_64& rng, std::size_t n) {
    std::string k(n, '\0');
    for (auto& c : k)
        c = static_cast<char>(rng());
    return k;
}

TEST(IpcryptProperties, RoundTripsAndKeepsTheFamilyOverRandomAddressesAndKeys) {
    std::mt19937_64 rng(20250913);
    for (int round = 0; round < 20; ++round) {
        const ipcrypt_deterministic det(random_key(rng, 16));
        const ipcrypt_pfx pfx(random_key(rng, 32));
        for (int i = 0; i < 250; ++i) {
            const ip16 a = random_ip(rng, i % 2 == 0);
            const ip16 d = det.encrypt(a);
            const ip16 p = pfx.encrypt(a);
            EXPECT_EQ(det.decrypt(d), a);
            EXPECT_EQ(pfx.decrypt(p), a);
            EXPECT_EQ(det.encrypt(a), d) << "deterministic";
            EXPECT_EQ(pfx.encrypt(a), p) << "deterministic";
            EXPECT_EQ(is_ipv4_mapped(p), is_ipv4_mapped(a)) << "pfx keeps the family";
            // Through the text form too, as values are stored.
            EXPECT_EQ(parse_ip16(format_ip16(p)), p);
            EXPECT_EQ(parse_ip16(format_ip16(d)), d);
        }
    }
}

TEST(IpcryptProperties, PfxPreservesExactlyTheSharedPrefixOverRandomPairs) {
    // For a pair sharing exactly n leading bits (of the 32 IPv4 bits, or the 128 IPv6
    // bits), the outputs share exactly n bits too: the equal prefix gives the same PRF
    // bits, and the first differing input bit meets the same PRF bit, so it differs too.
    std::mt19937_64 rng(4291);
    const ipcrypt_pfx pfx(random_key(rng, 32));
    std::array<int, 129> seen{};
    for (int i = 0; i < 20000; ++i) {
        const bool v4 = i % 2 == 0;
        const unsigned width = v4 ? 32 : 128, skip = v4 ? 96 : 0;
        const unsigned n = static_cast<unsigned>(rng() % width);
        const ip16 a = random_ip(rng, v4);
        ip16 b = random_ip(rng, v4);
        // b: a's first n bits, then a's bit n flipped, then random bits.
        for (unsigned bit = skip; bit <= skip + n; ++bit) {
            const unsigned byte = bit / 8, shift = 7 - bit % 8;
            const unsigned from_a = (a[byte] >> shift) & 1u;
            const unsigned want = bit == skip + n ? from_a ^ 1u : from_a;
            b[byte] = static_cast<unsigned char>((b[byte] & ~(1u << shift)) | (want << shift));
        }
        ASSERT_EQ(common_prefix(a, b), skip + n);
        const unsigned shared = common_prefix(pfx.encrypt(a), pfx.encrypt(b));
        ASSERT_EQ(shared, skip + n)
            << "pair " << i << ": " << format_ip16(a) << " " << format_ip16(b);
        ++seen[n];
    }
    for (unsigned n = 0; n < 32; ++n)
        EXPECT_GT(seen[n], 0) << "every IPv4 prefix length was tried";
}

TEST(IpcryptMapped, AnIpv4AddressAndItsMappedFormAreOneAddress) {
    // The draft, section 3.1.2: an IPv4 address and ::ffff:a.b.c.d encrypt alike; pfx
    // output is IPv4 again.
    EXPECT_EQ(ip("192.0.2.1"), ip("::ffff:192.0.2.1"));
    EXPECT_EQ(ip("192.0.2.1"), ip("::FFFF:c000:0201"));
    const auto v = vector_file().at("pfx").as_array().at(2); // 192.0.2.1
    const ipcrypt_pfx pfx(key_of(v));
    EXPECT_EQ(format_ip16(pfx.encrypt(ip("::ffff:192.0.2.1"))), v.at("output").as_string());
    // The IPv4-compatible ::192.0.2.1 is an IPv6 address: another input, another output,
    // and it stays IPv6 (encrypted from bit 0, so its first 32 bits are not IPv4's).
    const ip16 compat = ip("::c000:201");
    EXPECT_FALSE(is_ipv4_mapped(compat));
    EXPECT_NE(pfx.encrypt(compat), pfx.encrypt(ip("192.0.2.1")));
    EXPECT_FALSE(is_ipv4_mapped(pfx.encrypt(compat)));
    // Deterministic mode does not keep IPv4 as IPv4 (the draft's vectors come out IPv6).
    const ipcrypt_deterministic det(std::string(16, '\x01'));
    EXPECT_FALSE(is_ipv4_mapped(det.encrypt(ip("192.0.2.1"))));
}

TEST(IpcryptText, FormatsAsTheDraftAndParsesStrictly) {
    const std::pair<const char*, const char*> cases[] = {
        {"::", "::"},
        {"::1", "::1"},
        {"1::", "1::"},
        {"2001:0DB8:0:0:0:0:0:1", "2001:db8::1"},
        {"1:0:0:1:0:0:0:1", "1:0:0:1::1"},      // the longest run
        {"1:0:0:2:0:0:3:4", "1::2:0:0:3:4"},    // the first of equal runs
        {"1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"}, // single zero groups stay
        {"::c000:201", "::c000:201"},           // never mixed notation
        {"::ffff:0a00:0001", "10.0.0.1"},       // IPv4-mapped: dotted
        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
        {"0.0.0.0", "0.0.0.0"},
        {"255.255.255.255", "255.255.255.255"},
    };
    for (const auto& [in, out] : cases)
        EXPECT_EQ(format_ip16(ip(in)), out) << in;
    for (const char* bad :
         {"", "1.2.3", "1.2.3.256", "010.0.0.1", " 1.2.3.4", "1.2.3.4 ", "fe80::1%eth0",
          "host.example", "1:2:3:4:5:6:7:8:9", "::g", "0000:0000:0000:0000:0000:0000:0000:0000:0"})
        EXPECT_FALSE(parse_ip16(bad)) << bad;
}

TEST(IpcryptKeys, SizesAndEqualHalvesAreRefused) {
    EXPECT_THROW(ipcrypt_deterministic(std::string(15, 'k')), std::invalid_argument);
    EXPECT_THROW(ipcrypt_pfx(std::string(16, 'k')), std::invalid_argument);
    // K1 = K2 would cancel out: every address would encrypt to itself.
    EXPECT_THROW(ipcrypt_pfx(std::string(32, 'k')), std::invalid_argument);
    const std::string half = "0123456789abcdef";
    EXPECT_THROW(ipcrypt_pfx(half + half), std::invalid_argument);
    EXPECT_NO_THROW(ipcrypt_pfx(half + "0123456789abcdeF"));
}

} // namespace
} // namespace sqs2pg::mask
