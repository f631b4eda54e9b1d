#!/bin/bash
# Hostile input, load and limits:
#  - at the server port: 1 MiB of random bytes, plain HTTP, a TLS hello
#    without a certificate, another CA's certificate, a revoked one, and a
#    slow-loris (200 connections dribbling a ClientHello a byte a second):
#    the server stays up, its RSS grows < 16 MiB over it all, alice works
#    between every phase, the slow-loris is dropped at handshake-timeout 2s
#    (leaks are left to the ASan run of this script: LeakSanitizer);
#  - 10,000 concurrent flows through one tunnel each echo 256 bytes intact
#    (client and server RSS printed);
#  - a client revoked while its tunnel is up is cut off within 10 s (CRL
#    file change noticed by the server), within 3 s after SIGHUP;
#  - max-flows 50: of 60 concurrent CONNECTs 50 succeed, 10 get reply 0x01,
#    "max-flows" logged; max-tunnels-per-user 1: a second tunnel of alice is
#    refused and logged, the first keeps working; max-tunnels 2: a third
#    tunnel is refused and logged;
#  - idle-timeout 2s, on the server and on the client: an idle flow ends;
#  - (root) user nobody / group nogroup: the server runs with those ids and
#    serves; a key file with mode 0644 stops the server, naming chmod 600;
#  - SIGTERM during a download: no new connection is taken, the download
#    finishes within shutdown-grace (default 5s), the server exits 0 within
#    grace + 2 s and the client logs the server going away.
. "$(dirname "$0")/../lib.sh"
need_cmd curl openssl sha256sum
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

# 10,000 flows: a descriptor each in the client, the server, the echo
# server and the flood helper.
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 65536 ]; then
	ulimit -Hn 65536 2>/dev/null
fi
ulimit -Sn 65536 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null
echo "# open files limit: $(ulimit -Sn)"

# A rejected handshake in a server log (as in test_security.sh).
REJECT_RE='(handshake|certificate|cert|tls|ssl|verif|revoked|alert).*(fail|reject|refus|error|alert|denied|invalid|unknown|revoked|bad)|(fail|reject|refus|error|denied|invalid).*(handshake|certificate|tls|ssl|verif)'
# A tunnel going down in a client log (not a line about a single flow).
DOWN_RE='tunnel[^(]*\b(down|lost)\b'

# Under ASan, freed memory sits in a quarantine (256 MiB by default) and
# every block has redzones: keep the quarantine small, and allow the RSS
# check twice the room (leaks are LeakSanitizer's job there).
RSS_LIMIT_MB=16
if [ "${PROXY_ASAN:-0}" = 1 ]; then
	export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=4"
	RSS_LIMIT_MB=32
fi

# The handshake budget is opened wide here, so that the slow-loris below
# (200 connections from one address) meets the handshake deadline; the
# budget itself is test_preauth.sh's.
# The 10,000 flows below are one user's: past the default share of
# max-flows-total (a quarter) unless the open-file limit is 40,000 or so.
export EXTRA_SERVER_CONF="handshake-timeout 2s
max-startups 256
max-startups-per-source 256
max-flows-per-user 10000000"
check "limits: start server and client" start_pair || exit 1
CPID=$(pid_of client)
SPID=$(pid_of server)

mkdir -p "$TMP/www" && echo hello >"$TMP/www/hello"
HP=$(free_port) && EP=$(free_port) || exit 1
check "limits: http server ready" http_serve www 127.0.0.2 "$HP" "$TMP/www" || exit 1
spawn echo "$PY" "$H/tcp_echo.py" 127.0.0.2 "$EP"
check "limits: echo server ready" ready echo || exit 1

