# shellcheck shell=bash
# Shared helpers for the integration tests (tests/integration/test_*.sh).
#
#   #!/bin/bash
#   . "$(dirname "$0")/../lib.sh"
#   start_pair || exit 1
#   check "curl through the tunnel" curl -fsS --socks5-hostname ...
#
# Provides: $ROOT $BUILD $PY $TMP; ok not_ok skip check; spawn stop pid_of
# log_of; on_exit; free_port wait_tcp; need_root need_cmd; make_pki
# start_pair http_serve. Results go to $RESULTS (set by tests/run.sh) as lines
# "PASS name", "FAIL name: reason", "SKIP name: reason"; a script run by
# hand keeps its own counts and prints a summary at exit.
#
# Environment: BUILD (default <repo>/build), RESULTS, PROXY_ASAN=1 (the
# binaries were built with a sanitizer, ASan+UBSan or TSan: reports in a
# spawned process's log count as failures), KEEP_TMP=1 (keep $TMP for a
# post-mortem).
#
# lib.sh owns the EXIT, INT and TERM traps (that is how spawned processes
# are stopped): a test must not set its own; on_exit CMD registers more
# cleanup (network namespaces, say). spawn CMD should be a program,
# not a shell function (the PID must be the program's own); for a pipeline
# use spawn NAME bash -c '...'.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${PROXY_ASAN:-0}" = 1 ]; then
	BUILD=${BUILD:-$ROOT/build/asan}
else
	BUILD=${BUILD:-$ROOT/build}
fi
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/proxy-test.XXXXXX") || exit 1
export ROOT BUILD PY TMP

# Tests talk to loopback only and pass their proxy explicitly: a proxy
# from the environment (or a NO_PROXY list) must not change what curl does.
unset http_proxy https_proxy ftp_proxy all_proxy no_proxy \
	HTTP_PROXY HTTPS_PROXY FTP_PROXY ALL_PROXY NO_PROXY

