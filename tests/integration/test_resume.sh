#!/bin/bash
# Flows that live through a tunnel change (issue 19, items 4-5;
# docs/PROTOCOL.md section 16). A client namespace and a server
# namespace joined by veth; an outage is iptables DROP both ways in the
# client's namespace. Both sides: keepalive 1s 4s (each notices a dead
# tunnel in 4 s) and resume-window 10s, so that every case fits the
# time budget:
#  - an interactive echo flow (a numbered line every 0.1 s) and a 16 MiB
#    download (read at 2 MiB/s with a small receive buffer, so that what
#    is still to come waits at the server) held across an 8 s outage, longer than either side's
#    timeout, during which the client's address changes too: both
#    tunnels are lost, both sides keep the flows, the new tunnel (from
#    the new address) resumes them: the echoes come back exactly as sent (nothing
#    lost, repeated or reordered) and the download's sha256 matches;
#  - resume_peer.py parks a flow as alice, then presents the token: with
#    bob's certificate (RESUMED 3, nothing resumed), as if from another
#    server process (2), as alice (0: the flow carries on, the server's
#    SYNC says it received the 3 bytes sent before), and again (1: a
#    token resumes once); carol's flow is parked, carol revoked: her
#    resume fails at the handshake;
#  - the client killed with -9 while flows are open: the server keeps
#    them (status shows them waiting) and frees them after resume-window:
#    its descriptor count is back to where it was before they opened;
#    meanwhile a second client (bob) has an outage longer than
#    resume-window: his flow ends (its application sees the close) and
#    he works again once the link is back;
#  - the server killed with -9 and restarted: the client's flows end
#    (the application sees its connection close) as soon as a connect
#    to the server is refused or the new server answers the resume
#    (RESUMED 2), and the client says why.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip iptables curl sha256sum
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

WIN=10          # resume-window, both sides
OUT=8           # the outage, over the 4 s timeout of both sides
ns_names res
C_IP=198.18.6.2
C_IP2=198.18.6.3
S_IP=198.18.6.1
SPORT=8443
HP=8080
EP=7007
SOCKS=1080
SOCKS2=1081
check "resume: namespaces $NS_C and $NS_S joined by veth" \
	ns_veth "$C_IP" "$S_IP" || exit 1

mk_pki() {
	ns_pki "$S_IP" "$SPORT" "alice bob carol" "keepalive 1s 4s" \
		"resume-window ${WIN}s" &&
		ns_profile alice alice "keepalive 1s 4s" "resume-window ${WIN}s" \
			"control $TMP/client.sock" &&
		ns_profile bob bob "keepalive 1s 4s" "resume-window ${WIN}s" \
			"control $TMP/bob.sock"
}
check "resume: PKI (alice, bob, carol), server config and client profile" mk_pki || exit 1
mkdir -p "$TMP/www" && head -c $((16 << 20)) /dev/urandom >"$TMP/www/big"
WANT=$(sha256sum <"$TMP/www/big" | cut -d' ' -f1)
spawn www ip netns exec "$NS_S" "$PY" -m http.server --bind 127.0.0.2 "$HP" \
	--directory "$TMP/www"
spawn echo ip netns exec "$NS_S" "$PY" "$H/tcp_echo.py" 127.0.0.2 "$EP"
check "resume: echo server ready" ready echo
start_server() {
	spawn server ip netns exec "$NS_S" "$BUILD/proxy-server" \
		-c "$PKI/ns-server.conf" -v debug
}
start_client() {
	spawn client ip netns exec "$NS_C" "$BUILD/proxy-client" \
		-c "$PKI/ns-alice.conf" --socks "127.0.0.1:$SOCKS" -v debug
}
start_server
start_client
in_c() { ip netns exec "$NS_C" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }
fetch_small() {
	timeout 10 ip netns exec "$NS_C" curl -fsS -o /dev/null --max-time 5 \
		--socks5-hostname "127.0.0.1:$SOCKS" "http://127.0.0.2:$HP/"
}
check "resume: a flow through the tunnel works" wait_for 15 fetch_small || exit 1

