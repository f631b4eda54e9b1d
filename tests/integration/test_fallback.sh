#!/bin/bash
# Probe resistance (`fallback`): whoever reaches the server port without
# a valid client certificate sees the local web site and nothing else.
# TLS without a certificate (curl -k, openssl s_client) and plain HTTP get
# the page; 50 visitors at once get it and none of them shows up as a
# tunnel in `proxy-server status`; random bytes, a large upload and a
# large page hurt nothing; a certificate of another CA or a revoked one
# fails the handshake (no page, no tunnel); the visitors leave no
# descriptors behind; alice works throughout. Without `fallback`, TLS
# without a certificate is refused (certificate required).
. "$(dirname "$0")/../lib.sh"
need_cmd curl openssl
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

MARKER="fallback-site-$$-$RANDOM"

# ---- the fallback web site, and a file for alice on 127.0.0.2
mkdir -p "$TMP/site" "$TMP/files" || exit 1
printf '<html><body><p>%s</p></body></html>\n' "$MARKER" >"$TMP/site/index.html"
head -c $((256 << 10)) /dev/urandom >"$TMP/site/big.bin"
head -c $((1 << 20)) /dev/urandom >"$TMP/files/data.bin"
BIG_SUM=$(sha256sum <"$TMP/site/big.bin" | cut -d' ' -f1)
DATA_SUM=$(sha256sum <"$TMP/files/data.bin" | cut -d' ' -f1)
WEBPORT=$(free_port) && FP=$(free_port) || exit 1
check "fallback: web site on 127.0.0.1 ready" \
	http_serve web 127.0.0.1 "$WEBPORT" "$TMP/site" || exit 1
check "fallback: file server on 127.0.0.2 ready" \
	http_serve files 127.0.0.2 "$FP" "$TMP/files" || exit 1

export EXTRA_SERVER_CONF="fallback 127.0.0.1:$WEBPORT"	# read by start_pair
check "fallback: start server (with fallback) and client" start_pair || exit 1
SPID=$(pid_of server)
URL="https://127.0.0.1:$SERVER_PORT/"
HURL="http://127.0.0.1:$SERVER_PORT/"
OBS="$TMP/obs"

alice() {	# a 1 MiB file through the tunnel, hash checked
	local sum
	sum=$(timeout 25 curl -fsS --max-time 20 \
		--socks5-hostname "127.0.0.1:$SOCKS_PORT" \
		"http://127.0.0.2:$FP/data.bin" | sha256sum | cut -d' ' -f1)
	[ "$sum" = "$DATA_SUM" ] && return 0
	echo "sha256 $sum, expected $DATA_SUM"
	return 1
}
alice_retry() {	# the same, for up to 20 s (a tunnel coming up again)
	local end=$((SECONDS + 20))
	until alice >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$end" ] && { alice; return 1; }
		sleep 0.5
	done
}
page() {	# CURL_ARGS...: the fallback page comes back
	local out
	out=$(timeout 15 curl -sS --max-time 10 "$@" 2>&1)
	grep -qF "$MARKER" <<<"$out" && return 0
	echo "no marker in the answer to curl $*:"
	head -c 600 <<<"$out"
	return 1
}
no_page() {	# CURL_ARGS...: curl fails and nothing of the page comes back
	local out rc
	out=$(timeout 15 curl -sS --max-time 10 "$@" 2>&1)
	rc=$?
	echo "curl exit $rc: $(head -c 400 <<<"$out")"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ! grep -qF "$MARKER" <<<"$out"
}
server_alive() { kill -0 "$SPID"; }
# If a probe killed the server, report it and start it again (and the
# client, whose reconnect delay has grown meanwhile), so that the checks
# after it still say something of their own.
revive_server() {
	server_alive && return 0
	echo "# the server died; starting it (and the client) again for the checks that follow"
	stop client
	spawn server "$BUILD/proxy-server" -c "$SERVER_CONF" -v debug
	SPID=$(pid_of server)
	wait_tcp 127.0.0.1 "$SERVER_PORT" 10 || return 1
	spawn client "$BUILD/proxy-client" -c "$CLIENT_CONF" \
		--socks "127.0.0.1:$SOCKS_PORT" -v debug
	wait_tcp 127.0.0.1 "$SOCKS_PORT" 10 && alice_retry
}
loglines() { wc -l <"$(log_of server)"; }
status_users() {	# the USER column of `proxy-server status`, one a line
	if ! timeout 10 "$BUILD/proxy-server" status --control "$TMP/server.sock" \
		>"$TMP/status.txt" 2>&1 ||
		! "$PY" "$H/status_parse.py" server "$TMP/status.txt" >"$TMP/status.obs"; then
		cat "$TMP/status.txt"
		return 1
	fi
	sed -n 's/^client \([^ ]*\) .*/\1/p' "$TMP/status.obs"
}
only_alice() {	# status lists alice's tunnel and no other
	local users
	users=$(status_users) || return 1
	[ "$users" = alice ] && grep -qx 'connected=1' "$TMP/status.obs" &&
		return 0
	echo "status lists:"
	cat "$TMP/status.txt"
	return 1
}
only_alice_soon() { wait_for 5 only_alice >/dev/null 2>&1 || only_alice; }

