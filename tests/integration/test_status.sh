#!/bin/bash
# The status view: during a live download through SOCKS (and with a PySocks
# UDP association open), `proxy-client status` shows the tunnel (up, the
# server, TLS 1.3) and the flows (TCP to the destination with growing DOWN
# bytes, a UDP association), `proxy-server status` shows alice with her
# flows and growing bytes; --json of both parses with python3's json
# module and agrees with the tables. The control sockets are mode 0600, the
# default socket path works, `status` fails clearly (exit 1) when nobody
# answers, a second client whose profile has the same file name (or a
# second server on the first one's socket) refuses to start naming the
# `control` directive (a second server on its port: the address in use), and runs beside it once given its own, and when the download ends both logs have its per-flow line at
# info level with the destination and the byte counts.
. "$(dirname "$0")/../lib.sh"
need_cmd stat
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

SCTL=$TMP/server.sock
CCTL=$TMP/client.sock
export EXTRA_SERVER_CONF="control $SCTL"
check "status: start server and client" start_pair || exit 1

# The client again, on a copy of the profile that names its socket.
PROFILE=$TMP/alice-status.conf
{ cat "$CLIENT_CONF"; echo "control $CCTL"; } >"$PROFILE" && chmod 600 "$PROFILE"
stop client
spawn client "$BUILD/proxy-client" -c "$PROFILE" --socks "127.0.0.1:$SOCKS_PORT" -v debug

cstatus() { "$BUILD/proxy-client" status -c "$PROFILE" "$@"; }
sstatus() { "$BUILD/proxy-server" status -c "$SERVER_CONF" "$@"; }
parse() { "$PY" "$H/status_parse.py" "$@"; }

tunnel_up() {	# the restarted client is up and the server sees one tunnel
	cstatus >"$TMP/c0" 2>&1 && grep -q '^tunnel *up,' "$TMP/c0" &&
		sstatus >"$TMP/s0" 2>&1 && grep -q '^1 connected' "$TMP/s0"
}
wait_up() {
	wait_for 15 tunnel_up && return 0
	cat "$TMP/c0" "$TMP/s0"
	return 1
}
check "status: client status says the tunnel is up, server has 1 tunnel" wait_up || exit 1

socket_mode() {	# PATH: a socket, mode 0600
	local m
	m=$(stat -c '%F %a' "$1")
	echo "$1: $m"
	[ "$m" = "socket 600" ]
}
check "status: client control socket is mode 0600" socket_mode "$CCTL"
check "status: server control socket is mode 0600" socket_mode "$SCTL"
# ctl_ask SOCKET LINE: what the daemon answers on its control socket
ctl_ask() {
	timeout 10 "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())' "$1" "$2"
}
for sock in "$CCTL" "$SCTL"; do
	check "status: $(basename "$sock") answers an unknown command by naming it" \
		grep -qF "unknown command 'frobnicate' (status, status json)" \
		<(ctl_ask "$sock" frobnicate)
done

# ---- a UDP association and a download, both live
UP=$(free_port) && HP=$(free_port) || exit 1
spawn uecho "$PY" "$H/udp_echo.py" 127.0.0.2 "$UP"
check "status: UDP echo server ready" ready uecho || exit 1
spawn udp "$PY" "$H/udp_hold.py" "$SOCKS_PORT" 127.0.0.2 "$UP" \
	--hold 120 --release "$TMP/udp.release"
udp_held() {
	wait_for 10 grep -q '^held' "$(log_of udp)" && has reply=yes "$(log_of udp)"
}
check "status: PySocks UDP association open, echo answered" udp_held || exit 1

SIZE=$((64 << 20))	# read at 2 MiB/s until the checks below are done
mkdir -p "$TMP/www"
head -c "$SIZE" /dev/urandom >"$TMP/www/big"
check "status: http server on 127.0.0.2" http_serve www 127.0.0.2 "$HP" "$TMP/www" || exit 1
spawn get "$PY" "$H/socks_slow_get.py" "$SOCKS_PORT" 127.0.0.2 "$HP" /big \
	--rate $((2 << 20)) --release "$TMP/get.release" --timeout 60
DST=127.0.0.2:$HP

