#!/bin/bash
# Nobody locks clients out before authenticating (the server's defaults:
# max-startups 32:30:128, max-startups-per-source 16, first-byte-timeout
# 5s). On loopback, where every 127/8 address is a source of its own:
#  - one source holds 2,000 silent connections, 500 that sent a
#    ClientHello and stalled and 300 that send one byte every half second,
#    reopening whatever the server closes; meanwhile the real client
#    alice (from 127.0.0.1) is restarted five times and gets its tunnel
#    within 2 s each time, at its first attempt, and a download through
#    it works; the server holds at most the budget in handshakes, says
#    so in status and in its log, and its descriptors stay bounded;
#  - the same flood from 50 addresses: the same for alice (newcomers are
#    admitted by evicting from the busiest source);
#  - after the flood the handshakes drain away by themselves;
#  - a connection that sends nothing is closed at first-byte-timeout
#    (not before 3 s, by 8 s).
. "$(dirname "$0")/../lib.sh"
need_cmd curl sha256sum
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 65536 ]; then
	ulimit -Hn 65536 2>/dev/null
fi
ulimit -Sn 65536 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null

mkdir -p "$TMP/files"
head -c $((1 << 20)) /dev/urandom >"$TMP/files/data.bin"
SUM=$(sha256sum <"$TMP/files/data.bin" | cut -d' ' -f1)
FP=$(free_port) || exit 1
check "preauth: file server on 127.0.0.2 ready" \
	http_serve files 127.0.0.2 "$FP" "$TMP/files" || exit 1
check "preauth: start server and client" start_pair || exit 1
SPID=$(pid_of server)

sstatus() { "$BUILD/proxy-server" status -c "$SERVER_CONF" "$@"; }
json_field() {	# FIELD: from the server's status --json
	sstatus --json 2>/dev/null | "$PY" -c \
		"import json,sys; print(json.load(sys.stdin)['$1'])"
}

download() {	# the 1 MiB file through alice's SOCKS port, intact
	local sum
	sum=$(timeout 15 curl -sS --max-time 10 \
		--socks5-hostname "127.0.0.1:$SOCKS_PORT" \
		"http://127.0.0.2:$FP/data.bin" | sha256sum | cut -d' ' -f1)
	[ "$sum" = "$SUM" ] && return 0
	echo "sha256 $sum, expected $SUM"
	return 1
}

# reconnect LABEL: alice's client is started anew five times; each time
# its tunnel must be up within 2 s, at the first attempt.
reconnect() {
	local i t0 ms worst=0 log
	for i in 1 2 3 4 5; do
		stop client
		t0=$(date +%s%N)
		spawn client "$BUILD/proxy-client" -c "$CLIENT_CONF" \
			--socks "127.0.0.1:$SOCKS_PORT" -v debug
		log=$(log_of client)
		until grep -q 'tunnel: connected' "$log"; do
			if [ $(($(date +%s%N) - t0)) -gt 10000000000 ]; then
				echo "reconnect $i: no tunnel after 10 s"
				tail -5 "$log"
				return 1
			fi
			sleep 0.05
		done
		ms=$((($(date +%s%N) - t0) / 1000000))
		echo "reconnect $i: tunnel up after $ms ms"
		if grep -qE 'cannot connect|lost connection|reconnecting' "$log"; then
			echo "reconnect $i: not at the first attempt:"
			grep -E 'cannot connect|lost connection|reconnecting' "$log"
			return 1
		fi
		[ "$ms" -gt "$worst" ] && worst=$ms
	done
	echo "# $1: slowest of 5 reconnects: $worst ms"
	[ "$worst" -lt 2000 ]
}

bounded() {	# the server holds at most the budget in handshakes
	local hs fds
	hs=$(json_field handshakes) || return 1
	fds=$(nfds "$SPID")
	echo "handshakes in progress: $hs; server descriptors: $fds"
	[ "$hs" -le 128 ] && [ "$fds" -le 400 ]
}

# flood NAME SOURCES: the flood from SOURCES, running when this returns
# (its 2,800 connections opened 1,000 a second, then reopened at the
# helper's usual 200 a second whenever the server closes them).
flood() {
	spawn "$1" timeout 90 "$PY" "$H/handshake_flood.py" 127.0.0.1 \
		"$SERVER_PORT" --sources "$2" --idle 2000 --hello 500 \
		--slow 300 --secs 80 --ramp 1000 &&
		wait_for 30 grep -q '^ready' "$(log_of "$1")" && sleep 2
}

# ---- one source
check "preauth: a flood from one address is running" flood flood1 127.0.0.10
n=$(wc -l <"$(log_of server)")
check "preauth: one source: alice reconnects 5 times, each within 2 s" \
	reconnect "one source"
check "preauth: one source: a download through alice works" download
check "preauth: one source: handshakes and descriptors stay bounded" bounded
per_source() { [ "$(json_field refused_per_source)" -gt 0 ]; }
check "preauth: one source: status counts connections refused per source" \
	per_source
logged_limit() {
	tail -n +"$n" "$(log_of server)" | grep -q 'refused: too many handshakes from this address (max-startups)'
}
check "preauth: one source: the server log says why it refused" logged_limit
tail -1 "$(log_of flood1)" | sed 's/^/# flood1: /'
stop flood1

# ---- fifty sources
srcs=$(seq -s, -f '127.0.0.%g' 10 59)
check "preauth: a flood from 50 addresses is running" flood flood50 "$srcs"
check "preauth: 50 sources: alice reconnects 5 times, each within 2 s" \
	reconnect "50 sources"
check "preauth: 50 sources: a download through alice works" download
check "preauth: 50 sources: handshakes and descriptors stay bounded" bounded
crowded() {
	local early evicted
	early=$(json_field refused_early) && evicted=$(json_field evicted) ||
		return 1
	echo "refused early: $early; evicted: $evicted"
	[ "$early" -gt 0 ] || [ "$evicted" -gt 0 ]
}
check "preauth: 50 sources: the budget was full (early drops or evictions)" \
	crowded
tail -1 "$(log_of flood50)" | sed 's/^/# flood50: /'
stop flood50

drained() { [ "$(json_field handshakes)" = 0 ]; }
check "preauth: after the flood, no handshake is left (within 20 s)" \
	wait_for 20 drained
check "preauth: alice works after the flood" download

# ---- first-byte-timeout
silent() {	# one silent connection: open at 3 s, closed by 8 s
	"$PY" - "$SERVER_PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t0 = time.monotonic()
s.settimeout(0.2)
closed = None
while time.monotonic() - t0 < 10:
    try:
        if s.recv(1) == b"":
            closed = time.monotonic() - t0
            break
    except socket.timeout:
        pass
    except OSError:
        closed = time.monotonic() - t0
        break
print("closed after %s s" % (None if closed is None else "%.1f" % closed))
sys.exit(0 if closed is not None and 3 <= closed <= 8 else 1)
EOF
}
check "preauth: a silent connection is closed at first-byte-timeout (5 s)" \
	silent
check "preauth: server alive at the end" kill -0 "$SPID"
