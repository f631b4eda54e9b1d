#!/bin/bash
# Per-client accounting and quotas (issue 22): alice (curl) and bob
# (PySocks) download through one server; status --json counts what they
# moved (within 1 % plus HTTP framing); the counts survive a restart and
# a kill -9 (account-flush 1s here: at most that is lost); alice's quota
# of 3M stops her within 1 MiB of it (new flows get SOCKS reply 0x02 and
# the server logs the reason) while bob goes on; with --test-clock just
# before the month's end, alice is let in again by herself once the new
# month starts. A server running as nobody keeps its store writable.
# carol's `rate 2M` holds her download (curl) and her upload (pushed
# into a sink, measured by the server's own counts) to between half and
# one and a half times 2 MiB/s, while bob's download beside hers goes
# at full speed and ends first. SIGHUP while carol downloads: her
# download completes, her new rate and bob's new quota (used up at
# once: his new flows get 0x02) apply, a changed max-tunnels is named
# as needing a restart; a config with a bad line is refused with
# file:line and the running one kept; the next good one lets bob in.
# With `workers 2`, dave's two clients (one certificate, two processes)
# are held on the two workers (status says which; the second client is
# restarted until its tunnel lands on the other one; both answer
# datagram-path probes, worker 1's handed over by the main thread that
# reads the UDP socket): what curl and
# PySocks fetched through both is counted once per byte, one daily
# quota stops both within 1 MiB, and a revocation on SIGHUP ends the
# tunnels on both workers. erin's download (read slowly) is held
# across tunnel losses (ss -K on her tunnel's socket) until one of her
# new tunnels has landed on the other worker than the lost one's: the
# server moves the kept flow over (its log says so), nothing is refused,
# the download's sha256 matches and no worker keeps a flow after. ACCOUNTING_PART=workers runs only that part
# (the ThreadSanitizer pass of tests/run.sh).
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd curl ss sha256sum
"$PY" -c 'import socks' 2>/dev/null || { skip "$_LIB_SCRIPT" "no PySocks"; exit 0; }
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

STATE="$TMP/state"
EXTRA_SERVER_CONF="state-dir $STATE
account-flush 1s
quota alice 3M monthly
rate carol 2M"
check "accounting: start server and alice's client" start_pair || exit 1
SOCK="$TMP/server.sock"
MiB=1048576

mkdir -p "$TMP/www"
head -c $((2 * MiB)) /dev/urandom >"$TMP/www/two"
head -c $((8 * MiB)) /dev/urandom >"$TMP/www/eight"
HP=$(free_port) || exit 1
check "accounting: http server ready" http_serve www 127.0.0.2 "$HP" "$TMP/www" ||
	exit 1

"$BUILD/proxy-server" add-client "$PKI" bob --server "127.0.0.1:$SERVER_PORT" \
	>"$TMP/bob.log" 2>&1
BP=$(free_port) || exit 1
spawn bob "$BUILD/proxy-client" -c "$PKI/clients/bob.conf" \
	--socks "127.0.0.1:$BP" -v debug
check "accounting: bob's client up" wait_tcp 127.0.0.1 "$BP" 10

curl_get() {	# SOCKS_PORT FILE: bytes received (curl's own count)
	timeout 30 curl -s --max-time 20 -o /dev/null -w '%{size_download}' \
		--socks5-hostname "127.0.0.1:$1" "http://127.0.0.2:$HP/$2"
}
py_body() {	# SOCKS_PORT FILE MODE: what PySocks received of the body:
	# MODE len, its length; slow-sha, its sha256, read at ~1.3 MB/s
	timeout 40 "$PY" - "$1" "$HP" "$2" "$3" <<'PYEOF'
import hashlib, socket, socks, sys, time
slow = sys.argv[4] == "slow-sha"
s = socks.socksocket()
if slow:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.set_proxy(socks.SOCKS5, "127.0.0.1", int(sys.argv[1]))
s.settimeout(20)
s.connect(("127.0.0.2", int(sys.argv[2])))
s.sendall(("GET /%s HTTP/1.0\r\nHost: x\r\n\r\n" % sys.argv[3]).encode())
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
    if slow:
        time.sleep(0.05)
body = data[data.index(b"\r\n\r\n") + 4:]
print(hashlib.sha256(body).hexdigest() if slow else len(body))
PYEOF
}
py_get() {	# SOCKS_PORT FILE: bytes of the body PySocks received
	py_body "$1" "$2" len
}
acct() {	# NAME FIELD: from status --json
	"$BUILD/proxy-server" status --control "$SOCK" --json |
		"$PY" -c 'import json, sys
for a in json.load(sys.stdin)["accounts"]:
    if a["name"] == sys.argv[1]:
        q = a["quota"] or {}
        print(a.get(sys.argv[2], q.get(sys.argv[2], 0)))' "$1" "$2"
}
socks_reply() {	# SOCKS_PORT: the REP of a CONNECT to the http server
	"$PY" - "$1" "$HP" <<'PYEOF'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"\x05\x01\x00")