if [ "${PROXY_ASAN:-0}" = 1 ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

_LIB_SCRIPT=$(basename "$0")
_LIB_PASS=0
_LIB_FAIL=0
_LIB_SKIP=0
_LIB_DUMPED_AT=-1	# failure count when the logs were last shown
declare -A _LIB_PID=()	# name -> pid of processes still running
declare -A _LIB_LOG=()	# name -> log path, for every process ever spawned
_LIB_ORDER=()		# spawn order, for cleanup and log dumps
_LIB_ON_EXIT=()		# shell commands registered with on_exit

# ---------------------------------------------------------------- results

_lib_record() {	# KIND NAME [REASON]
	local line="$1 $2"
	[ $# -ge 3 ] && line="$line: $3"
	line=${line//$'\n'/ }
	printf '%s\n' "$line"
	if [ -n "${RESULTS:-}" ]; then
		printf '%s\n' "$line" >>"$RESULTS"
	fi
}

ok() {
	_LIB_PASS=$((_LIB_PASS + 1))
	_lib_record PASS "$1"
}

not_ok() {
	_LIB_FAIL=$((_LIB_FAIL + 1))
	_lib_record FAIL "$1" "${2:-failed}"
}

skip() {
	_LIB_SKIP=$((_LIB_SKIP + 1))
	_lib_record SKIP "$1" "${2:-skipped}"
}

# check NAME CMD ARGS...: runs CMD in this shell (functions may set
# variables); its output is kept and shown only when it fails.
check() {
	local name=$1 out rc
	shift
	out=$(mktemp "$TMP/check.XXXXXX")
	"$@" >"$out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$name"
	else
		not_ok "$name" "exit code $rc: $*"
		tail -n 20 "$out" | sed 's/^/    | /'
	fi
	rm -f "$out"
	return "$rc"
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		skip "${1:-$_LIB_SCRIPT}" "needs root"
		exit 0
	fi
}

need_cmd() {
	local c missing=()
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		skip "$_LIB_SCRIPT" "missing command: ${missing[*]} (make deps)"
		exit 0
	fi
}

# ---------------------------------------------------------------- processes

# spawn NAME CMD ARGS...: run CMD in the background, output to $TMP/NAME.log.
spawn() {
	local name=$1
	shift
	local log="$TMP/$name.log" pid=${_LIB_PID[$name]:-}
	if [ -n "$pid" ]; then
		if kill -0 "$pid" 2>/dev/null; then
			echo "spawn: $name is already running (pid $pid)" >&2
			return 1
		fi
		stop "$name"	# it died by itself: reap it, check its log
	fi
	if [ -n "${_LIB_LOG[$name]:-}" ]; then
		# Spawned again under the same name: keep the earlier log aside.
		mv -f "$log" "$log.prev" 2>/dev/null
	else
		_LIB_ORDER+=("$name")
	fi
	"$@" </dev/null >"$log" 2>&1 &
	_LIB_PID[$name]=$!
	_LIB_LOG[$name]=$log
	return 0
}

# on_exit CMD: run the shell command CMD at exit (also on failure or a
# signal), after every spawned process is stopped; last registered first.
on_exit() {
	_LIB_ON_EXIT+=("$1")
}

pid_of() {
	printf '%s\n' "${_LIB_PID[$1]:-}"
}

log_of() {
	printf '%s\n' "${_LIB_LOG[$1]:-$TMP/$1.log}"
}

# TERM (and CONT, for a process a test stopped), KILL after 2 s (5 s
# under ASan, whose leak check runs at exit), then reap.
_lib_kill() {	# PID NAME
	local pid=$1 i grace=20
	[ "${PROXY_ASAN:-0}" = 1 ] && grace=50
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		kill -CONT "$pid" 2>/dev/null
		for ((i = 0; i < grace; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "# $2 (pid $pid) still running $((grace / 10)) s after SIGTERM: SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# What ASan, LSan and UBSan write when they report.
SANITIZER_RE='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|WARNING: ThreadSanitizer'

# Sanitizer reports in a process log are failures of their own.
_lib_sanitizer_check() {	# NAME
	local name=$1 log=${_LIB_LOG[$1]:-}
	[ "${PROXY_ASAN:-0}" = 1 ] && [ -n "$log" ] && [ -f "$log" ] || return 0
	if grep -qE "$SANITIZER_RE" "$log"; then
		not_ok "sanitizer: $name" "report in $(basename "$log")"
		grep -nE -A 25 "$SANITIZER_RE" "$log" | head -n 60 |
			sed 's/^/    | /'
	fi
}

# stop NAME: stop one spawned process now (and wait for it).
stop() {
	local name=$1 pid=${_LIB_PID[$1]:-}
	[ -n "$pid" ] || return 0
	_lib_kill "$pid" "$name"
	unset "_LIB_PID[$name]"
	_lib_sanitizer_check "$name"
	return 0
}

_lib_dump_logs() {
	local name
	_LIB_DUMPED_AT=$_LIB_FAIL
	for name in "${_LIB_ORDER[@]}"; do
		echo "---- last 30 lines of $name.log (${_LIB_LOG[$name]})"
		tail -n 30 "${_LIB_LOG[$name]}" 2>/dev/null | sed 's/^/    | /'
	done
	[ ${#_LIB_ORDER[@]} -gt 0 ] && echo "----"
	return 0
}

_lib_exit() {
	local rc=$? name i
	trap - EXIT INT TERM
	# Stop in reverse order: clients before the servers they talk to.
	for ((i = ${#_LIB_ORDER[@]} - 1; i >= 0; i--)); do
		name=${_LIB_ORDER[$i]}
		[ -n "${_LIB_PID[$name]:-}" ] && stop "$name"
	done
	for ((i = ${#_LIB_ON_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${_LIB_ON_EXIT[$i]}"
	done
	if { [ "$_LIB_FAIL" -gt 0 ] || [ "$rc" -ne 0 ]; } &&
		[ "$_LIB_DUMPED_AT" -ne "$_LIB_FAIL" ]; then
		_lib_dump_logs
	fi
	if [ -z "${RESULTS:-}" ]; then
		echo "$_LIB_SCRIPT: $_LIB_PASS passed, $_LIB_FAIL failed, $_LIB_SKIP skipped"
		[ "$rc" -ne 0 ] && echo "$_LIB_SCRIPT: exited with status $rc"
	fi
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "# kept $TMP"
	else
		rm -rf "$TMP"
	fi
	[ "$rc" -eq 0 ] && [ "$_LIB_FAIL" -gt 0 ] && rc=1
	exit "$rc"
}

trap _lib_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- network

# free_port: an unused port on 127.0.0.1, free for TCP and UDP, never the
# same twice in one script.
free_port() {
	local used="$TMP/.ports" p
	touch "$used"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		p=$("$PY" - <<'EOF'
import socket
for _ in range(100):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        t.close()
        u.close()
    print(port)
    break
EOF
		) || return 1
		[ -n "$p" ] || continue
		if ! grep -qx "$p" "$used"; then
			echo "$p" >>"$used"
			echo "$p"
			return 0
		fi
	done
	echo "free_port: no free port found" >&2
	return 1
}

# wait_tcp HOST PORT [SECONDS]: until a TCP connect succeeds.
wait_tcp() {
	local host=$1 port=$2 end=$((SECONDS + ${3:-10}))
	while :; do
		# shellcheck disable=SC2016 # expanded by the inner bash
		if timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" \
			2>/dev/null; then
			return 0
		fi
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.1
	done
	echo "wait_tcp: nothing accepts on $host port $port" >&2
	return 1
}

# http_serve NAME ADDR PORT DIR: a plain HTTP server on ADDR:PORT.
http_serve() {
	spawn "$1" "$PY" -m http.server --bind "$2" "$3" --directory "$4" &&
		wait_tcp "$2" "$3" 10
}

# ---------------------------------------------------------------- fixtures

# make_pki DIR: CA, server and the client "alice" for 127.0.0.1:$SERVER_PORT.
make_pki() {
	local dir=$1 log="$TMP/make_pki.log"
	if [ -z "${SERVER_PORT:-}" ]; then
		echo "make_pki: SERVER_PORT is not set" >&2
		return 1
	fi
	if ! "$BUILD/proxy-server" init "$dir" --server-name 127.0.0.1 \
		--server-name ::1 --server-name localhost >"$log" 2>&1 ||
		! "$BUILD/proxy-server" add-client "$dir" alice \
			--server "127.0.0.1:$SERVER_PORT" >>"$log" 2>&1; then
		echo "make_pki: failed:" >&2
		sed 's/^/    | /' "$log" >&2
		return 1
	fi
	return 0
}

# One SOCKS5 exchange: greeting (no auth), then when CONNECT_PORT is given
# a CONNECT to 127.0.0.2:CONNECT_PORT. Exit 0 when the greeting is
# answered and, for a CONNECT, when the reply came from the server side
# (success, not allowed, unreachable, refused, TTL expired).
_LIB_SOCKS_PROBE='
import socket, struct, sys
port = int(sys.argv[1])
cport = int(sys.argv[2]) if len(sys.argv) > 2 else 0
s = socket.create_connection(("127.0.0.1", port), timeout=3)
s.sendall(b"\x05\x01\x00")
if s.recv(2) != b"\x05\x00":
    sys.exit(1)
if cport:
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.2") + struct.pack("!H", cport))
    r = s.recv(2)
    sys.exit(0 if len(r) == 2 and r[1] in (0, 2, 3, 4, 5, 6) else 1)
'

_lib_socks_probe() {	# SOCKS_PORT [CONNECT_PORT]
	"$PY" -c "$_LIB_SOCKS_PROBE" "$@" >/dev/null 2>&1
}

# start_pair: server + client on loopback, tunnel up. Sets SERVER_PORT,
# SOCKS_PORT, PKI, SERVER_CONF, CLIENT_CONF. Extra server directives come
# from $EXTRA_SERVER_CONF.
start_pair() {
	local end closed
	SERVER_PORT=$(free_port) && SOCKS_PORT=$(free_port) || return 1
	PKI="$TMP/pki"
	SERVER_CONF="$PKI/server.conf"
	CLIENT_CONF="$PKI/clients/alice.conf"
	export SERVER_PORT SOCKS_PORT PKI SERVER_CONF CLIENT_CONF
	make_pki "$PKI" || return 1
	if ! {
		grep -vE '^[[:space:]]*listen([[:space:]]|$)' "$SERVER_CONF"
		echo "listen 127.0.0.1:$SERVER_PORT"
		echo "allow 127.0.0.2/32"
		echo "allow ::1/128"
		# status sockets of our own: never the paths of an installed
		# service, never shared with another test (last one wins, so
		# EXTRA_SERVER_CONF may still name another)
		echo "control $TMP/server.sock"
		# and an accounting store of our own, not /var/lib/proxy
		echo "state-dir $TMP/state"
		if [ -n "${EXTRA_SERVER_CONF:-}" ]; then
			printf '%s\n' "$EXTRA_SERVER_CONF"
		fi
	} >"$SERVER_CONF.new"; then
		echo "start_pair: cannot rewrite $SERVER_CONF" >&2
		return 1
	fi
	chmod 600 "$SERVER_CONF.new" && mv "$SERVER_CONF.new" "$SERVER_CONF" ||
		return 1
	echo "control $TMP/client.sock" >>"$CLIENT_CONF" || return 1

	spawn server "$BUILD/proxy-server" -c "$SERVER_CONF" -v debug
	if ! wait_tcp 127.0.0.1 "$SERVER_PORT" 10; then
		echo "start_pair: the server did not start" >&2
		_lib_dump_logs
		return 1
	fi
	spawn client "$BUILD/proxy-client" -c "$CLIENT_CONF" \
		--socks "127.0.0.1:$SOCKS_PORT" -v debug
	if ! wait_tcp 127.0.0.1 "$SOCKS_PORT" 10; then
		echo "start_pair: the client did not start" >&2
		_lib_dump_logs
		return 1
	fi
	end=$((SECONDS + 10))
	until _lib_socks_probe "$SOCKS_PORT"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "start_pair: no SOCKS5 answer on port $SOCKS_PORT" >&2
			_lib_dump_logs
			return 1
		fi
		sleep 0.2
	done
	# Best effort within the same 10 s: a CONNECT to a closed port on
	# 127.0.0.2 (allowed above) is answered by the server only once the
	# tunnel is up. Not confirming it is not an error.
	closed=$(free_port) || return 0
	until _lib_socks_probe "$SOCKS_PORT" "$closed"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "# start_pair: tunnel not confirmed yet; going on" >&2
			break
		fi
		sleep 0.2
	done
	return 0
}
