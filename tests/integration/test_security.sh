#!/bin/bash
# Who may use the tunnel and what it may reach: a client of another CA is
# refused (and logged) while alice keeps working; a revoked client is
# refused from its next connection on; garbage, plain HTTP, a TLS hello
# without a certificate and a silent connection at the server port hurt
# nothing; a certified peer breaking the protocol gets GOAWAY 1 and is
# closed; the server's own loopback is off limits (SOCKS reply 0x02,
# nothing reaches the listener); bad configs and an open SOCKS port on a
# non-loopback address are refused.
. "$(dirname "$0")/../lib.sh"
need_cmd curl openssl
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

# A rejected handshake in a server log: a TLS/certificate word next to a
# failure word.
REJECT_RE='(handshake|certificate|cert|tls|ssl|verif|revoked|alert).*(fail|reject|refus|error|alert|denied|invalid|unknown|revoked|bad)|(fail|reject|refus|error|denied|invalid).*(handshake|certificate|tls|ssl|verif)'

DNS_PORT=
if command -v dnsmasq >/dev/null 2>&1; then
	DNS_PORT=$(free_port) || exit 1
	spawn dnsmasq dnsmasq -k --conf-file=/dev/null --port="$DNS_PORT" \
		--listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
		--address=/loopback.example/127.0.0.1 --address=/nosuch.example/ \
		--user=root \
		--pid-file="$TMP/dnsmasq.pid" --log-facility=-
	check "security: dnsmasq up" wait_tcp 127.0.0.1 "$DNS_PORT" 10 || exit 1
fi
EXTRA_SERVER_CONF="handshake-timeout 3s"
[ -n "$DNS_PORT" ] && EXTRA_SERVER_CONF="$EXTRA_SERVER_CONF
dns 127.0.0.1:$DNS_PORT"
check "security: start server and client" start_pair || exit 1
SPID=$(pid_of server)

mkdir -p "$TMP/www" && echo hello >"$TMP/www/hello"
HP=$(free_port) || exit 1
check "security: http server ready" http_serve www 127.0.0.2 "$HP" "$TMP/www" || exit 1

fetch_via() {	# SOCKS_PORT: fetch hello through that SOCKS port (bounded)
	timeout 15 curl -fsS --max-time 10 --socks5-hostname "127.0.0.1:$1" \
		"http://127.0.0.2:$HP/hello" | grep -qx hello
}
fetch_retry() {	# SOCKS_PORT: the same, retried for up to 10 s (tunnel coming up)
	local end=$((SECONDS + 10))
	until fetch_via "$1"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.5
	done
}
no_flow() {	# SOCKS_PORT: no working flow there (bounded: 5 s is plenty)
	! timeout 10 curl -fsS --max-time 5 --socks5-hostname "127.0.0.1:$1" \
		"http://127.0.0.2:$HP/hello"
}
alice() { fetch_via "$SOCKS_PORT"; }
check "security: alice works" alice

server_log_lines() { wc -l <"$(log_of server)"; }
# server_logged_reject FROM_LINE: a rejected handshake logged after FROM_LINE
server_logged_reject() {
	tail -n +"$(($1 + 1))" "$(log_of server)" | grep -iqE "$REJECT_RE" && return 0
	echo "no rejected-handshake line in the server log since line $1:"
	tail -n +"$(($1 + 1))" "$(log_of server)" | tail -n 15
	return 1
}
# tried_since FROM_LINE: waits (10 s at most) until the client just
# started has tried its tunnel and the server has turned it away, so
# that the no_flow after it tests a refused client, not one still
# connecting. The checks after it say whether it came.
tried_since() {
	wait_for 10 server_logged_reject "$1" >/dev/null
}

# ---- (a) a client certificate from another CA
"$BUILD/proxy-server" init "$TMP/pki2" --server-name 127.0.0.1 >"$TMP/pki2.log" 2>&1 &&
	"$BUILD/proxy-server" add-client "$TMP/pki2" mallory \
		--server "127.0.0.1:$SERVER_PORT" >>"$TMP/pki2.log" 2>&1
check "security: a second, unrelated PKI with client mallory" \
	test -s "$TMP/pki2/clients/mallory.conf" || cat "$TMP/pki2.log"