link() {	# down|up: the tunnel's TCP between the namespaces
	"link_$1" "$NS_C" tcp "$S_IP" "$SPORT"
}
val() { sed -n "s/^$1=//p" "$2" | head -n 1; }
server_status() {
	in_s "$BUILD/proxy-server" status --control "$TMP/server.sock" --json
}
waiting_flows() {	# the server's count of flows waiting to resume
	server_status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["resume"]["waiting_flows"])'
}
waiting_of() {	# USER N: the server's status shows N of USER's flows waiting
	local n
	n=$(server_status | "$PY" -c 'import json,sys
print(sum(w["flows"] for w in json.load(sys.stdin)["resume"]["waiting"] if w["user"] == sys.argv[1]))' "$1")
	echo "server status: ${n:-?} flows of $1 waiting to resume (want $2)"
	[ "$n" = "$2" ]
}
waiting_is() {	# N: the server's status shows N flows waiting to resume
	local n
	n=$(waiting_flows)
	echo "server status: ${n:-?} flows waiting to resume (want $1)"
	[ "$n" = "$1" ]
}

# ------------------------------------------- echo and download across an outage
n0=$(wc -l <"$(log_of client)")
s0=$(wc -l <"$(log_of server)")
spawn typer ip netns exec "$NS_C" "$PY" "$H/resume_echo.py" echo "$SOCKS" 127.0.0.2 "$EP" \
	$((OUT + 4)) --wait 20
spawn dl ip netns exec "$NS_C" "$PY" "$H/resume_echo.py" get "$SOCKS" 127.0.0.2 \
	"$HP" /big --rate $((2 << 20)) --progress "$TMP/got"
check "resume: an interactive flow is open" ready typer
got_now() {	# the body bytes the download has brought so far
	cat "$TMP/got" 2>/dev/null || echo 0
}
got_at_least() {	# BYTES: the download has brought that much so far
	[ "$(got_now)" -ge "$1" ]
}
# the outage starts with the download a few MiB in, far from its end
check "resume: the download is under way" wait_for 10 got_at_least $((2 << 20))
link down
# and the client moves to another address meanwhile (Wi-Fi to Ethernet,
# a NAT that maps it anew): the new tunnel comes from C_IP2
ip -n "$NS_C" addr del "$C_IP/24" dev veth0
ip -n "$NS_C" addr add "$C_IP2/24" dev veth0
sleep "$OUT"
got_down=$(got_now)
link up
client_kept() {
	tail -n +"$((n0 + 1))" "$(log_of client)" | grep -qE 'flows kept for a new connection' &&
		tail -n +"$((n0 + 1))" "$(log_of client)" | grep -qE 'resuming [0-9]+ flows'
}
check "resume: the client kept its flows and resumed them on a new tunnel" \
	wait_for 10 client_kept
check "resume: the server resumed the flows of the lost tunnel" \
	wait_for 10 logged_since "$s0" 'resuming [0-9]+ flows'
check "resume: ... on a tunnel from the client's new address" \
	logged_since "$s0" "up from $C_IP2:"
wait_pid() {	# NAME SECS: the spawned NAME exits within SECS
	local pid i
	pid=$(pid_of "$1")
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
check "resume: the interactive flow ends" wait_pid typer 30
echo_ok() {
	local f
	f=$(log_of typer)
	echo "$(tr '\n' ' ' <"$f")"
	has inorder=yes "$f" >/dev/null && has end=open "$f" >/dev/null &&
		[ "$(val sent "$f")" -gt 280 ]
}
check "resume: every echo came back, in order, none twice, over the same connection" echo_ok
check "resume: the download ends" wait_pid dl 40
dl_ok() {
	local f got
	f=$(log_of dl)
	got=$(val sha256 "$f")
	echo "downloaded $(val bytes "$f") bytes ($got_down when the link came back), sha256 $got, $(val end "$f")"
	[ "$got" = "$WANT" ] && [ "$got_down" -lt $((16 << 20)) ]
}
check "resume: the 16 MiB download held across the outage is complete (sha256)" dl_ok
stop typer
stop dl

# ------------------------------------------- tokens: other certificate, replay
# The server's descriptors with no flow open: where they must come back
# to once the flows kept below are freed.
no_flows() {
	[ "$(server_status | "$PY" -c 'import json,sys
print(sum(c["flows"] for c in json.load(sys.stdin)["clients"]))')" = 0 ]
}
check "resume: the server has no flow left open" wait_for 5 no_flows
spid=$(pid_of server)
fd0=$(nfds "$spid")
peer() {	# PROFILE ARGS...
	local prof=$1
	shift
	in_c timeout 20 "$PY" "$H/resume_peer.py" "$S_IP" "$SPORT" \
		"$PKI/clients/$prof.conf" "$@"
}
peer alice park 127.0.0.2 "$EP" "$TMP/tok" >"$TMP/park" 2>&1
check "resume: a hand-driven peer parks a flow (token, echo)" \
	has echo=ok "$TMP/park"
check "resume: ... the server keeps it" wait_for 10 waiting_is 1
peer bob resume "$TMP/tok" >"$TMP/bob" 2>&1
check "resume: another client's certificate resumes nothing (RESUMED 3)" \
	has resumed=3 "$TMP/bob"
peer alice resume "$TMP/tok" --flip >"$TMP/flip" 2>&1
check "resume: a token of another server process resumes nothing (RESUMED 2)" \
	has resumed=2 "$TMP/flip"
peer alice resume "$TMP/tok" >"$TMP/res" 2>&1
res_ok() {
	has resumed=0 "$TMP/res" && has sync=3 "$TMP/res" && has echo=ok "$TMP/res"
}
check "resume: the right certificate resumes the flow, which carries on" res_ok
peer alice resume "$TMP/tok" >"$TMP/replay" 2>&1
check "resume: the same token again resumes nothing (RESUMED 1)" \
	has resumed=1 "$TMP/replay"
check "resume: nothing is left waiting after a clean GOAWAY" \
	wait_for 5 waiting_is 0
peer carol park 127.0.0.2 "$EP" "$TMP/tok.carol" >"$TMP/park.carol" 2>&1
check "resume: carol parks a flow" has echo=ok "$TMP/park.carol"
"$BUILD/proxy-server" revoke "$PKI" carol >/dev/null 2>&1
kill -HUP "$(pid_of server)"
sleep 0.5
peer carol resume "$TMP/tok.carol" >"$TMP/revoked" 2>&1
revoked_ok() {
	cat "$TMP/revoked"
	! grep -q '^resumed=' "$TMP/revoked"
}
check "resume: a revoked certificate resumes nothing (refused at the handshake)" revoked_ok

# ------------------------------------------- client killed with -9
# (carol's flow is still kept meanwhile: it ends on its own clock)
spawn typer ip netns exec "$NS_C" "$PY" "$H/resume_echo.py" echo "$SOCKS" 127.0.0.2 "$EP" 30 --wait 1
spawn dl ip netns exec "$NS_C" curl -sS --max-time 50 --limit-rate 1M -o /dev/null \
	--socks5-hostname "127.0.0.1:$SOCKS" "http://127.0.0.2:$HP/big"
check "resume: flows open before the client is killed" ready typer
sleep 1
s0=$(wc -l <"$(log_of server)")
kill -KILL "$(pid_of client)"
check "resume: the server keeps the killed client's flows (status)" \
	wait_for 8 waiting_of alice 2
stop typer
stop dl

# ------------------------------------------- an outage longer than resume-window
# (while the killed client's flows wait out their window at the server)
spawn bob ip netns exec "$NS_C" "$BUILD/proxy-client" -c "$PKI/ns-bob.conf" \
	--socks "127.0.0.1:$SOCKS2" -v debug
bob_fetch() {
	timeout 10 ip netns exec "$NS_C" curl -fsS -o /dev/null --max-time 5 \
		--socks5-hostname "127.0.0.1:$SOCKS2" "http://127.0.0.2:$HP/"
}
check "resume: a second client (bob) works" wait_for 10 bob_fetch
spawn typer ip netns exec "$NS_C" "$PY" "$H/resume_echo.py" echo "$SOCKS2" 127.0.0.2 \
	"$EP" 40 --wait 1
check "resume: bob's interactive flow is open" ready typer
b0=$(wc -l <"$(log_of bob)")
link down
t_down=$SECONDS
fds_back() {
	local n
	n=$(nfds "$spid")
	echo "server descriptors: $n, $fd0 before the flows"
	[ "$n" -le "$fd0" ]
}
check "resume: after resume-window the server frees them, carol's and bob's (status)" \
	wait_for $((WIN + 10)) waiting_is 0
check "resume: ... its descriptors are back to where they were" \
	wait_for 2 fds_back
check "resume: ... and says so" logged_since "$s0" 'not resumed within resume-window'
stop client
bob_gave_up() {
	tail -n +"$((b0 + 1))" "$(log_of bob)" |
		grep -E 'no new connection within resume-window'
}
left=$((WIN + 8 - (SECONDS - t_down)))
check "resume: bob's kept flows end when his resume-window runs out" \
	wait_for $((left > 2 ? left : 2)) bob_gave_up
check "resume: ... and his application sees its connection end" \
	wait_pid typer 5
typer_ended() {
	cat "$(log_of typer)"
	matches 'end=(eof|reset)' "$(log_of typer)" >/dev/null
}
check "resume: ... with a close, not a hang" typer_ended
link up
check "resume: bob works again once the link is back" wait_for 10 bob_fetch
stop bob

# ------------------------------------------- server killed with -9, restarted
start_client
check "resume: the client is back" wait_for 15 fetch_small
n0=$(wc -l <"$(log_of client)")
spawn typer ip netns exec "$NS_C" "$PY" "$H/resume_echo.py" echo "$SOCKS" 127.0.0.2 "$EP" 30 --wait 1
check "resume: a flow is open before the server is killed" ready typer
kill -KILL "$(pid_of server)"
stop server
start_server
check "resume: after the server restarted, the held flow ends" wait_pid typer 15
restart_ok() {
	local f
	f=$(log_of typer)
	echo "$(tr '\n' ' ' <"$f")"
	matches 'end=(eof|reset)' "$f" >/dev/null &&
		tail -n +"$((n0 + 1))" "$(log_of client)" |
		grep -E 'not resumed: the server restarted|server is not running'
}
check "resume: ... with a close its application sees, and the client says why" restart_ok
check "resume: new flows work on the restarted server" wait_for 10 fetch_small