fetch_via() {	# SOCKS_PORT: hello through that SOCKS port (bounded)
	timeout 15 curl -fsS --max-time 10 --socks5-hostname "127.0.0.1:$1" \
		"http://127.0.0.2:$HP/hello" | grep -qx hello
}
alice() { fetch_via "$SOCKS_PORT"; }
fetch_retry() {	# SOCKS_PORT SECS
	local end=$((SECONDS + $2))
	until fetch_via "$1"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "no working flow via port $1 within $2 s"
			return 1
		fi
		sleep 0.5
	done
}
no_flow() {	# SOCKS_PORT: no working flow there
	! timeout 15 curl -fsS --max-time 10 --socks5-hostname "127.0.0.1:$1" \
		"http://127.0.0.2:$HP/hello"
}
log_lines() { wc -l <"$(log_of "$1")"; }
logged() {	# NAME FROM_LINE ERE: a line matching ERE after FROM_LINE
	tail -n +"$(($2 + 1))" "$(log_of "$1")" | grep -qiE -- "$3" && return 0
	echo "no line matching /$3/ in $1.log after line $2; last lines:"
	tail -n 15 "$(log_of "$1")"
	return 1
}
tunnel_down_since() {	# NAME FROM_LINE: a (non-debug) tunnel-down line
	tail -n +"$(($2 + 1))" "$(log_of "$1")" | grep -vE ' debug: | flow [0-9]' |
		grep -qiE -- "$DOWN_RE"
}
# profile PROC USER [LINE...]: $TMP/PROC.conf = clients/USER.conf plus
# LINEs, with a status socket of its own ($TMP/PROC.sock), for the client
# process PROC.
profile() {
	local f="$TMP/$1.conf" n=$1 u=$2
	shift 2
	{
		grep -vE '^[[:space:]]*control([[:space:]]|$)' "$PKI/clients/$u.conf"
		echo "control $TMP/$n.sock"
		printf '%s\n' "$@"
	} >"$f" && chmod 600 "$f"
}
inline() {	# TAG PROFILE: the body of <TAG>...</TAG>
	awk -v t="$1" '$0 ~ "^[[:space:]]*</" t ">" { f = 0 } f; $0 ~ "^[[:space:]]*<" t ">" { f = 1 }' "$2"
}
OBS="$TMP/obs"
rss_note() { echo "# server VmRSS after $1: $(rss_kb "$SPID") KiB"; }

check "limits: alice works" alice

# ------------------------------------------------ hostile input, RSS flat
sleep 1
rss0=$(rss_kb "$SPID")
fds0=$(nfds "$SPID")
echo "# server before the hostile input: VmRSS $rss0 KiB, $fds0 descriptors"

timeout 20 "$PY" "$H/garbage_conn.py" 127.0.0.1 "$SERVER_PORT" random $((1 << 20)) >"$OBS" 2>&1
sed 's/^/# 1 MiB random: /' "$OBS"
check "limits: 1 MiB random: connection closed by the server" grep -q '^closed_after=' "$OBS"
check "limits: server alive after 1 MiB random" kill -0 "$SPID"
check "limits: alice works after 1 MiB random" alice
rss_note "1 MiB random"

timeout 20 "$PY" "$H/garbage_conn.py" 127.0.0.1 "$SERVER_PORT" http >"$OBS" 2>&1
check "limits: plain HTTP: connection closed by the server" grep -q '^closed_after=' "$OBS"
check "limits: server alive after plain HTTP" kill -0 "$SPID"
check "limits: alice works after plain HTTP" alice
rss_note "plain HTTP"

timeout 20 openssl s_client -connect "127.0.0.1:$SERVER_PORT" -servername 127.0.0.1 \
	</dev/null >"$TMP/s_client.log" 2>&1
check "limits: TLS hello without a certificate ends (no hang)" test $? -ne 124
check "limits: server alive after a TLS hello without certificate" kill -0 "$SPID"
check "limits: alice works after a TLS hello without certificate" alice
rss_note "a TLS hello without certificate"