flow_down() {	# FILE: the DOWN bytes of the TCP flow to $DST (parsed)
	parse client "$1" | awk -v d="$DST" '$1 == "flow" && $2 == "TCP" && $4 == d { print $6; exit }'
}
download_seen() {
	local n
	cstatus >"$TMP/c0" 2>&1 || return 1
	n=$(flow_down "$TMP/c0")
	[ -n "$n" ] && [ "$n" -gt 0 ]
}
wait_download() {
	wait_for 15 download_seen && return 0
	cat "$TMP/c0"
	return 1
}
check "status: the download shows up in client status" wait_download || exit 1

# ---- each side: JSON, table, then JSON and table again once their
# figures moved on. Credit goes back in steps of half a window, so the
# tunnel carries the download in bursts: poll rather than sleep.
grown() {	# GETTER BEFORE OUT CMD...: CMD >OUT shows more than BEFORE
	local get=$1 before=$2 out=$3 n
	shift 3
	"$@" >"$out" 2>&1 || return 1
	n=$("$get" "$out")
	[ -n "$n" ] && [ -n "$before" ] && [ "$n" -gt "$before" ]
}
alice_sent() {	# FILE: what the server sent alice (parsed)
	parse server "$1" | sed -nE 's/^client alice .* sent=([0-9]+) .*/\1/p' | head -n 1
}
cstatus --json >"$TMP/cj1" 2>&1; rc_cj1=$?
cstatus >"$TMP/ct1" 2>&1; rc_ct1=$?
wait_for 10 grown flow_down "$(flow_down "$TMP/cj1")" "$TMP/cj2" cstatus --json
wait_for 10 grown flow_down "$(flow_down "$TMP/ct1")" "$TMP/ct2" cstatus
sstatus --json >"$TMP/sj1" 2>&1; rc_sj1=$?
sstatus >"$TMP/st1" 2>&1; rc_st1=$?
wait_for 10 grown alice_sent "$(alice_sent "$TMP/sj1")" "$TMP/sj2" sstatus --json
wait_for 10 grown alice_sent "$(alice_sent "$TMP/st1")" "$TMP/st2" sstatus
sed 's/^/# client status: /' "$TMP/ct2"
sed 's/^/# client status --json: /' "$TMP/cj2"
sed 's/^/# server status: /' "$TMP/st2"
sed 's/^/# server status --json: /' "$TMP/sj2"

exits_zero() {
	echo "exit codes: client $rc_cj1 $rc_ct1, server $rc_sj1 $rc_st1"
	[ "$rc_cj1$rc_ct1$rc_sj1$rc_st1" = 0000 ]
}
check "status: every status call exits 0" exits_zero

for f in ct1 ct2 cj1 cj2; do
	parse client "$TMP/$f" >"$TMP/$f.p"
done
for f in st1 st2 sj1 sj2; do
	parse server "$TMP/$f" >"$TMP/$f.p"
done

# The table.
check "status: client table: tunnel up, server 127.0.0.1:$SERVER_PORT" \
	matches "tunnel +up, server 127\.0\.0\.1:$SERVER_PORT" "$TMP/ct1"
check "status: client table: TLS 1.3 and its cipher" \
	matches "since +[0-9][0-9a-z ]* ago, TLSv1\.3 TLS_[A-Z0-9_]+" "$TMP/ct1"
rtt_reconnects() {
	matches "rtt +[0-9]+\.[0-9]+ ms" "$TMP/ct1" && matches "reconnects +0" "$TMP/ct1"
}
check "status: client table: rtt and reconnects lines" rtt_reconnects
two_flows() {	# PARSED
	has flows=2 "$1" && has rows=2 "$1"
}
check "status: client table: 2 flows (the download and the UDP association)" \
	two_flows "$TMP/ct1.p"
check "status: client table: the TCP flow to $DST, open" \
	matches "flow TCP 127\.0\.0\.1:[0-9]+ $DST [0-9]+ [0-9]+ (open|blocked)" "$TMP/ct1.p"
check "status: client table: a UDP association from 127.0.0.1" \
	matches "flow UDP 127\.0\.0\.1:[0-9]+ \(any\) [0-9]+ [0-9]+ open" "$TMP/ct1.p"
tcp_first() {
	grep '^flow ' "$TMP/ct1.p" | head -n 1 | grep -q '^flow TCP ' && return 0
	cat "$TMP/ct1"
	return 1
}
check "status: client table: the TCP flow is listed first (most traffic)" tcp_first

