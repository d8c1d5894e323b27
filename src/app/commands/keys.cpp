// keygen and unmask: thin shells over mask::generate_key_text and mask::unmasker.
#include <sqs2pg/app/commands/keys.hpp>
#include <sqs2pg/app/commands/rejects.hpp>
#include <sqs2pg/app/mask_keys.hpp>
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/mask/envelope.hpp>
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/mask/masker.hpp>
#include <sqs2pg/mask/normalize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace sqs2pg::app {
namespace {

constexpr std::string_view keygen_usage =
    "usage: sqs2pg keygen [--kid ID] [--out FILE]\n"
    "       sqs2pg keygen --kms-key-id KEY [--kms-encryption-context K=V[,K=V]] [--kid ID]\n"
    "                     --out FILE [--region REGION]\n"
    "       sqs2pg keygen --add --out FILE [--kid ID] [--region REGION]\n"
    "Makes a new 32-byte masking key, a keyring line 'ID HEX active'.\n"
    "  --kid ID    key id (1-16 of A-Z a-z 0-9 _ -); default: k + 6 random hex digits\n"
    "  --out FILE  create FILE, readable by you only (mode 0600) from the start, and\n"
    "              write the key there; an existing FILE is never overwritten.\n"
    "              Without --out the key goes to standard output (e.g. for\n"
    "              SQS2PG_MASK_KEY).\n"
    "  --kms-key-id KEY  write a KMS keyring (format 2): one KMS GenerateDataKey (AES_256)\n"
    "              for KEY (id, ARN or alias); the key is stored sealed under the data key,\n"
    "              the data key only wrapped by KMS. Opening FILE (run, unmask, rejects)\n"
    "              then takes kms:Decrypt on KEY: who can unmask is an IAM decision.\n"
    "  --kms-encryption-context K=V[,K=V]  bind the data key to this context (e.g.\n"
    "              table=user_logins); it is stored in FILE and sent with every Decrypt,\n"
    "              so IAM policies can require it (kms:EncryptionContext:table).\n"
    "  --add       add a new active key to the KMS keyring FILE (one KMS Decrypt); the old\n"
    "              keys stay to open old values. FILE is replaced atomically.\n"
    "First key:  sqs2pg keygen --out mask.keys\n"
    "Rotation:   sqs2pg keygen >> mask.keys, then remove 'active' from the old key's line\n"
    "            (keep the old line: aes-siv values and sealed bodies made with it\n"
    "            stay readable);\n"
    "            a KMS keyring: sqs2pg keygen --add --out mask.keys\n"
    "Exit status: 0 done; 1 writing FILE failed, or KMS refused; 2 bad usage, or FILE\n"
    "exists (or, with --add, does not) or cannot be created.\n";

constexpr std::string_view unmask_usage =
    "usage: sqs2pg unmask [--mask-key-file PATH | --mask-key-secret ARN] [--region R]\n"
    "                     [--raw] [VALUE...]\n"
    "Prints the original of each reversible masked value, one per line: aes-siv\n"
    "(KID:BASE64URL), ipcrypt-pfx (KID:ADDRESS) and ipcrypt (KID~ADDRESS); the format\n"
    "says which. Without VALUEs, reads one value per line from standard input.\n"
    "The keyring comes from --mask-key-file (a KMS keyring opens with one KMS Decrypt: the\n"
    "caller needs kms:Decrypt), --mask-key-secret (Secrets Manager; SQS2PG_MASK_KEY_SECRET)\n"
    "or SQS2PG_MASK_KEY; it must still hold the key named by each value.\n"
    "hmac-sha256 and sha256 values cannot be unmasked: they are one-way by design.\n"
    "Recovered values are producer data: control characters (line breaks included) are\n"
    "written as \\xNN and a backslash as \\\\, so each value stays on its line and cannot\n"
    "drive the terminal. --raw writes the bytes as they are.\n";

// Creates `path` for a new key and writes `text` to it: O_EXCL, so an existing file (a
// key that data may depend on) is never replaced and a symlink never followed, and mode
// 0600 from the first byte, whatever the umask. Returns the exit status; on failure
// nothing is left behind.
int write_new_key_file(const std::string& path, std::string_view text, std::ostream& err) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        const int e = errno;
        if (e == EEXIST)
            err << "sqs2pg keygen: --out " << path
                << ": already exists; not overwritten (it may hold the key your data needs): "
                   "choose another name, or add a key to it with sqs2pg keygen >> "
                << path << '\n';
        else
            err << "sqs2pg keygen: --out " << path << ": cannot create it: " << std::strerror(e)
                << '\n';
        return 2;
    }
    int e = 0; // the first failure's errno
    // The umask can only have taken bits away; make it exactly owner read and write.
    if (::fchmod(fd, 0600) != 0)
        e = errno;
    for (std::size_t done = 0; e == 0 && done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n > 0)
            done += static_cast<std::size_t>(n);
        else if (n == 0 || errno != EINTR)
            e = n == 0 ? EIO : errno;
    }
    if (e == 0 && ::fsync(fd) != 0) // a key lost in a crash would be lost for good
        e = errno;
    if (::close(fd) != 0 && e == 0)
        e = errno;
    if (e != 0) {
        ::unlink(path.c_str());
        err << "sqs2pg keygen: --out " << path << ": cannot write it: " << std::strerror(e)
            << " (removed)\n";
        return 1;
    }
    return 0;
}

} // namespace