# s_client_cert NAME CRT KEY: a TLS 1.3 handshake presenting CRT.
s_client_cert() {
	local n rc
	n=$(log_lines server)
	timeout 20 openssl s_client -connect "127.0.0.1:$SERVER_PORT" -servername 127.0.0.1 \
		-CAfile "$PKI/ca.crt" -cert "$2" -key "$3" </dev/null >"$TMP/s_client.log" 2>&1
	rc=$?
	echo "openssl s_client with $1's certificate exited $rc"
	[ "$rc" -ne 124 ] || return 1
	sleep 0.5
	logged server "$n" "$REJECT_RE"
}
mk_other_ca() {
	"$BUILD/proxy-server" init "$TMP/pki2" --server-name 127.0.0.1 &&
		"$BUILD/proxy-server" add-client "$TMP/pki2" mallory --server "127.0.0.1:$SERVER_PORT" &&
		inline cert "$TMP/pki2/clients/mallory.conf" >"$TMP/mallory.crt" &&
		inline key "$TMP/pki2/clients/mallory.conf" >"$TMP/mallory.key" &&
		chmod 600 "$TMP/mallory.key" && openssl x509 -noout -in "$TMP/mallory.crt"
}
check "limits: a client certificate of another CA (mallory)" mk_other_ca
check "limits: another CA's certificate: handshake ends, rejection logged" \
	s_client_cert mallory "$TMP/mallory.crt" "$TMP/mallory.key"
check "limits: server alive after another CA's certificate" kill -0 "$SPID"
check "limits: alice works after another CA's certificate" alice
rss_note "another CA's certificate"

mk_revoked() {
	"$BUILD/proxy-server" add-client "$PKI" rev --server "127.0.0.1:$SERVER_PORT" &&
		"$BUILD/proxy-server" revoke "$PKI" rev &&
		inline cert "$PKI/clients/rev.conf" >"$TMP/rev.crt" &&
		inline key "$PKI/clients/rev.conf" >"$TMP/rev.key" &&
		chmod 600 "$TMP/rev.key" && openssl x509 -noout -in "$TMP/rev.crt"
}
check "limits: a revoked client certificate (rev)" mk_revoked
sleep 1
check "limits: revoked certificate: handshake ends, rejection logged" \
	s_client_cert rev "$TMP/rev.crt" "$TMP/rev.key"
check "limits: server alive after a revoked certificate" kill -0 "$SPID"
check "limits: alice works after a revoked certificate" alice
rss_note "a revoked certificate"

# Slow-loris: 200 connections, one byte of a ClientHello per second for
# 5 s.
spawn loris timeout 30 "$PY" "$H/slowloris.py" 127.0.0.1 "$SERVER_PORT" \
	--conns 200 --interval 1 --duration 5
sleep 1
check "limits: alice works during the slow-loris" alice
check "limits: slow-loris finished" wait_for 20 grep -q '^sent_max=' "$(log_of loris)"
sed 's/^/# slow-loris: /' "$(log_of loris)"
loris_dropped() {	# every connection closed by the server, 1.5..4.5 s after the start
	local c first last log
	log=$(log_of loris)
	c=$(sed -n 's/^conns=200 connected=//p' "$log")
	first=$(sed -n 's/^first_close=//p' "$log")
	last=$(sed -n 's/^last_close=//p' "$log")
	[ "${c:-0}" -ge 190 ] || { echo "only ${c:-0} of 200 connected"; return 1; }
	has "closed=$c" "$log" || return 1
	awk -v f="$first" -v l="$last" 'BEGIN { exit !(f >= 1.5 && l <= 4.5) }' && return 0
	echo "closes between $first and $last s; expected within 1.5 .. 4.5 s"
	return 1
}
check "limits: slow-loris: all 200 dropped at handshake-timeout 2s (1.5..4.5 s)" loris_dropped
check "limits: server alive after the slow-loris" kill -0 "$SPID"
check "limits: alice works after the slow-loris" alice
rss_note "the slow-loris"

