// RDS IAM auth tokens: the presigned connect URL, built from the signer's pieces.
#include <sqs2pg/aws/rds.hpp>
#include <sqs2pg/aws/signer.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/encoding.hpp>

namespace sqs2pg::aws {
namespace {
constexpr std::string_view empty_payload_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
} // namespace

std::string rds_auth_token(std::string_view host, std::uint16_t port, std::string_view user,
                           std::string_view region, const credentials& creds,
                           std::chrono::system_clock::time_point now) {
    const std::string amz_date = format_amz_date(now);
    const std::string date = amz_date.substr(0, 8);
    const std::string scope = credential_scope(date, region, "rds-db");
    const std::string host_port = std::string(host) + ":" + std::to_string(port);

    // The query in botocore's order; the canonical query sorts it anyway.
    std::string query = "Action=connect&DBUser=" + uri_encode(user, false) +
                        "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" +
                        uri_encode(creds.access_key_id + "/" + scope, false) +
                        "&X-Amz-Date=" + amz_date +
                        "&X-Amz-Expires=" + std::to_string(rds_token_lifetime.count()) +
                        "&X-Amz-SignedHeaders=host";
    if (!creds.session_token.empty())
        query += "&X-Amz-Security-Token=" + uri_encode(creds.session_token, false);

    // botocore signs the (empty) payload's SHA-256 for an https presign, not
    // UNSIGNED-PAYLOAD (that is S3's presign only).
    const std::string creq = "GET\n/\n" + canonical_query(query) + "\nhost:" + host_port +
                             "\n\nhost\n" + std::string(empty_payload_sha256);
    const std::string sts = string_to_sign(amz_date, scope, creq);
    const base::sha256_digest key =
        derive_signing_key(creds.secret_access_key, date, region, "rds-db");
    const std::string signature =
        base::to_hex(base::as_bytes(base::hmac_sha256(base::as_bytes(key), sts)));
    return host_port + "/?" + query + "&X-Amz-Signature=" + signature;
}

} // namespace sqs2pg::aws
