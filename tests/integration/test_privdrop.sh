#!/bin/bash
# A server started as root with "user nobody" / "group nogroup", on the
# layout `proxy-server init` makes: it runs as nobody, bob revoked while
# it runs is refused from his next connection on (the list re-read as
# nobody, not "Permission denied") while alice keeps working; a CRL that
# cannot be read later keeps the list in force; after SIGTERM neither the
# status socket (in a folder only root may write) nor any helper process
# is left. A server whose CRL nobody cannot read refuses to start,
# naming the config line, for an unsearchable folder and for a 0600 file.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd curl openssl
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null ||
	{ skip "$_LIB_SCRIPT" "no user nobody or group nogroup"; exit 0; }
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

# nobody must reach the PKI inside $TMP (mktemp made it 0700), and must
# not be able to write there: the status socket sits in $TMP itself.
chmod 711 "$TMP"
# LeakSanitizer cannot inspect a process that changed its user.
[ "${PROXY_ASAN:-0}" = 1 ] && export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"

EXTRA_SERVER_CONF="user nobody
group nogroup"
check "privdrop: start server (user nobody) and client" start_pair || exit 1
SPID=$(pid_of server)
SOCK="$TMP/server.sock"
check "privdrop: the server runs as nobody" \
	test "$(ps -o user= -p "$SPID" | tr -d ' ')" = nobody
check "privdrop: init made the PKI folder searchable, not listable" \
	test "$(stat -c %a "$PKI")" = 711
check "privdrop: the keys stay 0600" \
	test "$(stat -c %a "$PKI/ca.key" "$PKI/server.key" | sort -u)" = 600

mkdir -p "$TMP/www" && echo hello >"$TMP/www/hello"
HP=$(free_port) || exit 1
check "privdrop: http server ready" http_serve www 127.0.0.2 "$HP" "$TMP/www" ||
	exit 1

fetch_via() {	# SOCKS_PORT: fetch hello through that SOCKS port (bounded)
	timeout 15 curl -fsS --max-time 10 --socks5-hostname "127.0.0.1:$1" \
		"http://127.0.0.2:$HP/hello" | grep -qx hello
}
fetch_retry() {	# SOCKS_PORT: the same, retried for up to 10 s
	wait_for 10 fetch_via "$1"
}
no_flow() {	# SOCKS_PORT: no working flow there
	! timeout 10 curl -fsS --max-time 5 --socks5-hostname "127.0.0.1:$1" \
		"http://127.0.0.2:$HP/hello"
}
alice() { fetch_via "$SOCKS_PORT"; }
not() { ! "$@"; }
slog() { log_of server; }
not_logged_since() {	# LINE ERE: the server did not log ERE after LINE
	! log_since "$1" | grep -E -- "$2"
}

check "privdrop: alice works" alice
check "privdrop: status answers (root asks the dropped server)" \
	"$BUILD/proxy-server" status --control "$SOCK"

# ---- revocation while running as nobody
"$BUILD/proxy-server" add-client "$PKI" bob --server "127.0.0.1:$SERVER_PORT" \
	>"$TMP/bob.log" 2>&1
check "privdrop: add-client bob" test -s "$PKI/clients/bob.conf" ||
	cat "$TMP/bob.log"
B1=$(free_port) && B2=$(free_port) && B3=$(free_port) || exit 1
spawn bob "$BUILD/proxy-client" -c "$PKI/clients/bob.conf" \
	--socks "127.0.0.1:$B1" -v debug
check "privdrop: bob works before revocation" fetch_retry "$B1"
n=$(wc -l <"$(slog)")
check "privdrop: revoke bob (as root)" "$BUILD/proxy-server" revoke "$PKI" bob
check "privdrop: crl.pem stays readable for nobody" \
	test "$(stat -c %a "$PKI/crl.pem")" = 644
kill -HUP "$SPID"
check "privdrop: SIGHUP: the list is re-read as nobody" \
	wait_for 5 logged_since "$n" 'revocation list reloaded'
check "privdrop: bob's open tunnel is cut" \
	wait_for 5 logged_since "$n" 'bob.*certificate revoked, disconnecting'