namespace {

// Replaces `path` with `text` atomically: a new file (mode 0600) beside it, synced, then
// renamed over it. Returns the exit status (0, or 1 with a message).
int replace_key_file(const std::string& path, std::string_view text, std::ostream& err) {
    const std::string tmp = path + ".sqs2pg-new";
    ::unlink(tmp.c_str());
    if (const int status = write_new_key_file(tmp, text, err); status != 0)
        return 1;
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        err << "sqs2pg keygen: --out " << path << ": cannot replace it: " << std::strerror(e)
            << '\n';
        return 1;
    }
    return 0;
}

struct keygen_args {
    std::string kid;
    std::optional<std::string> out_file;
    std::optional<std::string> kms_key_id;
    std::optional<std::string> context;
    std::optional<std::string> region;
    bool add = false;
};

// keygen --kms-key-id: GenerateDataKey once, the new key sealed under it.
int keygen_kms(const keygen_args& a, const environment& env, std::ostream& err) {
    auto ctx = mask::parse_context(a.context.value_or(""));
    if (!ctx) {
        err << "sqs2pg keygen: --kms-encryption-context must be KEY=VALUE[,KEY=VALUE]\n";
        return 2;
    }
    const auto aws_env = aws_environment(env, a.region);
    auto dk = generate_data_key(*a.kms_key_id, *ctx, aws_env, std::nullopt);
    if (!dk) {
        err << "sqs2pg keygen: " << dk.error().message << '\n';
        return 1;
    }
    std::string material = base::random_bytes(mask::key_bytes);
    mask::envelope e;
    e.kms_key_id = dk->key_id.empty() ? *a.kms_key_id : dk->key_id;
    e.context = *ctx;
    e.wrapped_data_key = dk->ciphertext_blob;
    e.keys.push_back(mask::seal_key(a.kid, material, dk->plaintext, true));
    base::cleanse(material);
    base::cleanse(dk->plaintext);
    const int status = write_new_key_file(*a.out_file, mask::format_envelope(e), err);
    if (status != 0)
        return status;
    err << "sqs2pg keygen: new KMS keyring in " << *a.out_file << " with key '" << a.kid
        << "', sealed under a data key of " << e.kms_key_id
        << ". Opening it takes kms:Decrypt on that key";
    if (!e.context.empty())
        err << " with encryption context " << a.context.value_or("");
    err << ". Use it with --mask-key-file " << *a.out_file << ".\n";
    return 0;
}