sleep 1
rss1=$(rss_kb "$SPID")
echo "# server after the hostile input: VmRSS $rss1 KiB (before: $rss0 KiB)"
rss_flat() {
	echo "server VmRSS $rss0 KiB -> $rss1 KiB (limit +$RSS_LIMIT_MB MiB)"
	[ $((rss1 - rss0)) -lt $((RSS_LIMIT_MB * 1024)) ]
}
check "limits: server RSS grew < $RSS_LIMIT_MB MiB over all the hostile input" rss_flat
fds_back() {	# PID BEFORE SLACK SECS
	local end=$((SECONDS + $4)) n
	while :; do
		n=$(nfds "$1")
		[ "$n" -le $(($2 + $3)) ] && return 0
		[ "$SECONDS" -ge "$end" ] && break
		sleep 0.5
	done
	echo "descriptors of pid $1: $2 before, $n after"
	return 1
}
check "limits: server holds no descriptors for the hostile connections" \
	fds_back "$SPID" "$fds0" 2 5

# ------------------------------------------------ 10,000 concurrent flows
# (the server keeps 64 + 2 + 256 + 256 descriptors from flows: see budget.c)
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt 10900 ]; then
	skip "limits: 10,000 concurrent flows" "open files limit $(ulimit -Sn) < 10900"
else
	cfd0=$(nfds "$CPID")
	sfd0=$(nfds "$SPID")
	timeout 170 "$PY" "$H/socks_flood.py" 127.0.0.1 "$SOCKS_PORT" 127.0.0.2 "$EP" \
		--flows 10000 --size 256 --timeout 150 >"$OBS" 2>&1 &
	FLOOD=$!
	start=$SECONDS
	cmax=0 smax=0
	while kill -0 "$FLOOD" 2>/dev/null; do
		c=$(rss_kb "$CPID") && [ "${c:-0}" -gt "$cmax" ] && cmax=$c
		s=$(rss_kb "$SPID") && [ "${s:-0}" -gt "$smax" ] && smax=$s
		sleep 0.5
	done
	wait "$FLOOD"
	sed 's/^/# 10k flood: /' "$OBS"
	echo "# 10,000 flows took $((SECONDS - start)) s; peak VmRSS: client $cmax KiB, server $smax KiB"
	echo "# after: client VmRSS $(rss_kb "$CPID") KiB, server VmRSS $(rss_kb "$SPID") KiB"
	check "limits: 10,000 concurrent flows through one tunnel, 256 bytes each echoed intact" \
		has "flows=10000 established=10000 matched=10000" "$OBS"
	check "limits: client alive after 10,000 flows" kill -0 "$CPID"
	check "limits: server alive after 10,000 flows" kill -0 "$SPID"
	check "limits: client releases the 10,000 flows' descriptors" fds_back "$CPID" "$cfd0" 10 20
	check "limits: server releases the 10,000 flows' descriptors" fds_back "$SPID" "$sfd0" 10 20
	check "limits: alice works after 10,000 flows" alice
fi

# ------------------------------------------------ revoked while the tunnel is up
add_profile() {	# NAME [PROC]: add-client NAME; profile PROC (default NAME)
	"$BUILD/proxy-server" add-client "$PKI" "$1" --server "127.0.0.1:$SERVER_PORT" &&
		profile "${2:-$1}" "$1" "connect-timeout 3s"
}
check "limits: add-client bob" add_profile bob
B1=$(free_port) || exit 1
spawn bob "$BUILD/proxy-client" -c "$TMP/bob.conf" --socks "127.0.0.1:$B1" -v debug
check "limits: bob works" fetch_retry "$B1" 10
n=$(log_lines bob)
check "limits: revoke bob while his tunnel is up" "$BUILD/proxy-server" revoke "$PKI" bob
t0=$EPOCHREALTIME
wait_for 12 tunnel_down_since bob "$n"
dt=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
echo "# bob's client saw its tunnel go after $dt s:"
tail -n +"$((n + 1))" "$(log_of bob)" | grep -vE ' debug: | flow [0-9]' | grep -iE "$DOWN_RE" |
	head -n 2 | sed 's/^/#   /'
