#!/bin/bash
# One user cannot exhaust the server's descriptors or buffers (the
# server-wide budget, proxy-server/budget.c). The server runs under an
# open-file limit of 512 (prlimit, soft and hard) with max-tunnels 32 and
# max-startups 32 and its default workers (one per CPU, W), so it derives
# max-flows-total 512 less 64 + W + 1 for its listen address (each
# worker's TCP and the datagram path's UDP), + 8 for each worker after
# the first (its event loop and resolver), + 32 handshakes + 32 tunnels
# (382 with one worker, 373 with two) and max-flows-per-user a quarter of
# that, and says so in its start-up log and in status. Then:
#  - two tunnels of alice open 300 CONNECTs each at once: exactly those
#    succeed, every other one gets SOCKS reply 0x01 (no hang, no close;
#    alice's client logs the reason: a limit of the server),
#    while bob's download runs intact and 20 new flows of bob echo; the
#    log names max-flows-per-user and never says EMFILE ("Too many open
#    files"); status counts the flows; once released the server's
#    descriptors return to where they were;
#  - the same with eight tunnels of alice opening 100 each, while bob's
#    client is restarted and gets its tunnel and a download through it;
#  - max-flows-per-user set above the total: the total is what binds
#    (the log says the value was lowered); bob holds 10 flows, alice's
#    eight tunnels flood: the rest of the total succeed, the rest get 0x01, no EMFILE,
#    a second client of bob still gets its tunnel (the reserve), and
#    once alice lets go bob's new flows work again;
#  - max-buffer-total 1M (max-buffer left at 64M): uploads into a target
#    that never reads are reset and the log names max-buffer-total;
#  - an open-file limit below the reserve stops the server, saying what
#    to raise; a soft limit below the hard one is raised to it.
. "$(dirname "$0")/../lib.sh"
need_cmd curl sha256sum prlimit
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

NOFILE=512
W=$(nproc)
TOTAL=$((NOFILE - (64 + W + 1 + 8 * (W - 1) + 32 + 32)))
PER_USER=$((TOTAL / 4))
EMFILE_RE='too many open files|emfile'

check "fd limits: PKI (start_pair)" start_pair || exit 1
stop client
stop server

mkdir -p "$TMP/www"
head -c $((4 << 20)) /dev/urandom >"$TMP/www/big"
echo hello >"$TMP/www/hello"
SUM=$(sha256sum <"$TMP/www/big" | cut -d' ' -f1)
HP=$(free_port) && EP=$(free_port) && SINK=$(free_port) && P=$(free_port) ||
	exit 1
check "fd limits: http server ready" http_serve www 127.0.0.2 "$HP" "$TMP/www" || exit 1
spawn echo "$PY" "$H/tcp_echo.py" 127.0.0.2 "$EP"
check "fd limits: echo server ready" ready echo || exit 1

# start_server NAME LINE...: the server under the low open-file limit, on
# port $P, with the LINEs; SPID is its pid.
start_server() {
	local n=$1
	shift
	server_conf "$n" "listen 127.0.0.1:$P" "max-tunnels 32" "max-startups 32" "$@"
	spawn server prlimit --nofile=$NOFILE:$NOFILE "$BUILD/proxy-server" \
		-c "$PKI/$n.conf" -v debug
	SPID=$(pid_of server)
	SCONF="$PKI/$n.conf"
	wait_tcp 127.0.0.1 "$P" 10
}
sstatus() { "$BUILD/proxy-server" status -c "$SCONF" "$@"; }
json_field() {	# FIELD: from the server's status --json
	sstatus --json 2>/dev/null | "$PY" -c \
		"import json,sys; print(json.load(sys.stdin)['$1'])"
}
# profile PROC USER: $TMP/PROC.conf = clients/USER.conf, with a status
# socket of its own
profile() {
	{
		grep -vE '^[[:space:]]*control([[:space:]]|$)' "$PKI/clients/$2.conf"
		echo "control $TMP/$1.sock"
		echo "connect-timeout 3s"
	} >"$TMP/$1.conf" && chmod 600 "$TMP/$1.conf"
}
fetch_via() {	# SOCKS_PORT: hello through that SOCKS port (bounded)
	timeout 15 curl -fsS --max-time 10 --socks5-hostname "127.0.0.1:$1" \
		"http://127.0.0.2:$HP/hello" | grep -qx hello
}
fetch_retry() {	# SOCKS_PORT SECS
	local end=$((SECONDS + $2))
	until fetch_via "$1"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "no working flow via port $1 within $2 s"
			return 1
		fi
		sleep 0.5
	done
}
start_client() {	# PROC USER SOCKS_PORT
	profile "$1" "$2"
	spawn "$1" "$BUILD/proxy-client" -c "$TMP/$1.conf" --server "127.0.0.1:$P" \
		--socks "127.0.0.1:$3"
}
no_emfile() {
	! grep -iE "$EMFILE_RE" "$(log_of server)"
}
fds_back() {	# PID BEFORE SLACK SECS
	local end=$((SECONDS + $4)) n
	while :; do
		n=$(nfds "$1")
		[ "$n" -le $(($2 + $3)) ] && return 0
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.5
	done
	echo "descriptors of pid $1: $2 before, $n after"
	return 1
}

