// KMS and Secrets Manager requests and answers (JSON 1.1).
#include <sqs2pg/aws/kms.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/encoding.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <openssl/crypto.h>

namespace sqs2pg::aws {
namespace {

error invalid(std::string message) {
    return {make_error_code(errc::invalid_response), std::move(message)};
}

boost::json::object context_object(const encryption_context& ctx) {
    boost::json::object o;
    for (const auto& [k, v] : ctx)
        o[k] = v;
    return o;
}

result<boost::json::object> parse_object(std::string_view json, std::string_view what) {
    boost::system::error_code ec;
    auto v = boost::json::parse(json, ec);
    if (ec || !v.is_object())
        return invalid(std::string(what) + " answered with something that is not a JSON object");
    return std::move(v.as_object());
}

// A base64 field, decoded; the message names the field, never its value.
result<std::string> blob_field(const boost::json::object& o, const char* name,
                               std::string_view what) {
    const auto* f = o.if_contains(name);
    if (f == nullptr || !f->is_string())
        return invalid(std::string(what) + " answered without " + name);
    auto bytes = base::from_base64(f->as_string());
    if (!bytes)
        return invalid(std::string(what) + " answered with a " + name + " that is not base64");
    return std::move(*bytes);
}

} // namespace

service_request encode_generate_data_key(std::string_view key_id, const encryption_context& ctx) {
    boost::json::object o;
    o["KeyId"] = key_id;
    o["KeySpec"] = "AES_256";
    if (!ctx.empty())
        o["EncryptionContext"] = context_object(ctx);
    auto r = encode_json("TrentService", "GenerateDataKey", boost::json::serialize(o));
    r.idempotent = true; // a second data key is only unused
    return r;
}

service_request encode_decrypt(std::string_view ciphertext_blob, std::string_view key_id,
                               const encryption_context& ctx) {
    boost::json::object o;
    o["CiphertextBlob"] = base::to_base64(ciphertext_blob);
    if (!key_id.empty())
        o["KeyId"] = key_id;
    if (!ctx.empty())
        o["EncryptionContext"] = context_object(ctx);
    return encode_json("TrentService", "Decrypt", boost::json::serialize(o));
}

result<data_key> parse_generate_data_key(std::string_view json) {
    auto o = parse_object(json, "KMS GenerateDataKey");
    if (!o)
        return o.error();
    data_key k;
    auto plain = blob_field(*o, "Plaintext", "KMS GenerateDataKey");
    if (!plain)
        return plain.error();
    k.plaintext = std::move(*plain);
    auto blob = blob_field(*o, "CiphertextBlob", "KMS GenerateDataKey");
    if (!blob) {
        base::cleanse(k.plaintext);
        return blob.error();
    }
    k.ciphertext_blob = std::move(*blob);
    if (const auto* id = o->if_contains("KeyId"); id != nullptr && id->is_string())
        k.key_id = std::string(id->as_string());
    if (auto* p = o->if_contains("Plaintext"); p != nullptr && p->is_string()) {
        auto& s = p->as_string();
        OPENSSL_cleanse(s.data(), s.size());
    }
    return k;
}

result<std::string> parse_decrypt(std::string_view json) {
    auto o = parse_object(json, "KMS Decrypt");
    if (!o)
        return o.error();
    auto plain = blob_field(*o, "Plaintext", "KMS Decrypt");
    if (auto* p = o->if_contains("Plaintext"); p != nullptr && p->is_string()) {
        auto& s = p->as_string();
        OPENSSL_cleanse(s.data(), s.size());
    }
    return plain;
}

service_request encode_get_secret_value(std::string_view secret_id) {
    boost::json::object o;
    o["SecretId"] = secret_id;
    return encode_json("secretsmanager", "GetSecretValue", boost::json::serialize(o));
}

result<std::string> parse_get_secret_value(std::string_view json) {
    auto o = parse_object(json, "Secrets Manager GetSecretValue");
    if (!o)
        return o.error();
    const auto* s = o->if_contains("SecretString");
    if (s == nullptr || !s->is_string())
        return invalid("the secret has no SecretString (a binary secret?): store the key "
                       "lines as text");
    std::string out(s->as_string());
    auto& js = o->at("SecretString").as_string();
    OPENSSL_cleanse(js.data(), js.size());
    return out;
}

std::optional<std::string> arn_region(std::string_view arn) {
    if (!arn.starts_with("arn:"))
        return std::nullopt;
    // arn:partition:service:region:account:resource
    std::size_t pos = 0;
    for (int field = 0; field < 3; ++field) {
        pos = arn.find(':', pos);
        if (pos == std::string_view::npos)
            return std::nullopt;
        ++pos;
    }
    const auto end = arn.find(':', pos);
    if (end == std::string_view::npos || end == pos)
        return std::nullopt;
    return std::string(arn.substr(pos, end - pos));
}

} // namespace sqs2pg::aws