s.recv(2)
s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.2") + struct.pack("!H", int(sys.argv[2])))
print(s.recv(2)[1])
PYEOF
}
workers_of() {	# NAME: the workers its tunnels that are up run on
	"$BUILD/proxy-server" status --control "$SOCK" --json |
		"$PY" -c 'import json, sys
c = json.load(sys.stdin)["clients"]
print(" ".join(str(w) for w in sorted({t["worker"] for t in c
      if t["user"] == sys.argv[1] and t["up"]})))' "$1"
}
paths_answered() {	# NAME: every tunnel of it answered datagram-path probes
	"$BUILD/proxy-server" status --control "$SOCK" --json |
		"$PY" -c 'import json, sys
c = [t for t in json.load(sys.stdin)["clients"]
     if t["user"] == sys.argv[1] and t["up"]]
sys.exit(not c or not all(t.get("udp_path", {}).get("acks", 0) > 0 for t in c))' "$1"
}
between() {	# V LO HI
	echo "# $1 in [$2, $3]?"
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}
# within 1 % plus 4 KiB of HTTP framing above what the client got
near() {	# V EXPECTED
	between "$1" "$2" $(($2 + $2 / 100 + 4096))
}

# ---- workers 2: one name on two workers, counted once, one quota
tunnel_port() {	# PID: the local port of its connection to the server
	ss -tnpH state established "( dport = :$SERVER_PORT )" |
		awk -v p="pid=$1," 'index($0, p) { sub(/.*:/, "", $3); print $3; exit }'
}
cut_tunnel() {	# PID: its tunnel's socket destroyed (both ends see it lost)
	local lp
	lp=$(tunnel_port "$1")
	echo "# cutting the tunnel of pid $1 from port ${lp:-(none)}"
	[ -n "$lp" ] || return 1
	ss -K -tnH state established \
		"( sport = :$lp and dport = :$SERVER_PORT )" >/dev/null
}
waiting_flows() {	# flows the server keeps for a resume, all workers
	"$BUILD/proxy-server" status --control "$SOCK" --json |
		"$PY" -c 'import json, sys
print(json.load(sys.stdin).get("resume", {}).get("waiting_flows", -1))'
}
count_in_log() {	# FROM_LINE ERE: server log lines matching since FROM_LINE
	log_since "$1" | grep -cE "$2"
}
slow_sha() {	# SOCKS_PORT FILE: sha256 of the body, read at ~1.3 MB/s
	py_body "$1" "$2" slow-sha
}
resumed_since() {	# FROM_LINE N: more than N of erin's resumes logged
	[ "$(count_in_log "$1" 'erin.*: resuming 1 flows')" -gt "$2" ]
}
# erin's download (read slowly: the rest waits at the server) is held across tunnel losses until one
# resume has landed on the other worker than its lost tunnel's
cross_worker_resume() {
	local n i pid resumed port
	n=$(wc -l <"$(log_of server)")
	"$BUILD/proxy-server" add-client "$PKI" erin \
		--server "127.0.0.1:$SERVER_PORT" >"$TMP/erin-pki.log" 2>&1
	port=$(free_port) || return 1
	spawn erin "$BUILD/proxy-client" -c "$PKI/clients/erin.conf" \
		--socks "127.0.0.1:$port" -v debug
	check "workers: erin's client up" wait_for 10 _lib_socks_probe "$port" "$HP" ||
		return 1
	slow_sha "$port" eight >"$TMP/erin.got" &
	pid=$!
	sleep 1
	for ((i = 0; i < 12; i++)); do
		[ "$(count_in_log "$n" 'erin: [0-9]+ flows of worker [01] move to worker [01]')" -gt 0 ] &&
			break
		kill -0 "$pid" 2>/dev/null || { echo "# download over"; break; }
		resumed=$(count_in_log "$n" 'erin.*: resuming 1 flows')
		cut_tunnel "$(pid_of erin)" || break
		wait_for 10 resumed_since "$n" "$resumed" || break
	done
	echo "# $i tunnel losses; $(count_in_log "$n" 'erin.*: resuming 1 flows') resumes"
	check "workers: erin's flow resumed on the other worker" test \
		"$(count_in_log "$n" 'erin: 1 flows of worker [01] move to worker [01]')" -gt 0
	check "workers: no resume refused" test \
		"$(count_in_log "$n" 'erin.*resume of [0-9]+ flows refused')" = 0
	wait "$pid"
	check "workers: erin's download complete and in order (sha256)" test \
		"$(cat "$TMP/erin.got")" = \
		"$(sha256sum <"$TMP/www/eight" | cut -d' ' -f1)"
	check "workers: no flow kept for a resume on either worker" \
		wait_for 5 test "$(waiting_flows)" = 0
	check "workers: erin's one tunnel up" test "$(workers_of erin | wc -w)" = 1
	stop erin
}
dave_up() {	# N: dave's client N answers through its tunnel
	_lib_socks_probe "$(cat "$TMP/dave$1.port")" "$HP"
}
spawn_dave() {	# N
	local port
	port=$(free_port) || return 1
	echo "$port" >"$TMP/dave$1.port"
	spawn "dave$1" "$BUILD/proxy-client" -c "$PKI/clients/dave$1.conf" \
		--socks "127.0.0.1:$port"
	wait_for 10 dave_up "$1"
}
on_two_workers() {	# dave2 is restarted until it is on the other worker
	local i
	for ((i = 0; i < 16; i++)); do
		[ "$(workers_of dave)" = "0 1" ] && return 0
		stop dave2
		spawn_dave 2 || return 1
	done
	[ "$(workers_of dave)" = "0 1" ]
}
workers_part() {
	local n got1 got2 used down
	stop server
	printf 'workers 2\nquota dave 10M daily\n' >>"$SERVER_CONF"
	n=$(wc -l <"$(log_of server)" 2>/dev/null || echo 0)
	spawn server "$BUILD/proxy-server" -c "$SERVER_CONF" -v debug
	check "workers: server up" wait_tcp 127.0.0.1 "$SERVER_PORT" 10 || return 1
	check "workers: two workers started" wait_for 5 grep -q \
		'2 workers, each accepting on its own socket' "$(log_of server)"
	"$BUILD/proxy-server" add-client "$PKI" dave \
		--server "127.0.0.1:$SERVER_PORT" >"$TMP/dave.log" 2>&1
	for i in 1 2; do
		{ cat "$PKI/clients/dave.conf"; echo "control $TMP/dave$i.sock"; } \
			>"$PKI/clients/dave$i.conf"
		chmod 600 "$PKI/clients/dave$i.conf"
	done
	check "workers: dave's first client up" spawn_dave 1 || return 1
	check "workers: dave's second client up" spawn_dave 2 || return 1
	check "workers: dave's two tunnels on workers 0 and 1" on_two_workers ||
		return 1
	check "workers: status lists tunnels of both workers" sh -c \
		"'$BUILD/proxy-server' status --control '$SOCK' | grep -E '^dave .* 1\$'"
	# the main thread reads the datagram path's UDP: worker 1's probes
	# are handed over to it, and answered from there
	check "workers: datagram path probes answered on both workers" \
		wait_for 10 paths_answered dave
	cross_worker_resume
	curl_get "$(cat "$TMP/dave1.port")" two >"$TMP/dave1.got" &
	got2=$(py_get "$(cat "$TMP/dave2.port")" two)
	wait $!
	got1=$(cat "$TMP/dave1.got")
	check "workers: dave fetched 2 MiB with curl and 2 MiB with PySocks" \
		test "$got1:$got2" = "$((2 * MiB)):$((2 * MiB))"
	check "workers: counted once per byte over both workers" \
		near "$(acct dave tcp_down)" $((4 * MiB))
	# the quota: 10M of which 4M are used; both fetch 8 MiB at once,
	# so that neither can end whole even when the other starts late
	timeout 30 curl -s --max-time 20 -o /dev/null -w '%{size_download}' \
		--socks5-hostname "127.0.0.1:$(cat "$TMP/dave1.port")" \
		"http://127.0.0.2:$HP/eight" >"$TMP/dave1.got" &
	got2=$(timeout 30 curl -s --max-time 20 -o /dev/null \
		-w '%{size_download}' \
		--socks5-hostname "127.0.0.1:$(cat "$TMP/dave2.port")" \
		"http://127.0.0.2:$HP/eight")
	wait $!
	got1=$(cat "$TMP/dave1.got")
	used=$(acct dave used) down=$(acct dave tcp_down)
	echo "# dave got $got1 + $got2 more; used $used of 10M: $((used - 10 * MiB)) over"
	check "workers: both of dave's downloads were cut" \
		test "${got1:-0}" -lt $((8 * MiB)) -a "${got2:-0}" -lt $((8 * MiB))
	check "workers: one quota stopped both within 1 MiB over 10M" \
		between "$used" $((10 * MiB)) $((11 * MiB))
	check "workers: every byte they got was counted" \
		between "$down" $((4 * MiB + got1 + got2)) $((11 * MiB))
	check "workers: dave's new flows refused on both workers" test \
		"$(socks_reply "$(cat "$TMP/dave1.port")"):$(socks_reply "$(cat "$TMP/dave2.port")")" = 2:2
	# revocation: SIGHUP ends the tunnels on both workers
	n=$(wc -l <"$(log_of server)")
	"$BUILD/proxy-server" revoke "$PKI" dave >>"$TMP/dave.log" 2>&1
	kill -HUP "$(pid_of server)"
	check "workers: revoked dave's tunnels end on both workers" \
		wait_for 5 test -z "$(workers_of dave)"
	check "workers: both revocations logged" wait_for 5 sh -c \
		"[ \$(tail -n +$n '$(log_of server)' | grep -c 'dave: certificate revoked, disconnecting') -ge 2 ]"
	stop dave1
	stop dave2
	stop server
}
if [ "${ACCOUNTING_PART:-all}" = workers ]; then
	workers_part
	exit 0