check "privdrop: no 'Permission denied' on the CRL" \
	not_logged_since "$n" 'crl.*Permission denied'
stop bob
# bob refused from here on: his client answers a SOCKS request once its
# connect-timeout has run out (the default 10 s is longer than no_flow's
# curl waits), so 2 s; and no_flow waits until he has been turned away.
{ cat "$PKI/clients/bob.conf" && echo "connect-timeout 2s"; } >"$TMP/bob-refused.conf" &&
	chmod 600 "$TMP/bob-refused.conf"
turned_away() {	# NAME: the client NAME has logged a failed attempt (10 s at most)
	wait_for 10 grep -q 'tunnel: cannot connect' "$(log_of "$1")"
}
spawn bob2 "$BUILD/proxy-client" -c "$TMP/bob-refused.conf" \
	--socks "127.0.0.1:$B2" -v debug
turned_away bob2
check "privdrop: a new connection of revoked bob gets no working flow" \
	no_flow "$B2"
check "privdrop: alice still works after bob's revocation" alice
stop bob2

# ---- a CRL that became unreadable: the list in force stays
n=$(wc -l <"$(slog)")
cp -p "$PKI/crl.pem" "$PKI/crl.keep"
install -m 600 "$PKI/crl.keep" "$PKI/crl.pem.new" &&
	mv -f "$PKI/crl.pem.new" "$PKI/crl.pem"
spawn bob3 "$BUILD/proxy-client" -c "$TMP/bob-refused.conf" \
	--socks "127.0.0.1:$B3" -v debug
turned_away bob3
wait_for 10 logged_since "$n" 'crl.*Permission denied.*keeping the previous list' >/dev/null
check "privdrop: unreadable CRL: the server says so and keeps its list" \
	logged_since "$n" 'crl.*Permission denied.*keeping the previous list'
check "privdrop: unreadable CRL: bob is still refused" no_flow "$B3"
check "privdrop: unreadable CRL: alice still works" alice
stop bob3
mv -f "$PKI/crl.keep" "$PKI/crl.pem"

# ---- SIGTERM: nothing left behind
check "privdrop: the status socket exists while running" test -S "$SOCK"
stop server
check "privdrop: after SIGTERM the status socket is gone" \
	wait_for 3 test ! -e "$SOCK"
check "privdrop: no proxy-server process of this config is left" \
	wait_for 3 not pgrep -f -- "-c $SERVER_CONF"
stop client

# ---- a CRL nobody cannot read: refused at start
starts_not() {	# CONF: the server exits non-zero, naming the crl line
	local out="$TMP/refused.log" rc line
	timeout 10 "$BUILD/proxy-server" -c "$1" >"$out" 2>&1
	rc=$?
	cat "$out"
	line=$(grep -n '^crl ' "$1" | cut -d: -f1)
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] &&
		grep -qE -- "$1:$line: crl: .*crl\.pem: Permission denied.*nobody" \
			"$out" && ! grep -q ' ready' "$out"
}
P2="$TMP/pki2"
SP2=$(free_port) || exit 1
"$BUILD/proxy-server" init "$P2" --server-name 127.0.0.1 >"$TMP/init2.log" 2>&1
check "privdrop: second PKI" test -s "$P2/crl.pem" || cat "$TMP/init2.log"
sed -i "s/^listen .*/listen 127.0.0.1:$SP2/" "$P2/server.conf"
printf 'user nobody\ngroup nogroup\ncontrol %s\n' "$TMP/refused.sock" \
	>>"$P2/server.conf"
chmod 700 "$P2"
check "privdrop: CRL folder 0700: the server refuses to start" \
	starts_not "$P2/server.conf"
chmod 711 "$P2" && chmod 600 "$P2/crl.pem"
check "privdrop: crl.pem 0600: the server refuses to start" \
	starts_not "$P2/server.conf"
chmod 644 "$P2/crl.pem"
spawn server2 "$BUILD/proxy-server" -c "$P2/server.conf"
check "privdrop: with the layout init makes it starts" \
	wait_tcp 127.0.0.1 "$SP2" 10
stop server2
check "privdrop: no socket left by the second server" \
	wait_for 3 test ! -e "$TMP/refused.sock"
