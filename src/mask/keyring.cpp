// Keyring text format, key file loading (owner-only files only) and key generation.
#include <sqs2pg/base/crypto.hpp>
#include <sqs2pg/base/encoding.hpp>
#include <sqs2pg/mask/envelope.hpp>
#include <sqs2pg/mask/keyring.hpp>
#include <sqs2pg/ops/log.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace sqs2pg::mask {
namespace {

constexpr std::size_t max_key_file_size = 64 * 1024;

constexpr bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

bool is_hex_text(std::string_view s) noexcept {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    return true;
}

// The 32 bytes spelled by `text` (64 hex digits, else base64 in either alphabet).
std::optional<std::string> decode_key(std::string_view text) {
    std::optional<std::string> bytes;
    if (text.size() == 2 * key_bytes && is_hex_text(text))
        bytes = base::from_hex(text);
    else
        bytes = base::from_base64(text);
    if (bytes && bytes->size() != key_bytes) {
        base::cleanse(*bytes);
        bytes.reset();
    }
    return bytes;
}

bool all_bytes_equal(std::string_view s) noexcept {
    for (char c : s)
        if (c != s.front())
            return false;
    return true;
}

boost::system::result<keyring, load_error> fail(errc code, std::string message) {
    return load_error{code, std::move(message)};
}

struct token_list {
    std::array<std::string_view, 4> items{};
    std::size_t count = 0;
};

token_list split_tokens(std::string_view line) {
    token_list out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_blank(line[i]))
            ++i;
        const std::size_t start = i;
        while (i < line.size() && !is_blank(line[i]))
            ++i;
        if (i > start) {
            if (out.count == out.items.size())
                return {{}, out.items.size() + 1}; // too many: the caller only needs to know
            out.items[out.count++] = line.substr(start, i - start);
        }
    }
    return out;
}

// `path` as one shell word: as it is when that is safe, else in single quotes.
std::string shell_word(std::string_view path) {
    const bool plain = !path.empty() && std::all_of(path.begin(), path.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("_-./+,:@%=").find(c) != std::string_view::npos;
    });
    if (plain)
        return std::string(path);
    std::string out = "'";
    for (char c : path) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    out += '\'';
    return out;
}

// Why a key file with this mode is refused, and the command that fixes it.
std::string permission_problem(const std::string& path, mode_t mode) {
    const char* what = (mode & (S_IRGRP | S_IROTH)) != 0   ? "readable by"
                       : (mode & (S_IWGRP | S_IWOTH)) != 0 ? "writable by"
                                                           : "accessible to";
    return fmt::format("--mask-key-file {}: {} group or others (mode {:04o}); run chmod 600 {}",
                       path, what, mode & 07777, shell_word(path));
}

std::string utc_now_text() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

} // namespace

master_key::master_key(std::string id, std::string material)
    : id_(std::move(id))
    , material_(std::move(material)) {
    // Never swapped out, never in a core dump; wiped by the destructor.
    (void)base::protect_secret_memory(material_.data(), material_.size());
}

master_key::~master_key() {
    base::cleanse(material_);
}

keyring::keyring(std::vector<master_key> keys, std::size_t active)
    : keys_(std::move(keys))
    , active_(active) {
    if (active_ >= keys_.size())
        throw std::invalid_argument("keyring: active key index out of range");
}

const master_key* keyring::find(std::string_view id) const noexcept {
    for (const auto& k : keys_)
        if (k.id() == id)
            return &k;
    return nullptr;
}

bool valid_key_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > max_key_id_length)
        return false;
    for (char c : id)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-'))
            return false;
    return true;
}

boost::system::result<keyring, load_error> parse_keyring(std::string_view text,
                                                         std::string_view origin) {
    if (is_envelope_keyring(text))
        return fail(errc::key_syntax,
                    fmt::format("{}: a KMS keyring (format 2): its keys are sealed under an AWS "
                                "KMS data key and open only through KMS; pass the file with "
                                "--mask-key-file",
                                origin));
    std::vector<master_key> keys;
    std::vector<std::size_t> active_lines;
    std::size_t active = 0;
    std::size_t line_no = 0;
    // Comments end at the end of the physical line, so they are cut before ';' splits
    // a line into entries (a comment may contain ';').
    std::string_view line;
    std::string_view rest_of_line;
    while (!text.empty() || !rest_of_line.empty()) {
        if (rest_of_line.empty()) {
            const std::size_t nl = text.find('\n');
            rest_of_line = text.substr(0, nl);
            text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
            ++line_no;
            if (const std::size_t hash = rest_of_line.find('#'); hash != std::string_view::npos)
                rest_of_line = rest_of_line.substr(0, hash);
            if (rest_of_line.empty())
                continue;
        }
        const std::size_t semi = rest_of_line.find(';');
        line = rest_of_line.substr(0, semi);
        rest_of_line =
            semi == std::string_view::npos ? std::string_view() : rest_of_line.substr(semi + 1);
        const token_list t = split_tokens(line);
        if (t.count == 0)
            continue;
        const std::string where = fmt::format("{} line {}", origin, line_no);
        if (t.count > 3 || t.count < 2 || (t.count == 3 && t.items[2] != "active"))
            return fail(errc::key_syntax,
                        fmt::format("{}: expected 'KEY_ID KEY' or 'KEY_ID KEY active'", where));
        const std::string_view id = t.items[0];
        if (!valid_key_id(id))
            return fail(errc::key_invalid_id,
                        fmt::format("{}: key id must be 1-{} characters of A-Z a-z 0-9 _ -", where,
                                    max_key_id_length));
        if (std::any_of(keys.begin(), keys.end(), [&](const auto& k) { return k.id() == id; }))
            return fail(errc::key_duplicate_id,
                        fmt::format("{}: key id '{}' is used twice", where, id));
        auto material = decode_key(t.items[1]);
        if (!material)
            return fail(errc::key_invalid_material,
                        fmt::format("{}: the key of '{}' is not 32 bytes as 64 hex digits or "
                                    "base64 (make one with: sqs2pg keygen)",
                                    where, id));
        if (all_bytes_equal(*material)) {
            base::cleanse(*material);
            return fail(errc::key_invalid_material,
                        fmt::format("{}: the key of '{}' repeats one byte: a placeholder, not a "
                                    "key (make one with: sqs2pg keygen)",
                                    where, id));
        }
        if (t.count == 3) {
            active = keys.size();
            active_lines.push_back(line_no);
        }
        keys.emplace_back(std::string(id), std::move(*material));
    }
    if (keys.empty())
        return fail(errc::key_syntax,
                    fmt::format("{}: no key (expected lines 'KEY_ID KEY [active]'; make one "
                                "with: sqs2pg keygen)",
                                origin));
    if (active_lines.size() > 1)
        return fail(errc::key_several_active,
                    fmt::format("{}: lines {} and {} are both marked active; keep 'active' on "
                                "the one key that masks new values",
                                origin, active_lines[0], active_lines[1]));
    if (active_lines.empty() && keys.size() > 1)
        return fail(errc::key_no_active,
                    fmt::format("{}: {} keys and none marked active; add 'active' after the "
                                "key that masks new values",
                                origin, keys.size()));
    return keyring(std::move(keys), active);
}