cut_within() {	# NAME FROM_LINE SECS
	tunnel_down_since "$1" "$2" || { echo "no tunnel-down line in $1.log"; return 1; }
	awk -v d="$dt" -v m="$3" 'BEGIN { exit !(d <= m) }' && return 0
	echo "tunnel down after $dt s (limit $3 s)"
	return 1
}
check "limits: revoked bob's tunnel is cut within 10 s (no SIGHUP)" cut_within bob "$n" 10
check "limits: a new flow via revoked bob fails" no_flow "$B1"
check "limits: bob's client says why in words (certificate revoked)" \
	logged bob "$n" 'server refused our certificate: revoked'
check "limits: bob's client survives being cut off (still running, retrying)" \
	kill -0 "$(pid_of bob)"
check "limits: alice unaffected by bob's revocation" alice
stop bob

check "limits: add-client carol" add_profile carol
C1=$(free_port) || exit 1
spawn carol "$BUILD/proxy-client" -c "$TMP/carol.conf" --socks "127.0.0.1:$C1" -v debug
check "limits: carol works" fetch_retry "$C1" 10
n=$(log_lines carol)
"$BUILD/proxy-server" revoke "$PKI" carol >"$OBS" 2>&1
ns=$(log_lines server)
kill -HUP "$SPID"
t0=$EPOCHREALTIME
wait_for 12 tunnel_down_since carol "$n"
dt=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
echo "# carol's client saw its tunnel go $dt s after revoke + SIGHUP"
check "limits: revoked carol's tunnel is cut within 3 s of SIGHUP" cut_within carol "$n" 3
check "limits: the server logged the SIGHUP (CRL re-read)" logged server "$ns" 'SIGHUP'
check "limits: server alive after SIGHUP" kill -0 "$SPID"
check "limits: alice unaffected by SIGHUP and carol's revocation" alice
check "limits: carol's client survives being cut off (still running, retrying)" \
	kill -0 "$(pid_of carol)"
stop carol

# ------------------------------------------------ max-flows, max-tunnels(-per-user)
P9=$(free_port) && A9=$(free_port) && B9=$(free_port) && D9=$(free_port) && E9=$(free_port) ||
	exit 1
server_conf limits9 "listen 127.0.0.1:$P9" "max-flows 50" "max-tunnels-per-user 1" \
	"max-tunnels 2"
spawn server9 "$BUILD/proxy-server" -c "$PKI/limits9.conf" -v debug
S9PID=$(pid_of server9)
check "limits: server with max-flows 50, max-tunnels-per-user 1, max-tunnels 2 starts" \
	wait_tcp 127.0.0.1 "$P9" 10
profile alice9 alice "connect-timeout 3s"
profile alice9b alice "connect-timeout 3s"
spawn alice9 "$BUILD/proxy-client" -c "$TMP/alice9.conf" --server "127.0.0.1:$P9" \
	--socks "127.0.0.1:$A9" -v debug
check "limits: alice's tunnel to the limited server works" fetch_retry "$A9" 10
n=$(log_lines server9)
rm -f "$TMP/release9"
spawn hold9 timeout 60 "$PY" "$H/socks_hold.py" 127.0.0.1 "$A9" 127.0.0.2 "$EP" \
	--flows 60 --answer-timeout 8 --echo 256 --release "$TMP/release9"
wait_for 30 grep -q '^held' "$(log_of hold9)"
sed 's/^/# max-flows 50, 60 CONNECTs: /' "$(log_of hold9)"
check "limits: max-flows 50: 50 of 60 concurrent CONNECTs succeed" has rep00=50 "$(log_of hold9)"
check "limits: max-flows 50: the other 10 get reply 0x01" has rep01=10 "$(log_of hold9)"
check "limits: max-flows 50: the 50 flows echo intact" has echo_ok=50 "$(log_of hold9)"
check "limits: max-flows 50: server log names max-flows" logged server9 "$n" 'max-flows'
touch "$TMP/release9"
wait_for 10 grep -q '^released' "$(log_of hold9)"
check "limits: alice's tunnel works again once the 50 flows closed" fetch_retry "$A9" 10

