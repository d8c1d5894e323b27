// The key subcommands: `sqs2pg keygen` (a new keyring line) and `sqs2pg unmask`
// (reversible values - aes-siv, ipcrypt, ipcrypt-pfx - back to their originals, for key
// holders).
#pragma once

#include <sqs2pg/app/options.hpp>

#include <iosfwd>
#include <optional>
#include <span>
#include <string_view>

namespace sqs2pg::app {

/// `sqs2pg keygen [--kid ID] [--out FILE]`: makes a new key (comment line + `ID HEX
/// active`) and writes it to FILE, created with O_EXCL and mode 0600, or without --out to
/// `out`; hints to `err`. `args` are the words after "keygen". Returns the exit status:
/// 0; 2 for a usage error or a FILE that exists or cannot be created; 1 if writing FILE
/// failed (it is removed).
int run_keygen(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

/// run_keygen with the process environment, for the KMS keyrings: `--kms-key-id KEY --out
/// FILE [--kms-encryption-context K=V,...]` (one KMS GenerateDataKey) and `--add --out FILE`
/// (one KMS Decrypt; a new active key; FILE replaced atomically). 1 when KMS refused.
int run_keygen(std::span<const std::string_view> args, const environment& env, std::ostream& out,
               std::ostream& err);

/// `sqs2pg unmask [--mask-key-file PATH] [VALUE...]`: prints the original of each reversible
/// VALUE (aes-siv, ipcrypt, ipcrypt-pfx), one per line; without VALUEs it reads values from `in`,
/// one per line (a blank line gives a blank line), so a column can be piped through. A value that
/// cannot be unmasked prints an empty line (keeping lines aligned) and a reason on `err`. The
/// keyring comes from --mask-key-file, else `env_key` (the SQS2PG_MASK_KEY value, nullopt if
/// unset). Returns 0 when every value was unmasked, 1 when some were not, 2 for usage or keyring
/// errors.
int run_unmask(std::span<const std::string_view> args, std::optional<std::string_view> env_key,
               std::istream& in, std::ostream& out, std::ostream& err);

/// run_unmask with the process environment: SQS2PG_MASK_KEY, SQS2PG_MASK_KEY_SECRET and the
/// AWS variables for KMS keyrings (--mask-key-file) and secrets (--mask-key-secret ARN).
int run_unmask(std::span<const std::string_view> args, const environment& env, std::istream& in,
               std::ostream& out, std::ostream& err);

} // namespace sqs2pg::app