fi

got=$(curl_get "$SOCKS_PORT" two)
check "accounting: alice fetched 2 MiB with curl" test "$got" = $((2 * MiB))
got=$(py_get "$BP" eight)
check "accounting: bob fetched 8 MiB with PySocks" test "$got" = $((8 * MiB))
check "accounting: alice's TCP down counted" near "$(acct alice tcp_down)" $((2 * MiB))
check "accounting: bob's TCP down counted" near "$(acct bob tcp_down)" $((8 * MiB))
check "accounting: alice's request bytes counted up" \
	between "$(acct alice tcp_up)" 50 4096
check "accounting: flows opened counted" between "$(acct alice flows)" 1 3
check "accounting: status shows the table" sh -c \
	"'$BUILD/proxy-server' status --control '$SOCK' | grep -E '^bob .* 8\.0 MiB'"


# ---- restart and kill -9: counts stay
sleep 2	# past one account-flush
stop server
spawn server "$BUILD/proxy-server" -c "$SERVER_CONF" -v debug
check "accounting: server restarted" wait_tcp 127.0.0.1 "$SERVER_PORT" 10
check "accounting: bob's count survived the restart" \
	near "$(acct bob tcp_down)" $((8 * MiB))
check "accounting: usage prints bob's month" sh -c \
	"'$BUILD/proxy-server' usage --state-dir '$STATE' bob | grep -E '^bob +$(date -u +%Y-%m) .* 8\.0 MiB'"
