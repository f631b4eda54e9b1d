#!/bin/bash
# Who the client accepts as its server, who may use its SOCKS port, and
# where the server lets flows go:
#  - a profile with `server-name wrong.example` (same CA) refuses the
#    server: its log says hostname mismatch, the server logs no tunnel for
#    it, curl through it fails; `server-name localhost` (a name the
#    certificate carries) works;
#  - two `socks-user` lines: both users work with curl, a user with the
#    other's password and an unknown user are refused;
#  - `deny 127.0.0.2/32` before `allow 127.0.0.0/8`: CONNECT to 127.0.0.2
#    gets reply 0x02 and nothing reaches the listener there, 127.0.0.1
#    still works (and 127.0.0.2 works through a server without the deny);
#  - the default policy: every IPv6 spelling of the server's loopback
#    (IPv4-mapped, -compatible, NAT64, 6to4, Teredo), ::, 0.0.0.0,
#    multicast, broadcast and the cloud metadata addresses get reply 0x02
#    and a server log line, and nothing reaches the listener;
#  - (root) in network namespaces made here, a client listening on
#    10.77.0.1 with `socks-allow 10.77.0.128/25`: a peer at 10.77.0.2 is
#    closed without a SOCKS answer (logged), the same peer from 10.77.0.200
#    is served; and the server's link-local address (169.254.77.1, on its
#    lo, with a listener) is refused by default with reply 0x02; with
#    `allow 127.0.0.2/32`, ::ffff:127.0.0.2 connects and its compatible,
#    NAT64 and 6to4 spellings pass the policy (no route there: not reply
#    0x02) while those of 127.0.0.3 are refused.
. "$(dirname "$0")/../lib.sh"
need_cmd curl
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

check "policy: start server and client" start_pair || exit 1
mkdir -p "$TMP/www" && echo hello >"$TMP/www/hello"
HP=$(free_port) || exit 1
check "policy: http server on 127.0.0.2" http_serve www 127.0.0.2 "$HP" "$TMP/www" || exit 1

