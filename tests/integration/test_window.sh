#!/bin/bash
# Flow windows on a long path: with a relay that holds every byte 20 ms
# each way between client and server, the tunnel's rtt shows the 40 ms,
# and a download read as fast as it comes is held back by its 256 KiB
# window (at most 256 KiB per round trip), so the client doubles that
# window: `status --json` shows it past 256 KiB while the flow is open.
# A download read slowly (a reader at 256 KiB/s, far below what the
# window allows) keeps its window, since a bigger one would only queue
# more of it in the tunnel. Nothing here is timed: the checks read the
# windows the client reports.
. "$(dirname "$0")/../lib.sh"
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

WINDOW=262144
check "window: start server and client" start_pair || exit 1
RELAY=$(free_port) && SRC=$(free_port) || exit 1
spawn delay "$PY" "$H/tcp_delay.py" 127.0.0.1 "$RELAY" 127.0.0.1 \
	"$SERVER_PORT" --ms 20
check "window: 20 ms relay to the server ready" ready delay || exit 1
spawn source "$PY" "$H/tcp_source.py" 127.0.0.2 "$SRC" --http
check "window: endless HTTP source on 127.0.0.2 ready" ready source || exit 1

# The client again, reaching the server through the relay.
PROFILE=$TMP/alice-far.conf
sed "s/^server .*/server 127.0.0.1:$RELAY/" "$CLIENT_CONF" >"$PROFILE" &&
	chmod 600 "$PROFILE" || exit 1
stop client
spawn client "$BUILD/proxy-client" -c "$PROFILE" \
	--socks "127.0.0.1:$SOCKS_PORT" -v debug

# status --json as status_parse.py reads it ("state=", "rtt_ms=", its
# "flow ..." and "window SOURCE DESTINATION BYTES" lines), in $TMP/facts
# with the flows to the source as "flow DOWN WINDOW"
facts() {
	"$BUILD/proxy-client" status -c "$PROFILE" --json >"$TMP/status" 2>&1 &&
		"$PY" "$H/status_parse.py" client "$TMP/status" >"$TMP/parsed" &&
		awk -v d="127.0.0.2:$SRC" '
			$1 == "flow" && $2 == "TCP" && $4 == d { down[$3] = $6 }
			$1 == "window" && $3 == d { win[$2] = $4 }
			$1 != "flow" && $1 != "window" { print }
			END { for (s in down) print "flow", down[s], win[s] }' \
			"$TMP/parsed" >"$TMP/facts"
}
far_up() {	# the tunnel is up and its round trip shows the relay
	facts && grep -qx 'state=up' "$TMP/facts" &&
		awk -F= '$1 == "rtt_ms" && $2 >= 39 { ok = 1 }
			END { exit !ok }' "$TMP/facts"
}
wait_far() {
	wait_for 20 far_up && return 0
	cat "$TMP/status"
	return 1
}
check "window: tunnel up through the relay, rtt at least 40 ms" wait_far ||
	exit 1

# ---- a download read at full speed: its window grows
spawn fast curl -sS --max-time 60 -o /dev/null \
	--socks5-hostname "127.0.0.1:$SOCKS_PORT" "http://127.0.0.2:$SRC/"
grown() {	# a flow to the source reports a window past the initial one
	facts && awk -v w="$WINDOW" '$1 == "flow" && $3 > w { ok = 1 }
		END { exit !ok }' "$TMP/facts"
}
wait_grown() {
	wait_for 30 grown && { grep '^flow' "$TMP/facts"; return 0; }
	echo "no window past $WINDOW; last status:"
	cat "$TMP/status"
	return 1
}
check "window: a fast download over 40 ms grows its window past 256 KiB" \
	wait_grown
stop fast
gone() { facts && ! grep -q '^flow ' "$TMP/facts"; }
check "window: the fast download's flow is gone" wait_for 10 gone

# ---- a download read at 256 KiB/s: its window stays
spawn slow "$PY" "$H/socks_slow_get.py" "$SOCKS_PORT" 127.0.0.2 "$SRC" / \
	--rate "$WINDOW" --timeout 60
moved() {	# the slow flow has taken at least 1 MiB
	facts && awk '$1 == "flow" && $2 >= 1048576 { ok = 1 }
		END { exit !ok }' "$TMP/facts"
}
kept() {
	if ! wait_for 20 moved; then
		echo "the slow download did not move"
		cat "$TMP/status"
		return 1
	fi
	grep '^flow' "$TMP/facts"
	awk -v w="$WINDOW" '$1 == "flow" && $3 != w { bad = 1 }
		END { exit bad }' "$TMP/facts"
}
check "window: a slow reader keeps its 256 KiB window" kept
stop slow
