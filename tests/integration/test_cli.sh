#!/bin/bash
# Usage errors on every command line: exit status 2, and the message names
# the whole command ("proxy-client rules: unrecognized option ..."), for
# the daemons and for each subcommand (status, rules, init, add-client,
# revoke); status without -c or --control is one too. Nothing here needs
# a running daemon, root or the network.
. "$(dirname "$0")/../lib.sh"
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

OUT=$TMP/usage.out
# usage_error PROG ARGS...: PROG ARGS exits 2 by itself; output in $OUT
usage_error() {
	local rc
	timeout 10 "$BUILD/$1" "${@:2}" >"$OUT" 2>&1
	rc=$?
	echo "exit $rc:"
	cat "$OUT"
	[ "$rc" -eq 2 ]
}
# says TEXT: $OUT has TEXT somewhere
says() {
	grep -qF -- "$1" "$OUT" && return 0
	echo "no '$1' in:"
	cat "$OUT"
	return 1
}

for prog in proxy-client proxy-server; do
	check "cli: $prog --bogus: exit 2" usage_error $prog --bogus
	check "cli: $prog --bogus: named" says "$prog: unrecognized option '--bogus'"
	check "cli: $prog without -c: exit 2" usage_error $prog
	check "cli: $prog status without -c or --control: exit 2" \
		usage_error $prog status
	check "cli: $prog status with a stray argument: exit 2" \
		usage_error $prog status --control "$TMP/missing.sock" stray
	check "cli: $prog status with a stray argument: named" \
		says "$prog status: unexpected 'stray'"
	check "cli: $prog status --bogus: exit 2" usage_error $prog status --bogus
	check "cli: $prog status --bogus: the usage is shown" says "usage: $prog status"
	check "cli: $prog status --bogus: names the whole command" \
		says "$prog status: unrecognized option '--bogus'"
done
check "cli: proxy-client rules --bogus: exit 2" usage_error proxy-client rules --nft --bogus
check "cli: proxy-client rules --bogus: names the whole command" \
	says "proxy-client rules: unrecognized option '--bogus'"
check "cli: proxy-server init --bogus: exit 2" usage_error proxy-server init "$TMP/d" --bogus
check "cli: proxy-server init --bogus: names the whole command" \
	says "proxy-server init: unrecognized option '--bogus'"
check "cli: proxy-server init --bogus: wrote nothing" test ! -e "$TMP/d"
check "cli: proxy-server init without a folder: exit 2" usage_error proxy-server init
check "cli: proxy-server init without a folder: said" says "proxy-server init: which folder?"
check "cli: proxy-server add-client with one argument: exit 2" \
	usage_error proxy-server add-client "$TMP/d"
check "cli: proxy-server add-client with one argument: said" \
	says "proxy-server add-client: need DIR and NAME"
check "cli: proxy-server add-client --days: exit 2" \
	usage_error proxy-server add-client "$TMP/d" bob --days
check "cli: proxy-server add-client --days: names the whole command" \
	says "proxy-server add-client: option '--days' requires an argument"
check "cli: proxy-server revoke with one argument: exit 2" \
	usage_error proxy-server revoke "$TMP/d"
check "cli: proxy-server frobnicate: exit 2" usage_error proxy-server frobnicate
check "cli: proxy-server frobnicate: named" says "proxy-server: unknown command 'frobnicate'"