# The clients turned away below answer a SOCKS request when their
# connect-timeout runs out (the default 10 s is longer than no_flow's
# curl waits): 2 s, so that no_flow sees that answer.
refused_profile() {	# CONF: CONF with connect-timeout 2s
	echo "connect-timeout 2s" >>"$1"
}
# mallory as made: trusts the other CA only.
M1=$(free_port) || exit 1
n=$(server_log_lines)
refused_profile "$TMP/pki2/clients/mallory.conf"
spawn mallory "$BUILD/proxy-client" -c "$TMP/pki2/clients/mallory.conf" \
	--socks "127.0.0.1:$M1" -v debug
tried_since "$n"
check "security: client of another CA gets no working flow" no_flow "$M1"
check "security: server log shows the handshake with the other CA's client failing" \
	server_logged_reject "$n"
stop mallory

# mallory trusting OUR CA (so it accepts our server) with its foreign
# certificate: only the server's client verification stands in the way.
awk -v ca="$PKI/ca.crt" '
	/^[[:space:]]*<ca>/ { print; while ((getline l < ca) > 0) print l; skip = 1; next }
	/^[[:space:]]*<\/ca>/ { skip = 0 }
	!skip { print }' "$TMP/pki2/clients/mallory.conf" >"$TMP/mallory-ourca.conf"
chmod 600 "$TMP/mallory-ourca.conf"
chmod 600 "$TMP/mallory-ourca.conf"
M2=$(free_port) || exit 1
n=$(server_log_lines)
spawn mallory2 "$BUILD/proxy-client" -c "$TMP/mallory-ourca.conf" \
	--socks "127.0.0.1:$M2" -v debug
tried_since "$n"
check "security: foreign client certificate (our CA trusted) gets no working flow" \
	no_flow "$M2"
check "security: server log shows the foreign client certificate rejected" server_logged_reject "$n"
check "security: alice still works while mallory retries" alice
stop mallory2
check "security: server still running after foreign clients" kill -0 "$SPID"

# ---- (b) revocation
"$BUILD/proxy-server" add-client "$PKI" bob --server "127.0.0.1:$SERVER_PORT" >"$TMP/bob.log" 2>&1
check "security: add-client bob" test -s "$PKI/clients/bob.conf" || cat "$TMP/bob.log"
B1=$(free_port) && B2=$(free_port) || exit 1
spawn bob "$BUILD/proxy-client" -c "$PKI/clients/bob.conf" --socks "127.0.0.1:$B1" -v debug
check "security: bob works before revocation" fetch_retry "$B1"
check "security: revoke bob" "$BUILD/proxy-server" revoke "$PKI" bob
stop bob
n=$(server_log_lines)
cp "$PKI/clients/bob.conf" "$TMP/bob2.conf" && chmod 600 "$TMP/bob2.conf"
refused_profile "$TMP/bob2.conf"
spawn bob2 "$BUILD/proxy-client" -c "$TMP/bob2.conf" --socks "127.0.0.1:$B2" -v debug
tried_since "$n"
check "security: a new connection of revoked bob gets no working flow" no_flow "$B2"
check "security: server log shows bob's handshake refused" server_logged_reject "$n"
check "security: alice still works after bob's revocation" alice
stop bob2

# ---- (c) unwelcome input at the server port
fds0=$(nfds "$SPID")
OBS="$TMP/obs"
# A connection that sends nothing: alice is served meanwhile, and (below,
# after the other input, which runs while it waits) the server drops it.
spawn silent timeout 20 "$PY" "$H/garbage_conn.py" 127.0.0.1 "$SERVER_PORT" silent 12
wait_for 5 grep -q '^connected' "$(log_of silent)"
check "security: alice works while a silent connection is open" alice
timeout 20 "$PY" "$H/garbage_conn.py" 127.0.0.1 "$SERVER_PORT" random $((1 << 20)) >"$OBS" 2>&1
sed 's/^/# 1 MiB random: /' "$OBS"
check "security: 1 MiB of random bytes: server closes the connection" \
	grep -q '^closed_after=' "$OBS"
check "security: server alive after 1 MiB of random bytes" kill -0 "$SPID"
check "security: alice works after 1 MiB of random bytes" alice

timeout 20 "$PY" "$H/garbage_conn.py" 127.0.0.1 "$SERVER_PORT" http >"$OBS" 2>&1
sed 's/^/# plain HTTP: /' "$OBS"
check "security: plain HTTP request: server closes the connection" \
	grep -q '^closed_after=' "$OBS"
check "security: server alive after a plain HTTP request" kill -0 "$SPID"
check "security: alice works after a plain HTTP request" alice