# bob's download of the 4 MiB file, slowed to last through a flood
download_start() {
	rm -f "$TMP/big.out" "$TMP/big.result"
	(
		timeout 40 curl -fsS --limit-rate 1M -o "$TMP/big.out" \
			--socks5-hostname "127.0.0.1:$BP" "http://127.0.0.2:$HP/big"
		echo "rc=$?" >"$TMP/big.result"
	) 2>"$TMP/big.err" &
	DL=$!
}
download_ok() {
	local got
	wait "$DL"
	got=$(sha256sum <"$TMP/big.out" | cut -d' ' -f1)
	echo "$(cat "$TMP/big.result" "$TMP/big.err" 2>/dev/null); sha256 $got, want $SUM"
	[ "$got" = "$SUM" ]
}

# flood TUNNELS FLOWS: each of alice's first TUNNELS SOCKS ports gets FLOWS
# CONNECTs at once (socks_hold.py), held until release_flood.
flood() {
	local i
	rm -f "$TMP/release"
	for ((i = 1; i <= $1; i++)); do
		spawn "hold$i" timeout 120 "$PY" "$H/socks_hold.py" 127.0.0.1 "${AP[$i]}" \
			127.0.0.2 "$EP" --flows "$2" --answer-timeout 20 --release "$TMP/release"
	done
	for ((i = 1; i <= $1; i++)); do
		wait_for 60 grep -q '^held' "$(log_of "hold$i")" ||
			{ echo "hold$i did not finish its CONNECTs"; return 1; }
	done
}
release_flood() {	# TUNNELS
	local i
	touch "$TMP/release"
	for ((i = 1; i <= $1; i++)); do
		wait_for 20 grep -q '^released' "$(log_of "hold$i")"
		stop "hold$i"
	done
}
sum_key() {	# KEY TUNNELS: KEY= summed over the helpers' logs
	local i s=0 v
	for ((i = 1; i <= $2; i++)); do
		v=$(sed -n "s/^$1=//p" "$(log_of "hold$i")")
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
flood_result() {	# TUNNELS FLOWS WANT_OK: WANT_OK got 00, the rest 01
	local ok r01 other
	ok=$(sum_key rep00 "$1")
	r01=$(sum_key rep01 "$1")
	other=$(for ((i = 1; i <= $1; i++)); do cat "$(log_of "hold$i")"; done |
		grep -E '^(rep0[2-9a-f]|rep[1-9a-f].|noanswer|closed|connerr)=' |
		tr '\n' ' ')
	echo "$(($1 * $2)) CONNECTs: $ok succeeded, $r01 got 0x01; other: ${other:-none}"
	[ "$ok" -eq "$3" ] && [ "$r01" -eq $(($1 * $2 - $3)) ] && [ -z "$other" ]
}
bob_flows() {	# N: N new flows of bob, each echoing 256 bytes
	timeout 60 "$PY" "$H/socks_hold.py" 127.0.0.1 "$BP" 127.0.0.2 "$EP" \
		--flows "$1" --answer-timeout 10 --echo 256 >"$TMP/bob.obs" 2>&1
	sed 's/^/#   bob: /' "$TMP/bob.obs"
	has "rep00=$1" "$TMP/bob.obs" && has "echo_ok=$1" "$TMP/bob.obs"
}
bob_restart() {	# bob's client anew: tunnel up within 10 s
	local log end=$((SECONDS + 10))
	stop bob
	start_client bob bob "$BP"
	log=$(log_of bob)
	until grep -q 'tunnel: connected' "$log"; do
		[ "$SECONDS" -ge "$end" ] && { echo "bob: no tunnel within 10 s"; tail -5 "$log"; return 1; }
		sleep 0.1
	done
}

# ------------------------------------------------ the derived budget
too_few() {	# an open-file limit below the reserve: no start, and why
	local out rc
	server_conf fd0 "listen 127.0.0.1:$P" "max-tunnels 32" "max-startups 32"
	out=$(timeout 10 prlimit --nofile=100:100 "$BUILD/proxy-server" -c "$PKI/fd0.conf" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q 'leaves no descriptor for flows' <<<"$out" &&
		grep -q 'ulimit -n' <<<"$out"
}
check "fd limits: an open-file limit of 100 stops the server, saying what to raise" too_few
raised() {	# soft 256, hard 1024: the server raises its soft limit
	local log
	spawn raised prlimit --nofile=256:1024 "$BUILD/proxy-server" -c "$PKI/fd0.conf"
	log=$(log_of raised)
	# started: it has said what it derived (10 s at most)
	wait_for 10 grep -q 'max-flows-total' "$log"
	stop raised
	head -n 2 "$log"
	grep -q "open files 1024 (raised from 256 to the hard limit); max-flows-total $((1024 - NOFILE + TOTAL)) " "$log"
}
check "fd limits: the soft open-file limit is raised to the hard one, and the total with it" raised
check "fd limits: add-client bob" \
	"$BUILD/proxy-server" add-client "$PKI" bob --server "127.0.0.1:$P"
check "fd limits: server under an open-file limit of $NOFILE starts" start_server fd
derived() {
	local line
	line=$(grep -m1 'max-flows-total' "$(log_of server)")
	echo "start-up log: ${line:-nothing about max-flows-total}"
	grep -q "open files $NOFILE;" <<<"$line" &&
		grep -q "max-flows-total $TOTAL (open-file limit $NOFILE less $((NOFILE - TOTAL))" <<<"$line" &&
		grep -q "max-flows-per-user $PER_USER (a quarter" <<<"$line" &&
		grep -q "max-buffer-total .*memory" <<<"$line"
}
check "fd limits: the start-up log states the derived limits and where they came from" derived
status_says() {	# FIELD VALUE
	local v
	v=$(json_field "$1")
	echo "status: $1=$v (want $2)"
	[ "$v" = "$2" ]
}
check "fd limits: status --json flows_total $TOTAL" status_says flows_total "$TOTAL"
check "fd limits: status --json flows_per_user $PER_USER" status_says flows_per_user "$PER_USER"

AP=()
for i in 1 2 3 4 5 6 7 8; do
	AP[i]=$(free_port) || exit 1
done
BP=$(free_port) && BP2=$(free_port) || exit 1
start_client bob bob "$BP"
check "fd limits: bob works" fetch_retry "$BP" 10
for i in 1 2; do
	start_client "alice$i" alice "${AP[$i]}"
	check "fd limits: alice's tunnel $i works" fetch_retry "${AP[$i]}" 10
done
sleep 1
fds0=$(nfds "$SPID")
echo "# server descriptors with 3 idle tunnels: $fds0"

# ------------------------------------------------ two tunnels of alice
n=$(wc -l <"$(log_of server)")
download_start
check "fd limits: 2 tunnels x 300 CONNECTs held" flood 2 300
check "fd limits: 2 tunnels: exactly $PER_USER succeed, the rest get reply 0x01 (no hang)" \
	flood_result 2 300 "$PER_USER"
check "fd limits: 2 tunnels: 20 new flows of bob open and echo meanwhile" bob_flows 20
check "fd limits: 2 tunnels: bob's 4 MiB download intact" download_ok
check "fd limits: 2 tunnels: status counts alice's flows (bob's are done)" \
	wait_for 5 status_says flows_in_use "$PER_USER"
check "fd limits: 2 tunnels: the log names max-flows-per-user" \
	logged_since "$n" 'max-flows-per-user \('"$PER_USER"'\) reached'
check "fd limits: 2 tunnels: the server never ran out of descriptors (no EMFILE)" no_emfile
check "fd limits: 2 tunnels: alice's client says why (a limit of the server)" \
	grep -q 'refused by server: a limit of the server was reached' "$(log_of alice1)"
release_flood 2
check "fd limits: 2 tunnels: the server's descriptors return to $fds0" fds_back "$SPID" "$fds0" 2 15
check "fd limits: 2 tunnels: status counts no flow once released" \
	wait_for 10 status_says flows_in_use 0

# ------------------------------------------------ eight tunnels of alice
for i in 3 4 5 6 7 8; do
	start_client "alice$i" alice "${AP[$i]}"
	check "fd limits: alice's tunnel $i works" fetch_retry "${AP[$i]}" 10
done
sleep 1
fds0=$(nfds "$SPID")
echo "# server descriptors with 9 idle tunnels: $fds0"
n=$(wc -l <"$(log_of server)")
check "fd limits: 8 tunnels x 100 CONNECTs held" flood 8 100
check "fd limits: 8 tunnels: exactly $PER_USER succeed, the rest get reply 0x01 (no hang)" \
	flood_result 8 100 "$PER_USER"
check "fd limits: 8 tunnels: bob's restarted client gets its tunnel" bob_restart
download_start
check "fd limits: 8 tunnels: 20 new flows of bob open and echo" bob_flows 20
check "fd limits: 8 tunnels: bob's 4 MiB download intact" download_ok
check "fd limits: 8 tunnels: the log names max-flows-per-user" \
	logged_since "$n" 'max-flows-per-user'
check "fd limits: 8 tunnels: no EMFILE" no_emfile
release_flood 8
check "fd limits: 8 tunnels: the server's descriptors return to $fds0" fds_back "$SPID" "$fds0" 2 15

# ------------------------------------------------ the total binds
stop server
check "fd limits: server with max-flows-per-user 100000 starts" \
	start_server fd2 "max-flows-per-user 100000"
check "fd limits: the log says max-flows-per-user was lowered to the total" \
	grep -q "max-flows-per-user $TOTAL (the total, not the 100000 set)" "$(log_of server)"
for i in 1 2 3 4 5 6 7 8; do
	check "fd limits: alice's tunnel $i back" fetch_retry "${AP[$i]}" 20
done
check "fd limits: bob back" fetch_retry "$BP" 20
sleep 1
fds0=$(nfds "$SPID")
rm -f "$TMP/bob.release"
spawn bobhold timeout 120 "$PY" "$H/socks_hold.py" 127.0.0.1 "$BP" 127.0.0.2 "$EP" \
	--flows 10 --answer-timeout 10 --release "$TMP/bob.release"
check "fd limits: bob holds 10 flows" wait_for 20 has rep00=10 "$(log_of bobhold)"
n=$(wc -l <"$(log_of server)")
check "fd limits: total: 8 tunnels x 100 CONNECTs held" flood 8 100
check "fd limits: total: exactly $((TOTAL - 10)) more succeed, the rest get reply 0x01" \
	flood_result 8 100 $((TOTAL - 10))
check "fd limits: total: the log names max-flows-total" logged_since "$n" 'max-flows-total'
check "fd limits: total: no EMFILE" no_emfile
bob_new_tunnel() {	# a second client of bob: its tunnel comes up
	local log end=$((SECONDS + 10))
	start_client bob2 bob "$BP2"
	log=$(log_of bob2)
	until grep -q 'tunnel: connected' "$log"; do
		[ "$SECONDS" -ge "$end" ] && { echo "bob2: no tunnel within 10 s"; tail -5 "$log"; return 1; }
		sleep 0.1
	done
}
check "fd limits: total: status says every flow is in use" \
	status_says flows_in_use "$TOTAL"
check "fd limits: total: a new tunnel of bob still comes up (the reserve)" \
	bob_new_tunnel
stop bob2
release_flood 8
touch "$TMP/bob.release"
wait_for 20 grep -q '^released' "$(log_of bobhold)"
stop bobhold
check "fd limits: total: bob's new flows work once alice let go" bob_flows 20
check "fd limits: total: the server's descriptors return" fds_back "$SPID" "$fds0" 2 15
check "fd limits: total: no EMFILE at the end" no_emfile
for i in 1 2 3 4 5 6 7 8; do
	stop "alice$i"
done
stop bob

# ------------------------------------------------ max-buffer-total
stop server
check "fd limits: server with max-buffer-total 1M starts" start_server fd3 "max-buffer-total 1M"
spawn sink "$PY" "$H/tcp_noread.py" 127.0.0.2 "$SINK"
check "fd limits: a target that never reads" wait_tcp 127.0.0.2 "$SINK" 10
start_client alice1 alice "${AP[1]}"
check "fd limits: alice back" fetch_retry "${AP[1]}" 20
n=$(wc -l <"$(log_of server)")
timeout 60 "$PY" "$H/socks_push.py" "${AP[1]}" 127.0.0.2 "$SINK" 8 4 >"$TMP/push" 2>&1
sed 's/^/# push: /' "$TMP/push"
check "fd limits: max-buffer-total: the log names it when it resets a flow" \
	logged_since "$n" 'max-buffer-total reached'
resets_counted() {
	local v
	v=$(json_field buffer_resets)
	echo "status: buffer_resets=$v"
	[ "${v:-0}" -ge 1 ]
}
check "fd limits: max-buffer-total: status counts the resets" resets_counted
check "fd limits: max-buffer-total: alice still works" fetch_via "${AP[1]}"
check "fd limits: server alive at the end" kill -0 "$SPID"
