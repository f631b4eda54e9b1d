#!/bin/bash
# Faults with real processes:
#  - SOCKS clients that vanish mid-handshake (half a greeting; a request
#    closed or reset before its reply) and mid-transfer (close; reset with
#    SO_LINGER 0): the client keeps serving and leaks no descriptor, the
#    server closes the flows' outbound connections and keeps serving;
#  - a SOCKS client silent mid-handshake is dropped at the client's
#    connect-timeout (2s);
#  - a target that resets mid-transfer: the SOCKS client sees its flow end;
#  - a target refusing (reply 0x05) or timing out (server connect-timeout
#    2s, reply 0x06 in about 2 s);
#  - kill -9 of the server mid-download, then a restart: the download ends
#    with an error, the same client carries a new flow within 20 s;
#  - EMFILE: the client under `ulimit -n 64`, the server under 128, with
#    100 flows held open: alive, not spinning (< 0.5 s CPU in 2 s), the
#    client's accept pause logged, the server's flow budget refusing before
#    accept() fails, every request answered, service back once they close;
#  - a client frozen by SIGSTOP: the server, with `keepalive 1s 3s`, logs
#    its tunnel down ("nothing heard") within 8 s; after SIGCONT the client
#    serves again; both daemons exit 0 on SIGINT;
#  - (root) a black-holed tunnel (iptables DROP inside network namespaces
#    made here): the client, with `keepalive 1s 3s` and `resume-window off`, logs the tunnel down
#    within 8 s, ends the open SOCKS connection, and carries a new flow
#    within 20 s of the link coming back.
. "$(dirname "$0")/../lib.sh"
need_cmd curl
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

