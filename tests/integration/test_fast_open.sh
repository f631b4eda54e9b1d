#!/bin/bash
# Fast open for SOCKS5 CONNECT (`socks-fast-open yes`): the client answers
# "succeeded" at once and relays the application's first bytes (and its
# FIN) right behind the OPEN; the server holds them until its outbound
# connection is up. Two clients of one server: the default one (no fast
# open) and one with `socks-fast-open yes`. The server resolves names
# through a name server that answers only after DNS_DELAY seconds, so a
# flow to such a name cannot be connected before then: whatever the
# application sent earlier provably waited at the server.
#
# Checks: the directive is parsed (yes accepted, a bad value refused with
# file:line); curl --socks5-hostname fetches a 4 MiB page byte-exact;
# 8 MiB echoed byte-exact with a half-close, to an address and to a slow
# name (the early data then fills the whole window before the connect);
# the reply comes before the server could have answered (slow name:
# reply before DNS_DELAY, data and FIN sent before it, the echo after it)
# while the default client waits; data and FIN sent together with the
# request in one write still echo complete; a closed port gets reply 0x05
# without fast open, and 0x00 then a reset (no data) with it; 200
# concurrent fast-open flows with a half-close each echo exactly, to an
# address and to a slow name; no "peer exceeded its window", "bad frame"
# or max-buffer in any log.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
need_cmd curl sha256sum
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

DNS_DELAY=1.5		# seconds the name server sits on each query
DNS_DELAY_MS=1500

# val KEY FILE: the value of the line KEY=VALUE in FILE (a helper's output).
val() {
	sed -n "s/^$1=//p" "$2" | head -n 1
}

# below KEY LIMIT FILE / atleast KEY LIMIT FILE: KEY's number in FILE.
below() {
	local v
	v=$(val "$1" "$3")
	echo "$1=$v, want < $2"
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -lt "$2" ]
}
atleast() {
	local v
	v=$(val "$1" "$3")
	echo "$1=$v, want >= $2"
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge "$2" ]
}

# echoed FILE: an echo run got reply 0x00, its bytes back exactly, then
# end of file.
echoed() {
	has rep=00 "$1" && has echo=ok "$1" && has eof=1 "$1"
}

# fo MODE SOCKS_PORT DST PORT ARGS... > OBS: one socks_fastopen.py run.
fo() {
	local mode=$1 port=$2
	shift 2
	timeout 90 "$PY" "$H/socks_fastopen.py" "$mode" 127.0.0.1 "$port" "$@"
}

# Every name is new: nothing comes from a resolver's cache.
N=0
slow_name() {
	N=$((N + 1))
	echo "fo$N-$$.slow.test"
}

# ------------------------------------------------------------- set up

DNS_PORT=$(free_port) || exit 1
spawn dns "$PY" "$H/dns_slow.py" 127.0.0.1 "$DNS_PORT" "$DNS_DELAY" 127.0.0.2
check "fast open: slow name server ready" ready dns || exit 1

# shellcheck disable=SC2034 # read by start_pair
EXTRA_SERVER_CONF="dns 127.0.0.1:$DNS_PORT
connect-timeout 5s"
check "fast open: start server and the default client" start_pair || exit 1

EP=$(free_port) && WP=$(free_port) && CLOSED=$(free_port) || exit 1
spawn echo "$PY" "$H/tcp_echo.py" 127.0.0.2 "$EP"
check "fast open: echo server on 127.0.0.2 ready" ready echo || exit 1
mkdir -p "$TMP/www" && head -c 4M /dev/urandom >"$TMP/www/page" || exit 1
SHA=$(sha256sum <"$TMP/www/page" | cut -d' ' -f1)
check "fast open: http server on 127.0.0.2" \
	http_serve www 127.0.0.2 "$WP" "$TMP/www" || exit 1

# The fast-open client: the same profile, its own control socket.
FO_CONF="$PKI/clients/alice-fo.conf"
FO_PORT=$(free_port) || exit 1
make_fo_conf() {
	{
		cat "$CLIENT_CONF"
		echo "socks-fast-open yes"
		echo "control $TMP/client-fo.sock"
	} >"$FO_CONF" && chmod 600 "$FO_CONF"
}
check "fast open: profile with socks-fast-open yes" make_fo_conf || exit 1

