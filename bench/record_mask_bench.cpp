// The record+mask stage per message (parse_login + to_row) in each masking mode, one masked
// value per mode and field (the sample's ip and device_id values, and IPv6 addresses for
// the ipcrypt modes), unmasking and re-keying one value, beside OpenSSL's raw HMAC-SHA256
// on the same inputs, and the sealing of a reject body. items_per_second is messages (or
// values) per second.
#include <sqs2pg/mask/row.hpp>
#include <sqs2pg/mask/seal.hpp>
#include <sqs2pg/record/login.hpp>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace sqs2pg;

const std::vector<std::string>& bodies() {
    static const std::vector<std::string> all = [] {
        std::ifstream in(SQS2PG_SAMPLE_DATA);
        std::stringstream text;
        text << in.rdbuf();
        std::vector<std::string> out;
        const boost::json::value doc = boost::json::parse(text.str());
        for (const auto& m : doc.as_array())
            out.push_back(boost::json::serialize(m));
        if (out.empty())
            throw std::runtime_error("no sample data at " SQS2PG_SAMPLE_DATA);
        return out;
    }();
    return all;
}

// The ip strings of the sample (all IPv4), in message order.
const std::vector<std::string>& sample_ips() {
    static const std::vector<std::string> all = [] {
        std::vector<std::string> out;
        for (const auto& b : bodies())
            if (auto l = record::parse_login(b))
                out.push_back(l->ip);
        return out;
    }();
    return all;
}

// The device_id strings of the sample, in message order.
const std::vector<std::string>& sample_device_ids() {
    static const std::vector<std::string> all = [] {
        std::vector<std::string> out;
        for (const auto& b : bodies())
            if (auto l = record::parse_login(b))
                out.push_back(l->device_id);
        return out;
    }();
    return all;
}

// 100 IPv6 addresses from a few /48s, in RFC 5952 form, as a producer would send them.
const std::vector<std::string>& ipv6_addresses() {
    static const std::vector<std::string> all = [] {
        std::vector<std::string> out;
        for (unsigned i = 0; i < 100; ++i)
            out.push_back(fmt::format("2001:db8:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}", i % 5, i * 7 % 13,
                                      0x1000 + i * 37, 0xa000 + i * 11, i * 101 % 0xffff,
                                      0x4000 + i));
        return out;
    }();
    return all;
}

// The ip and device_id strings of the sample, in message order.
const std::vector<std::string>& personal_values() {
    static const std::vector<std::string> all = [] {
        std::vector<std::string> out;
        for (const auto& b : bodies())
            if (auto l = record::parse_login(b)) {
                out.push_back(l->ip);
                out.push_back(l->device_id);
            }
        return out;
    }();
    return all;
}