check "fallback: alice works" alice_retry
check "fallback: status lists alice's tunnel only" only_alice
fds0=$(nfds "$SPID")

# ---- visitors without a client certificate
n=$(loglines)
check "fallback: HTTPS without a client certificate gets the site" page -k "$URL"
bad_request() {	# plain HTTP on the TLS port: 400, as from an HTTPS server
	local out
	out=$(timeout 15 curl -sS --max-time 10 -w '\ncode=%{http_code}' "$HURL" 2>&1)
	grep -qx 'code=400' <<<"$out" && grep -q 'Bad Request' <<<"$out" &&
		! grep -qF "$MARKER" <<<"$out" && return 0
	echo "answer to plain HTTP:"
	head -c 600 <<<"$out"
	return 1
}
check "fallback: plain HTTP at the server port gets 400, not the site" bad_request
check "fallback: server log says a visitor without certificate was shown the site" \
	logged_since "$n" 'connection from 127\.0\.0\.1:[0-9]+: no client certificate, relayed to the fallback site'
check "fallback: server log says a plain HTTP visitor was answered 400" \
	logged_since "$n" 'connection from 127\.0\.0\.1:[0-9]+: not TLS, answered 400'

s_client_get() {	# openssl s_client without certificate, then GET /
	printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' |
		timeout 15 openssl s_client -connect "127.0.0.1:$SERVER_PORT" \
			-servername 127.0.0.1 -CAfile "$PKI/ca.crt" -ign_eof \
			>"$TMP/s_client.out" 2>&1
	echo "s_client exit $?"
}
s_client_get
check "fallback: s_client without certificate: TLS 1.3 handshake" \
	grep -qE '^New, TLSv1\.3, Cipher is ' "$TMP/s_client.out"
check "fallback: s_client without certificate: server certificate verifies (our CA)" \
	grep -qE 'Verify return code: 0 \(ok\)' "$TMP/s_client.out"
check "fallback: s_client without certificate: no alert" \
	lacks '.*alert' "$TMP/s_client.out"
check "fallback: s_client without certificate: GET / returns the page" \
	grep -qF "$MARKER" "$TMP/s_client.out"
check "fallback: alice works after the visitors" alice
check "fallback: no visitor listed as a tunnel" only_alice_soon

# ---- certificates that are not good enough: no page, no tunnel
pem() {	# PROFILE TAG: the PEM block between <TAG> and </TAG>
	awk -v t="$2" '$0 == "<" t ">" { p = 1; next } $0 == "</" t ">" { p = 0 } p' "$1"
}
"$BUILD/proxy-server" init "$TMP/pki2" --server-name 127.0.0.1 >"$TMP/pki2.log" 2>&1 &&
	"$BUILD/proxy-server" add-client "$TMP/pki2" mallory \
		--server "127.0.0.1:$SERVER_PORT" >>"$TMP/pki2.log" 2>&1
check "fallback: a second, unrelated PKI with client mallory" \
	test -s "$TMP/pki2/clients/mallory.conf" || cat "$TMP/pki2.log"
pem "$TMP/pki2/clients/mallory.conf" cert >"$TMP/mallory.crt"
pem "$TMP/pki2/clients/mallory.conf" key >"$TMP/mallory.key"
chmod 600 "$TMP/mallory.key"
n=$(loglines)
check "fallback: certificate of another CA: handshake fails, no page" \
	no_page -k --cert "$TMP/mallory.crt" --key "$TMP/mallory.key" "$URL"