conf_ok() {	# PROFILE
	"$BUILD/proxy-client" -t -c "$1"
}
check "fast open: proxy-client -t accepts socks-fast-open yes" conf_ok "$FO_CONF"

bad_value() {
	local bad="$TMP/bad.conf" out="$TMP/bad.out" line
	{ cat "$CLIENT_CONF"; echo "socks-fast-open maybe"; } >"$bad" &&
		chmod 600 "$bad" || return 1
	line=$(wc -l <"$bad")
	if "$BUILD/proxy-client" -t -c "$bad" >"$out" 2>&1; then
		echo "accepted 'socks-fast-open maybe'"
		return 1
	fi
	cat "$out"
	grep -qF "$bad:$line" "$out" && grep -qF maybe "$out"
}
check "fast open: socks-fast-open maybe is refused, naming file:line and the value" \
	bad_value

spawn client_fo "$BUILD/proxy-client" -c "$FO_CONF" --socks "127.0.0.1:$FO_PORT" \
	-v debug
# A fast-open reply is sent only once the tunnel is up: an echo through
# it is the proof the client is ready.
fo_up() {
	fo echo "$FO_PORT" 127.0.0.2 "$EP" --size 16 --timeout 3 >"$TMP/up" 2>&1 &&
		grep -qx echo=ok "$TMP/up"
}
check "fast open: the fast-open client is up (an echo through it works)" \
	wait_for 15 fo_up || exit 1

OBS="$TMP/obs"

# ------------------------------------------------ the option matters

# Closed port: without fast open the reply carries the server's code.
timeout 20 "$PY" "$H/socks_connect.py" 127.0.0.1 "$SOCKS_PORT" 127.0.0.2 \
	"$CLOSED" >"$OBS" 2>&1
check "fast open: default client: CONNECT to a closed port gets reply 0x05" \
	has rep=05 "$OBS"

# With fast open: "succeeded" at once, then a reset and no data.
fo refused "$FO_PORT" 127.0.0.2 "$CLOSED" >"$OBS" 2>&1
sed 's/^/# closed port, fast open: /' "$OBS"
check "fast open: CONNECT to a closed port gets reply 0x00" has rep=00 "$OBS"
check "fast open: ... then the connection is reset, no data" \
	has after=reset "$OBS"
refused_logged() {
	grep -E "socks: 127\.0\.0\.2:$CLOSED: refused by server: connection refused \(reply 5\)" \
		"$(log_of client_fo)"
}
check "fast open: the client logged the server's refusal (reply 5)" \
	wait_for 5 refused_logged

# Slow name: the server needs DNS_DELAY s to learn the address. Without
# fast open the reply waits for it.
fo echo "$SOCKS_PORT" "$(slow_name)" "$EP" --size 100 --half-close >"$OBS" 2>&1
sed 's/^/# slow name, default client: /' "$OBS"
check "fast open: default client, slow name: reply 0x00" has rep=00 "$OBS"
check "fast open: default client, slow name: the reply waited for the server (>= ${DNS_DELAY} s)" \
	atleast reply_ms "$DNS_DELAY_MS" "$OBS"
check "fast open: default client, slow name: echo intact, then end of file" \
	echoed "$OBS"

# With fast open: reply, data and FIN all before the server could have
# connected; the echo only after; nothing lost, FIN applied last.
fo echo "$FO_PORT" "$(slow_name)" "$EP" --size 100 --half-close >"$OBS" 2>&1
sed 's/^/# slow name, fast open: /' "$OBS"
check "fast open: slow name: reply 0x00" has rep=00 "$OBS"
check "fast open: slow name: the reply came before the server could answer (< 1 s)" \
	below reply_ms 1000 "$OBS"
check "fast open: slow name: 100 bytes and the FIN were sent before the server could connect" \
	below sent_ms "$DNS_DELAY_MS" "$OBS"
check "fast open: slow name: the echo came only after the name resolved" \
	atleast first_ms "$DNS_DELAY_MS" "$OBS"