wait_for 10 _lib_socks_probe "$BP" "$HP"
got=$(curl_get "$BP" two)
check "accounting: bob again after the restart" test "$got" = $((2 * MiB))
sleep 2
kill -9 "$(pid_of server)"
stop server
check "accounting: the store is intact after kill -9" sh -c \
	"'$BUILD/proxy-server' usage --state-dir '$STATE' >/dev/null"
spawn server "$BUILD/proxy-server" -c "$SERVER_CONF" -v debug
check "accounting: server up after kill -9" wait_tcp 127.0.0.1 "$SERVER_PORT" 10
check "accounting: bob's 10 MiB survived kill -9" \
	near "$(acct bob tcp_down)" $((10 * MiB))

# ---- alice's quota: 3M
wait_for 10 _lib_socks_probe "$SOCKS_PORT" "$HP"
n=$(wc -l <"$(log_of server)")
got=$(curl_get "$SOCKS_PORT" eight)
echo "# alice got $got of 8 MiB"
check "accounting: alice's download was cut" test "${got:-0}" -lt $((8 * MiB))
used=$(acct alice used)
echo "# alice used $used bytes of her 3M quota: $((used - 3 * MiB)) over"
check "accounting: alice stopped within 1 MiB over 3M" \
	between "$used" $((3 * MiB)) $((4 * MiB))
