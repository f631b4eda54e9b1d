#!/bin/bash
# Many flows at once and a stalled reader: 1000 concurrent SOCKS5 flows each
# echo 1 KiB intact (and their descriptors are released afterwards); a flow
# whose reader never reads neither stalls a concurrent 8 MiB download nor
# makes the client or server memory grow (per-flow flow control).
. "$(dirname "$0")/../lib.sh"
need_cmd curl sha256sum
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

# Every flow costs a descriptor in the client and in the server.
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt 8192 ]; then
	ulimit -Sn 8192 2>/dev/null || ulimit -n 8192 2>/dev/null
fi
fd_limit_ok() {
	local n
	n=$(ulimit -Sn)
	echo "ulimit -n is $n"
	[ "$n" = unlimited ] || [ "$n" -ge 8192 ]
}
check "concurrency: descriptor limit raised to >= 8192" fd_limit_ok || exit 1

# Under ASan, freed memory sits in a 256 MiB quarantine by default: keep it
# small so the memory check below measures the proxy, not the sanitizer.
if [ "${PROXY_ASAN:-0}" = 1 ]; then
	export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=16"
fi

check "concurrency: start server and client" start_pair || exit 1
CPID=$(pid_of client)
SPID=$(pid_of server)

# ---- 1000 concurrent flows
EP=$(free_port) || exit 1
spawn echo "$PY" "$H/tcp_echo.py" 127.0.0.2 "$EP"
check "concurrency: echo server ready" ready echo || exit 1
fds_before=$(nfds "$CPID")
OBS="$TMP/obs"
timeout 90 "$PY" "$H/socks_flood.py" 127.0.0.1 "$SOCKS_PORT" 127.0.0.2 "$EP" \
	--flows 1000 --size 1024 --timeout 75 >"$OBS" 2>&1
sed 's/^/# flood: /' "$OBS"
check "concurrency: 1000 concurrent flows, 1 KiB each echoed intact" \
	has "flows=1000 established=1000 matched=1000" "$OBS"

fds_released() {	# the client's descriptors come back down
	local end=$((SECONDS + 15)) n
	while :; do
		n=$(nfds "$CPID")
		[ "$n" -le $((fds_before + 10)) ] && return 0
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.5
	done
	echo "client had $fds_before descriptors before the flood, $n 15 s after it"
	return 1
}
check "concurrency: client releases the 1000 flows' descriptors" fds_released

# ---- a stalled reader next to a bulk download
mkdir -p "$TMP/www"
head -c 8M /dev/urandom >"$TMP/www/f"
SHA=$(sha256sum <"$TMP/www/f" | cut -d' ' -f1)
HP=$(free_port) && SP=$(free_port) || exit 1
check "concurrency: http server on 127.0.0.2" http_serve www 127.0.0.2 "$HP" "$TMP/www" || exit 1
spawn source "$PY" "$H/tcp_source.py" 127.0.0.2 "$SP" --status "$TMP/source.status"
check "concurrency: endless source ready" ready source || exit 1

download() {	# 8 MiB through the tunnel, bounded; sha256 must match
	local got
	rm -f "$TMP/o"
	timeout 30 curl -fsS --max-time 30 -o "$TMP/o" \
		--socks5-hostname "127.0.0.1:$SOCKS_PORT" "http://127.0.0.2:$HP/f" || return 1
	got=$(sha256sum <"$TMP/o" | cut -d' ' -f1)
	echo "sha256 got $got want $SHA"
	[ "$got" = "$SHA" ]
}
# Warm up (TLS records, windows, buffers), then take the baseline.
check "concurrency: warm-up download, 8MiB sha256" download
sleep 1
rss_c0=$(rss_kb "$CPID")
rss_s0=$(rss_kb "$SPID")
echo "# baseline VmRSS: client ${rss_c0} KiB, server ${rss_s0} KiB"

source_sent() {	# bytes the source has pushed into the stalled flow
	awk '$1 == "conn" { print $4; exit }' "$TMP/source.status" 2>/dev/null
}

spawn stalled timeout 60 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" \
	127.0.0.2 "$SP" --hold 40
wait_for 10 grep -q '^rep=' "$(log_of stalled)"
check "concurrency: stalled flow A connected (reply 00)" has rep=00 "$(log_of stalled)" || exit 1
sleep 3	# the source pushes into A, which never reads

start=$SECONDS
check "concurrency: 8 MiB download while flow A is stalled, sha256, < 30 s" download
echo "# download while A stalled took $((SECONDS - start)) s"

sent1=$(source_sent)
sleep 5	# A stays stalled
sent2=$(source_sent)
rss_c1=$(rss_kb "$CPID")
rss_s1=$(rss_kb "$SPID")
echo "# source pushed ${sent1:-?} bytes into A, ${sent2:-?} bytes 5 s later"
echo "# VmRSS now: client ${rss_c1} KiB, server ${rss_s1} KiB"

grew_less() {	# WHAT BEFORE_KB AFTER_KB LIMIT_KB
	echo "$1 VmRSS $2 KiB -> $3 KiB (limit +$4 KiB)"
	[ $(($3 - $2)) -lt "$4" ]
}
check "concurrency: client memory grew < 64 MiB with A stalled" \
	grew_less client "$rss_c0" "$rss_c1" $((64 * 1024))
check "concurrency: server memory grew < 64 MiB with A stalled" \
	grew_less server "$rss_s0" "$rss_s1" $((64 * 1024))
in_flight_bounded() {
	echo "source pushed ${sent2:-?} bytes into the stalled flow"
	[ -n "$sent2" ] && [ "$sent2" -lt $((64 << 20)) ]
}
held_back() {
	echo "source pushed ${sent1:-?} then ${sent2:-?} bytes, 5 s apart"
	[ -n "$sent1" ] && [ -n "$sent2" ] && [ $((sent2 - sent1)) -lt $((1 << 20)) ]
}
check "concurrency: the stalled flow's data in flight is bounded (< 64 MiB)" in_flight_bounded
check "concurrency: the source is held back (< 1 MiB more in 5 s)" held_back
# Dropping A would close the server's connection to the source.
check "concurrency: flow A still open end to end (stalled, not dropped)" \
	lacks 'conn 1 sent [0-9]+ closed' "$TMP/source.status"
check "concurrency: another download still works after all that, sha256" download
check "concurrency: server still running" kill -0 "$SPID"
check "concurrency: client still running" kill -0 "$CPID"
