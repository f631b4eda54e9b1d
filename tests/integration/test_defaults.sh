#!/bin/bash
# The listening defaults, in a network namespace made here (only lo, so
# ports 443 and 1080 are free and nothing else is addressed):
#  - a server.conf with no `listen` line: one listener on [::]:443 with
#    v6only off, a tunnel through 127.0.0.1:443 and one through [::1]:443;
#  - a client profile with no `socks` line (and no --socks): one SOCKS5
#    listener on 127.0.0.1:1080, and curl through it works.
. "$(dirname "$0")/../lib.sh"
need_root "$(basename "$0")"
need_cmd ip ss curl
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

NS=dflt-$$
on_exit "ip netns del $NS 2>/dev/null"
in_ns() {	# CMD...: run in the namespace
	ip netns exec "$NS" "$@"
}
check "defaults: namespace $NS with only lo" ns_new "$NS" || exit 1

PKI="$TMP/pki"
mk_pki() {
	"$BUILD/proxy-server" init "$PKI" --server-name 127.0.0.1 --server-name ::1 &&
		"$BUILD/proxy-server" add-client "$PKI" alice --server 127.0.0.1:443 ||
		return 1
	{
		grep -vE '^[[:space:]]*listen([[:space:]]|$)' "$PKI/server.conf"
		echo "allow 127.0.0.2/32"
		echo "control $TMP/server.sock"
	} >"$PKI/nolisten.conf" && chmod 600 "$PKI/nolisten.conf" &&
		{
			grep -vE '^[[:space:]]*(socks|control)([[:space:]]|$)' \
				"$PKI/clients/alice.conf"
			echo "control $TMP/client.sock"
		} >"$PKI/nosocks.conf" && chmod 600 "$PKI/nosocks.conf" &&
		sed "s|^control .*|control $TMP/client6.sock|" "$PKI/nosocks.conf" \
			>"$PKI/client6.conf" && chmod 600 "$PKI/client6.conf"
}
check "defaults: PKI, a server.conf without listen, a profile without socks" mk_pki ||
	exit 1
check "defaults: server.conf has no listen line" \
	lacks '[[:space:]]*listen' "$PKI/nolisten.conf"
check "defaults: profile has no socks line" lacks '[[:space:]]*socks' "$PKI/nosocks.conf"

listeners() {	# PORT: the TCP listeners on PORT in the namespace (ss -e)
	in_ns ss -Htlne "( sport = :$1 )"
}
listening() {	# PORT: something listens on PORT in the namespace
	[ -n "$(listeners "$1")" ]
}
# listeners_are N PORT LOCAL_ERE [ERE]: exactly N listeners on PORT,
# each one's local address matching LOCAL_ERE and its line ERE.
listeners_are() {
	local lines
	lines=$(listeners "$2")
	echo "listeners on port $2:"
	printf '%s\n' "$lines"
	[ "$(printf '%s\n' "$lines" | grep -c .)" -eq "$1" ] &&
		awk -v re="^($3)\$" '!($4 ~ re) { bad = 1 } END { exit bad }' <<<"$lines" &&
		! grep -vqE -- "${4:-.}" <<<"$lines"
}
ns_connects() {	# HOST PORT: a TCP connect in the namespace succeeds
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 3 ip netns exec "$NS" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2"
}

mkdir -p "$TMP/www" && echo hello >"$TMP/www/hello"
spawn www ip netns exec "$NS" "$PY" -m http.server --bind 127.0.0.2 80 \
	--directory "$TMP/www"
spawn server ip netns exec "$NS" "$BUILD/proxy-server" -c "$PKI/nolisten.conf" -v debug
check "defaults: server without listen is listening on port 443" wait_for 10 listening 443 ||
	exit 1
# workers auto: one per CPU, each a socket of its own on the port
CPUS=$(nproc)
check "defaults: server listens on [::]:443 only, dual-stack (v6only:0), one socket per CPU ($CPUS)" \
	listeners_are "$CPUS" 443 '\*:443|\[::\]:443' 'v6only:0'
if [ "$CPUS" -gt 1 ]; then
	check "defaults: the log says $CPUS workers" \
		wait_for 5 grep -q "$CPUS workers, each accepting on its own socket" "$(log_of server)"
fi
check "defaults: TCP connect to 127.0.0.1:443 works" ns_connects 127.0.0.1 443
check "defaults: TCP connect to [::1]:443 works" ns_connects ::1 443

spawn client ip netns exec "$NS" "$BUILD/proxy-client" -c "$PKI/nosocks.conf" -v debug
check "defaults: client without socks is listening on port 1080" \
	wait_for 10 listening 1080 || exit 1
check "defaults: client listens on 127.0.0.1:1080 only" listeners_are 1 1080 '127\.0\.0\.1:1080'

fetch() {	# SOCKS_PORT: hello through that SOCKS port, for up to 15 s
	local end=$((SECONDS + 15))
	until timeout 20 ip netns exec "$NS" curl -fsS --max-time 10 \
		-x "socks5h://127.0.0.1:$1" http://127.0.0.2:80/hello | grep -qx hello; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.5
	done
}
check "defaults: curl through 127.0.0.1:1080, tunnel to 127.0.0.1:443" fetch 1080
spawn client6 ip netns exec "$NS" "$BUILD/proxy-client" -c "$PKI/client6.conf" \
	--server '[::1]:443' --socks 127.0.0.1:1081 -v debug
check "defaults: curl through a tunnel to [::1]:443" fetch 1081