boost::system::result<std::string, load_error> read_key_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return load_error{errc::key_file_unreadable, fmt::format("cannot open mask key file {}: {}",
                                                                 path, std::strerror(errno))};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<std::size_t>(st.st_size) > max_key_file_size) {
        ::close(fd);
        return load_error{errc::key_file_unreadable,
                          fmt::format("mask key file {} is not a regular file of at most {} bytes",
                                      path, max_key_file_size)};
    }
    // Like ssh with a private key: a key others may read (or replace) is refused, before
    // a byte of it is read.
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        ::close(fd);
        return load_error{errc::key_file_permissions, permission_problem(path, st.st_mode)};
    }
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += static_cast<std::size_t>(n);
    }
    const int read_errno = errno;
    ::close(fd);
    if (got != text.size()) {
        base::cleanse(text);
        return load_error{errc::key_file_unreadable, fmt::format("cannot read mask key file {}: {}",
                                                                 path, std::strerror(read_errno))};
    }
    (void)base::protect_secret_memory(text.data(), text.size());
    return text;
}

boost::system::result<keyring, load_error> load_keyring_file(const std::string& path) {
    auto text = read_key_file(path);
    if (!text)
        return text.error();
    auto parsed = parse_keyring(*text, path);
    base::cleanse(*text);
    return parsed;
}

boost::system::result<std::optional<keyring>, load_error> load_keyring(const key_source& source) {
    if (source.key_file) {
        if (source.env_value)
            ops::log(ops::level::info, "mask_key_env_ignored",
                     {{"reason", "--mask-key-file is set and wins over SQS2PG_MASK_KEY"}});
        auto kr = load_keyring_file(*source.key_file);
        if (!kr)
            return kr.error();
        return std::optional<keyring>(std::move(*kr));
    }
    if (source.env_value) {
        auto kr = parse_keyring(*source.env_value, "SQS2PG_MASK_KEY");
        if (!kr)
            return kr.error();
        return std::optional<keyring>(std::move(*kr));
    }
    return std::optional<keyring>();
}

std::string no_key_message() {
    return "sqs2pg: no masking key.\n"
           "sqs2pg masks ip and device_id with a secret key (mode hmac-sha256 by default) and "
           "none was given.\n"
           "Create a key once and keep it private:\n"
           "    sqs2pg keygen --out mask.keys\n"
           "then pass it with --mask-key-file mask.keys, or put its key line in the "
           "environment:\n"
           "    export SQS2PG_MASK_KEY=\"$(grep -v '^#' mask.keys)\"\n"
           "Keep the key: the same key gives the same masked values, and aes-siv values can "
           "be unmasked only with it.\n"
           "To write unkeyed SHA-256 hashes like the original script instead (anyone can "
           "reverse them by hashing all 2^32 IPv4 addresses), choose --mask sha256 "
           "explicitly.\n";
}

std::string random_key_id() {
    return "k" + base::to_hex(base::random_bytes(3));
}

std::string generate_key_text(std::string_view id) {
    if (!valid_key_id(id))
        throw std::invalid_argument(
            fmt::format("key id must be 1-{} characters of A-Z a-z 0-9 _ -", max_key_id_length));
    std::string key = base::random_bytes(key_bytes);
    std::string hex = base::to_hex(key);
    base::cleanse(key);
    // Built in one reserved buffer: no reallocation leaves stray copies of the key behind.
    const std::string comment = fmt::format(
        "# sqs2pg mask key {}, created {} by sqs2pg keygen, keep it secret (chmod 600)\n", id,
        utc_now_text());
    std::string out;
    out.reserve(comment.size() + id.size() + hex.size() + 16);
    out.append(comment).append(id).append(" ").append(hex).append(" active\n");
    base::cleanse(hex);
    return out;
}

} // namespace sqs2pg::mask