mask::keyring bench_keys() {
    return std::move(*mask::parse_keyring(
        "bench 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "bench"));
}

// After a rotation: the bench key is old, "new" is active.
mask::keyring rotated_keys() {
    return std::move(*mask::parse_keyring(
        "bench 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
        "new f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff active",
        "bench"));
}

mask::masker make(mask::field_modes m, const mask::keyring& keys) {
    return m.any_keyed() ? mask::masker(m, keys) : mask::masker(mask::mode::sha256);
}

// ip in `m`, device_id in hmac-sha256 where `m` is ip's only, else in `m` too.
mask::field_modes modes_for(mask::mode m) {
    return {m, mask::mode_applies(m, mask::field::device_id) ? m : mask::mode::hmac_sha256};
}

void parse_only(benchmark::State& state) {
    const auto& in = bodies();
    std::size_t i = 0;
    for (auto _ : state) {
        auto r = record::parse_login(in[i]);
        benchmark::DoNotOptimize(r);
        i = (i + 1) % in.size();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(parse_only);

void stage(benchmark::State& state, mask::mode m) {
    const auto keys = bench_keys();
    const mask::masker masker = make(modes_for(m), keys);
    const auto& in = bodies();
    const auto day = std::chrono::sys_days(std::chrono::days(19'844));
    std::size_t i = 0, rows = 0;
    for (auto _ : state) {
        auto login = record::parse_login(in[i]);
        if (login) {
            auto row = mask::to_row(std::move(*login), day, masker);
            benchmark::DoNotOptimize(row);
            ++rows;
        }
        i = (i + 1) % in.size();
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK_CAPTURE(stage, hmac_sha256, mask::mode::hmac_sha256);
BENCHMARK_CAPTURE(stage, aes_siv, mask::mode::aes_siv);
BENCHMARK_CAPTURE(stage, sha256, mask::mode::sha256);
// ip in the ipcrypt mode, device_id in hmac-sha256.
BENCHMARK_CAPTURE(stage, ipcrypt, mask::mode::ipcrypt);
BENCHMARK_CAPTURE(stage, ipcrypt_pfx, mask::mode::ipcrypt_pfx);

// One masked value (normalization included), to compare with the raw HMAC below.
void mask_value(benchmark::State& state, mask::mode m) {
    const auto keys = bench_keys();
    const mask::masker masker = make(modes_for(m), keys);
    const auto& in = personal_values();
    std::size_t i = 0;
    for (auto _ : state) {
        auto out = masker.mask(i % 2 ? mask::field::device_id : mask::field::ip, in[i]);
        benchmark::DoNotOptimize(out);
        i = (i + 1) % in.size();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(mask_value, hmac_sha256, mask::mode::hmac_sha256);
BENCHMARK_CAPTURE(mask_value, aes_siv, mask::mode::aes_siv);
BENCHMARK_CAPTURE(mask_value, sha256, mask::mode::sha256);

// One value of one field in mode `m` (normalization, masking, the text form, key id).
void mask_field(benchmark::State& state, mask::mode m, mask::field f,
                const std::vector<std::string>* values) {
    const auto keys = bench_keys();
    mask::field_modes modes = modes_for(m);
    (f == mask::field::ip ? modes.ip : modes.device_id) = m;
    const mask::masker masker = make(modes, keys);
    const auto& in = *values;
    std::size_t i = 0;
    for (auto _ : state) {
        auto out = masker.mask(f, in[i]);
        benchmark::DoNotOptimize(out);
        i = (i + 1) % in.size();
    }
    state.SetItemsProcessed(state.iterations());
}
#define SQS2PG_MASK_FIELD(name, m, f, values) BENCHMARK_CAPTURE(mask_field, name, m, f, &values())
SQS2PG_MASK_FIELD(ipv4_hmac_sha256, mask::mode::hmac_sha256, mask::field::ip, sample_ips);
SQS2PG_MASK_FIELD(ipv4_aes_siv, mask::mode::aes_siv, mask::field::ip, sample_ips);
SQS2PG_MASK_FIELD(ipv4_sha256, mask::mode::sha256, mask::field::ip, sample_ips);
SQS2PG_MASK_FIELD(ipv4_ipcrypt, mask::mode::ipcrypt, mask::field::ip, sample_ips);
SQS2PG_MASK_FIELD(ipv4_ipcrypt_pfx, mask::mode::ipcrypt_pfx, mask::field::ip, sample_ips);
SQS2PG_MASK_FIELD(ipv6_hmac_sha256, mask::mode::hmac_sha256, mask::field::ip, ipv6_addresses);
SQS2PG_MASK_FIELD(ipv6_aes_siv, mask::mode::aes_siv, mask::field::ip, ipv6_addresses);
SQS2PG_MASK_FIELD(ipv6_sha256, mask::mode::sha256, mask::field::ip, ipv6_addresses);
SQS2PG_MASK_FIELD(ipv6_ipcrypt, mask::mode::ipcrypt, mask::field::ip, ipv6_addresses);
SQS2PG_MASK_FIELD(ipv6_ipcrypt_pfx, mask::mode::ipcrypt_pfx, mask::field::ip, ipv6_addresses);
SQS2PG_MASK_FIELD(device_id_hmac_sha256, mask::mode::hmac_sha256, mask::field::device_id,
                  sample_device_ids);
SQS2PG_MASK_FIELD(device_id_aes_siv, mask::mode::aes_siv, mask::field::device_id,
                  sample_device_ids);
SQS2PG_MASK_FIELD(device_id_sha256, mask::mode::sha256, mask::field::device_id, sample_device_ids);
#undef SQS2PG_MASK_FIELD

// Unmasking one ip value, and moving it to the active key (sqs2pg rekey, per value): the
// reversible modes. pfx decryption runs bit by bit (two AES calls per bit).
std::vector<std::string> masked_ips(mask::mode m, const std::vector<std::string>& in) {
    const mask::masker masker = make(modes_for(m), bench_keys());
    std::vector<std::string> out;
    for (const auto& v : in)
        out.push_back(*masker.mask(mask::field::ip, v));
    return out;
}

void unmask_ip(benchmark::State& state, mask::mode m, const std::vector<std::string>* values) {
    const auto masked = masked_ips(m, *values);
    const mask::unmasker u(bench_keys());
    std::size_t i = 0;
    for (auto _ : state) {
        auto out = u.unmask(masked[i]);
        benchmark::DoNotOptimize(out);
        i = (i + 1) % masked.size();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(unmask_ip, ipv4_aes_siv, mask::mode::aes_siv, &sample_ips());
BENCHMARK_CAPTURE(unmask_ip, ipv4_ipcrypt, mask::mode::ipcrypt, &sample_ips());
BENCHMARK_CAPTURE(unmask_ip, ipv4_ipcrypt_pfx, mask::mode::ipcrypt_pfx, &sample_ips());
BENCHMARK_CAPTURE(unmask_ip, ipv6_ipcrypt, mask::mode::ipcrypt, &ipv6_addresses());
BENCHMARK_CAPTURE(unmask_ip, ipv6_ipcrypt_pfx, mask::mode::ipcrypt_pfx, &ipv6_addresses());

void rekey_ip(benchmark::State& state, mask::mode m, const std::vector<std::string>* values) {
    const auto masked = masked_ips(m, *values);
    const mask::rekeyer rk(rotated_keys(), mask::field::ip);
    std::size_t i = 0;
    for (auto _ : state) {
        auto out = rk.rekey(masked[i]);
        benchmark::DoNotOptimize(out);
        i = (i + 1) % masked.size();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(rekey_ip, ipv4_aes_siv, mask::mode::aes_siv, &sample_ips());
BENCHMARK_CAPTURE(rekey_ip, ipv4_ipcrypt, mask::mode::ipcrypt, &sample_ips());
BENCHMARK_CAPTURE(rekey_ip, ipv4_ipcrypt_pfx, mask::mode::ipcrypt_pfx, &sample_ips());
BENCHMARK_CAPTURE(rekey_ip, ipv6_ipcrypt_pfx, mask::mode::ipcrypt_pfx, &ipv6_addresses());

// OpenSSL's one-shot HMAC() on the same values: what `openssl speed hmac` measures per call
// (a fresh key setup each time).
void openssl_hmac_oneshot(benchmark::State& state) {
    const std::string key(32, 'k');
    const auto& in = personal_values();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    std::size_t i = 0;
    for (auto _ : state) {
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(in[i].data()), in[i].size(), out, &len);
        benchmark::DoNotOptimize(out);
        i = (i + 1) % in.size();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(openssl_hmac_oneshot);

// The fastest raw EVP path: a keyed EVP_MAC_CTX duplicated per value (what
// base::hmac_sha256_key does), without hex encoding or normalization.
void openssl_hmac_prepared(benchmark::State& state) {
    const std::string key(32, 'k');
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* keyed = EVP_MAC_CTX_new(mac);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC_init(keyed, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params);
    const auto& in = personal_values();
    unsigned char out[32];
    std::size_t len = 0;
    std::size_t i = 0;
    for (auto _ : state) {
        EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(keyed);
        EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(in[i].data()), in[i].size());
        EVP_MAC_final(ctx, out, &len, sizeof out);
        EVP_MAC_CTX_free(ctx);
        benchmark::DoNotOptimize(out);
        i = (i + 1) % in.size();
    }
    state.SetItemsProcessed(state.iterations());
    EVP_MAC_CTX_free(keyed);
    EVP_MAC_free(mac);
}
BENCHMARK(openssl_hmac_prepared);

void seal_reject_body(benchmark::State& state) {
    const mask::sealer sealer(bench_keys());
    const std::string& body = bodies().back(); // a typical body size
    for (auto _ : state) {
        auto blob = sealer.seal(body, "0f6c1a2b-5d1e-4c2e-9a43-4c5e0a7d1b2c");
        benchmark::DoNotOptimize(blob);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(seal_reject_body);

} // namespace

BENCHMARK_MAIN();