timeout 20 openssl s_client -connect "127.0.0.1:$SERVER_PORT" -servername 127.0.0.1 \
	</dev/null >"$TMP/s_client.log" 2>&1
rc=$?
echo "# openssl s_client without a client certificate exited $rc"
check "security: TLS hello without a client certificate ends (no hang)" test "$rc" -ne 124
check "security: server alive after a TLS hello without certificate" kill -0 "$SPID"
check "security: alice works after a TLS hello without certificate" alice

# A connection that sends nothing (opened above): the server drops it
# after first-byte-timeout (5 s; handshake-timeout, 3 s here, counts
# from the first byte on).
wait_for 15 grep -qE '^(closed|open)_after' "$(log_of silent)"
sed 's/^/# silent: /' "$(log_of silent)"
dropped() {
	local t
	t=$(sed -n 's/^closed_after=\([0-9]*\).*/\1/p' "$(log_of silent)")
	[ -n "$t" ] && [ "$t" -ge 4 ] && [ "$t" -lt 9 ]
}
check "security: silent connection dropped after first-byte-timeout (5 s, within 4..9 s)" dropped
check "security: server alive after a silent connection" kill -0 "$SPID"
check "security: alice works after a silent connection" alice

# A peer with a valid certificate that breaks the protocol gets GOAWAY 1
# (protocol error), one of another version GOAWAY 2, one that says
# goodbye GOAWAY 0; then the server closes (docs/PROTOCOL.md section 12).
# The server's HELLO announces reasons (0x01), whatever else it announces
# (the datagram path 0x02, resume 0x04).
peer_goaway() {	# MODE CODE: tunnel_peer.py MODE sees GOAWAY CODE, then the close
	local out flags
	out=$(timeout 20 "$PY" "$H/tunnel_peer.py" 127.0.0.1 "$SERVER_PORT" \
		"$CLIENT_CONF" "$1" 2>&1)
	echo "$out"
	flags=$(sed -n 's/^hello flags=\([0-9]*\)$/\1/p' <<<"$out")
	[ -n "$flags" ] && (((flags & 1) == 1)) &&
		grep -qx "goaway=$2" <<<"$out" &&
		! grep -v -x "goaway=$2" <<<"$out" | grep -q '^goaway=' &&
		grep -qx closed <<<"$out"
}
for m in bad-frame:1 no-hello:1 second-hello:1 id-in-use:1 version:2 goaway:0; do
	check "security: certified peer, ${m%:*}: server sends GOAWAY ${m#*:} and closes" \
		peer_goaway "${m%:*}" "${m#*:}"
done

# A refusal's reason (docs/PROTOCOL.md 6.1) goes only to a peer whose
# HELLO asked for it: a client from before reasons would read it as an
# address, and that is a protocol error.
peer_result() {	# MODE HEX: tunnel_peer.py MODE gets RESULT HEX, no GOAWAY
	local out
	out=$(timeout 20 "$PY" "$H/tunnel_peer.py" 127.0.0.1 "$SERVER_PORT" \
		"$CLIENT_CONF" "$1" 2>&1)
	echo "$out"
	grep -qx "result=$2" <<<"$out" && ! grep -q '^goaway=' <<<"$out" &&
		grep -qx open <<<"$out"
}
check "security: a peer without HELLO flag 0x01 gets RESULT 02 alone" \
	peer_result old-open 02
check "security: a peer with HELLO flag 0x01 gets RESULT 02 and reason 1 (policy)" \
	peer_result open 020001
if [ -n "$DNS_PORT" ]; then
	check "security: ... and for a name that does not exist, RESULT 04 and reason 3" \
		peer_result open-noname 040003
fi
check "security: server alive after the protocol errors" kill -0 "$SPID"
check "security: alice works after the protocol errors" alice

fds_back() {	# the failed handshakes left no descriptors behind
	local end=$((SECONDS + 5)) n
	while :; do
		n=$(nfds "$SPID")
		[ "$n" -le $((fds0 + 2)) ] && return 0
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.5
	done
	echo "server descriptors: $fds0 before, $n after"
	return 1
}
check "security: server holds no descriptors for the rejected connections" fds_back

