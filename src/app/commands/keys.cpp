// keygen and unmask: thin shells over mask::generate_key_text and mask::unmasker.
#include <sqs2pg/app/commands/keys.hpp>
#include <sqs2pg/app/commands/rejects.hpp>
#include <sqs2pg/base/crypto.hpp>
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
    "Makes a new 32-byte masking key, a keyring line 'ID HEX active'.\n"
    "  --kid ID    key id (1-16 of A-Z a-z 0-9 _ -); default: k + 6 random hex digits\n"
    "  --out FILE  create FILE, readable by you only (mode 0600) from the start, and\n"
    "              write the key there; an existing FILE is never overwritten.\n"
    "              Without --out the key goes to standard output (e.g. for\n"
    "              SQS2PG_MASK_KEY).\n"
    "First key:  sqs2pg keygen --out mask.keys\n"
    "Rotation:   sqs2pg keygen >> mask.keys, then remove 'active' from the old key's line\n"
    "            (keep the old line: aes-siv values and sealed bodies made with it stay "
    "readable)\n"
    "Exit status: 0 done; 1 writing FILE failed; 2 bad usage, or FILE exists or cannot\n"
    "be created.\n";

constexpr std::string_view unmask_usage =
    "usage: sqs2pg unmask [--mask-key-file PATH] [--raw] [VALUE...]\n"
    "Prints the original of each reversible masked value, one per line: aes-siv\n"
    "(KID:BASE64URL), ipcrypt-pfx (KID:ADDRESS) and ipcrypt (KID~ADDRESS); the format\n"
    "says which. Without VALUEs, reads one value per line from standard input.\n"
    "The keyring comes from --mask-key-file or SQS2PG_MASK_KEY; it must still hold the key\n"
    "named by each value. hmac-sha256 and sha256 values cannot be unmasked: they are\n"
    "one-way by design.\n"
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

int run_keygen(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    std::string kid;
    std::optional<std::string> out_file;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--help" || args[i] == "-h") {
            out << keygen_usage;
            return 0;
        }
        if (args[i] == "--kid" && i + 1 < args.size()) {
            kid = std::string(args[++i]);
            continue;
        }
        if (args[i] == "--out" && i + 1 < args.size()) {
            out_file = std::string(args[++i]);
            continue;
        }
        if (args[i].starts_with("--out=")) {
            out_file = std::string(args[i].substr(6));
            continue;
        }
        err << "sqs2pg keygen: unexpected argument '" << args[i] << "'\n" << keygen_usage;
        return 2;
    }
    if (out_file && out_file->empty()) {
        err << "sqs2pg keygen: --out: must not be empty\n";
        return 2;
    }
    if (kid.empty())
        kid = mask::random_key_id();
    if (!mask::valid_key_id(kid)) {
        err << "sqs2pg keygen: key id must be 1-" << mask::max_key_id_length
            << " characters of A-Z a-z 0-9 _ -\n";
        return 2;
    }
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
    mask::key_source source;
    if (env_key)
        source.env_value = std::string(*env_key);
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
        if (!options_done && a.starts_with("-")) {
            err << "sqs2pg unmask: unknown option '" << a << "'\n" << unmask_usage;
            return 2;
        }
        values.push_back(a);
    }

    auto loaded = mask::load_keyring(source);
    if (!loaded) {
        err << "sqs2pg unmask: " << loaded.error().message << '\n';
        return 2;
    }
    if (!*loaded) {
        err << "sqs2pg unmask: no keyring: pass --mask-key-file PATH or set SQS2PG_MASK_KEY "
               "(the keys the values were masked with)\n";
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
