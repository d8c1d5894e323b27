// A throwaway certificate authority and server certificates made at test time with the
// OpenSSL 3 API (EC P-256, valid from an hour ago for a day): nothing secret is checked in.
#pragma once

#include "local_http_server.hpp"

#include <string>
#include <vector>

namespace sqs2pg::test {

class test_ca {
public:
    /// A new self-signed CA named `common_name`.
    explicit test_ca(const std::string& common_name = "sqs2pg test CA");
    ~test_ca();
    test_ca(const test_ca&) = delete;
    test_ca& operator=(const test_ca&) = delete;

    /// The CA certificate, PEM.
    const std::string& cert_pem() const { return cert_pem_; }

    /// Writes cert_pem() to a new file in the temp directory and returns its path (removed
    /// with the CA).
    const std::string& cert_file();

    /// A server certificate signed by this CA for the DNS names and IP addresses given
    /// (subjectAltName), with its key.
    tls_identity issue(const std::vector<std::string>& dns_names,
                       const std::vector<std::string>& ip_addresses = {});

private:
    struct keys;
    keys* keys_;
    std::string cert_pem_;
    std::string cert_file_;
};

} // namespace sqs2pg::test
