#!/bin/bash
# TCP through the tunnel: an 8 MiB file fetched by curl (--socks5 and
# --socks5-hostname; IPv4 and IPv6 literals) and by proxychains4; names
# resolved on the server (dnsmasq as its resolver); and the SOCKS5 reply
# codes for a name that does not exist (0x04), a closed port (0x05), a
# connect that times out (0x06) and (root, in a network namespace with no
# route) an unreachable network (0x03).
. "$(dirname "$0")/../lib.sh"
need_cmd curl proxychains4 dnsmasq sha256sum
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

# fetch OUT CMD...: run CMD (a curl command line; -o OUT and limits are
# appended), bounded in time; the file's sha256 must match.
fetch() {
	local out=$1 got
	shift
	rm -f "$out"
	timeout 60 "$@" -fsS --max-time 50 -o "$out" || return 1
	got=$(sha256sum <"$out" | cut -d' ' -f1)
	echo "sha256 got $got want $SHA"
	[ "$got" = "$SHA" ]
}

mkdir -p "$TMP/www"
head -c 8M /dev/urandom >"$TMP/www/f"
SHA=$(sha256sum <"$TMP/www/f" | cut -d' ' -f1)

# The server's resolver: a dnsmasq that knows one name, answers NXDOMAIN
# for everything under .invalid, and has no upstream.
DNS_PORT=$(free_port) || exit 1
spawn dnsmasq dnsmasq -k --conf-file=/dev/null --port="$DNS_PORT" \
	--listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
	--address=/proxytest.example/127.0.0.2 --address=/invalid/ \
	--user=root --pid-file="$TMP/dnsmasq.pid" --log-facility=- --log-queries
check "tcp: dnsmasq up" wait_tcp 127.0.0.1 "$DNS_PORT" 10 || exit 1

EXTRA_SERVER_CONF="dns 127.0.0.1:$DNS_PORT
connect-timeout 3s"
check "tcp: start server and client" start_pair || exit 1

P4=$(free_port) && P6=$(free_port) || exit 1
check "tcp: http server on 127.0.0.2" http_serve www4 127.0.0.2 "$P4" "$TMP/www" || exit 1
check "tcp: http server on ::1" http_serve www6 ::1 "$P6" "$TMP/www" || exit 1
S="127.0.0.1:$SOCKS_PORT"

check "tcp: curl --socks5-hostname 127.0.0.2, 8MiB sha256" \
	fetch "$TMP/o" curl --socks5-hostname "$S" "http://127.0.0.2:$P4/f"
check "tcp: curl --socks5 127.0.0.2 (ATYP IPv4), 8MiB sha256" \
	fetch "$TMP/o" curl --socks5 "$S" "http://127.0.0.2:$P4/f"
check "tcp: curl --socks5 [::1] (ATYP IPv6), 8MiB sha256" \
	fetch "$TMP/o" curl --socks5 "$S" "http://[::1]:$P6/f"
check "tcp: curl --socks5-hostname [::1], 8MiB sha256" \
	fetch "$TMP/o" curl --socks5-hostname "$S" "http://[::1]:$P6/f"

# Names are resolved by the server: proxytest.example exists only in the
# server's dnsmasq, never in this machine's resolver.
check "tcp: curl --socks5-hostname, name resolved by the server, 8MiB sha256" \
	fetch "$TMP/o" curl --socks5-hostname "$S" "http://proxytest.example:$P4/f"
check "tcp: dnsmasq answered the server's query for proxytest.example" \
	grep -q 'query.*proxytest\.example' "$(log_of dnsmasq)"

# proxychains4 hooks a plain curl (no proxy option); no localnet is
# excluded. The name can only work through the proxy (see above).
cat >"$TMP/proxychains.conf" <<PCEOF
strict_chain
quiet_mode
proxy_dns
remote_dns_subnet 224
tcp_read_time_out 15000
tcp_connect_time_out 8000
[ProxyList]
socks5 127.0.0.1 $SOCKS_PORT
PCEOF
PC=(proxychains4 -q -f "$TMP/proxychains.conf")
check "tcp: proxychains4 curl 127.0.0.2, 8MiB sha256" \
	fetch "$TMP/o" "${PC[@]}" curl "http://127.0.0.2:$P4/f"
