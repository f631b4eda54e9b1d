#!/bin/bash
# max-buffer: when the flows of one tunnel together hold more than
# max-buffer bytes that their readers do not take, the flow holding the
# most is reset (and the log says so), the daemon's memory stays bounded
# and the other flows keep working.
. "$(dirname "$0")/../lib.sh"
need_cmd curl sha256sum
H="$ROOT/tests/integration/helpers"

# ASan keeps freed memory in a quarantine: keep it small so the memory
# check measures the proxy, with more headroom for ASan's own overhead.
LIMIT_KB=$((64 * 1024))
if [ "${PROXY_ASAN:-0}" = 1 ]; then
	export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=4"
	LIMIT_KB=$((128 * 1024))
fi
EXTRA_SERVER_CONF="max-buffer 1M"
check "buffer: start server and client (server max-buffer 1M)" start_pair ||
	exit 1
SINK=$(free_port)
spawn sink "$PY" "$H/tcp_noread.py" 127.0.0.2 "$SINK"
check "buffer: a target that never reads" wait_tcp 127.0.0.2 "$SINK" 10

# 8 uploads into a target that reads nothing: once the kernel buffers are
# full, more than 1 MiB would wait in the server's flows
"$PY" "$H/socks_push.py" "$SOCKS_PORT" 127.0.0.2 "$SINK" 8 4 >"$TMP/push" 2>&1
cat "$TMP/push" | sed 's/^/# /'
resets() {
	local n
	n=$(awk '/^reset/ { print $2 }' "$TMP/push")
	echo "flows reset: ${n:-none}"
	[ -n "$n" ] && [ "$n" -ge 1 ]
}
check "buffer: stalled uploads past max-buffer were reset" resets
check "buffer: the server log names max-buffer" \
	grep -q 'max-buffer reached' "$(log_of server)"
rss_ok() {
	local kb
	kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$(pid_of server)/status")
	echo "server VmRSS $kb KiB"
	[ "$kb" -lt "$LIMIT_KB" ]
}
check "buffer: server memory stays bounded" rss_ok
mkdir -p "$TMP/www" && head -c 2000000 /dev/urandom >"$TMP/www/f"
WEB=$(free_port)
http_serve web 127.0.0.2 "$WEB" "$TMP/www"
same_file() {
	curl -sS --max-time 20 --socks5-hostname "127.0.0.1:$SOCKS_PORT" \
		"http://127.0.0.2:$WEB/f" | sha256sum | cut -d' ' -f1 >"$TMP/got"
	[ "$(cat "$TMP/got")" = "$(sha256sum <"$TMP/www/f" | cut -d' ' -f1)" ]
}
check "buffer: another flow still works" same_file
check "buffer: server still running" kill -0 "$(pid_of server)"
check "buffer: client still running" kill -0 "$(pid_of client)"
