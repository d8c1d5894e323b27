#!/bin/sh
# The key subcommands through the real binary: `sqs2pg keygen --out` writes a usable
# keyring that only its owner can read (and never overwrites one), `sqs2pg unmask` reads
# it (file and environment), refuses a key file others can read, and explains why an hmac
# value cannot be unmasked, with the documented exit statuses.
set -eu
sqs2pg=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A umask that would leave a redirected file readable by everyone.
status=0
(umask 022 && "$sqs2pg" keygen --kid cli1 --out "$dir/keys" >"$dir/out" 2>"$dir/err") || status=$?
[ "$status" = 0 ] || fail "keygen --out exit status $status: $(cat "$dir/err")"
[ ! -s "$dir/out" ] || fail "keygen --out printed the key on stdout"
[ "$(stat -c %a "$dir/keys")" = 600 ] || fail "keygen --out mode $(stat -c %a "$dir/keys")"
grep -q '^cli1 [0-9a-f]\{64\} active$' "$dir/keys" || fail "keygen output: $(cat "$dir/keys")"

cp "$dir/keys" "$dir/keys.before"
status=0
"$sqs2pg" keygen --out "$dir/keys" >"$dir/out" 2>"$dir/err" || status=$?
[ "$status" = 2 ] || fail "keygen --out over an existing file: status $status"
grep -q "$dir/keys" "$dir/err" || fail "keygen --out over an existing file: $(cat "$dir/err")"
cmp -s "$dir/keys" "$dir/keys.before" || fail "keygen --out changed an existing key file"

# Without --out the key goes to stdout (for SQS2PG_MASK_KEY).
"$sqs2pg" keygen --kid cli2 >"$dir/stdout-key" 2>"$dir/err" || fail "keygen to stdout"
grep -q '^cli2 [0-9a-f]\{64\} active$' "$dir/stdout-key" || fail "keygen stdout: $(cat "$dir/stdout-key")"

hmac=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
status=0
"$sqs2pg" unmask --mask-key-file "$dir/keys" "$hmac" >"$dir/out" 2>"$dir/err" || status=$?
[ "$status" = 1 ] || fail "unmask of an hmac value: status $status"
grep -q 'cannot be unmasked' "$dir/err" || fail "unmask message: $(cat "$dir/err")"

chmod 644 "$dir/keys"
status=0
"$sqs2pg" unmask --mask-key-file "$dir/keys" "$hmac" >"$dir/out" 2>"$dir/err" || status=$?
[ "$status" = 2 ] || fail "unmask with a key file others can read: status $status"
[ "$(wc -l <"$dir/err")" = 1 ] || fail "unmask refusal is not one line: $(cat "$dir/err")"
grep -q "readable by group or others (mode 0644); run chmod 600 $dir/keys" "$dir/err" ||
    fail "unmask refusal message: $(cat "$dir/err")"
chmod 600 "$dir/keys"

status=0
SQS2PG_MASK_KEY="$(grep -v '^#' "$dir/keys")" "$sqs2pg" unmask </dev/null >"$dir/out" 2>"$dir/err" ||
    status=$?
[ "$status" = 0 ] || fail "unmask with SQS2PG_MASK_KEY and empty stdin: status $status $(cat "$dir/err")"

status=0
env -u SQS2PG_MASK_KEY "$sqs2pg" unmask "$hmac" >"$dir/out" 2>"$dir/err" || status=$?
[ "$status" = 2 ] || fail "unmask without keys: status $status"
grep -q 'SQS2PG_MASK_KEY' "$dir/err" || fail "no-keyring message"
echo "cli key commands ok"