check "accounting: the server logged why" wait_for 3 sh -c \
	"tail -n +$n '$(log_of server)' | grep -q 'quota of 3M for this month used up; resets $(date -u -d "$(date -u +%Y-%m-01) +1 month" +%Y-%m-%d)'"
check "accounting: alice's new flow gets SOCKS reply 0x02" \
	test "$(socks_reply "$SOCKS_PORT")" = 2
got=$(py_get "$BP" two)
check "accounting: bob goes on" test "$got" = $((2 * MiB))

# ---- carol's rate: 2 MiB/s each way, bob beside her unaffected
"$BUILD/proxy-server" add-client "$PKI" carol --server "127.0.0.1:$SERVER_PORT" \
	>"$TMP/carol.log" 2>&1
CP=$(free_port) || exit 1
spawn carol "$BUILD/proxy-client" -c "$PKI/clients/carol.conf" \
	--socks "127.0.0.1:$CP"
check "rate: carol's client up" wait_tcp 127.0.0.1 "$CP" 10
wait_for 10 _lib_socks_probe "$CP" "$HP"
(timeout 30 curl -s --max-time 20 -o /dev/null \
	-w '%{size_download} %{time_total}' --socks5-hostname "127.0.0.1:$CP" \
	"http://127.0.0.2:$HP/eight" >"$TMP/carol.down") &
CURL=$!
got=$(py_get "$BP" eight)
check "rate: bob fetched 8 MiB beside carol" test "$got" = $((8 * MiB))
check "rate: bob finished while carol's download still ran" kill -0 "$CURL"
wait "$CURL"
read -r size secs <"$TMP/carol.down"
check "rate: carol fetched 8 MiB" test "$size" = $((8 * MiB))
ratio() {	# BYTES SECONDS: the rate over 2 MiB/s
	"$PY" -c 'import sys; print("%.3f" % (float(sys.argv[1]) / float(sys.argv[2]) / (2 << 20)))' "$1" "$2"
}
r=$(ratio "$size" "$secs")
echo "# carol's download: $size bytes in $secs s: $r x 2 MiB/s"
check "rate: carol's download at 2 MiB/s (x0.5 to x1.5)" \
	awk -v r="$r" 'BEGIN { exit !(r >= 0.5 && r <= 1.5) }'
SP=$(free_port) || exit 1
spawn sink "$PY" -c '
import socket, sys, threading
ls = socket.create_server(("127.0.0.2", int(sys.argv[1])))
def drain(c):
    while c.recv(1 << 16):
        pass
while True:
    threading.Thread(target=drain, args=(ls.accept()[0],), daemon=True).start()
' "$SP"
check "rate: sink ready" wait_tcp 127.0.0.2 "$SP" 10
spawn push "$PY" "$H/socks_push.py" "$CP" 127.0.0.2 "$SP" 1 8
sleep 2	# past the first window and the burst
u0=$(acct carol tcp_up) t0=$(date +%s.%N)
sleep 4
u1=$(acct carol tcp_up) t1=$(date +%s.%N)
d=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
r=$(ratio $((u1 - u0)) "$d")
echo "# carol's upload: $((u1 - u0)) bytes in $d s: $r x 2 MiB/s"
check "rate: carol's upload at 2 MiB/s (x0.5 to x1.5)" \
	awk -v r="$r" 'BEGIN { exit !(r >= 0.5 && r <= 1.5) }'
stop push
stop sink

# ---- SIGHUP while carol downloads
cp "$SERVER_CONF" "$TMP/server.conf.orig"
(timeout 30 curl -s --max-time 20 -o /dev/null -w '%{size_download}' \
	--socks5-hostname "127.0.0.1:$CP" "http://127.0.0.2:$HP/eight" \
	>"$TMP/carol.down") &