n=$(log_lines server9)
spawn alice9b "$BUILD/proxy-client" -c "$TMP/alice9b.conf" --server "127.0.0.1:$P9" \
	--socks "127.0.0.1:$B9" -v debug
t9b=$SECONDS
sleep 3
check "limits: max-tunnels-per-user 1: a second tunnel of alice gets no working flow" \
	no_flow "$B9"
check "limits: max-tunnels-per-user 1: server log names max-tunnels-per-user" \
	logged server9 "$n" 'max-tunnels-per-user'
check "limits: max-tunnels-per-user 1: the limited server survives the refusal" \
	kill -0 "$S9PID"
check "limits: max-tunnels-per-user 1: the refused client survives (still running)" \
	kill -0 "$(pid_of alice9b)"
# Refused again and again, the client must back off (0.5 s doubling,
# +-25%): over its first 8 s that is about 5 attempts, never 16.
sleep $((t9b + 8 - SECONDS > 0 ? t9b + 8 - SECONDS : 0))
backs_off() {
	local k
	# one attempt = one source port, however many lines it is logged on
	k=$(tail -n +"$((n + 1))" "$(log_of server9)" | grep 'max-tunnels-per-user' |
		grep -oE '127\.0\.0\.1:[0-9]+' | sort -u | wc -l)
	echo "$k refusals of alice's second tunnel in its first 8 s (at most 7 expected)"
	[ "$k" -ge 1 ] && [ "$k" -le 7 ]
}
check "limits: max-tunnels-per-user 1: the refused client backs off (<= 7 attempts in 8 s)" \
	backs_off
stop alice9b
check "limits: max-tunnels-per-user 1: alice's first tunnel keeps working" fetch_via "$A9"

check "limits: add-client dave" add_profile dave dave9
check "limits: add-client erin" add_profile erin erin9
spawn dave9 "$BUILD/proxy-client" -c "$TMP/dave9.conf" --server "127.0.0.1:$P9" \
	--socks "127.0.0.1:$D9" -v debug
check "limits: max-tunnels 2: dave's tunnel (the second) works" fetch_retry "$D9" 10
n=$(log_lines server9)
spawn erin9 "$BUILD/proxy-client" -c "$TMP/erin9.conf" --server "127.0.0.1:$P9" \
	--socks "127.0.0.1:$E9" -v debug
# until erin has tried and been refused (the check below says if not)
wait_for 10 logged server9 "$n" 'max-tunnels reached' >/dev/null
check "limits: max-tunnels 2: a third tunnel (erin) gets no working flow" no_flow "$E9"
check "limits: max-tunnels 2: server log says max-tunnels reached" \
	logged server9 "$n" 'max-tunnels reached'
# shellcheck disable=SC2016 # expanded by eval
check "limits: max-tunnels 2: alice and dave keep working" \
	eval 'fetch_via "$A9" && fetch_via "$D9"'
check "limits: max-tunnels 2: the refused client survives (still running)" \
	kill -0 "$(pid_of erin9)"
stop erin9
stop dave9
stop alice9
check "limits: limited server alive at the end" kill -0 "$S9PID"
stop server9

