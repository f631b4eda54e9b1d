#!/bin/bash
# The datagram path (issue 20, items 3 and 5): UDP ASSOCIATE datagrams as
# sealed UDP packets between client and server when UDP gets through,
# inside TLS when not. A client namespace and a server namespace joined by
# veth; a game-like stream (64 bytes every 50 ms through PySocks) runs
# throughout:
#  - UDP passes: the client's path comes up, the stream's datagrams go by
#    UDP (client and server status counters), none inside TLS;
#  - strangers at the server's UDP port (random bytes, a real packet
#    captured off the wire replayed, the same with its counter moved or a
#    byte changed) get no answer, and the server counts each refusal;
#  - iptables DROP of UDP in the client's namespace mid-session: the
#    client falls back within 2 s (DPATH_SILENCE, 1.5 s after the last
#    packet heard by UDP), logs it once, and everything sent after the fallback
#    comes back inside TLS; lifted: the path recovers and again
#    everything comes back, by UDP;
#  - udp-path auto (the default): on this loss-free link the path is up
#    but unused (standby), datagrams inside TLS; once the TLS connection
#    loses segments (iptables drops a fifth of the client's TCP at the
#    server), its datagrams go by UDP;
#  - udp-path off in the profile: no path, datagrams inside TLS.
# The first part runs with udp-path always: the path in use whenever up.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip iptables
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

ns_names udpp
C_IP=198.18.6.2
S_IP=198.18.6.1
SPORT=8443
EP=7007
SOCKS=1080
check "udp-path: namespaces $NS_C and $NS_S joined by veth" \
	ns_veth "$C_IP" "$S_IP" || exit 1

mk_pki() {
	ns_pki "$S_IP" "$SPORT" alice &&
		ns_profile alice alice "control $TMP/client.sock" "udp-path always" &&
		ns_profile auto alice "control $TMP/client.sock" &&
		ns_profile off alice "control $TMP/client.sock" "udp-path off"
}
check "udp-path: PKI, server config and client profiles" mk_pki || exit 1
in_c() { ip netns exec "$NS_C" "$@"; }
spawn uecho ip netns exec "$NS_S" "$PY" "$H/udp_echo.py" 127.0.0.2 "$EP"
check "udp-path: echo server ready" ready uecho || exit 1
spawn server ip netns exec "$NS_S" "$BUILD/proxy-server" -c "$PKI/ns-server.conf" -v debug
spawn client ip netns exec "$NS_C" "$BUILD/proxy-client" -c "$PKI/ns-alice.conf" \
	--socks "127.0.0.1:$SOCKS" -v debug

# cstat KEY: the client's udp_path.KEY; sstat KEY: the server's udp_path
# member KEY (global) or, as client.KEY, that of its one client. Read
# with sed, not a Python per poll: status is polled while timing the
# fallback, and a loaded machine takes a second to start Python.
# udp_path objects hold only numbers and one-word strings.
member() {	# KEY: from the udp_path object on stdin
	sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1
}
cstat() {
	in_c "$BUILD/proxy-client" status --control "$TMP/client.sock" --json 2>/dev/null |
		grep -o '"udp_path":{[^}]*}' | head -n 1 | member "$1"
}
sstat() {
	local all k=$1 pick=dropped_unknown
	all=$(ip netns exec "$NS_S" "$BUILD/proxy-server" status \
		--control "$TMP/server.sock" --json 2>/dev/null |
		grep -o '"udp_path":{[^}]*}')
	case $k in client.*) k=${k#client.} pick=tx_packets ;; esac
	grep -F "\"$pick\"" <<<"$all" | member "$k"
}
state_is() { [ "$(cstat state)" = "$1" ]; }
ge() { [ -n "$1" ] && [ "$1" -ge "$2" ]; }

check "udp-path: the client's path comes up (a probe answered)" \
	wait_for 15 state_is up || exit 1
check "udp-path: logged: UDP reaches the server both ways" \
	grep -q "datagram path: UDP reaches the server both ways" "$(log_of client)"

M0="$TMP/mark.drop"
M1="$TMP/mark.fallback"
M2="$TMP/mark.recovered"
spawn stream ip netns exec "$NS_C" "$PY" "$H/udp_stream.py" "$SOCKS" 127.0.0.2 "$EP" 40 \
	--mark "$TMP/mark.start" --mark "$M0" --mark "$M1" --mark "$M2" \
	--until "$TMP/mark.end"