CURL=$!
sleep 1
sed -i 's/^rate carol 2M$/rate carol 4M/' "$SERVER_CONF"
printf 'quota bob 1M daily\nmax-tunnels 10\n' >>"$SERVER_CONF"
n=$(wc -l <"$(log_of server)")
kill -HUP "$(pid_of server)"
check "reload: logged" wait_for 5 logged_since "$n" 'configuration reloaded'
check "reload: max-tunnels named as needing a restart" \
	logged_since "$n" 'changed, kept as running until a restart: max-tunnels$'
check "reload: carol's running download completes" wait "$CURL"
check "reload: carol got all 8 MiB" test "$(cat "$TMP/carol.down")" = $((8 * MiB))
check "reload: bob's new quota applies at once" \
	test "$(socks_reply "$BP")" = 2
check "reload: the server logged bob's quota" \
	logged_since "$n" 'tunnel bob: quota of 1M for today used up'
check "reload: carol's rate is 4 MiB/s now" test "$(acct carol rate)" = $((4 * MiB))
n=$(wc -l <"$(log_of server)")
echo 'rate bob fast' >>"$SERVER_CONF"
bad=$(wc -l <"$SERVER_CONF")
kill -HUP "$(pid_of server)"
check "reload: a bad line is refused with file:line" wait_for 5 logged_since \
	"$n" "$SERVER_CONF:$bad: .*bad rate 'fast'.*keeping the running configuration"
check "reload: the running config stays (bob still refused)" \
	test "$(socks_reply "$BP")" = 2
check "reload: the server still serves carol" \
	test "$(curl_get "$CP" two)" = $((2 * MiB))
cp "$TMP/server.conf.orig" "$SERVER_CONF"
n=$(wc -l <"$(log_of server)")
kill -HUP "$(pid_of server)"
check "reload: bob's quota lifted" wait_for 5 logged_since "$n" \
	'tunnel bob: under its quota now'
check "reload: bob fetches again" test "$(py_get "$BP" two)" = $((2 * MiB))
stop carol

# ---- the month ends (clock injected): alice is let in by herself
NEXT=$(date -u -d "$(date -u +%Y-%m-01) +1 month" +%s)
CLOCK=$(date -u -d "@$((NEXT - 6))" +%Y-%m-%dT%H:%M:%S)
stop server
spawn server "$BUILD/proxy-server" -c "$SERVER_CONF" -v debug --test-clock "$CLOCK"
check "accounting: server up at $CLOCK" wait_tcp 127.0.0.1 "$SERVER_PORT" 10
wait_for 10 _lib_socks_probe "$SOCKS_PORT" "$HP"
check "accounting: still refused before the month ends" \
	test "$(socks_reply "$SOCKS_PORT")" = 2
alice_ok() { test "$(curl_get "$SOCKS_PORT" two)" = $((2 * MiB)); }
check "accounting: alice allowed again in the new month" wait_for 15 alice_ok
check "accounting: the server logged the new period" \
	grep -q 'alice: a new quota period' "$(log_of server)"
stop server

workers_part
sed -i '/^workers 2$/d' "$SERVER_CONF"

# ---- running as nobody, the store stays writable
if id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null; then
	chmod 711 "$TMP"
	[ "${PROXY_ASAN:-0}" = 1 ] && export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"
	printf 'user nobody\ngroup nogroup\n' >>"$SERVER_CONF"
	spawn server "$BUILD/proxy-server" -c "$SERVER_CONF" -v debug
	check "accounting: server up as nobody" wait_tcp 127.0.0.1 "$SERVER_PORT" 10
	check "accounting: the state dir is nobody's" \
		test "$(stat -c %U "$STATE")" = nobody
	wait_for 10 _lib_socks_probe "$SOCKS_PORT" "$HP"
	before=$(acct bob tcp_down)
	got=$(py_get "$BP" two)
	sleep 2
	check "accounting: counted as nobody" \
		near "$(acct bob tcp_down)" $((before + 2 * MiB))
	check "accounting: no store error as nobody" \
		lacks '.*accounting store' "$(log_of server)"
	stop server
	check "accounting: flushed at exit as nobody" sh -c \
		"'$BUILD/proxy-server' usage --state-dir '$STATE' bob | grep -q '^bob '"
fi