grows() {	# WHAT BEFORE AFTER
	echo "$1: ${2:-?} then ${3:-?}"
	[ -n "$2" ] && [ -n "$3" ] && [ "$3" -gt "$2" ]
}
check "status: client table: DOWN of the download grows (within 10 s)" \
	grows "DOWN" "$(flow_down "$TMP/ct1")" "$(flow_down "$TMP/ct2")"

# JSON: parses, same figures as the table taken between the two.
both_json() {
	has format=json "$TMP/cj1.p" && has format=json "$TMP/cj2.p"
}
check "status: client --json parses with python3 json (twice)" both_json
client_json() {
	has state=up "$TMP/cj1.p" && matches "tls=TLSv1\.3 TLS_[A-Z0-9_]+" "$TMP/cj1.p" &&
		two_flows "$TMP/cj1.p" &&
		matches "flow TCP 127\.0\.0\.1:[0-9]+ $DST [0-9]+ [0-9]+ [a-z-]+" "$TMP/cj1.p" &&
		matches "flow UDP 127\.0\.0\.1:[0-9]+ \(any\) [0-9]+ [0-9]+ open" "$TMP/cj1.p"
}
check "status: client --json: state up, TLS 1.3, 2 flows, the download listed" client_json
check "status: client --json: bytes_down of the download grows (within 10 s)" \
	grows "bytes_down" "$(flow_down "$TMP/cj1")" "$(flow_down "$TMP/cj2")"
check "status: client --json agrees with the table taken in between" \
	parse agree client "$TMP/ct1" "$TMP/cj1" "$TMP/cj2"