# ---- (d) the server's own loopback is not a destination
LP=$(free_port) || exit 1
spawn listener "$PY" "$H/tcp_echo.py" 127.0.0.1 "$LP" --log-accepts
check "security: listener on 127.0.0.1 ready" ready listener
timeout 20 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" 127.0.0.1 "$LP" >"$OBS" 2>&1
check "security: CONNECT 127.0.0.1 (server loopback) gets reply 0x02" has rep=02 "$OBS"
L3=$(free_port) || exit 1
spawn listener3 "$PY" "$H/tcp_echo.py" 127.0.0.3 "$L3" --log-accepts
check "security: listener on 127.0.0.3 ready" ready listener3
timeout 20 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" 127.0.0.3 "$L3" >"$OBS" 2>&1
check "security: CONNECT 127.0.0.3 (loopback, not allowed) gets reply 0x02" has rep=02 "$OBS"
if [ -n "$DNS_PORT" ]; then
	timeout 20 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" loopback.example "$LP" >"$OBS" 2>&1
	check "security: CONNECT to a name resolving to 127.0.0.1 gets reply 0x02" has rep=02 "$OBS"
else
	skip "security: CONNECT to a name resolving to 127.0.0.1" "dnsmasq missing"
fi
check "security: no connection reached the 127.0.0.1 listener" \
	lacks accept "$(log_of listener)"
check "security: no connection reached the 127.0.0.3 listener" \
	lacks accept "$(log_of listener3)"
UL=$(free_port) || exit 1
spawn uecho "$PY" "$H/udp_echo.py" 127.0.0.1 "$UL"
check "security: UDP echo on 127.0.0.1 ready" ready uecho
# Its wait for an answer (2 s) runs while the configs below are checked;
# it is judged after them.
timeout 20 "$PY" "$H/udp_socks.py" once "$SOCKS_PORT" 127.0.0.1 "$UL" >"$TMP/udp.obs" 2>&1 &
UDP_PROBE=$!

