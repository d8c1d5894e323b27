// The "sqs2pg.mask" error category.
#include <sqs2pg/mask/error.hpp>

#include <stdexcept>
#include <string>

namespace sqs2pg::mask {
namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "sqs2pg.mask"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::no_key:
            return "no masking key configured";
        case errc::key_file_unreadable:
            return "the mask key file cannot be read";
        case errc::key_file_permissions:
            return "the mask key file is open to group or others (chmod 600 it)";
        case errc::key_syntax:
            return "a keyring line is not 'KEY_ID KEY [active]'";
        case errc::key_invalid_id:
            return "invalid key id (1-16 characters of A-Z a-z 0-9 _ -)";
        case errc::key_invalid_material:
            return "a key is not 32 bytes in hex or base64";
        case errc::key_duplicate_id:
            return "two keys have the same id";
        case errc::key_no_active:
            return "several keys and none is marked active";
        case errc::key_several_active:
            return "more than one key is marked active";
        case errc::key_unknown_id:
            return "the value names a key id that is not in the keyring";
        case errc::not_reversible:
            return "hmac-sha256 and sha256 values cannot be unmasked (one-way by design)";
        case errc::malformed:
            return "not a masked value or sealed body of a known format";
        case errc::authentication_failed:
            return "does not authenticate: wrong key or context, or altered";
        case errc::unknown_mode:
            return "unknown masking mode (hmac-sha256, aes-siv, sha256, ipcrypt, ipcrypt-pfx)";
        case errc::mode_not_for_field:
            return "ipcrypt and ipcrypt-pfx encrypt IP addresses: they apply to ip only";
        case errc::wrong_field:
            return "the value was masked with the other field's key";
        case errc::too_long:
            return "under the active key id the masked value would exceed 256 characters";
        }
        return "unknown mask error";
    }
};

} // namespace

const boost::system::error_category& mask_category() noexcept {
    static const category instance;
    return instance;
}

void throw_exception_from_error(const load_error& e, const boost::source_location&) {
    throw std::runtime_error(e.message);
}

} // namespace sqs2pg::mask