check "udp-path: game-like stream running" ready stream || exit 1
touch "$TMP/mark.start"
sleep 1.5
tx0=$(cstat tx_datagrams)
rx0=$(cstat rx_datagrams)
echo "# client by UDP: $tx0 datagrams sent, $rx0 received; $(cstat tls_datagrams) inside TLS"
check "udp-path: the stream's datagrams go by UDP (client sent over 20)" ge "$tx0" 20
check "udp-path: and received over 20 by UDP" ge "$rx0" 20
check "udp-path: none went inside TLS" [ "$(cstat tls_datagrams)" = 0 ]
check "udp-path: the server received and sent them by UDP too" \
	eval 'ge "$(sstat client.rx_datagrams)" 20 && ge "$(sstat client.tx_datagrams)" 20'
check "udp-path: the server sends by UDP (state udp)" [ "$(sstat client.state)" = udp ]

# Sealed packets leave in batches (one sendmmsg() per loop iteration, at
# most 32 or 64 KiB at a time): 64 in flight at once, of random sizes up
# to 1400 bytes, overflow a batch by count and by bytes on both sides.
integrity() {	# COUNT WINDOW NAME: datagrams through the client, into $TMP/NAME
	in_c timeout 30 "$PY" "$H/udp_socks.py" integrity "$SOCKS" 127.0.0.2 "$EP" \
		--count "$1" --window "$2" >"$TMP/$3" 2>&1
	sed "s/^/# $3: /" "$TMP/$3"
}
txb=$(cstat tx_datagrams)
integrity 400 64 burst
check "udp-path: 400 datagrams, 64 in flight, all back intact" \
	has "sent=400 received=400 intact=400 lost=0 corrupt=0" "$TMP/burst"
check "udp-path: and they went by UDP" ge "$(cstat tx_datagrams)" $((txb + 400))

# -------------------------------------------------- strangers
OBS="$TMP/stranger"
unk0=$(sstat dropped_unknown)
mal0=$(sstat dropped_malformed)
in_c timeout 20 "$PY" "$H/udp_stranger.py" veth0 "$S_IP" "$SPORT" >"$OBS" 2>&1
sed 's/^/# stranger: /' "$OBS"
check "udp-path: a real client packet was captured off the wire" has captured=yes "$OBS"
for a in short junk replayed forged newcounter; do
	check "udp-path: stranger's $a packet never answered" has "$a replies=0" "$OBS"
done
check "udp-path: server counted the short packet as malformed" \
	ge "$(sstat dropped_malformed)" $((mal0 + 1))
check "udp-path: server counted the junk as of no tunnel" \
	ge "$(sstat dropped_unknown)" $((unk0 + 1))
check "udp-path: the tunnel's path refused the replay" ge "$(sstat client.dropped_replayed)" 1
check "udp-path: and the two forgeries (tag check)" ge "$(sstat client.dropped_forged)" 2
check "udp-path: the path is still up" state_is up

# -------------------------------------------------- UDP dropped mid-session
falls0=$(grep -c "datagram path: no answer by UDP" "$(log_of client)")
touch "$M0"
check "udp-path: iptables DROP of UDP in $NS_C" \
	link_down "$NS_C" udp "$S_IP" "$SPORT"
t0=$(date +%s.%N)
check "udp-path: the client falls back (state down)" wait_for 5 state_is down
t1=$(date +%s.%N)
touch "$M1"
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
echo "# fallback seen $secs s after the DROP (status polled)"
check "udp-path: fallback within 2 s (+0.3 s for polling)" \
	awk -v s="$secs" 'BEGIN { exit !(s <= 2.3) }'
sleep 3
check "udp-path: the fallback is logged once" \
	[ "$(grep -c "datagram path: no answer by UDP" "$(log_of client)")" = $((falls0 + 1)) ]
check "udp-path: datagrams go inside TLS meanwhile" ge "$(cstat tls_datagrams)" 20
check "udp-path: the server was told (state tls)" [ "$(sstat client.state)" = tls ]
check "udp-path: iptables DROP lifted" link_up "$NS_C" udp "$S_IP" "$SPORT"
check "udp-path: the path recovers" wait_for 5 state_is up
touch "$M2"
check "udp-path: recovery logged" \
	grep -q "datagram path: UDP gets through again" "$(log_of client)"
