#!/bin/bash
# A server that dies: a flow open at the moment of a kill -9 is closed
# (curl ends with an error instead of hanging); the server, restarted on
# the same port after 4 s down, is found again by the SAME client process,
# which carries new TCP and UDP flows within 20 s. Both daemons exit
# cleanly on SIGTERM.
. "$(dirname "$0")/../lib.sh"
need_cmd curl
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

check "restart: start server and client" start_pair || exit 1
CPID=$(pid_of client)

mkdir -p "$TMP/www" && echo hello >"$TMP/www/hello"
HP=$(free_port) && SP=$(free_port) && UP=$(free_port) || exit 1
check "restart: http server ready" http_serve www 127.0.0.2 "$HP" "$TMP/www" || exit 1
spawn source "$PY" "$H/tcp_source.py" 127.0.0.2 "$SP" --http --status "$TMP/source.status"
spawn uecho "$PY" "$H/udp_echo.py" 127.0.0.2 "$UP"
check "restart: endless HTTP source ready" ready source || exit 1
check "restart: UDP echo ready" ready uecho || exit 1

fetch() {	# hello through the client (bounded)
	timeout 15 curl -fsS --max-time 10 --socks5-hostname "127.0.0.1:$SOCKS_PORT" \
		"http://127.0.0.2:$HP/hello" | grep -qx hello
}
check "restart: a flow works" fetch

# An endless download in flight when the server is killed.
(
	start=$SECONDS
	timeout 25 curl -sS -o /dev/null --socks5-hostname "127.0.0.1:$SOCKS_PORT" \
		"http://127.0.0.2:$SP/endless"
	echo "rc=$? secs=$((SECONDS - start))" >"$TMP/endless.result"
) 2>"$TMP/endless.err" &
ENDLESS=$!
flowing() {	# the source has pushed over 1 MiB into the download
	local b
	b=$(awk '$1 == "conn" { print $4; exit }' "$TMP/source.status" 2>/dev/null)
	[ -n "$b" ] && [ "$b" -gt $((1 << 20)) ]
}
wait_flowing() {
	local end=$((SECONDS + 10))
	until flowing; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.2
	done
}
check "restart: endless download is flowing" wait_flowing

kill -9 "$(pid_of server)"
killed_at=$SECONDS
stop server 2>/dev/null	# reap it (quietly: bash would report "Killed")
wait "$ENDLESS" 2>/dev/null	# curl ends by itself, at the latest by its timeout
result=$(cat "$TMP/endless.result" 2>/dev/null)
echo "# endless download after kill -9 of the server: ${result:-still running} ($(cat "$TMP/endless.err"))"
ended_with_error() {
	local rc
	rc=$(sed -n 's/^rc=\([0-9]*\).*/\1/p' <<<"$result")
	[ -n "$rc" ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] &&
		[ $((SECONDS - killed_at)) -le 20 ]
}
check "restart: the download open during the kill ends with an error, no hang" ended_with_error

check "restart: client survives the server's death" kill -0 "$CPID"
# Leave the server down a while: the client's reconnect attempts fail and
# its backoff grows; it must still come back within the bound below.
sleep 4
check "restart: client survives 4 s of failed reconnects" kill -0 "$CPID"

spawn server2 "$BUILD/proxy-server" -c "$SERVER_CONF" -v debug
check "restart: server starts again on the same port" wait_tcp 127.0.0.1 "$SERVER_PORT" 10

fetch_retry() {	# up to 20 s for the client to reconnect by itself
	local end=$((SECONDS + 20)) start=$SECONDS
	until fetch; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "no working flow 20 s after the server restart"
			return 1
		fi
		sleep 0.5
	done
	echo "# a new flow worked $((SECONDS - start)) s after the server restart" \
		>"$TMP/reconnect.note"
}
check "restart: the same client process carries a new flow within 20 s" fetch_retry
cat "$TMP/reconnect.note" 2>/dev/null
check "restart: the client is still the same process" kill -0 "$CPID"
timeout 20 "$PY" "$H/udp_socks.py" once "$SOCKS_PORT" 127.0.0.2 "$UP" >"$TMP/obs" 2>&1
check "restart: UDP works again through the reconnected tunnel" has reply=yes "$TMP/obs"

sigterm_exit() {	# NAME: SIGTERM, exits with 0 within 3 s
	local pid rc i
	pid=$(pid_of "$1")
	kill -TERM "$pid"
	for i in $(seq 1 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "$1 still running 3 s after SIGTERM"
		return 1
	fi
	wait "$pid"
	rc=$?
	echo "$1 exited with status $rc"
	[ "$rc" -eq 0 ]
}
check "restart: client exits cleanly on SIGTERM" sigterm_exit client
check "restart: server exits cleanly on SIGTERM" sigterm_exit server2