// keygen --add: one more key in a KMS keyring, active; the old ones stay.
int keygen_add(const keygen_args& a, const environment& env, std::ostream& err) {
    auto text = mask::read_key_file(*a.out_file);
    if (!text) {
        err << "sqs2pg keygen: --add: " << text.error().message << '\n';
        return 2;
    }
    const bool envelope = mask::is_envelope_keyring(*text);
    auto e = envelope ? mask::parse_envelope(*text, *a.out_file)
                      : boost::system::result<mask::envelope, mask::load_error>(
                            mask::load_error{mask::errc::key_syntax, ""});
    base::cleanse(*text);
    if (!envelope) {
        err << "sqs2pg keygen: --add works on KMS keyrings (keygen --kms-key-id); for a plain "
               "key file append a key with sqs2pg keygen >> "
            << *a.out_file << " and move 'active' to it\n";
        return 2;
    }
    if (!e) {
        err << "sqs2pg keygen: " << e.error().message << '\n';
        return 2;
    }
    for (const auto& k : e->keys)
        if (k.id == a.kid) {
            err << "sqs2pg keygen: --kid " << a.kid << ": " << *a.out_file
                << " already has a key with that id\n";
            return 2;
        }
    const auto aws_env = aws_environment(env, a.region);
    auto data_key = unwrap_data_key(*e, *a.out_file, aws_env, std::nullopt);
    if (!data_key) {
        err << "sqs2pg keygen: " << data_key.error().message << '\n';
        return 1;
    }
    // The data key must open the existing keys: never add a key under a wrong one.
    auto check = mask::open_envelope(*e, *data_key, *a.out_file);
    if (!check) {
        base::cleanse(*data_key);
        err << "sqs2pg keygen: " << check.error().message << '\n';
        return 1;
    }
    std::string material = base::random_bytes(mask::key_bytes);
    for (auto& k : e->keys)
        k.active = false;
    e->keys.push_back(mask::seal_key(a.kid, material, *data_key, true));
    base::cleanse(material);
    base::cleanse(*data_key);
    if (const int status = replace_key_file(*a.out_file, mask::format_envelope(*e), err);
        status != 0)
        return status;
    err << "sqs2pg keygen: added key '" << a.kid << "' (active) to " << *a.out_file << "; its "
        << e->keys.size() - 1
        << " older key(s) stay to unmask old values. Restart the writers to use it.\n";
    return 0;
}

} // namespace

int run_keygen(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    return run_keygen(args, environment{}, out, err);
}

int run_keygen(std::span<const std::string_view> args, const environment& env, std::ostream& out,
               std::ostream& err) {
    keygen_args a;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--help" || args[i] == "-h") {
            out << keygen_usage;
            return 0;
        }
        if (args[i] == "--add") {
            a.add = true;
            continue;
        }
        std::optional<std::string>* slot = nullptr;
        std::string_view name = args[i];
        std::optional<std::string_view> inline_value;
        if (const auto eq = name.find('=');
            name.starts_with("--") && eq != std::string_view::npos) {
            inline_value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        if (name == "--kid") {
            if (inline_value) {
                a.kid = std::string(*inline_value);
                continue;
            }
            if (i + 1 < args.size()) {
                a.kid = std::string(args[++i]);
                continue;
            }
        }
        slot = name == "--out"                      ? &a.out_file
               : name == "--kms-key-id"             ? &a.kms_key_id
               : name == "--kms-encryption-context" ? &a.context
               : name == "--region"                 ? &a.region
                                                    : nullptr;
        if (slot != nullptr && (inline_value || i + 1 < args.size())) {
            *slot = std::string(inline_value ? *inline_value : args[++i]);
            continue;
        }
        err << "sqs2pg keygen: unexpected argument '" << args[i] << "'\n" << keygen_usage;
        return 2;
    }
    for (const auto* v : {&a.out_file, &a.kms_key_id, &a.context, &a.region})
        if (*v && (*v)->empty()) {
            err << "sqs2pg keygen: an option's value must not be empty\n";
            return 2;
        }
    if ((a.kms_key_id || a.add) && !a.out_file) {
        err << "sqs2pg keygen: " << (a.add ? "--add" : "--kms-key-id") << " needs --out FILE\n";
        return 2;
    }
    if (a.kms_key_id && a.add) {
        err << "sqs2pg keygen: --add uses the KMS key already in FILE: leave out --kms-key-id\n";
        return 2;
    }
    if (a.context && !a.kms_key_id) {
        err << "sqs2pg keygen: --kms-encryption-context goes with --kms-key-id\n";
        return 2;
    }
    if (a.kid.empty())
        a.kid = mask::random_key_id();
    if (!mask::valid_key_id(a.kid)) {
        err << "sqs2pg keygen: key id must be 1-" << mask::max_key_id_length
            << " characters of A-Z a-z 0-9 _ -\n";
        return 2;
    }
    if (a.kms_key_id)
        return keygen_kms(a, env, err);
    if (a.add)
        return keygen_add(a, env, err);
    const std::string& kid = a.kid;
    const std::optional<std::string>& out_file = a.out_file;
    std::string text = mask::generate_key_text(kid);
    if (out_file) {
        const int status = write_new_key_file(*out_file, text, err);
        base::cleanse(text);
        if (status != 0)
            return status;
        err << "sqs2pg keygen: new key '" << kid << "' in " << *out_file
            << " (mode 0600). Keep it secret and backed up: without it, values cannot be\n"
               "matched with later ones or unmasked. Use it with --mask-key-file "
            << *out_file << ".\n";
        return 0;
    }
    out << text << std::flush;
    base::cleanse(text);
    err << "sqs2pg keygen: new key '" << kid
        << "'. Keep it secret (chmod 600) and backed up: without it, values cannot be\n"
           "matched with later ones or unmasked. Use it with --mask-key-file FILE (write one "
           "with --out FILE) or SQS2PG_MASK_KEY.\n";
    return 0;
}