check "udp-path: fallbacks=1 recoveries=1" \
	eval '[ "$(cstat fallbacks)" = 1 ] && [ "$(cstat recoveries)" = 1 ]'
txr=$(cstat tx_datagrams)
sleep 1.5
check "udp-path: datagrams go by UDP again" ge "$(cstat tx_datagrams)" $((txr + 10))
touch "$TMP/mark.end"

check "udp-path: the stream ends" wait_for 20 grep -q '^sent=' "$(log_of stream)"
sed 's/^/# stream: /' "$(log_of stream)"
all_back() {	# after_K: every datagram sent after mark K came back
	local l
	l=$(grep "^after_$1 " "$(log_of stream)")
	[[ $l =~ ^after_$1\ sent=([0-9]+)\ received=([0-9]+)$ ]] &&
		[ "${BASH_REMATCH[1]}" -gt 10 ] &&
		[ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
}
check "udp-path: before the DROP, every datagram came back (by UDP)" all_back 0
check "udp-path: after the fallback, every datagram came back (inside TLS)" all_back 2
check "udp-path: after the recovery, every datagram came back (by UDP)" all_back 3

# -------------------------------------------------- udp-path auto
stop client
spawn client ip netns exec "$NS_C" "$BUILD/proxy-client" -c "$PKI/ns-auto.conf" \
	--socks "127.0.0.1:$SOCKS" -v debug
check "udp-path auto: the path comes up unused on a loss-free link (standby)" \
	wait_for 15 state_is standby
check "udp-path auto: logged: used while the connection loses packets" \
	grep -q "both ways.*: used while the connection loses packets" "$(log_of client)"
integrity 50 4 auto-clean
check "udp-path auto: 50 datagrams, all back" \
	has "sent=50 received=50 intact=50 lost=0 corrupt=0" "$TMP/auto-clean"
check "udp-path auto: they went inside TLS" \
	eval 'ge "$(cstat tls_datagrams)" 50 && [ "$(cstat tx_datagrams)" = 0 ]'
# A fifth of the client's TCP segments lost on the way in to the
# server: the client retransmits them (its datagrams meanwhile wait).
tcp_loss() {	# -I|-D
	ip netns exec "$NS_S" iptables "$1" INPUT -p tcp --dport "$SPORT" \
		-m statistic --mode random --probability 0.2 -j DROP
}
check "udp-path auto: iptables drops 20 % of the tunnel's TCP at the server" \
	tcp_loss -I
on_exit "tcp_loss -D 2>/dev/null"
spawn lossy ip netns exec "$NS_C" "$PY" "$H/udp_stream.py" "$SOCKS" 127.0.0.2 "$EP" 20
check "udp-path auto: a stream runs across the loss" ready lossy
check "udp-path auto: the client takes the path once the connection loses segments" \
	wait_for 10 state_is up
check "udp-path auto: logged: the connection is losing packets" \
	grep -q "datagram path: the connection is losing packets: datagrams go by UDP" \
	"$(log_of client)"
txa=$(cstat tx_datagrams)
sleep 1
check "udp-path auto: datagrams go by UDP" ge "$(cstat tx_datagrams)" $((txa + 10))
check "udp-path auto: the server sends by UDP too (state udp)" \
	wait_for 5 eval '[ "$(sstat client.state)" = udp ]'
check "udp-path auto: loss lifted" tcp_loss -D
stop lossy

# -------------------------------------------------- udp-path off
stop client
spawn client ip netns exec "$NS_C" "$BUILD/proxy-client" -c "$PKI/ns-off.conf" \
	--socks "127.0.0.1:$SOCKS" -v debug
once() {
	in_c timeout 10 "$PY" "$H/udp_socks.py" once "$SOCKS" 127.0.0.2 "$EP" |
		grep -qx reply=yes
}
check "udp-path off: a datagram is answered" wait_for 15 once
check "udp-path off: the client has no path" state_is off
check "udp-path off: nor has the server for it" [ -z "$(sstat client.state)" ]

check "udp-path: server still running" kill -0 "$(pid_of server)"
