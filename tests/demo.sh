#!/bin/bash
# make demo: a throwaway PKI in demo/, proxy-server and proxy-client on
# loopback, an end-to-end self-check with curl, then both logs until Ctrl-C.
#
#   tests/demo.sh [BUILD] [--check]     --check: stop after the self-check

set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=build
CHECK_ONLY=0
for arg in "$@"; do
	case $arg in
	--check) CHECK_ONLY=1 ;;
	*) BUILD=$arg ;;
	esac
done
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || {
	echo "demo: python3 is needed for the demo's web server" >&2
	exit 1
}
DEMO=$ROOT/demo
unset http_proxy https_proxy all_proxy no_proxy \
	HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY

for b in proxy-server proxy-client; do
	if [ ! -x "$BUILD/$b" ]; then
		echo "demo: $BUILD/$b not found; run make first" >&2
		exit 1
	fi
done
command -v curl >/dev/null || {
	echo "demo: curl is needed for the self-check (make deps)" >&2
	exit 1
}

# ---------------------------------------------------------------- helpers

PIDS=()
cleanup() {
	local pid i
	trap - EXIT INT TERM
	[ ${#PIDS[@]} -gt 0 ] || return 0
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		for ((i = 0; i < 20; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "demo: stopped. PKI and logs stay in demo/ until the next run."
}
trap cleanup EXIT
trap 'echo; exit 0' INT
trap 'exit 143' TERM

port_free() {	# PORT: nothing bound to 127.0.0.1:PORT (TCP)?
	"$PY" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

free_port() {
	"$PY" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

pick_port() {	# WANTED WHAT: WANTED if free, else a free one (and say so)
	if port_free "$1"; then
		echo "$1"
	else
		local p
		p=$(free_port) || exit 1
		echo "demo: port $1 ($2) is busy; using $p instead" >&2
		echo "$p"
	fi
}

# PORT: until something listens on 127.0.0.1:PORT (10 s). Asks ss(8)
# rather than connecting, so the logs show no empty test connections.
wait_listen() {
	local i
	for ((i = 0; i < 100; i++)); do
		if command -v ss >/dev/null 2>&1; then
			[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
		else
			# shellcheck disable=SC2016 # expanded by the inner bash
			timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" \
				2>/dev/null && return 0
		fi
		sleep 0.1
	done
	return 1
}

show_logs() {
	local f
	for f in "$DEMO/server.log" "$DEMO/client.log" "$DEMO/http.log"; do
		echo "---- ${f#"$ROOT"/}"
		tail -n 40 "$f" 2>/dev/null | sed 's/^/    | /'
	done
}

die() {
	echo "demo: $*" >&2
	show_logs >&2
	exit 1
}

# ---------------------------------------------------------------- set up

rm -rf "$DEMO"
mkdir -p "$DEMO/www" || exit 1
SERVER_PORT=$(pick_port 8443 "proxy-server") || exit 1
SOCKS_PORT=$(pick_port 1080 "SOCKS5") || exit 1
HTTP_PORT=$(free_port) || exit 1

echo "demo: making a throwaway PKI in demo/pki"
"$BUILD/proxy-server" init "$DEMO/pki" --server-name 127.0.0.1 \
	>"$DEMO/pki.log" 2>&1 || { cat "$DEMO/pki.log"; exit 1; }
"$BUILD/proxy-server" add-client "$DEMO/pki" demo \
	--server "127.0.0.1:$SERVER_PORT" >>"$DEMO/pki.log" 2>&1 ||
	{ cat "$DEMO/pki.log"; exit 1; }

CONF=$DEMO/pki/server.conf
PROFILE=$DEMO/pki/clients/demo.conf
{
	grep -vE '^[[:space:]]*listen([[:space:]]|$)' "$CONF"
	cat <<EOF

# --- added by tests/demo.sh ---
listen 127.0.0.1:$SERVER_PORT
# By default the server refuses flows to its own loopback (and link-local)
# addresses, so that the proxy is no door into the VPS itself. The demo's
# self-check fetches a file from a web server on this machine's loopback,
# so the demo, and only the demo, allows it. Do not copy this line to a
# real server.
allow 127.0.0.0/8
EOF
} >"$CONF.new" && chmod 600 "$CONF.new" && mv "$CONF.new" "$CONF" || exit 1

head -c 1048576 /dev/urandom >"$DEMO/www/demo.bin"
WANT=$(sha256sum <"$DEMO/www/demo.bin" | cut -d' ' -f1)

# ---------------------------------------------------------------- start

"$BUILD/proxy-server" -c "$CONF" </dev/null >"$DEMO/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_listen "$SERVER_PORT" || die "proxy-server did not start"

"$BUILD/proxy-client" -c "$PROFILE" --socks "127.0.0.1:$SOCKS_PORT" \
	</dev/null >"$DEMO/client.log" 2>&1 &
CLIENT_PID=$!
PIDS+=("$CLIENT_PID")
wait_listen "$SOCKS_PORT" || die "proxy-client did not start"

"$PY" -m http.server --bind 127.0.0.1 "$HTTP_PORT" --directory "$DEMO/www" \
	</dev/null >"$DEMO/http.log" 2>&1 &
PIDS+=("$!")
wait_listen "$HTTP_PORT" || die "the demo web server did not start"

# ---------------------------------------------------------------- check

URL="http://127.0.0.1:$HTTP_PORT/demo.bin"
echo "demo: self-check: fetching 1 MiB through the tunnel"
got=
for ((i = 0; i < 15; i++)); do	# the tunnel may still be connecting
	rm -f "$DEMO/fetched.bin"
	if curl -fsS --max-time 20 --socks5-hostname "127.0.0.1:$SOCKS_PORT" \
		-o "$DEMO/fetched.bin" "$URL" 2>"$DEMO/curl.err"; then
		got=$(sha256sum <"$DEMO/fetched.bin" | cut -d' ' -f1)
		break
	fi
	sleep 1
done
if [ "$got" != "$WANT" ]; then
	cat "$DEMO/curl.err" >&2
	if [ -z "$got" ]; then
		die "self-check FAILED: curl could not fetch $URL through 127.0.0.1:$SOCKS_PORT"
	fi
	die "self-check FAILED: sha256 $got, expected $WANT"
fi
rm -f "$DEMO/fetched.bin" "$DEMO/curl.err"

cat <<EOF

  proxy demo: running
  ---------------------------------------------------------------------
  proxy-server   pid $SERVER_PID, TLS 1.3 tunnels on 127.0.0.1:$SERVER_PORT
  proxy-client   pid $CLIENT_PID, SOCKS5 on 127.0.0.1:$SOCKS_PORT, one tunnel to the server
  web server     127.0.0.1:$HTTP_PORT serving demo/www, for the self-check

  PKI            demo/pki/      CA, server certificate, server.conf
  client profile demo/pki/clients/demo.conf
  logs           demo/server.log  demo/client.log

  Self-check passed: 1 MiB fetched through the tunnel, sha256 matches:
    curl --socks5-hostname 127.0.0.1:$SOCKS_PORT $URL | sha256sum

  On a machine with internet access, try:
    curl --socks5-hostname 127.0.0.1:$SOCKS_PORT https://example.com/
  or point a browser at SOCKS5 127.0.0.1:$SOCKS_PORT ("Proxy DNS when using SOCKS v5").
  ---------------------------------------------------------------------
EOF

[ "$CHECK_ONLY" = 1 ] && exit 0

echo "  Following both logs. Ctrl-C stops everything."
echo
tail -n 5 -F "$DEMO/server.log" "$DEMO/client.log" &
PIDS+=("$!")
while :; do
	if ! kill -0 "$SERVER_PID" 2>/dev/null; then
		echo "demo: proxy-server exited" >&2
		exit 1
	fi
	if ! kill -0 "$CLIENT_PID" 2>/dev/null; then
		echo "demo: proxy-client exited" >&2
		exit 1
	fi
	sleep 1 &
	wait $!
done
