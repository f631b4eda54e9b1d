#!/bin/bash
# A tunnel on a link that goes silent (issue 19, items 1-3). A client
# namespace and a server namespace joined by veth; an outage is iptables
# DROP both ways in the client's namespace (no socket is closed, as on a
# Wi-Fi or NAT that stops passing packets). Client profile: connect-timeout
# 4s, keepalive 2s 30s, stall-timeout auto (2 s on this short path).
#  - idle: over 6.5 s the tunnel sends no more than its keepalive PINGs
#    (status bytes_sent);
#  - 3 s and 20 s outages, with an interactive flow typing a byte every
#    0.2 s: the client logs the stall within stall-timeout + 1 s and the
#    second connection it dials; a new SOCKS CONNECT made during the
#    outage gets its reply within connect-timeout (+0.5 s), code 00, 04 or
#    06 (06 or 04 for the 20 s outage); after the link returns a new flow
#    (CONNECT + HTTP GET) works within 1 s, measured from the return;
#  - during the 20 s outage a UDP ASSOCIATE gets its reply (04 or 06), a
#    DNS-forwarder query gets SERVFAIL for its own question, and a TCP
#    connection redirected by iptables REDIRECT to the client is reset,
#    each within connect-timeout (+0.5 s).
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip iptables curl
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

CT=4            # connect-timeout of the client profile
STALL=2         # the automatic stall-timeout on a sub-millisecond path
ns_names out
C_IP=198.18.5.2
S_IP=198.18.5.1
SPORT=8443
HP=8080
EP=7007
SOCKS=1080
DNSP=5353
RP=12345        # the client's REDIRECT listener
RDST=9999       # connections to 127.0.0.2:RDST are redirected to it
check "outage: namespaces $NS_C and $NS_S joined by veth" \
	ns_veth "$C_IP" "$S_IP" || exit 1

mk_pki() {
	ns_pki "$S_IP" "$SPORT" alice &&
		ns_profile alice alice "connect-timeout ${CT}s" "keepalive 2s 30s" \
			"dns-listen 127.0.0.1:$DNSP" "redir 127.0.0.1:$RP" \
			"dns-server 127.0.0.2:53" "control $TMP/client.sock"
}
check "outage: PKI, server config and client profile" mk_pki || exit 1
mkdir -p "$TMP/www" && echo hello >"$TMP/www/hello"
spawn www ip netns exec "$NS_S" "$PY" -m http.server --bind 127.0.0.2 "$HP" \
	--directory "$TMP/www"
spawn echo ip netns exec "$NS_S" "$PY" "$H/tcp_echo.py" 127.0.0.2 "$EP"
check "outage: echo server ready" ready echo
spawn server ip netns exec "$NS_S" "$BUILD/proxy-server" -c "$PKI/ns-server.conf" -v debug
spawn client ip netns exec "$NS_C" "$BUILD/proxy-client" -c "$PKI/ns-alice.conf" \
	--socks "127.0.0.1:$SOCKS" -v debug
CPID=$(pid_of client)

fetch() {
	timeout 10 ip netns exec "$NS_C" curl -fsS --max-time 5 \
		--socks5-hostname "127.0.0.1:$SOCKS" "http://127.0.0.2:$HP/hello" |
		grep -qx hello
}
check "outage: a flow through the tunnel works" wait_for 15 fetch || exit 1
check "outage: REDIRECT rule for 127.0.0.2:$RDST in $NS_C" ip netns exec "$NS_C" \
	iptables -t nat -A OUTPUT -p tcp -d 127.0.0.2 --dport "$RDST" -j REDIRECT \
	--to-ports "$RP"

in_c() { ip netns exec "$NS_C" "$@"; }
probe() {	# OUT ARGS...: outage_probe.py in the client namespace
	local out=$1
	shift
	in_c timeout 30 "$PY" "$H/outage_probe.py" "$@" >"$out" 2>&1
}
val() { sed -n "s/^$1=//p" "$2" | head -n 1; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a <= b) }'; }
# answered_within FILE SECS CODES: FILE shows a reply whose code matches
# the ERE CODES, SECS at most after the request.
answered_within() {
	local rep secs
	rep=$(val rep "$1")
	secs=$(val secs "$1")
	echo "reply ${rep:-?} after ${secs:-?} s (want /$3/ within $2 s)"
	[[ ${rep:-none} =~ ^($3)$ ]] && le "$secs" "$2"
}

# ------------------------------------------- idle: keepalive only
bytes_sent() {
	ip netns exec "$NS_C" "$BUILD/proxy-client" status --control "$TMP/client.sock" \
		--json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["tunnel"]["bytes_sent"])'
}
sleep 1
b0=$(bytes_sent)
sleep 6.5
b1=$(bytes_sent)
# A keepalive (every 2 s) is a train of 4 PINGs, each its own TLS record
# of 8 + 8 bytes plus 22 of TLS: at most 4 keepalives in 6.5 s.
idle_quiet() {
	echo "idle 6.5 s: $((b1 - b0)) bytes sent (at most $((4 * 4 * 38)))"
	[ -n "$b0" ] && [ -n "$b1" ] && [ $((b1 - b0)) -gt 0 ] &&
		[ $((b1 - b0)) -le $((4 * 4 * 38)) ]
}
check "outage: an idle tunnel sends only its keepalive PINGs" idle_quiet