fetch_via() {	# SOCKS_PORT [USERINFO]: hello through that SOCKS port (bounded)
	local proxy="127.0.0.1:$1"
	[ $# -ge 2 ] && proxy="$2@$proxy"
	timeout 20 curl -fsS --max-time 15 -x "socks5h://$proxy" \
		"http://127.0.0.2:$HP/hello" | grep -qx hello
}
fails() {	# CMD...: CMD fails
	! "$@"
}
ere_quote() {	# TEXT: an ERE that matches TEXT literally
	sed 's/[][\.*^$()+?{}|]/\\&/g' <<<"$1"
}
logged() {	# NAME ERE: the log of NAME has a line matching ERE
	grep -qiE -- "$2" "$(log_of "$1")" && return 0
	echo "no line matching /$2/ in $1.log; last lines:"
	tail -n 15 "$(log_of "$1")"
	return 1
}
OBS="$TMP/obs"

check "policy: alice works" fetch_via "$SOCKS_PORT"

# ------------------------------------------- the server's name
up_lines() { grep -cE 'tunnel [^ ]+: up\b' "$(log_of server)"; }
ups=$(up_lines)
WP=$(free_port) || exit 1
client_profile wrongname "server-name wrong.example" "connect-timeout 2s"
spawn wrongname "$BUILD/proxy-client" -c "$TMP/wrongname.conf" \
	--socks "127.0.0.1:$WP" -v debug
check "policy: server-name wrong.example: client logs hostname mismatch" \
	wait_for 10 logged wrongname 'hostname mismatch'
check "policy: server-name wrong.example: curl through it fails" fails fetch_via "$WP"
no_new_tunnel() {
	local now
	now=$(up_lines)
	echo "tunnel-up lines in the server log: $ups before, $now after"
	[ "$now" -eq "$ups" ]
}
check "policy: server-name wrong.example: the server logged no tunnel for it" no_new_tunnel
stop wrongname
RP=$(free_port) || exit 1
client_profile rightname "server-name localhost"
spawn rightname "$BUILD/proxy-client" -c "$TMP/rightname.conf" \
	--socks "127.0.0.1:$RP" -v debug
check "policy: server-name localhost (in the certificate) works" wait_for 15 fetch_via "$RP"
stop rightname

# ------------------------------------------- several socks-user lines
UP=$(free_port) || exit 1
client_profile users 'socks-user u1 pass1' 'socks-user u2 "pass two"'
spawn users "$BUILD/proxy-client" -c "$TMP/users.conf" --socks "127.0.0.1:$UP" -v debug
check "policy: socks-user u1 works" wait_for 15 fetch_via "$UP" u1:pass1
check "policy: socks-user u2 (second line) works" fetch_via "$UP" 'u2:pass%20two'
check "policy: u1 with u2's password is refused" fails fetch_via "$UP" 'u1:pass%20two'
check "policy: u2 with u1's password is refused" fails fetch_via "$UP" u2:pass1
check "policy: an unknown user is refused" fails fetch_via "$UP" u3:pass1
check "policy: u2 still works after the refusals" fetch_via "$UP" 'u2:pass%20two'

# ------------------------------------------- deny before allow
E1=$(free_port) && E2=$(free_port) && PS=$(free_port) && PC=$(free_port) || exit 1
spawn echo1 "$PY" "$H/tcp_echo.py" 127.0.0.1 "$E1" --log-accepts
spawn echo2 "$PY" "$H/tcp_echo.py" 127.0.0.2 "$E2" --log-accepts
check "policy: echo server on 127.0.0.1 ready" ready echo1 || exit 1
check "policy: echo server on 127.0.0.2 ready" ready echo2 || exit 1
server_conf serverdeny "listen 127.0.0.1:$PS" "deny 127.0.0.2/32" \
	"allow 127.0.0.0/8"
spawn serverdeny "$BUILD/proxy-server" -c "$PKI/serverdeny.conf" -v debug
check "policy: server with deny 127.0.0.2/32, allow 127.0.0.0/8 listens" \
	wait_tcp 127.0.0.1 "$PS" 10
client_profile clientdeny
spawn clientdeny "$BUILD/proxy-client" -c "$TMP/clientdeny.conf" \
	--server "127.0.0.1:$PS" --socks "127.0.0.1:$PC" -v debug
connect_until_answer() {	# SOCKS_PORT HOST PORT: socks_connect.py, retried
	local end=$((SECONDS + 15))	# while the tunnel comes up (reply 01)
	while :; do
		timeout 20 "$PY" "$H/socks_connect.py" 127.0.0.1 "$1" "$2" "$3" \
			--echo 100 >"$OBS" 2>&1
		grep -qx rep=01 "$OBS" || break
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.5
	done
}
check "policy: client with the deny server listens" wait_tcp 127.0.0.1 "$PC" 10
connect_until_answer "$PC" 127.0.0.1 "$E1"
check "policy: allow 127.0.0.0/8: CONNECT 127.0.0.1 gets reply 0x00" has rep=00 "$OBS"
check "policy: allow 127.0.0.0/8: data to 127.0.0.1 is echoed" has echo=ok "$OBS"
connect_until_answer "$PC" 127.0.0.2 "$E2"
check "policy: deny 127.0.0.2/32 (before the allow): CONNECT 127.0.0.2 gets reply 0x02" \
	has rep=02 "$OBS"
check "policy: deny 127.0.0.2/32: nothing reached the 127.0.0.2 listener" \
	lacks accept "$(log_of echo2)"
timeout 20 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" 127.0.0.2 "$E2" \
	--echo 100 >"$OBS" 2>&1
check "policy: without the deny (alice's server) CONNECT 127.0.0.2 gets reply 0x00" \
	has rep=00 "$OBS"
check "policy: ... and the 127.0.0.2 listener saw it" matches 'accept 127\..*' "$(log_of echo2)"

# ------------------------------------------- spellings of refused addresses
# The server refuses by default, with reply 0x02 and a log line naming
# the destination, every IPv6 spelling of its loopback 127.0.0.3 (alice's
# server allows 127.0.0.2 only), this host, multicast and broadcast, and
# the cloud metadata addresses; nothing reaches a listener on 127.0.0.3.
E3=$(free_port) || exit 1
spawn echo3 "$PY" "$H/tcp_echo.py" 127.0.0.3 "$E3" --log-accepts
check "policy: echo server on 127.0.0.3 ready" ready echo3 || exit 1
refused_by_default() {	# ADDR [WHAT]: CONNECT ADDR:E3 refused and logged
	local dest="$1:$E3"
	local why="not allowed by the server's policy (allow/deny in server.conf)"
	timeout 20 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" "$1" "$E3" \
		>"$OBS" 2>&1
	has rep=02 "$OBS" || return 1
	[[ $1 == *:* ]] && dest="[$1]:$E3"
	# the server says why, and so does the client, from RESULT's reason
	wait_for 5 logged server "$(ere_quote "connect $dest: $why")" &&
		wait_for 5 logged client \
			"$(ere_quote "socks: $dest: refused by server: $why (reply 2)")"
}
for spelling in \
	'::ffff:127.0.0.3 IPv4-mapped' \
	'::127.0.0.3 IPv4-compatible' \
	'64:ff9b::7f00:3 NAT64 (RFC 6052)' \
	'64:ff9b:1::7f00:3 local NAT64 (RFC 8215)' \
	'2002:7f00:3::1 6to4' \
	'2001:0:7f00:3::f7f7:f7f7 Teredo, server 127.0.0.3' \
	'2001:0:808:808::80ff:fffc Teredo, client 127.0.0.3' \
	':: unspecified' '0.0.0.0 this host' '::2 IPv4-compatible 0.0.0.2' \
	'224.0.0.1 multicast' 'ff02::1 multicast' '255.255.255.255 broadcast' \
	'169.254.169.254 metadata (AWS, GCP, Azure, Oracle)' \
	'::ffff:169.254.169.254 IPv4-mapped metadata' \
	'64:ff9b::a9fe:a9fe NAT64 metadata' \
	'fd00:ec2::254 metadata (AWS IPv6)' \
	'fd20:ce::254 metadata (GCP IPv6)' \
	'fd00:42::42 metadata (Scaleway IPv6)' \
	'100.100.100.200 metadata (Alibaba Cloud)' \
	'168.63.129.16 Azure WireServer'; do
	check "policy: default, ${spelling#* }: CONNECT ${spelling%% *} gets reply 0x02, logged" \
		refused_by_default "${spelling%% *}"
done
check "policy: default: nothing reached the 127.0.0.3 listener" \
	lacks accept "$(log_of echo3)"

# ------------------------------------------- (root) socks-allow, link-local
if [ "$(id -u)" != 0 ]; then
	skip "policy: socks-allow from another host; link-local destination" \
		"needs root (network namespaces)"
	exit 0
fi
if ! command -v ip >/dev/null; then
	skip "policy: socks-allow from another host; link-local destination" \
		"missing command: ip"
	exit 0
fi
# client (server, proxy-client, targets) -- veth -- peer (SOCKS users)
NS_C=pol-c-$$
NS_P=pol-p-$$
on_exit "ip netns del $NS_C 2>/dev/null; ip netns del $NS_P 2>/dev/null"
C_IP=10.77.0.1
P_IP=10.77.0.2		# outside socks-allow
P_IP2=10.77.0.200	# inside socks-allow
ALLOW=10.77.0.128/25
LL=169.254.77.1		# the server's own link-local address
topology() {
	ns_pair "$NS_C" "$C_IP" "$NS_P" "$P_IP" &&
		ip -n "$NS_P" addr add "$P_IP2/24" dev veth1 &&
		ip -n "$NS_C" addr add "$LL/32" dev lo
}
check "policy: namespaces $NS_C and $NS_P joined by veth" topology || exit 1
server_conf nsserver "listen 127.0.0.1:8443"
client_profile nsclient "socks $C_IP:1080" "socks-allow $ALLOW"
spawn nswww ip netns exec "$NS_C" "$PY" -m http.server --bind 127.0.0.2 80 \
	--directory "$TMP/www"
spawn nsll ip netns exec "$NS_C" "$PY" "$H/tcp_echo.py" "$LL" 7 --log-accepts
spawn nsserver ip netns exec "$NS_C" "$BUILD/proxy-server" -c "$PKI/nsserver.conf" -v debug
check "policy: server in $NS_C listens" wait_for 10 ns_listens "$NS_C" tcp 8443 127.0.0.1
check "policy: listener on the link-local $LL ready" ready nsll
spawn nsclient ip netns exec "$NS_C" "$BUILD/proxy-client" -c "$TMP/nsclient.conf" \
	--server 127.0.0.1:8443 -v debug
check "policy: client SOCKS on $C_IP:1080 listens" wait_for 10 ns_listens "$NS_C" tcp 1080 "$C_IP"

peer_fetch() {	# SOURCE: hello from the peer namespace, from SOURCE
	timeout 20 ip netns exec "$NS_P" curl -fsS --max-time 15 --interface "$1" \
		-x "socks5h://$C_IP:1080" http://127.0.0.2:80/hello | grep -qx hello
}
check "policy: socks-allow $ALLOW: peer from $P_IP2 (inside) is served" \
	wait_for 15 peer_fetch "$P_IP2"
check "policy: socks-allow $ALLOW: curl from $P_IP (outside) fails" \
	fails peer_fetch "$P_IP"
timeout 20 ip netns exec "$NS_P" "$PY" "$H/socks_connect.py" "$C_IP" 1080 127.0.0.2 80 \
	--source "$P_IP" >"$OBS" 2>&1
check "policy: socks-allow: $P_IP is closed before any SOCKS answer" \
	has 'error=closed after 0 bytes' "$OBS"
check "policy: socks-allow: the client logs $P_IP as not in socks-allow" \
	logged nsclient "${P_IP//./\\.}:[0-9]+.*not in socks-allow"
check "policy: socks-allow: $P_IP2 still served after the refusals" peer_fetch "$P_IP2"

timeout 20 ip netns exec "$NS_P" "$PY" "$H/socks_connect.py" "$C_IP" 1080 "$LL" 7 \
	--source "$P_IP2" >"$OBS" 2>&1
check "policy: CONNECT to the server's link-local $LL gets reply 0x02 (default policy)" \
	has rep=02 "$OBS"
check "policy: nothing reached the link-local listener" lacks accept "$(log_of nsll)"

# An `allow` reopens an IPv4 address in all its spellings: this server
# has `allow 127.0.0.2/32`, so the mapped spelling reaches the web server
# on 127.0.0.2, and the NAT64, compatible and 6to4 ones pass the policy
# and fail only for want of a route in $NS_C (not reply 0x02), while the
# same spellings of 127.0.0.3 are refused.
ns_connect() {	# ADDR: CONNECT ADDR:80 through the client in $NS_C
	timeout 20 ip netns exec "$NS_P" "$PY" "$H/socks_connect.py" "$C_IP" 1080 \
		"$1" 80 --source "$P_IP2" >"$OBS" 2>&1
}
passed_policy() {	# an answer other than 0x02
	matches 'rep=[0-9a-f]{2}' "$OBS" && lacks rep=02 "$OBS"
}
ns_connect ::ffff:127.0.0.2
check "policy: allow 127.0.0.2/32: CONNECT ::ffff:127.0.0.2 gets reply 0x00" \
	has rep=00 "$OBS"
for pair in '::127.0.0.2 ::127.0.0.3' '64:ff9b::7f00:2 64:ff9b::7f00:3' \
	'64:ff9b:1::7f00:2 64:ff9b:1::7f00:3' '2002:7f00:2::1 2002:7f00:3::1'; do
	ns_connect "${pair% *}"
	check "policy: allow 127.0.0.2/32: CONNECT ${pair% *} passes the policy" \
		passed_policy
	ns_connect "${pair#* }"
	check "policy: ... while CONNECT ${pair#* } gets reply 0x02" has rep=02 "$OBS"
done