# ------------------------------------------------ idle timeouts
# A flow with no traffic either way is reset after idle-timeout: by the
# server (idle-timeout 2s in its config), and by the client (idle-timeout
# 2s in its profile, against a server without one).
P14=$(free_port) && C14=$(free_port) && C15=$(free_port) || exit 1
server_conf idle "listen 127.0.0.1:$P14" "idle-timeout 2s"
spawn server14 "$BUILD/proxy-server" -c "$PKI/idle.conf" -v debug
check "limits: server with idle-timeout 2s starts" wait_tcp 127.0.0.1 "$P14" 10
profile alice14 alice "connect-timeout 3s"
spawn alice14 "$BUILD/proxy-client" -c "$TMP/alice14.conf" --server "127.0.0.1:$P14" \
	--socks "127.0.0.1:$C14" -v debug
check "limits: alice's tunnel to the idle-timeout server works" fetch_retry "$C14" 10
profile alice15 alice "connect-timeout 3s" "idle-timeout 2s"
spawn alice15 "$BUILD/proxy-client" -c "$TMP/alice15.conf" --socks "127.0.0.1:$C15" -v debug
check "limits: client with idle-timeout 2s works" fetch_retry "$C15" 10
idle_flow() {	# SOCKS_PORT OUT: an idle flow to the echo server, seen into OUT
	timeout 20 "$PY" "$H/socks_vanish.py" read-end "$1" 127.0.0.2 "$EP" --timeout 10 \
		>"$2" 2>&1
}
idle_cut() {	# OUT: the idle flow idle_flow saw ended after 1.5..5 s
	local t
	echo "# idle flow: $(tr '\n' ' ' <"$1")"
	matches 'end=(reset|eof)' "$1" || return 1
	t=$(sed -n 's/^after=//p' "$1")
	awk -v t="$t" 'BEGIN { exit !(t >= 1.5 && t <= 5) }' && return 0
	echo "ended after $t s; expected 1.5 .. 5 s"
	return 1
}
# Both idle flows at once: each waits out its own 2 s, timed by itself.
idle_flow "$C15" "$TMP/idle15" &
IDLE15=$!
idle_flow "$C14" "$TMP/idle14"
wait "$IDLE15"
check "limits: server idle-timeout 2s: an idle flow is ended after 1.5..5 s" idle_cut "$TMP/idle14"
check "limits: alice still works through the idle-timeout server" fetch_via "$C14"
stop alice14
stop server14
check "limits: client idle-timeout 2s: an idle flow is ended after 1.5..5 s" idle_cut "$TMP/idle15"
stop alice15