check "tcp: proxychains4 curl proxytest.example (name sent to the proxy), 8MiB sha256" \
	fetch "$TMP/o" "${PC[@]}" curl "http://proxytest.example:$P4/f"

# Reply codes from what really happened on the server.
OBS="$TMP/obs"
timeout 20 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" nosuch.invalid 80 >"$OBS" 2>&1
check "tcp: CONNECT to a name answered NXDOMAIN gets reply 0x04" has rep=04 "$OBS"

curl_nxdomain() {
	local rc
	timeout 20 curl -sS --max-time 15 -o /dev/null --socks5-hostname "$S" \
		"http://nosuch.invalid:$P4/f"
	rc=$?
	echo "curl exit code $rc"
	[ "$rc" -eq 97 ]
}
check "tcp: curl --socks5-hostname to a missing name fails with exit 97 (proxy error)" curl_nxdomain

CLOSED=$(free_port) || exit 1
timeout 20 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" 127.0.0.2 "$CLOSED" >"$OBS" 2>&1
check "tcp: CONNECT to a closed port gets reply 0x05" has rep=05 "$OBS"

# connect-timeout is 3s on the server (EXTRA_SERVER_CONF above).
BH=$(free_port) || exit 1
spawn blackhole "$PY" "$H/tcp_blackhole.py" 127.0.0.2 "$BH"
check "tcp: blackhole listener ready" ready blackhole
start=$SECONDS
timeout 30 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" 127.0.0.2 "$BH" --timeout 25 >"$OBS" 2>&1
echo "took $((SECONDS - start)) s" >>"$OBS"
check "tcp: CONNECT that times out on the server gets reply 0x06" has rep=06 "$OBS"

# After all that, the tunnel still carries a fresh download.
check "tcp: curl still works at the end, 8MiB sha256" \
	fetch "$TMP/o" curl --socks5-hostname "$S" "http://127.0.0.2:$P4/f"
check "tcp: server still running" kill -0 "$(pid_of server)"
check "tcp: client still running" kill -0 "$(pid_of client)"

# ------------------------------------------- (root) reply 0x03, no route
# A server and client in a network namespace made here with only lo: no
# route leads anywhere, so a CONNECT to 10.255.255.1 or 2001:db8::1 fails
# on the server with "network unreachable" (nothing leaves the namespace).
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v ss >/dev/null; then
	skip "tcp: CONNECT with no route gets reply 0x03" "needs root, ip and ss (network namespace)"
	exit 0
fi
NS=tcp-nr-$$
on_exit "ip netns del $NS 2>/dev/null"
check "tcp: namespace $NS with only lo" ns_new "$NS" || exit 1
server_conf nrserver "listen 127.0.0.1:8443"
client_profile nrclient
spawn nrserver ip netns exec "$NS" "$BUILD/proxy-server" -c "$PKI/nrserver.conf" -v debug
spawn nrclient ip netns exec "$NS" "$BUILD/proxy-client" -c "$TMP/nrclient.conf" \
	--server 127.0.0.1:8443 --socks 127.0.0.1:1080 -v debug
both_listen() {
	ns_listens "$NS" tcp 8443 127.0.0.1 && ns_listens "$NS" tcp 1080 127.0.0.1
}
check "tcp: server and client in $NS listen" wait_for 10 both_listen
ns_connect() {	# HOST PORT: socks_connect.py in the namespace; retried while
	local end=$((SECONDS + 15))	# the tunnel comes up (reply 0x01)
	while :; do
		timeout 20 ip netns exec "$NS" "$PY" "$H/socks_connect.py" 127.0.0.1 1080 \
			"$1" "$2" >"$OBS" 2>&1
		grep -qx rep=01 "$OBS" || break
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.5
	done
}
ns_connect 10.255.255.1 80
check "tcp: CONNECT to 10.255.255.1 with no route gets reply 0x03" has rep=03 "$OBS"
ns_connect 2001:db8::1 80
check "tcp: CONNECT to [2001:db8::1] with no route gets reply 0x03" has rep=03 "$OBS"