# ---- (e) bad configs, and no open proxy on a non-loopback address
t_bad() {	# BINARY CONF LINE: -t fails and names CONF:LINE
	local out rc
	out=$("$BUILD/$1" -c "$2" -t 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" -ne 0 ] && grep -qF "$(basename "$2"):$3" <<<"$out"
}
check "security: proxy-server -t accepts the good config" \
	timeout 10 "$BUILD/proxy-server" -c "$SERVER_CONF" -t
check "security: proxy-client -t accepts the good profile" \
	timeout 10 "$BUILD/proxy-client" -c "$CLIENT_CONF" -t
cp "$SERVER_CONF" "$PKI/bad-server.conf"
echo "frobnicate 1" >>"$PKI/bad-server.conf"
check "security: server -t with an unknown directive fails naming file:line" \
	t_bad proxy-server "$PKI/bad-server.conf" "$(wc -l <"$PKI/bad-server.conf")"
{ echo "# a comment"; echo "keepalive often never"; cat "$SERVER_CONF"; } >"$PKI/bad-value.conf"
check "security: server -t with a bad value fails naming file:line" \
	t_bad proxy-server "$PKI/bad-value.conf" 2
{ echo "frobnicate 1"; cat "$CLIENT_CONF"; } >"$TMP/bad-client.conf"
chmod 600 "$TMP/bad-client.conf"
check "security: client -t with an unknown directive fails naming file:line" \
	t_bad proxy-client "$TMP/bad-client.conf" 1

# What only starting would find out, -t finds out as well: a file that is
# not what its directive wants (named by its line), a user or group that
# does not exist, a key that does not fit the certificate, a CRL another
# CA signed; and starting with such a config fails the same way.
"$BUILD/proxy-server" init "$TMP/pki2" --server-name 127.0.0.1 >/dev/null 2>&1
echo "not a PEM file" >"$PKI/garbage.pem"
chmod 600 "$PKI/garbage.pem"
line_of() {	# DIRECTIVE: its line in the server config
	grep -nE "^$1[[:space:]]" "$SERVER_CONF" | cut -d: -f1
}
variant() {	# NAME DIRECTIVE VALUE: $PKI/NAME.conf with DIRECTIVE set to VALUE
	sed -E "s|^$2[[:space:]].*|$2 $3|" "$SERVER_CONF" >"$PKI/$1.conf" &&
		chmod 600 "$PKI/$1.conf"
}
t_says() {	# BINARY CONF ERE: -t fails with a message matching ERE
	local out rc
	out=$(timeout 10 "$BUILD/$1" -c "$2" -t 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" -eq 1 ] && grep -qE -- "$3" <<<"$out"
}
start_says() {	# BINARY CONF ERE: starting exits by itself, saying ERE
	local out rc
	out=$(timeout 10 "$BUILD/$1" -c "$2" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -qE -- "$3" <<<"$out"
}
for d in ca cert key; do
	variant "garbage-$d" "$d" garbage.pem
	check "security: server -t with a $d file that holds no PEM names file:line" \
		t_bad proxy-server "$PKI/garbage-$d.conf" "$(line_of "$d")"
done
variant garbage-crl crl garbage.pem
check "security: server -t with a CRL file that holds no CRL names file:line" \
	t_bad proxy-server "$PKI/garbage-crl.conf" "$(line_of crl)"
variant missing-crl crl no-such-crl.pem
check "security: server -t with a missing CRL file names file:line and the file" \
	t_says proxy-server "$PKI/missing-crl.conf" \
	"missing-crl.conf:$(line_of crl): .*no-such-crl.pem: No such file"
{ cat "$SERVER_CONF"; echo "user no-such-user-here"; } >"$PKI/nouser.conf"
chmod 600 "$PKI/nouser.conf"
check "security: server -t with a user that does not exist names file:line" \
	t_bad proxy-server "$PKI/nouser.conf" "$(wc -l <"$PKI/nouser.conf")"
{ cat "$SERVER_CONF"; echo "group no-such-group-here"; } >"$PKI/nogroup.conf"
chmod 600 "$PKI/nogroup.conf"
check "security: server -t with a group that does not exist names file:line" \
	t_bad proxy-server "$PKI/nogroup.conf" "$(wc -l <"$PKI/nogroup.conf")"
cp "$TMP/pki2/server.key" "$PKI/other.key" && chmod 600 "$PKI/other.key"
variant other-key key other.key
check "security: server -t with a key that does not fit the certificate fails" \
	t_says proxy-server "$PKI/other-key.conf" "other-key.conf: key: does not match"
check "security: starting with that key fails with the same message" \
	start_says proxy-server "$PKI/other-key.conf" "key: does not match"
cp "$TMP/pki2/crl.pem" "$PKI/other-crl.pem"
variant other-crl crl other-crl.pem
check "security: server -t with a CRL another CA signed fails" \
	t_says proxy-server "$PKI/other-crl.conf" "crl: not signed by the configured CA"
"$PY" - "$CLIENT_CONF" "$TMP/garbage-key-client.conf" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(
    re.sub(r"<key>.*?</key>", "<key>\nnot a key\n</key>", text, flags=re.S))
PYEOF
chmod 600 "$TMP/garbage-key-client.conf"
check "security: client -t with an inline <key> that holds no key names file:line" \
	t_bad proxy-client "$TMP/garbage-key-client.conf" \
	"$(grep -n '^<key>' "$TMP/garbage-key-client.conf" | cut -d: -f1)"

OPEN=$(free_port) || exit 1
{ echo "socks 0.0.0.0:$OPEN"; grep -vE '^[[:space:]]*socks[[:space:]]' "$CLIENT_CONF"; } >"$TMP/open.conf"
chmod 600 "$TMP/open.conf"	# it holds alice's key
refuses() {	# CMD...: exits by itself, non-zero, with a message about it
	local out rc
	out=$(timeout 5 "$@" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -qiE 'socks-user|socks-allow|auth' <<<"$out"
}
check "security: socks 0.0.0.0 without socks-user/socks-allow: client refuses to start" \
	refuses "$BUILD/proxy-client" -c "$TMP/open.conf"
check "security: --socks 0.0.0.0 on the command line: client refuses to start" \
	refuses "$BUILD/proxy-client" -c "$CLIENT_CONF" --socks "0.0.0.0:$OPEN"
{ echo "socks 0.0.0.0:$OPEN"; echo "socks-allow 127.0.0.0/8"
  echo "control $TMP/allow.sock"
  grep -vE '^[[:space:]]*(socks|control)[[:space:]]' "$CLIENT_CONF"; } >"$TMP/allow.conf"
chmod 600 "$TMP/allow.conf"
spawn allowclient "$BUILD/proxy-client" -c "$TMP/allow.conf" -v debug
check "security: socks 0.0.0.0 with socks-allow 127.0.0.0/8 starts and serves 127.0.0.1" \
	fetch_retry "$OPEN"

wait "$UDP_PROBE"
check "security: UDP datagram to 127.0.0.1 (server loopback) gets no answer" has reply=no "$TMP/udp.obs"

check "security: server still running at the end" kill -0 "$SPID"
check "security: client still running at the end" kill -0 "$(pid_of client)"
check "security: server log is printable text (no garbage bytes)" printable_log server
check "security: client log is printable text (no garbage bytes)" printable_log client
