// Certificates for TLS tests, built with the OpenSSL 3 API.
#include "test_pki.hpp"

#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace sqs2pg::test {
namespace {

void check(bool ok, const char* what) {
    if (!ok)
        throw std::runtime_error(std::string("test PKI: ") + what + " failed");
}

EVP_PKEY* new_key() {
    EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    check(k != nullptr, "EC key generation");
    return k;
}

void add_ext(X509* x, X509V3_CTX* ctx, int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    check(X509_add_ext(x, ext, -1) == 1, "X509_add_ext");
    X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer` (self-signed when null).
X509* make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                const std::string& san) {
    X509* x = X509_new();
    check(x != nullptr, "X509_new");
    X509_set_version(x, 2);
    std::uint64_t serial = 0;
    check(RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) == 1, "RAND_bytes");
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
    const bool ca = issuer == nullptr;
    add_ext(x, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, &ctx, NID_key_usage,
            ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    if (!ca) {
        add_ext(x, &ctx, NID_authority_key_identifier, "keyid");
        add_ext(x, &ctx, NID_ext_key_usage, "serverAuth");
        if (!san.empty())
            add_ext(x, &ctx, NID_subject_alt_name, san);
    }
    check(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
    return x;
}

template <class Write>
std::string to_pem(Write write) {
    BIO* bio = BIO_new(BIO_s_mem());
    check(bio != nullptr && write(bio) == 1, "PEM write");
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

} // namespace

struct test_ca::keys {
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
};

test_ca::test_ca(const std::string& common_name)
    : keys_(new keys) {
    keys_->key = new_key();
    keys_->cert = make_cert(keys_->key, common_name, nullptr, nullptr, {});
    cert_pem_ = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, keys_->cert); });
}

test_ca::~test_ca() {
    X509_free(keys_->cert);
    EVP_PKEY_free(keys_->key);
    delete keys_;
    if (!cert_file_.empty())
        std::remove(cert_file_.c_str());
}

const std::string& test_ca::cert_file() {
    if (cert_file_.empty()) {
        std::string path = "/tmp/sqs2pg-test-ca-XXXXXX";
        const int fd = ::mkstemp(path.data());
        check(fd >= 0, "mkstemp");
        ::close(fd);
        std::ofstream(path, std::ios::binary) << cert_pem_;
        cert_file_ = path;
    }
    return cert_file_;
}

tls_identity test_ca::issue(const std::vector<std::string>& dns_names,
                            const std::vector<std::string>& ip_addresses) {
    std::string san;
    for (const auto& d : dns_names)
        san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
    for (const auto& ip : ip_addresses)
        san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
    EVP_PKEY* key = new_key();
    X509* cert = make_cert(key, dns_names.empty() ? "server" : dns_names.front(), keys_->cert,
                           keys_->key, san);
    tls_identity id;
    id.cert_chain_pem = to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert); });
    id.key_pem = to_pem([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    });
    X509_free(cert);
    EVP_PKEY_free(key);
    return id;
}

} // namespace sqs2pg::test