# ------------------------------------------- one outage
link() {	# down|up: the tunnel's TCP between the namespaces
	"link_$1" "$NS_C" tcp "$S_IP" "$SPORT"
}
logged_after() {	# FROM_LINE ERE: the client logged ERE after FROM_LINE
	tail -n +"$(($1 + 1))" "$(log_of client)" | grep -qE -- "$2"
}
# secs_to_line FROM_LINE ERE T0: seconds from T0 ($EPOCHREALTIME) to the
# first such line, by its timestamp if it has one, else by when we saw it.
STALL_RE='is silent: dialling a second connection'
SUSPECT_RE='no answer from the server for .* suspect'

outage() {	# SECS
	local secs=$1 n0 t0 tb typer wait_end took
	n0=$(wc -l <"$(log_of client)")
	# an interactive flow: a byte every 0.2 s through the outage
	spawn typer ip netns exec "$NS_C" timeout $((secs + 15)) "$PY" \
		"$H/outage_probe.py" type "$SOCKS" 127.0.0.2 "$EP" $((secs + 8))
	check "outage ${secs}s: an interactive flow is open" \
		wait_for 5 grep -q '^ready' "$(log_of typer)"
	# The outage starts once the rules are in: the first iptables call in
	# a namespace may load modules and take a second on a cold machine.
	link down
	t0=$EPOCHREALTIME
	sleep 0.3
	probe "$TMP/conn.$secs" connect "$SOCKS" 127.0.0.2 "$HP" &
	local cpid=$!
	# the stall, seen in the log
	local stall_at=
	for ((i = 0; i < 60; i++)); do
		if logged_after "$n0" "$STALL_RE"; then
			stall_at=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
			break
		fi
		sleep 0.1
	done
	check "outage ${secs}s: client logs the stall (suspect) within stall-timeout + 1 s" \
		le_msg "${stall_at}" $((STALL + 1)) "stall logged"
	check "outage ${secs}s: ... and dials a second connection" \
		logged_after "$n0" "$STALL_RE"
	wait "$cpid"
	if [ "$secs" -ge 10 ]; then
		check "outage ${secs}s: a CONNECT made during the outage is answered 04/06 within connect-timeout" \
			answered_within "$TMP/conn.$secs" "$CT.5" '04|06'
		sleep 1
		probe "$TMP/udp.$secs" udp "$SOCKS" &
		local upid=$!
		probe "$TMP/dns.$secs" dns "$DNSP" example.com &
		local dpid=$!
		probe "$TMP/redir.$secs" plain 127.0.0.2 "$RDST" &
		local rpid=$!
		wait "$upid" "$dpid" "$rpid"
		check "outage ${secs}s: a UDP ASSOCIATE during the outage is answered 04/06 within connect-timeout" \
			answered_within "$TMP/udp.$secs" "$CT.5" '04|06'
		check "outage ${secs}s: a DNS-forwarder query during the outage gets SERVFAIL within connect-timeout" \
			servfail_within "$TMP/dns.$secs" "$CT.5"
		check "outage ${secs}s: a redirected TCP connection during the outage is reset within connect-timeout" \
			reset_within "$TMP/redir.$secs" "$CT.5"
	else
		check "outage ${secs}s: a CONNECT made during the outage is answered within connect-timeout" \
			answered_within "$TMP/conn.$secs" "$CT.5" '00|04|06'
	fi
	# the rest of the outage
	wait_end=$(awk -v a="$t0" -v s="$secs" -v b="$EPOCHREALTIME" 'BEGIN { d = a + s - b; printf "%.2f", (d > 0 ? d : 0) }')
	sleep "$wait_end"
	link up
	tb=$EPOCHREALTIME
	probe "$TMP/back.$secs" connect "$SOCKS" 127.0.0.2 "$HP" --http /hello --timeout 10
	took=$(awk -v a="$tb" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
	back_ok() {
		echo "link back: $(tr '\n' ' ' <"$TMP/back.$secs")(${took} s in all)"
		has rep=00 "$TMP/back.$secs" >/dev/null && has http=ok "$TMP/back.$secs" \
			>/dev/null && le "$took" 1.0
	}
	check "outage ${secs}s: after the link returns a new flow works within 1 s" back_ok
	check "outage ${secs}s: the client is still the same process" kill -0 "$CPID"
	stop typer
	grep -E 'tunnel' "$(log_of client)" | tail -n +1 | grep -vE ' debug: ' |
		tail -n 8 | sed 's/^/# /'
}
le_msg() {	# VALUE MAX WHAT
	echo "$3 after ${1:-never} s (at most $2 s)"
	le "$1" "$2"
}
reset_within() {	# FILE SECS
	local e secs
	e=$(val end "$1")
	secs=$(val secs "$1")
	echo "end ${e:-?} after ${secs:-?} s"
	[ "$e" = reset ] && le "$secs" "$2"
}
servfail_within() {	# FILE SECS
	local rc secs
	rc=$(val rcode "$1")
	secs=$(val secs "$1")
	echo "rcode ${rc:-?} match $(val match "$1") after ${secs:-?} s"
	[ "$rc" = 2 ] && has match=yes "$1" >/dev/null && le "$secs" "$2"
}

outage 3
check "outage: a flow works between the outages" wait_for 10 fetch
outage 20
check "outage: a flow works at the end" fetch
check "outage: the client is alive at the end" kill -0 "$CPID"