int run_unmask(std::span<const std::string_view> args, std::optional<std::string_view> env_key,
               std::istream& in, std::ostream& out, std::ostream& err) {
    environment env;
    if (env_key)
        env.vars.emplace("SQS2PG_MASK_KEY", std::string(*env_key));
    return run_unmask(args, env, in, out, err);
}

int run_unmask(std::span<const std::string_view> args, const environment& env, std::istream& in,
               std::ostream& out, std::ostream& err) {
    key_options source;
    if (auto k = env.get("SQS2PG_MASK_KEY"))
        source.env_value = std::string(*k);
    if (auto k = env.get("SQS2PG_MASK_KEY_SECRET"))
        source.secret_id = std::string(*k);
    std::vector<std::string_view> values;
    bool options_done = false;
    bool raw_output = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view a = args[i];
        if (!options_done && (a == "--help" || a == "-h")) {
            out << unmask_usage;
            return 0;
        }
        if (!options_done && a == "--") {
            options_done = true;
            continue;
        }
        if (!options_done && a == "--raw") {
            raw_output = true;
            continue;
        }
        if (!options_done && a == "--mask-key-file") {
            if (i + 1 == args.size()) {
                err << "sqs2pg unmask: --mask-key-file needs a path\n" << unmask_usage;
                return 2;
            }
            source.key_file = std::string(args[++i]);
            continue;
        }
        if (!options_done && a.starts_with("--mask-key-file=")) {
            source.key_file = std::string(a.substr(16));
            continue;
        }
        if (!options_done && (a == "--mask-key-secret" || a == "--region")) {
            if (i + 1 == args.size()) {
                err << "sqs2pg unmask: " << a << " needs a value\n" << unmask_usage;
                return 2;
            }
            (a == "--region" ? source.region : source.secret_id) = std::string(args[++i]);
            continue;
        }
        if (!options_done && a.starts_with("-")) {
            err << "sqs2pg unmask: unknown option '" << a << "'\n" << unmask_usage;
            return 2;
        }
        values.push_back(a);
    }

    // A file on the command line wins over a secret from the environment.
    if (source.key_file && source.secret_id && env.get("SQS2PG_MASK_KEY_SECRET") &&
        *env.get("SQS2PG_MASK_KEY_SECRET") == *source.secret_id)
        source.secret_id.reset();
    auto loaded = load_mask_keys(source, env);
    if (!loaded) {
        std::string m = loaded.error().message;
        if (m.starts_with("sqs2pg: "))
            m = m.substr(8);
        err << "sqs2pg unmask: " << m << '\n';
        return 2;
    }
    if (!*loaded) {
        err << "sqs2pg unmask: no keyring: pass --mask-key-file PATH or --mask-key-secret ARN, "
               "or set SQS2PG_MASK_KEY (the keys the values were masked with)\n";
        return 2;
    }
    const mask::unmasker unmasker(**loaded);

    bool all_ok = true;
    std::size_t number = 0;
    const auto one = [&](std::string_view raw) {
        ++number;
        const std::string_view value = mask::trim_ascii(raw);
        auto r = unmasker.unmask(value);
        if (r) {
            if (raw_output) {
                out << r->value << '\n';
            } else {
                std::string shown = escape_for_terminal(r->value, true);
                out << shown << '\n';
                base::cleanse(shown);
            }
            base::cleanse(r->value);
            return;
        }
        all_ok = false;
        out << '\n';
        err << "sqs2pg unmask: value " << number << ": " << r.error().message();
        if (r.error() == mask::errc::not_reversible)
            err << " (reversible modes: aes-siv, and ipcrypt or ipcrypt-pfx for ip)";
        else if (r.error() == mask::errc::key_unknown_id)
            err << " (the key '" << value.substr(0, value.find_first_of(":~"))
                << "' was removed from the keyring?)";
        err << '\n';
    };
    if (values.empty()) {
        std::string line;
        while (std::getline(in, line)) {
            if (mask::trim_ascii(line).empty())
                out << '\n'; // a NULL from `psql -At`: keep the lines aligned
            else
                one(line);
        }
    } else {
        for (std::string_view v : values)
            one(v);
    }
    out << std::flush;
    return all_ok ? 0 : 1;
}

} // namespace sqs2pg::app
