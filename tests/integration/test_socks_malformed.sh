#!/bin/bash
# Malformed and oddly split SOCKS5 input against the client: each gets a
# clean close or an error reply, the client survives all of them and still
# serves curl; a handshake split byte by byte and one pipelined in a single
# write both work. Username/password (RFC 1929): right, wrong, not offered.
. "$(dirname "$0")/../lib.sh"
need_cmd curl
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

check "socks: start server and client" start_pair || exit 1
EP=$(free_port) || exit 1
spawn echo "$PY" "$H/tcp_echo.py" 127.0.0.2 "$EP"
check "socks: echo server ready" ready echo || exit 1
mkdir -p "$TMP/www" && echo hello >"$TMP/www/hello"
HP=$(free_port) || exit 1
check "socks: http server ready" http_serve www 127.0.0.2 "$HP" "$TMP/www" || exit 1

OBS="$TMP/obs"
mal() {	# SCENARIO ARGS...: run the helper against the client, output in $OBS
	timeout 20 "$PY" "$H/socks_malformed.py" "$SOCKS_PORT" "$@" >"$OBS" 2>&1
	sed "s/^/# $1: /" "$OBS"
}

mal raw 040100507f00000100
check "socks: SOCKS4 request (version 04) is closed" has closed=yes "$OBS"
check "socks: SOCKS4 request gets no success reply" \
	lacks 'data=(5a|005a|0500)' "$OBS"

mal raw 0500
check "socks: greeting with zero methods: 05 ff or nothing, then closed" \
	matches 'data=(05ff)?' "$OBS"
check "socks: greeting with zero methods is closed" has closed=yes "$OBS"

mal raw 050200 --shutdown
check "socks: truncated greeting then EOF is closed" has closed=yes "$OBS"
check "socks: truncated greeting gets no reply" has data= "$OBS"

mal raw 05010005010005000000000050
check "socks: unknown ATYP 0x05 gets reply 0x08" matches 'data=0500050800.*' "$OBS"

mal raw 05010005010003000050
check "socks: empty domain name: an error reply or nothing, then closed" \
	matches 'data=0500(05(0[1-8])00.*)?' "$OBS"
check "socks: empty domain name is closed" has closed=yes "$OBS"

mal raw 050100050200017f0000020050
check "socks: BIND gets reply 0x07 (command not supported)" \
	matches 'data=0500050700.*' "$OBS"

mal garbage 65536
check "socks: 64 KiB of garbage is closed" has closed=yes "$OBS"
mal garbage 65536 --after-greeting
check "socks: 64 KiB of garbage after a greeting is closed" has closed=yes "$OBS"
check "socks: 64 KiB of garbage after a greeting gets no success reply" \
	lacks 'data=05000500' "$OBS"

mal bytewise 127.0.0.2 "$EP"
check "socks: greeting and CONNECT sent byte by byte: reply 00" has rep=00 "$OBS"
check "socks: byte-by-byte handshake then data is echoed" has echo=ok "$OBS"

mal pipelined 127.0.0.2 "$EP"
check "socks: greeting+CONNECT+payload in one write: reply 00" has rep=00 "$OBS"
check "socks: pipelined payload is echoed" has echo=ok "$OBS"
# more than the handshake buffer takes: part goes with the OPEN, the rest
# is read from the socket after it, in order
mal pipelined 127.0.0.2 "$EP" 3000
check "socks: pipelined 3000 bytes: reply 00" has rep=00 "$OBS"
check "socks: pipelined 3000 bytes are echoed in order" has echo=ok "$OBS"

check "socks: client still running after the malformed input" kill -0 "$(pid_of client)"
hello_via_client() {
	timeout 20 curl -fsS --max-time 15 --socks5-hostname "127.0.0.1:$SOCKS_PORT" \
		"http://127.0.0.2:$HP/hello" | grep -qx hello
}
check "socks: curl still works through the client" hello_via_client

# ---- username/password on a second client process
AP=$(free_port) || exit 1
AUTH_CONF="$TMP/auth.conf"
{
	echo "socks 127.0.0.1:$AP"
	echo 'socks-user u1 "p w"'
	echo "control $TMP/auth.sock"	# the first client has its own
	grep -vE '^[[:space:]]*(socks|control)[[:space:]]' "$CLIENT_CONF"
} >"$AUTH_CONF"
chmod 600 "$AUTH_CONF"
spawn authclient "$BUILD/proxy-client" -c "$AUTH_CONF" -v debug
check "socks: client with socks-user listens" wait_tcp 127.0.0.1 "$AP" 10 || exit 1

curl_auth() {	# USERINFO: fetch hello through the auth client
	timeout 20 curl -fsS --max-time 15 -x "socks5h://$1@127.0.0.1:$AP" \
		"http://127.0.0.2:$HP/hello" | grep -qx hello
}
# The tunnel of the new client may take a moment to come up.
curl_auth_retry() {
	local end=$((SECONDS + 10))
	until curl_auth "$1"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.5
	done
}
check "socks: curl with the right user and password (\"p w\") works" curl_auth_retry 'u1:p%20w'
wrong_password_fails() { ! curl_auth "u1:wrong"; }
check "socks: curl with a wrong password fails" wrong_password_fails

timeout 20 "$PY" "$H/socks_connect.py" 127.0.0.1 "$AP" 127.0.0.2 "$EP" \
	--user u1 --password "p w" --echo 1000 >"$OBS" 2>&1
check "socks: raw client, right password: auth status 00" has auth=00 "$OBS"
check "socks: raw client, right password: CONNECT reply 00" has rep=00 "$OBS"
check "socks: raw client, right password: data echoed" has echo=ok "$OBS"

mal_auth() { SOCKS_PORT=$AP mal "$@"; }
mal_auth auth u1 wrong
check "socks: wrong password: method 02 chosen" has method=02 "$OBS"
check "socks: wrong password: status != 00" matches 'status=(0[1-9a-f]|[1-9a-f][0-9a-f])' "$OBS"
check "socks: wrong password: connection closed" has closed=yes "$OBS"
mal_auth auth nobody "p w"
check "socks: unknown user: status != 00" matches 'status=(0[1-9a-f]|[1-9a-f][0-9a-f])' "$OBS"

mal_auth raw 050100
check "socks: auth required, only method 00 offered: 05 ff" has data=05ff "$OBS"

pysocks_auth() {	# USER PASS: PySocks CONNECT + echo through the auth client
	timeout 20 "$PY" - "$AP" "$EP" "$1" "$2" <<'PYEOF'
import os, sys, socks
ap, ep, user, pw = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socks.socksocket()
s.settimeout(10)
s.set_proxy(socks.SOCKS5, "127.0.0.1", ap, username=user, password=pw)
s.connect(("127.0.0.2", ep))
data = os.urandom(4096)
s.sendall(data)
got = b""
while len(got) < len(data):
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
sys.exit(0 if got == data else 1)
PYEOF
}
check "socks: PySocks with user/password: echo works" pysocks_auth u1 "p w"
pysocks_wrong_fails() { ! pysocks_auth u1 "p x"; }
check "socks: PySocks with a wrong password fails" pysocks_wrong_fails
check "socks: auth client still running" kill -0 "$(pid_of authclient)"
check "socks: client log is printable text (no garbage bytes)" printable_log client
check "socks: auth client log is printable text (no garbage bytes)" printable_log authclient