# Server.
alice_two() {	# PARSED [format=json]: one client, alice, with 2 flows
	{ [ $# -lt 2 ] || has "$2" "$1"; } && has connected=1 "$1" &&
		matches "client alice 127\.0\.0\.1:[0-9]+ flows=2 sent=[0-9]+ received=[0-9]+" "$1"
}
check "status: server table: 1 connected, alice with 2 flows" alice_two "$TMP/st1.p"
check "status: server table: bytes sent to alice grow (within 10 s)" \
	grows "SENT" "$(alice_sent "$TMP/st1")" "$(alice_sent "$TMP/st2")"
check "status: server --json parses with python3 json: alice, 2 flows" \
	alice_two "$TMP/sj1.p" format=json
check "status: server --json: bytes_sent grows (within 10 s)" \
	grows "bytes_sent" "$(alice_sent "$TMP/sj1")" "$(alice_sent "$TMP/sj2")"
check "status: server --json agrees with the table taken in between" \
	parse agree server "$TMP/st1" "$TMP/sj1" "$TMP/sj2"

# ---- nobody answers
"$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])' "$TMP/stale.sock"	# a socket file nobody serves
fails_clearly() {	# PROG SOCKET: exit 1, says what and where
	local out rc
	out=$("$BUILD/$1" status --control "$2" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" -eq 1 ] && grep -qF "$2" <<<"$out" &&
		grep -q 'is the daemon running' <<<"$out"
}
check "status: proxy-client status on a dead socket: exit 1, clear message" \
	fails_clearly proxy-client "$TMP/stale.sock"
check "status: proxy-server status on a dead socket: exit 1, clear message" \
	fails_clearly proxy-server "$TMP/stale.sock"
check "status: proxy-client status on a missing socket: exit 1, clear message" \
	fails_clearly proxy-client "$TMP/missing.sock"
check "status: proxy-server status on a missing socket: exit 1, clear message" \
	fails_clearly proxy-server "$TMP/missing.sock"
control_none() {	# PROG CONFIG
	local out rc
	out=$("$BUILD/$1" status -c "$2" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" -eq 1 ] && grep -q "control none" <<<"$out"
}
{ cat "$PROFILE"; echo "control none"; } >"$TMP/none-client.conf"
chmod 600 "$TMP/none-client.conf"
{ cat "$SERVER_CONF"; echo "control none"; } >"$TMP/none-server.conf"
check "status: proxy-client status -c (profile with 'control none'): exit 1" \
	control_none proxy-client "$TMP/none-client.conf"
check "status: proxy-server status -c (config with 'control none'): exit 1" \
	control_none proxy-server "$TMP/none-server.conf"
# ---- the download ends: one info line per flow in both logs
touch "$TMP/get.release"
wait_get() {
	local rc
	wait "$(pid_of get)"
	rc=$?
	cat "$(log_of get)"
	[ "$rc" -eq 0 ] && grep -qE "^status=200 header=[0-9]+ body=$SIZE\$" "$(log_of get)"
}
check "status: the download completes ($SIZE bytes)" wait_get
# what the destination sent: the HTTP header and the file
WANT_DOWN=$(sed -nE 's/^status=200 header=([0-9]+) body=([0-9]+)$/\1 \2/p' "$(log_of get)" |
	awk '{ print $1 + $2 }')
touch "$TMP/udp.release"

# "socks (proxy by default): flow N to DST ended after S s: REASON (U
# bytes up, D down)" (the client names the routing rule that decided it)
END_RE="flow [0-9]+ to $DST ended after [0-9.]+ s: [a-z ]+ \(([0-9]+) bytes up, ([0-9]+) down\)"
end_line() {	# LOG: the download's end line
	grep -E -- "$END_RE" "$1" | head -n 1
}
end_down() {	# LOG: its "down" figure
	end_line "$1" | sed -nE "s/.*$END_RE\$/\\2/p"
}
logged_end() {	# NAME WHO
	local log line down
	log=$(log_of "$1")
	wait_for 10 grep -qE -- "$END_RE" "$log"
	line=$(end_line "$log")
	down=$(end_down "$log")
	echo "line: ${line:-none}"
	echo "want ${WANT_DOWN:-?} bytes down (HTTP header and body)"
	# info, not debug
	[ -n "$line" ] && ! grep -q ' debug: ' <<<"$line" &&
		grep -qE -- "(^| )$2: $END_RE\$" <<<"$line" &&
		grep -qE ': done \(' <<<"$line" &&
		[ -n "$WANT_DOWN" ] && [ "$down" = "$WANT_DOWN" ]
}
check "status: client log: info line for the ended flow (destination, bytes)" \
	logged_end client 'socks \(proxy by default\)'
check "status: server log: info line for the ended flow (destination, bytes)" \
	logged_end server "tunnel alice"
same_bytes() {
	local c s
	c=$(end_down "$(log_of client)")
	s=$(end_down "$(log_of server)")
	echo "client logged ${c:-?} bytes down, server ${s:-?}"
	[ -n "$c" ] && [ "$c" = "$s" ]
}
check "status: both logs count the same bytes down" same_bytes
echo "# $(end_line "$(log_of client)")"
echo "# $(end_line "$(log_of server)")"

no_flows() {
	cstatus --json >"$TMP/cj3" 2>&1 && sstatus --json >"$TMP/sj3" 2>&1 &&
		parse client "$TMP/cj3" | grep -qx flows=0 &&
		parse server "$TMP/sj3" | grep -q '^client alice .* flows=0 '
}
no_flows_wait() {
	wait_for 10 no_flows && return 0
	cat "$TMP/cj3" "$TMP/sj3"
	return 1
}
check "status: no flows left on either side once both ended" no_flows_wait

# ---- the default socket path: a second client whose profile names none
NAME=status-$$
grep -v '^control ' "$CLIENT_CONF" >"$TMP/$NAME.conf" && chmod 600 "$TMP/$NAME.conf"
if [ "$(id -u)" = 0 ]; then
	DEFAULT=/run/proxy/proxy-client-$NAME.sock
elif [ -n "${XDG_RUNTIME_DIR:-}" ]; then
	DEFAULT=$XDG_RUNTIME_DIR/proxy-client-$NAME.sock
else
	DEFAULT=/tmp/$(id -u)-proxy-client-$NAME.sock
fi
on_exit "rm -f '$DEFAULT'"	# should the client die before removing it
S2=$(free_port) || exit 1
spawn client2 "$BUILD/proxy-client" -c "$TMP/$NAME.conf" --socks "127.0.0.1:$S2" -v debug
default_up() {
	"$BUILD/proxy-client" status -c "$TMP/$NAME.conf" >"$TMP/c2" 2>&1 &&
		grep -q '^tunnel *up,' "$TMP/c2"
}
default_wait() {
	wait_for 15 default_up && return 0
	cat "$TMP/c2"
	return 1
}
check "status: default socket: status -c PROFILE finds the client (no control line)" default_wait
check "status: default socket is $DEFAULT, mode 0600" socket_mode "$DEFAULT"
if [ "$(id -u)" = 0 ]; then
	dir_mode() {
		local m
		m=$(stat -c %a /run/proxy)
		echo "/run/proxy: $m"
		[ "$m" = 700 ]
	}
	check "status: /run/proxy is mode 0700" dir_mode
fi
by_path() {
	"$BUILD/proxy-client" status --control "$DEFAULT" >"$TMP/c3" 2>&1
	grep -q '^tunnel *up,' "$TMP/c3" && return 0
	cat "$TMP/c3"
	return 1
}
check "status: --control DEFAULT_PATH reaches the same client" by_path

# ---- a second profile of the same file name, in another folder, meets
# the first one's default socket: it refuses to start, naming 'control'
mkdir -p "$TMP/other" && cp "$TMP/$NAME.conf" "$TMP/other/$NAME.conf" || exit 1
S3=$(free_port) || exit 1
same_name_refused() {
	local rc
	timeout 20 "$BUILD/proxy-client" -c "$TMP/other/$NAME.conf" \
		--socks "127.0.0.1:$S3" >"$TMP/c4" 2>&1
	rc=$?
	cat "$TMP/c4"
	[ "$rc" = 1 ] &&
		grep -qF "the default control socket $DEFAULT is taken by another running proxy-client" "$TMP/c4" &&
		grep -qF "add 'control PATH' (or 'control none') to $TMP/other/$NAME.conf" "$TMP/c4"
}
check "status: a second profile of the same file name refuses to start, naming 'control'" \
	same_name_refused
check "status: the first client still answers on the default socket" default_up
echo "control $TMP/other.sock" >>"$TMP/other/$NAME.conf"
spawn client3 "$BUILD/proxy-client" -c "$TMP/other/$NAME.conf" \
	--socks "127.0.0.1:$S3" --server "127.0.0.1:1" -v debug
side_by_side() {
	"$BUILD/proxy-client" status -c "$TMP/other/$NAME.conf" >"$TMP/c5" 2>&1 &&
		grep -q '^tunnel .*server 127\.0\.0\.1:1$' "$TMP/c5" &&
		default_up && ! grep -q 'server 127\.0\.0\.1:1$' "$TMP/c2"
}
side_by_side_wait() {
	wait_for 10 side_by_side && return 0
	cat "$TMP/c5" "$TMP/c2"
	return 1
}
check "status: with its own 'control' both run, each status -c finds its own" \
	side_by_side_wait
stop client3
P2=$(free_port) || exit 1
# refuses CONF TEXT...: a server on $PKI/CONF.conf exits 1 at once, its
# output holding every TEXT
refuses() {
	local conf=$1 rc
	shift
	timeout 20 "$BUILD/proxy-server" -c "$PKI/$conf.conf" >"$TMP/$conf.out" 2>&1
	rc=$?
	cat "$TMP/$conf.out"
	[ "$rc" = 1 ] || return 1
	while [ $# -gt 0 ]; do
		grep -qF -- "$1" "$TMP/$conf.out" || return 1
		shift
	done
}
server_conf srv2 "listen 127.0.0.1:$P2" "control $TMP/server.sock"
check "status: a second server on the first one's control socket refuses to start" \
	refuses srv2 \
	"$PKI/srv2.conf: control socket $TMP/server.sock: another running daemon answers there" \
	"('control PATH', or 'control none')"
# Its own control socket but the first one's port: with several workers
# each binds the port with SO_REUSEPORT, which alone would let the second
# server share it (and take some of the clients); it refuses instead.
server_conf srv3 "listen 127.0.0.1:$SERVER_PORT" "control none" "workers 2"
check "status: a second server (workers 2) on the first one's port refuses to start" \
	refuses srv3 "listen 127.0.0.1:$SERVER_PORT: Address already in use"
stop client2
gone() {
	[ ! -e "$DEFAULT" ] && return 0
	echo "$DEFAULT is still there after the client stopped"
	return 1
}
check "status: the client removes its socket when it stops" gone

check "status: server still running" kill -0 "$(pid_of server)"
check "status: client still running" kill -0 "$(pid_of client)"