# A tunnel going down / coming up in the client's log (lines about
# single flows, which may mention "tunnel closed" and bytes "down", do
# not count).
DOWN_RE='tunnel[^(]*\b(down|lost)\b'
UP_RE='tunnel[^(]*( up\b|connected)'
tunnel_lines() {	# NAME FROM_LINE ERE: matching lines after FROM_LINE
	tail -n +"$(($2 + 1))" "$(log_of "$1")" | grep -vE ' debug: | flow [0-9]' |
		grep -iE -- "$3"
}
tunnel_seen() { tunnel_lines "$@" >/dev/null; }
# wait_down NAME FROM_LINE ERE T0 WHAT: waits up to 15 s for NAME to log
# a line matching ERE after FROM_LINE, and shows it; DOWN_SECS is how long
# after T0 (an $EPOCHREALTIME) it came, empty when it did not.
wait_down() {
	DOWN_SECS=
	wait_for 15 tunnel_seen "$1" "$2" "$3" || return 0
	DOWN_SECS=$(awk -v a="$4" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	echo "# $5 after $DOWN_SECS s:"
	tunnel_lines "$1" "$2" "$3" | head -n 3 | sed 's/^/#   /'
}
down_within() {	# SECS: wait_down saw its line, at most SECS after T0
	if [ -z "$DOWN_SECS" ]; then
		echo "no such line in the log within 15 s"
		return 1
	fi
	echo "tunnel down noticed after $DOWN_SECS s"
	awk -v d="$DOWN_SECS" -v m="$1" 'BEGIN { exit !(d <= m) }'
}
# sig_exit SIG NAME SECS: send SIG; the process exits by itself with
# status 0 within SECS (a crash at shutdown fails here). Processes started
# in the background by a script begin with SIGINT ignored: an exit on
# SIGINT shows that the daemon installs a handler of its own.
sig_exit() {
	local sig=$1 pid rc i
	pid=$(pid_of "$2")
	kill -"$sig" "$pid"
	for ((i = 0; i < $3 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$2 still running $3 s after SIG$sig"
		return 1
	fi
	wait "$pid"
	rc=$?
	echo "$2 exited with status $rc"
	stop "$2"
	[ "$rc" -eq 0 ]
}
term_exit() {	# NAME SECS: sig_exit TERM
	sig_exit TERM "$@"
}
# The accept pause after EMFILE.
PAUSE_RE='accept.*paus|paus.*accept'

export EXTRA_SERVER_CONF="connect-timeout 2s"
check "faults: start server and client" start_pair || exit 1
CPID=$(pid_of client)
SPID=$(pid_of server)

mkdir -p "$TMP/www" && echo hello >"$TMP/www/hello"
HP=$(free_port) && SP=$(free_port) && EP=$(free_port) && RP=$(free_port) || exit 1
check "faults: http server ready" http_serve www 127.0.0.2 "$HP" "$TMP/www" || exit 1
spawn source "$PY" "$H/tcp_source.py" 127.0.0.2 "$SP" --http --status "$TMP/source.status"
spawn echo "$PY" "$H/tcp_echo.py" 127.0.0.2 "$EP"
spawn resetter "$PY" "$H/tcp_reset.py" 127.0.0.2 "$RP" --bytes 262144
check "faults: endless source ready" ready source || exit 1
check "faults: echo server ready" ready echo || exit 1
check "faults: resetting target ready" ready resetter || exit 1

fetch_via() {	# SOCKS_PORT: hello through that SOCKS port (bounded)
	timeout 15 curl -fsS --max-time 10 --socks5-hostname "127.0.0.1:$1" \
		"http://127.0.0.2:$HP/hello" | grep -qx hello
}
fetch() { fetch_via "$SOCKS_PORT"; }
fetch_retry() {	# SOCKS_PORT SECS: until a fetch works, at most SECS seconds
	local end=$((SECONDS + $2)) start=$SECONDS
	until fetch_via "$1"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "no working flow via port $1 within $2 s"
			return 1
		fi
		sleep 0.5
	done
	echo "# a flow via port $1 worked after $((SECONDS - start)) s"
}
# fds_back PID BEFORE SLACK: within 10 s the descriptor count of PID is
# at most BEFORE + SLACK.
fds_back() {
	local end=$((SECONDS + 10)) n
	while :; do
		n=$(nfds "$1")
		[ "$n" -le $(($2 + $3)) ] && { echo "descriptors: $2 before, $n after"; return 0; }
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.5
	done
	echo "descriptors of pid $1: $2 before, $n 10 s after (slack $3)"
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf "%f -> %l\n" | tail -n 20
	return 1
}
cpu_ticks() {	# PID: utime + stime, in clock ticks
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
HZ=$(getconf CLK_TCK)
# not_spinning PID: less than 0.5 s of CPU used over 2 s.
not_spinning() {
	local t0 t1
	t0=$(cpu_ticks "$1") || return 1
	sleep 2
	t1=$(cpu_ticks "$1") || return 1
	echo "pid $1 used $((t1 - t0)) ticks (HZ $HZ) of CPU in 2 s"
	[ $(((t1 - t0) * 1000 / HZ)) -lt 500 ]
}
logged() {	# NAME ERE [FROM_LINE]: the log of NAME has a line matching ERE
	local log
	log=$(log_of "$1")
	tail -n +"$((${3:-0} + 1))" "$log" | grep -qiE -- "$2" && return 0
	echo "no line matching /$2/ in $1.log${3:+ after line $3}; last lines:"
	tail -n 15 "$log"
	return 1
}
OBS="$TMP/obs"

check "faults: a flow works" fetch

# ------------------------------------------- SOCKS clients that vanish
cfd0=$(nfds "$CPID")
sfd0=$(nfds "$SPID")
vanish() {	# MODE COUNT
	timeout 60 "$PY" "$H/socks_vanish.py" "$1" "$SOCKS_PORT" 127.0.0.2 "$SP" \
		--count "$2" --bytes 65536 >"$OBS" 2>&1
	echo "# vanish $1 x$2: $(tr '\n' ' ' <"$OBS")"
	has "done=$2" "$OBS" && has rep_bad=0 "$OBS"
}
for mode in half-greeting greeting-rst request-close request-rst; do
	check "faults: 50 SOCKS clients vanish mid-handshake ($mode)" vanish "$mode" 50
	check "faults: client alive after $mode" kill -0 "$CPID"
done
check "faults: client still serves after the vanished handshakes" fetch
for mode in transfer-close transfer-rst; do
	check "faults: 30 SOCKS clients vanish mid-download ($mode)" vanish "$mode" 30
	check "faults: client alive after $mode" kill -0 "$CPID"
done
check "faults: client and server still serve after the vanished downloads" fetch
check "faults: server alive after the vanished clients" kill -0 "$SPID"
check "faults: client holds no descriptors for the vanished SOCKS clients (<= +3)" \
	fds_back "$CPID" "$cfd0" 3
check "faults: server holds no descriptors for the vanished flows (<= +3)" \
	fds_back "$SPID" "$sfd0" 3
source_all_closed() {	# every connection the server made to the source is gone
	local open
	open=$(grep -c -vE ' closed$' "$TMP/source.status" 2>/dev/null)
	[ "${open:-1}" -eq 0 ] && [ -s "$TMP/source.status" ]
}
source_closed() {
	wait_for 10 source_all_closed && return 0
	echo "connections to the source still open 10 s later:"
	grep -vE ' closed$' "$TMP/source.status" | head
	return 1
}
check "faults: the server closed every outbound connection of the vanished flows" \
	source_closed
echo "# source saw $(wc -l <"$TMP/source.status") connections"

# ------------------------------------------- a target that resets
timeout 60 "$PY" "$H/socks_vanish.py" read-end "$SOCKS_PORT" 127.0.0.2 "$RP" \
	--count 5 --timeout 10 >"$OBS" 2>&1
echo "# target resets mid-transfer: $(tr '\n' ' ' <"$OBS")"
five_ends() {	# five flows, each ended by eof or reset (never left hanging)
	[ "$(grep -cxE 'end=(eof|reset)' "$OBS")" -eq 5 ] && has rep_bad=0 "$OBS" &&
		return 0
	cat "$OBS"
	return 1
}
check "faults: target resets mid-transfer: all 5 SOCKS flows end (reset or close), none hangs" \
	five_ends
check "faults: client alive after the target resets" kill -0 "$CPID"
check "faults: server alive after the target resets" kill -0 "$SPID"
check "faults: a flow works after the target resets" fetch

# ------------------------------------------- target refusing or timing out
CLOSED=$(free_port) || exit 1
timeout 20 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" 127.0.0.2 "$CLOSED" >"$OBS" 2>&1
check "faults: CONNECT to a closed port gets reply 0x05" has rep=05 "$OBS"
BH=$(free_port) || exit 1
spawn blackhole "$PY" "$H/tcp_blackhole.py" 127.0.0.2 "$BH"
check "faults: blackhole listener ready" ready blackhole
start=$SECONDS
timeout 30 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" 127.0.0.2 "$BH" --timeout 25 >"$OBS" 2>&1
took=$((SECONDS - start))
echo "# CONNECT to the blackhole: $(tr '\n' ' ' <"$OBS") after $took s"
check "faults: CONNECT that times out gets reply 0x06" has rep=06 "$OBS"
check "faults: ... after the server's connect-timeout (2s): within 1..6 s" \
	test "$took" -ge 1 -a "$took" -le 6
stop blackhole

# ------------------------------------------- kill -9 of the server mid-download
(
	start=$SECONDS
	timeout 25 curl -sS -o /dev/null --socks5-hostname "127.0.0.1:$SOCKS_PORT" \
		"http://127.0.0.2:$SP/endless"
	echo "rc=$? secs=$((SECONDS - start))" >"$TMP/endless.result"
) 2>"$TMP/endless.err" &
ENDLESS=$!
flowing() {	# the newest source connection has pushed over 1 MiB
	local b
	b=$(awk '$1 == "conn" && $5 != "closed" { b = $4 } END { print b }' \
		"$TMP/source.status" 2>/dev/null)
	[ -n "$b" ] && [ "$b" -gt $((1 << 20)) ]
}
check "faults: endless download is flowing" wait_for 10 flowing
nk=$(wc -l <"$(log_of client)")
kill -9 "$SPID"
killed_at=$SECONDS
stop server 2>/dev/null
wait "$ENDLESS" 2>/dev/null
result=$(cat "$TMP/endless.result" 2>/dev/null)
echo "# download after kill -9 of the server: ${result:-?} ($(cat "$TMP/endless.err"))"
ended_with_error() {
	local rc
	rc=$(sed -n 's/^rc=\([0-9]*\).*/\1/p' <<<"$result")
	[ -n "$rc" ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] &&
		[ $((SECONDS - killed_at)) -le 20 ]
}
check "faults: the download open at the kill -9 ends with an error, no hang" ended_with_error
check "faults: client survives the server's kill -9" kill -0 "$CPID"
# the server stays down until the client has noticed (5 s at most)
wait_for 5 tunnel_seen client "$nk" "$DOWN_RE"
spawn server2 "$BUILD/proxy-server" -c "$SERVER_CONF" -v debug
check "faults: server restarts on the same port" wait_tcp 127.0.0.1 "$SERVER_PORT" 10
SPID=$(pid_of server2)
check "faults: the same client carries a new flow within 20 s of the restart" \
	fetch_retry "$SOCKS_PORT" 20
check "faults: the client is still the same process" kill -0 "$CPID"

# ------------------------------------------- a SOCKS client that goes silent
# mid-handshake is dropped at the client's connect-timeout (2s here).
HT=$(free_port) || exit 1
client_profile clientht "connect-timeout 2s"
spawn clientht "$BUILD/proxy-client" -c "$TMP/clientht.conf" --socks "127.0.0.1:$HT" -v debug
check "faults: client with connect-timeout 2s serves" fetch_retry "$HT" 15
silent_run() {	# MODE OUT: a SOCKS client silent after MODE; when it got closed, into OUT
	timeout 20 "$PY" - "$HT" "$1" >"$2" 2>&1 <<'EOF2'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t0 = time.monotonic()
if sys.argv[2] == "half":
    s.sendall(b"\x05")            # half a greeting, then nothing
else:
    s.sendall(b"\x05\x01\x00")    # a greeting, then no request
    s.recv(2)
s.settimeout(10)
try:
    while s.recv(4096):
        pass
    print("closed_after=%.1f" % (time.monotonic() - t0))
except ConnectionResetError:
    print("closed_after=%.1f" % (time.monotonic() - t0))
except socket.timeout:
    print("open_after=%.1f" % (time.monotonic() - t0))
EOF2
}
silent_dropped() {	# OUT: silent_run saw the SOCKS client closed 1.5..6 s after connecting
	local t
	cat "$1"
	t=$(sed -n 's/^closed_after=//p' "$1")
	[ -n "$t" ] && awk -v t="$t" 'BEGIN { exit !(t >= 1.5 && t <= 6) }'
}
# Both at once: each times its own connection.
silent_run half "$TMP/silent.half" &
SILENT=$!
silent_run greeting "$TMP/silent.greeting"
wait "$SILENT"
check "faults: SOCKS client silent after half a greeting: dropped at connect-timeout 2s" \
	silent_dropped "$TMP/silent.half"
check "faults: SOCKS client silent after its greeting: dropped at connect-timeout 2s" \
	silent_dropped "$TMP/silent.greeting"
check "faults: client with connect-timeout 2s still serves" fetch_via "$HT"
check "faults: client with connect-timeout 2s exits 0 on SIGTERM (within 3 s)" \
	term_exit clientht 3

# ------------------------------------------- EMFILE in the client
LP=$(free_port) || exit 1
client_profile clientlow
# shellcheck disable=SC2016 # expanded by the inner bash
spawn clientlow bash -c 'ulimit -n 64 && exec "$@"' clientlow \
	"$BUILD/proxy-client" -c "$TMP/clientlow.conf" --socks "127.0.0.1:$LP" -v debug
LPID=$(pid_of clientlow)
check "faults: client under ulimit -n 64 serves" fetch_retry "$LP" 15
hold_log() { grep -q '^held' "$(log_of "$1")"; }
rm -f "$TMP/release.c"
spawn holdc timeout 120 "$PY" "$H/socks_hold.py" 127.0.0.1 "$LP" 127.0.0.2 "$EP" \
	--flows 100 --answer-timeout 4 --echo 256 --release "$TMP/release.c"
check "faults: 100 SOCKS connections opened against the ulimit-64 client" \
	wait_for 40 hold_log holdc
sed 's/^/# ulimit-64 client, 100 held: /' "$(log_of holdc)"
limit_hit() {	# fewer than 100 flows got through: the limit was reached
	local okn
	okn=$(sed -n 's/^rep00=//p' "$(log_of holdc)")
	echo "rep00=${okn:-0} of 100"
	[ "${okn:-0}" -lt 100 ]
}
check "faults: the client ran out of descriptors (not all 100 flows served)" limit_hit
echo_all() {	# every flow that was served echoes correctly
	local okn e
	okn=$(sed -n 's/^rep00=//p' "$(log_of "$1")")
	e=$(sed -n 's/^echo_ok=//p' "$(log_of "$1")")
	echo "rep00=${okn:-0} echo_ok=${e:-0}"
	[ "${okn:-0}" -gt 0 ] && [ "${e:-0}" = "${okn:-0}" ]
}
check "faults: the flows accepted at the limit echo correctly" echo_all holdc
check "faults: ulimit-64 client alive at the limit" kill -0 "$LPID"
check "faults: ulimit-64 client does not spin at the limit" not_spinning "$LPID"
check "faults: ulimit-64 client logs the accept pause" logged clientlow "$PAUSE_RE"
touch "$TMP/release.c"
wait_for 10 grep -q '^released' "$(log_of holdc)"
check "faults: ulimit-64 client serves again once the flows closed" fetch_retry "$LP" 10
check "faults: ulimit-64 client alive at the end" kill -0 "$LPID"
check "faults: ulimit-64 client exits 0 on SIGTERM (within 3 s)" term_exit clientlow 3

# ------------------------------------------- few descriptors in the server
# The server keeps descriptors back for listeners, handshakes and tunnels
# (64 + max-startups + max-tunnels) and refuses flows past what is left
# (max-flows-total, test_fd_limits.sh) before accept() can fail: under
# ulimit -n 128 that leaves about 50 flows, a quarter of them per user.
SLP=$(free_port) && CSL=$(free_port) || exit 1
server_conf serverlow "listen 127.0.0.1:$SLP" "max-startups 8" "max-tunnels 4"
# shellcheck disable=SC2016
spawn serverlow bash -c 'ulimit -n 128 && exec "$@"' serverlow \
	"$BUILD/proxy-server" -c "$PKI/serverlow.conf" -v debug
SLPID=$(pid_of serverlow)
check "faults: server under ulimit -n 128 listens" wait_tcp 127.0.0.1 "$SLP" 10
client_profile clientsl
spawn clientsl "$BUILD/proxy-client" -c "$TMP/clientsl.conf" --server "127.0.0.1:$SLP" \
	--socks "127.0.0.1:$CSL" -v debug
check "faults: a client through the ulimit-128 server serves" fetch_retry "$CSL" 15
rm -f "$TMP/release.s"
spawn holds timeout 120 "$PY" "$H/socks_hold.py" 127.0.0.1 "$CSL" 127.0.0.2 "$EP" \
	--flows 100 --answer-timeout 8 --echo 256 --release "$TMP/release.s"
check "faults: 100 flows opened through the ulimit-128 server" wait_for 60 hold_log holds
sed 's/^/# ulimit-128 server, 100 held: /' "$(log_of holds)"
limit_hit_s() {
	local okn
	okn=$(sed -n 's/^rep00=//p' "$(log_of holds)")
	echo "rep00=${okn:-0} of 100"
	[ "${okn:-0}" -lt 100 ]
}
check "faults: the server ran out of flows (not all 100 served)" limit_hit_s
check "faults: the flows the ulimit-128 server opened echo correctly" echo_all holds
check "faults: every request refused for lack of descriptors got a SOCKS reply (none hung, none dropped)" \
	lacks '(noanswer|closed|connerr)=' "$(log_of holds)"
# New connections at the server port while its flows are used up.
for i in 1 2 3; do
	spawn "silent$i" timeout 30 "$PY" "$H/garbage_conn.py" 127.0.0.1 "$SLP" silent 6
done
for i in 1 2 3; do	# until each is connected (5 s at most)
	wait_for 5 grep -q '^connected' "$(log_of "silent$i")"
done
check "faults: ulimit-128 server alive at the limit" kill -0 "$SLPID"
check "faults: ulimit-128 server does not spin at the limit" not_spinning "$SLPID"
budget_not_emfile() {	# the budget refused flows; accept() never failed
	logged serverlow 'max-flows-(total|per-user) \([0-9]+\) reached' &&
		! grep -qi 'too many open files' "$(log_of serverlow)"
}
check "faults: ulimit-128 server names the flow budget, never EMFILE" \
	budget_not_emfile
touch "$TMP/release.s"
wait_for 10 grep -q '^released' "$(log_of holds)"
check "faults: ulimit-128 server serves again once the flows closed" fetch_retry "$CSL" 15
check "faults: ulimit-128 server alive at the end" kill -0 "$SLPID"
check "faults: client of the ulimit-128 server exits 0 on SIGTERM (within 3 s)" \
	term_exit clientsl 3
check "faults: ulimit-128 server exits 0 on SIGTERM (within 7 s)" term_exit serverlow 7

check "faults: main client alive" kill -0 "$CPID"
check "faults: main server alive" kill -0 "$SPID"
# The server shuts down first: the client gets its GOAWAY (no flow open),
# must survive it, and then exits cleanly itself.
ng=$(wc -l <"$(log_of client)")
check "faults: restarted server exits 0 on SIGTERM (within 7 s)" term_exit server2 7
# until the client has taken the GOAWAY in (5 s at most)
wait_for 5 logged client 'going away|goaway|went away|shutting down' "$ng" >/dev/null
check "faults: main client survives the server's shutdown (GOAWAY)" kill -0 "$CPID"
check "faults: main client exits 0 on SIGTERM (within 3 s)" term_exit client 3

# ------------------------------------------- a frozen client
# The server, with `keepalive 1s 3s`, drops the tunnel of a client that
# is stopped (SIGSTOP: its kernel still ACKs, the client answers no ping)
# within 8 s; once continued, the client connects again and serves. Then
# both daemons exit 0 on SIGINT, as they do on SIGTERM.
FZS=$(free_port) && FZC=$(free_port) || exit 1
server_conf serverka "listen 127.0.0.1:$FZS" "keepalive 1s 3s"
spawn serverka "$BUILD/proxy-server" -c "$PKI/serverka.conf" -v debug
check "faults: server with keepalive 1s 3s listens" wait_tcp 127.0.0.1 "$FZS" 10
client_profile clientfz
spawn clientfz "$BUILD/proxy-client" -c "$TMP/clientfz.conf" --server "127.0.0.1:$FZS" \
	--socks "127.0.0.1:$FZC" -v debug
FZPID=$(pid_of clientfz)
check "faults: a client of the keepalive server serves" fetch_retry "$FZC" 15
n0=$(wc -l <"$(log_of serverka)")
NOTHING_RE='tunnel.*down.*nothing heard'
kill -STOP "$FZPID"	# (stop, at exit, sends SIGCONT after SIGTERM)
wait_down serverka "$n0" "$NOTHING_RE" "$EPOCHREALTIME" "frozen client: server log"
check "faults: frozen client: server logs the tunnel down (nothing heard) within 8 s (keepalive 1s 3s)" \
	down_within 8
check "faults: frozen client: server alive" kill -0 "$(pid_of serverka)"
kill -CONT "$FZPID"
check "faults: continued client connects again and serves within 20 s" fetch_retry "$FZC" 20
check "faults: continued client is still the same process" kill -0 "$FZPID"
check "faults: client exits 0 on SIGINT (within 3 s)" sig_exit INT clientfz 3
check "faults: server exits 0 on SIGINT (within 7 s)" sig_exit INT serverka 7

# ------------------------------------------- black-holed tunnel (namespaces)
if [ "$(id -u)" != 0 ]; then
	skip "faults: black-holed tunnel" "needs root (network namespaces, iptables)"
	exit 0
fi
if ! command -v ip >/dev/null || ! command -v iptables >/dev/null; then
	skip "faults: black-holed tunnel" "missing command: ip or iptables"
	exit 0
fi
NS_C=flt-c-$$
NS_S=flt-s-$$
on_exit "ip netns del $NS_C 2>/dev/null; ip netns del $NS_S 2>/dev/null"
C_IP=198.18.3.2
S_IP=198.18.3.1
NSPORT=8443
check "faults: namespaces $NS_C and $NS_S joined by veth" \
	ns_pair "$NS_C" "$C_IP" "$NS_S" "$S_IP" || exit 1
NSPKI="$TMP/nspki"
mk_nspki() {
	"$BUILD/proxy-server" init "$NSPKI" --server-name "$S_IP" &&
		"$BUILD/proxy-server" add-client "$NSPKI" alice --server "$S_IP:$NSPORT" &&
		{
			grep -vE '^[[:space:]]*listen([[:space:]]|$)' "$NSPKI/server.conf"
			echo "listen $S_IP:$NSPORT"
			echo "allow 127.0.0.2/32"
			echo "control $TMP/nsserver.sock"
		} >"$NSPKI/ns-server.conf" && chmod 600 "$NSPKI/ns-server.conf" &&
		{
			cat "$NSPKI/clients/alice.conf"
			echo "keepalive 1s 3s"
			# flows end with their tunnel here; test_resume.sh has
			# them kept and carried on (resume-window)
			echo "resume-window off"
			echo "control $TMP/nsclient.sock"
		} \
			>"$NSPKI/ns-alice.conf" && chmod 600 "$NSPKI/ns-alice.conf"
}
check "faults: PKI for the namespaced server, client profile with keepalive 1s 3s" mk_nspki || exit 1
spawn nswww ip netns exec "$NS_S" "$PY" -m http.server --bind 127.0.0.2 "$HP" \
	--directory "$TMP/www"
spawn nssource ip netns exec "$NS_S" "$PY" "$H/tcp_source.py" 127.0.0.2 "$SP"
check "faults: endless source in $NS_S ready" ready nssource
spawn nsserver ip netns exec "$NS_S" "$BUILD/proxy-server" -c "$NSPKI/ns-server.conf" -v debug
spawn nsclient ip netns exec "$NS_C" "$BUILD/proxy-client" -c "$NSPKI/ns-alice.conf" \
	--socks 127.0.0.1:1080 -v debug
NSCPID=$(pid_of nsclient)
ns_fetch() {
	timeout 15 ip netns exec "$NS_C" curl -fsS --max-time 10 \
		--socks5-hostname 127.0.0.1:1080 "http://127.0.0.2:$HP/hello" | grep -qx hello
}
ns_fetch_retry() {	# SECS
	local end=$((SECONDS + $1)) start=$SECONDS
	until ns_fetch; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "no working flow in $NS_C within $1 s"
			return 1
		fi
		sleep 0.5
	done
	echo "# a flow in $NS_C worked after $((SECONDS - start)) s"
}
check "faults: tunnel between the namespaces carries a flow" ns_fetch_retry 15 || exit 1

spawn nsflow ip netns exec "$NS_C" "$PY" "$H/socks_vanish.py" read-end 1080 127.0.0.2 "$SP" \
	--timeout 40
check "faults: a download through the namespaced tunnel is open" \
	wait_for 10 grep -q '^rep=00' "$(log_of nsflow)"
sleep 1
n0=$(wc -l <"$(log_of nsclient)")
DROP_RULES=(
	"OUTPUT -p tcp -d $S_IP --dport $NSPORT -j DROP"
	"INPUT -p tcp -s $S_IP --sport $NSPORT -j DROP"
)
for r in "${DROP_RULES[@]}"; do
	# shellcheck disable=SC2086
	ip netns exec "$NS_C" iptables -I $r
done
wait_down nsclient "$n0" "$DOWN_RE" "$EPOCHREALTIME" "client noticed the black hole"
check "faults: black hole: client logs the tunnel down within 8 s (keepalive 1s 3s)" \
	down_within 8
flow_ended() { grep -qE '^end=' "$(log_of nsflow)"; }
wait_for 5 flow_ended
sed -n 's/^/# black-holed SOCKS flow: /p' "$(log_of nsflow)" | grep -E 'end=|received=|error='
check "faults: black hole: the open SOCKS connection is ended (reset or closed)" \
	matches 'end=(reset|eof)' "$(log_of nsflow)"
check "faults: black hole: client alive" kill -0 "$NSCPID"
for r in "${DROP_RULES[@]}"; do
	# shellcheck disable=SC2086
	ip netns exec "$NS_C" iptables -D $r
done
check "faults: link back: the client reconnects and a new flow works within 20 s" \
	ns_fetch_retry 20
up_again() {
	tunnel_lines nsclient "$n0" "$UP_RE" >/dev/null && return 0
	echo "no tunnel-up line after the black hole"
	return 1
}
check "faults: link back: client log shows the tunnel up again" up_again
check "faults: black hole: the client is still the same process" kill -0 "$NSCPID"

check "faults: namespaced client exits 0 on SIGTERM (within 3 s)" term_exit nsclient 3
# The namespaced server still holds the black-holed tunnel and its flow
# (its own keepalive is the default 10s 30s): SIGTERM gives that flow
# shutdown-grace (default 5 s), then the server exits 0.
check "faults: namespaced server exits 0 within shutdown-grace + 2 s of SIGTERM" \
	term_exit nsserver 7
