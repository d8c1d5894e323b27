#!/bin/sh
# The key subcommands through the real binary: `sqs2pg keygen` writes a usable keyring,
# `sqs2pg unmask` reads it (file and environment) and explains why an hmac value cannot
# be unmasked, with the documented exit statuses.
set -eu
sqs2pg=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$sqs2pg" keygen --kid cli1 >"$dir/keys" 2>"$dir/err" || fail "keygen exit status"
grep -q '^cli1 [0-9a-f]\{64\} active$' "$dir/keys" || fail "keygen output: $(cat "$dir/keys")"
chmod 600 "$dir/keys"

hmac=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
status=0
"$sqs2pg" unmask --mask-key-file "$dir/keys" "$hmac" >"$dir/out" 2>"$dir/err" || status=$?
[ "$status" = 1 ] || fail "unmask of an hmac value: status $status"
grep -q 'cannot be unmasked' "$dir/err" || fail "unmask message: $(cat "$dir/err")"

status=0
SQS2PG_MASK_KEY="$(grep -v '^#' "$dir/keys")" "$sqs2pg" unmask </dev/null >"$dir/out" 2>"$dir/err" ||
    status=$?
[ "$status" = 0 ] || fail "unmask with SQS2PG_MASK_KEY and empty stdin: status $status $(cat "$dir/err")"

status=0
env -u SQS2PG_MASK_KEY "$sqs2pg" unmask "$hmac" >"$dir/out" 2>"$dir/err" || status=$?
[ "$status" = 2 ] || fail "unmask without keys: status $status"
grep -q 'SQS2PG_MASK_KEY' "$dir/err" || fail "no-keyring message"
echo "cli key commands ok"