# ------------------------------------------------ key file mode, user/group
P12=$(free_port) || exit 1
cp "$PKI/server.key" "$PKI/loose.key" && chmod 644 "$PKI/loose.key"
server_conf loose "listen 127.0.0.1:$P12"
sed -i -E 's|^[[:space:]]*key[[:space:]].*|key loose.key|' "$PKI/loose.conf"
refuses_loose_key() {
	local out rc
	out=$(timeout 5 "$BUILD/proxy-server" -c "$PKI/loose.conf" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q 'loose\.key' <<<"$out" &&
		grep -q 'chmod 600' <<<"$out"
}
check "limits: key file mode 0644: server refuses to start, naming the file and chmod 600" \
	refuses_loose_key

if [ "$(id -u)" != 0 ]; then
	skip "limits: user/group drop" "needs root"
elif ! getent passwd nobody >/dev/null || ! getent group nogroup >/dev/null; then
	skip "limits: user/group drop" "no user nobody or group nogroup"
else
	P13=$(free_port) && C13=$(free_port) || exit 1
	NUID=$(id -u nobody)
	NGID=$(getent group nogroup | cut -d: -f3)
	# nobody re-reads the CRL after the drop: it must reach the PKI
	# inside $TMP, which mktemp made 0700 (init makes the PKI 0711)
	chmod 711 "$TMP"
	server_conf drop "listen 127.0.0.1:$P13" "user nobody" "group nogroup"
	# LeakSanitizer cannot inspect a process that changed its user
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		spawn server13 "$BUILD/proxy-server" -c "$PKI/drop.conf" -v debug
	S13PID=$(pid_of server13)
	check "limits: server with user nobody, group nogroup starts" wait_tcp 127.0.0.1 "$P13" 10
	ids_dropped() {
		local u g gs
		u=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$S13PID/status")
		g=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$S13PID/status")
		gs=$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$S13PID/status")
		echo "Uid: $u; Gid: $g; Groups:$gs (want uid $NUID, gid $NGID)"
		[ "$u" = "$NUID $NUID $NUID $NUID" ] && [ "$g" = "$NGID $NGID $NGID $NGID" ] &&
			! grep -qw 0 <<<"$gs"
	}
	check "limits: server runs as nobody:nogroup (real, effective, saved; no root group)" \
		ids_dropped
	profile alice13 alice "connect-timeout 3s"
	spawn alice13 "$BUILD/proxy-client" -c "$TMP/alice13.conf" --server "127.0.0.1:$P13" \
		--socks "127.0.0.1:$C13" -v debug
	check "limits: the unprivileged server still serves" fetch_retry "$C13" 10
	stop alice13
	stop server13
fi

# ------------------------------------------------ SIGTERM: graceful
head -c 20M /dev/urandom >"$TMP/www/big"
SHA=$(sha256sum <"$TMP/www/big" | cut -d' ' -f1)
check "limits: alice works before SIGTERM" alice
n=$(log_lines client)
(
	timeout 30 curl -fsS --limit-rate 8M -o "$TMP/big.out" \
		--socks5-hostname "127.0.0.1:$SOCKS_PORT" "http://127.0.0.2:$HP/big"
	echo "rc=$?" >"$TMP/big.result"
) 2>"$TMP/big.err" &
DL=$!
growing() { [ "$(stat -c %s "$TMP/big.out" 2>/dev/null || echo 0)" -gt $((1 << 20)) ]; }
check "limits: 20 MiB download (8 MiB/s) under way" wait_for 10 growing
kill -TERM "$SPID"
t_term=$EPOCHREALTIME
sleep 0.3
"$PY" - "$SERVER_PORT" >"$OBS" 2>&1 <<'EOF'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
except ConnectionRefusedError:
    print("probe=refused"); sys.exit(0)
except OSError as e:
    print("probe=error %s" % e); sys.exit(0)
s.settimeout(3)
try:
    d = s.recv(1)
    print("probe=closed" if not d else "probe=data")
except ConnectionResetError:
    print("probe=reset")
except socket.timeout:
    print("probe=open")
EOF
echo "# a new connection 0.3 s after SIGTERM: $(cat "$OBS")"
check "limits: after SIGTERM a new connection is refused (or closed at once)" \
	matches 'probe=(refused|closed|reset)' "$OBS"
exited_in() {	# SECS
	local i rc
	for ((i = 0; i < $1 * 10; i++)); do
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SPID" 2>/dev/null; then
		echo "server still running $1 s after SIGTERM"
		return 1
	fi
	wait "$SPID"
	rc=$?
	echo "server exited with status $rc, $(awk -v a="$t_term" -v b="$EPOCHREALTIME" \
		'BEGIN { printf "%.1f", b - a }') s after SIGTERM"
	[ "$rc" -eq 0 ]
}
check "limits: SIGTERM: server exits 0 within shutdown-grace (5 s) + 2 s" exited_in 7
wait "$DL"
echo "# download across SIGTERM: $(cat "$TMP/big.result" 2>/dev/null) $(cat "$TMP/big.err")"
download_done() {
	local got
	got=$(sha256sum <"$TMP/big.out" | cut -d' ' -f1)
	echo "$(cat "$TMP/big.result"); $(stat -c %s "$TMP/big.out") bytes; sha256 $got, want $SHA"
	[ "$got" = "$SHA" ]
}
check "limits: SIGTERM: the download in progress finished intact during the grace time" \
	download_done
check "limits: SIGTERM: the client logs the server going away" \
	logged client "$n" 'going away|goaway|went away|shutting down'
check "limits: client alive after the server went away" kill -0 "$CPID"