check "fallback: server log shows the other CA's certificate refused" \
	logged_since "$n" 'connection from 127\.0\.0\.1:[0-9]+ refused: .*certificate verify failed'
not_shown_since() {	# LINE: nobody was shown the site after line LINE
	! log_since "$1" | grep "relayed to the fallback site"
}
check "fallback: the other CA's visitor was not shown the site" not_shown_since "$n"

# mallory's own client, trusting our CA (so it accepts our server): only
# the server's check of the client certificate stands in the way.
awk -v ca="$PKI/ca.crt" '
	/^[[:space:]]*<ca>/ { print; while ((getline l < ca) > 0) print l; skip = 1; next }
	/^[[:space:]]*<\/ca>/ { skip = 0 }
	!skip { print }' "$TMP/pki2/clients/mallory.conf" >"$TMP/mallory-ourca.conf"
chmod 600 "$TMP/mallory-ourca.conf"
# Refused, the client answers a SOCKS request once its connect-timeout has
# run out (the default 10 s is longer than no_flow's curl waits): 2 s.
echo "connect-timeout 2s" >>"$TMP/mallory-ourca.conf"
M1=$(free_port) || exit 1
spawn mallory "$BUILD/proxy-client" -c "$TMP/mallory-ourca.conf" \
	--socks "127.0.0.1:$M1" -v debug
# until mallory has been turned away once (10 s at most)
wait_for 10 grep -q 'tunnel: cannot connect' "$(log_of mallory)"
no_flow() {	# SOCKS_PORT: no working flow there (bounded)
	! timeout 10 curl -fsS --max-time 5 --socks5-hostname "127.0.0.1:$1" \
		"http://127.0.0.2:$FP/data.bin" -o /dev/null
}
check "fallback: client of another CA gets no working flow" no_flow "$M1"
check "fallback: client of another CA is not listed as a tunnel" only_alice_soon
stop mallory

"$BUILD/proxy-server" add-client "$PKI" bob --server "127.0.0.1:$SERVER_PORT" \
	>"$TMP/bob.log" 2>&1 && "$BUILD/proxy-server" revoke "$PKI" bob >>"$TMP/bob.log" 2>&1
check "fallback: add and revoke client bob" grep -q revoked "$TMP/bob.log" ||
	cat "$TMP/bob.log"
pem "$PKI/clients/bob.conf" cert >"$TMP/bob.crt"
pem "$PKI/clients/bob.conf" key >"$TMP/bob.key"
chmod 600 "$TMP/bob.key"
n=$(loglines)
check "fallback: revoked certificate: handshake fails, no page" \
	no_page -k --cert "$TMP/bob.crt" --key "$TMP/bob.key" "$URL"
check "fallback: server log shows the revoked certificate refused" \
	logged_since "$n" 'refused: .*certificate revoked'
check "fallback: alice works after the refused certificates" alice

# ---- 50 visitors at once (25 TLS without certificate, held; 25 plain HTTP,
# answered 400 as they come),
# held at the site while the server's status and descriptors are looked at
rm -f "$TMP/go"
spawn visitors timeout 60 "$PY" "$H/fallback_visitors.py" 127.0.0.1 \
	"$SERVER_PORT" 50 "$MARKER" "$TMP/go" 30
check "fallback: 50 visitors connected (TLS done / 400 read)" \
	wait_for 20 grep -q '^ready' "$(log_of visitors)"
check "fallback: status lists no visitor while 50 are at the site" only_alice_soon
fds_held=$(nfds "$SPID")
echo "# server descriptors: $fds0 before, $fds_held with 50 visitors at the site"
check "fallback: alice works while 50 visitors are at the site" alice
touch "$TMP/go"
check "fallback: the 50 visitors finished" \
	wait_for 30 grep -q '^errors=' "$(log_of visitors)"
sed 's/^/# visitors: /' "$(log_of visitors)"
check "fallback: the 25 plain HTTP visitors got 400" \
	grep -q ' bad_request=25$' "$(log_of visitors)"
check "fallback: all 25 TLS visitors got the page" \
	has pages=25 "$(log_of visitors)"
check "fallback: no visitor failed" has errors=0 "$(log_of visitors)"
check "fallback: status lists no visitor after them" only_alice
fds_back() {	# the visitors left no descriptors behind
	local end=$((SECONDS + 10)) n
	while :; do
		n=$(nfds "$SPID")
		[ "$n" -le $((fds0 + 2)) ] && return 0
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.5
	done
	echo "server descriptors: $fds0 before, $n after the visitors left"
	ls -l "/proc/$SPID/fd"
	return 1
}
check "fallback: server descriptors back where they were (no leak)" fds_back
check "fallback: alice works after the 50 visitors" alice