check "fast open: slow name: early data + early FIN: echo complete, then end of file" \
	echoed "$OBS"
asked() {	# the slow name server saw queries for our names
	grep -q "^query name=fo[0-9]*-$$\.slow\.test" "$(log_of dns)"
}
check "fast open: the server resolved the slow names through the slow name server" \
	asked

# 200 KiB, most of a window, early; plus the greeting, request and the
# first 64 KiB in one single write (the handshake takes only its bytes).
fo echo "$FO_PORT" "$(slow_name)" "$EP" --size 204800 --half-close --pipeline \
	>"$OBS" 2>&1
sed 's/^/# slow name, pipelined 200 KiB: /' "$OBS"
check "fast open: greeting+CONNECT+data in one write, 200 KiB and FIN early: echo complete, end of file" \
	echoed "$OBS"
check "fast open: ... and all of it was sent before the server could connect" \
	below sent_ms "$DNS_DELAY_MS" "$OBS"

# --------------------------------------------------------- bulk

fetch() {
	local got
	rm -f "$TMP/page.got"
	timeout 60 curl -fsS --max-time 50 --socks5-hostname "127.0.0.1:$FO_PORT" \
		-o "$TMP/page.got" "http://127.0.0.2:$WP/page" || return 1
	got=$(sha256sum <"$TMP/page.got" | cut -d' ' -f1)
	echo "sha256 got $got want $SHA"
	[ "$got" = "$SHA" ]
}
check "fast open: curl --socks5-hostname, 4 MiB page, sha256 matches" fetch

fo echo "$FO_PORT" 127.0.0.2 "$EP" --size 8388608 --half-close --timeout 40 \
	>"$OBS" 2>&1
sed 's/^/# 8 MiB to 127.0.0.2: /' "$OBS"
check "fast open: 8 MiB echoed byte-exact with a half-close (127.0.0.2)" \
	echoed "$OBS"

# To a slow name the first window's worth waits at the server; the rest
# follows as the credit comes back.
fo echo "$FO_PORT" "$(slow_name)" "$EP" --size 8388608 --half-close --timeout 40 \
	>"$OBS" 2>&1
sed 's/^/# 8 MiB to a slow name: /' "$OBS"
check "fast open: 8 MiB echoed byte-exact with a half-close (slow name: a full window early)" \
	echoed "$OBS"

# --------------------------------------------------------- concurrency

fo flood "$FO_PORT" 127.0.0.2 "$EP" --flows 200 --size 4096 --timeout 60 \
	>"$OBS" 2>&1
sed 's/^/# flood 127.0.0.2: /' "$OBS"
check "fast open: 200 concurrent flows, 4 KiB + FIN each, echoed exactly (127.0.0.2)" \
	has "flows=200 ok=200" "$OBS"

fo flood "$FO_PORT" "$(slow_name)" "$EP" --flows 200 --size 4096 --timeout 60 \
	>"$OBS" 2>&1
sed 's/^/# flood slow name: /' "$OBS"
check "fast open: 200 concurrent flows to a slow name, all data and FIN early, echoed exactly" \
	has "flows=200 ok=200" "$OBS"

# --------------------------------------------------------- logs

# log_lacks NAME ERE: the process log of NAME has no line matching ERE.
log_lacks() {
	local hits
	hits=$(grep -nE -- "$2" "$(log_of "$1")" | head -n 5)
	[ -z "$hits" ] && return 0
	echo "$1.log:"
	printf '%s\n' "$hits"
	return 1
}
# max-buffer, not the max-buffer-total of the server's first line
BAD='peer exceeded its window|bad frame|max-buffer([^-]|$)|receive buffer full|unexpected frame'
check "fast open: server log: no window violation, bad frame or max-buffer" \
	log_lacks server "$BAD"
check "fast open: fast-open client log: none either" log_lacks client_fo "$BAD"
check "fast open: default client log: none either" log_lacks client "$BAD"
check "fast open: server still running" kill -0 "$(pid_of server)"
check "fast open: fast-open client still running" kill -0 "$(pid_of client_fo)"
check "fast open: default client still running" kill -0 "$(pid_of client)"