# ---- hostile or bulky input (each may kill a buggy server: it is started
# again afterwards so that the next check stands on its own)
timeout 20 "$PY" "$H/garbage_conn.py" 127.0.0.1 "$SERVER_PORT" random $((64 << 10)) \
	>"$OBS" 2>&1
sed 's/^/# 64 KiB random: /' "$OBS"
check "fallback: 64 KiB of random bytes: the site answers or the connection closes" \
	grep -qE '^closed_after=' "$OBS"
check "fallback: server alive after 64 KiB of random bytes" server_alive
check "fallback: alice works after 64 KiB of random bytes" alice
revive_server

head -c $((64 << 10)) /dev/urandom >"$TMP/upload.bin"
upload() {	# a 64 KiB POST over TLS without certificate: the site's answer
	local out
	out=$(timeout 15 curl -sS -k --max-time 10 -o /dev/null -w '%{http_code}' \
		--data-binary @"$TMP/upload.bin" "$URL" 2>&1)
	echo "HTTP status: $out"
	# Python's test server answers 501 to a POST and closes without
	# reading the body; the kernel may then reset the connection before
	# that answer is read, which a visitor sees as an empty reply, a
	# receive error, or, while it is still sending, a broken pipe. All
	# are what the site did; a hang or a dead server is the failure.
	[[ $out =~ ^[1-5][0-9][0-9]$ ]] || [[ $out == *"(52)"* ]] ||
		[[ $out == *"(55)"* ]] || [[ $out == *"(56)"* ]]
}
check "fallback: 64 KiB POST over TLS without certificate gets the site's answer" upload
check "fallback: server alive after a 64 KiB POST" server_alive
revive_server

big() {	# URL CURL_ARGS...: the 256 KiB file of the site, intact
	local sum
	sum=$(timeout 15 curl -sS --max-time 10 "${@:2}" "$1" | sha256sum | cut -d' ' -f1)
	[ "$sum" = "$BIG_SUM" ] && return 0
	echo "sha256 $sum, expected $BIG_SUM"
	return 1
}
check "fallback: a 256 KiB page over HTTPS without certificate arrives intact" \
	big "${URL}big.bin" -k
check "fallback: server alive after a 256 KiB page over HTTPS" server_alive
revive_server

check "fallback: alice works at the end" alice
check "fallback: status lists alice's tunnel only at the end" only_alice_soon
check "fallback: server log is printable text (no garbage bytes)" printable_log server

# ---- the same server without `fallback`: a certificate is required
SP2=$(free_port) || exit 1
grep -vE '^[[:space:]]*(fallback|listen|control)([[:space:]]|$)' "$SERVER_CONF" \
	>"$PKI/nofallback.conf"	# next to server.conf: relative paths
{ echo "listen 127.0.0.1:$SP2"; echo "control $TMP/server2.sock"; } >>"$PKI/nofallback.conf"
chmod 600 "$PKI/nofallback.conf"
spawn server2 "$BUILD/proxy-server" -c "$PKI/nofallback.conf" -v debug
check "fallback: a second server without fallback ready" wait_tcp 127.0.0.1 "$SP2" 10
required() {	# TLS without certificate: refused, certificate required
	local out rc
	out=$(timeout 15 curl -sS -k --max-time 10 "https://127.0.0.1:$SP2/" 2>&1)
	rc=$?
	echo "curl exit $rc: $(head -c 400 <<<"$out")"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && ! grep -qF "$MARKER" <<<"$out" &&
		grep -qi 'certificate required' <<<"$out"
}
check "fallback: without fallback, HTTPS without certificate fails (certificate required)" \
	required
check "fallback: without fallback, plain HTTP gets no page" \
	no_page "http://127.0.0.1:$SP2/"
check "fallback: without fallback, the server log shows the refusal" \
	grep -qE 'connection from 127\.0\.0\.1:[0-9]+ refused: ' "$(log_of server2)"
check "fallback: without fallback, nobody was shown a site" \
	lacks '.*relayed to the fallback site' "$(log_of server2)"
check "fallback: second server still running" kill -0 "$(pid_of server2)"
