#!/bin/bash
# The server's UDP limits, on loopback:
#  - max-udp-assocs 2: two SOCKS5 UDP associations echo; a third is
#    refused (SOCKS reply 0x01) while the first two keep echoing, and the
#    server log names max-udp-assocs; once one is closed a new one works;
#  - max-udp-peers 3: one association sending to 5 UDP echo ports gets
#    answers from exactly the first 3 (again when it asks them again),
#    the log names max-udp-peers once, and a reply from one of the
#    dropped peers still comes back (full cone: only sending is capped);
#  - bad values of both directives stop the server and the client with
#    file:line.
# (The client's TPROXY limits are in test_transparent.sh.)
. "$(dirname "$0")/../lib.sh"
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

export EXTRA_SERVER_CONF="max-udp-assocs 2
max-udp-peers 3"
check "udp limits: start server (max-udp-assocs 2, max-udp-peers 3) and client" \
	start_pair || exit 1

P1=$(free_port) && P2=$(free_port) && P3=$(free_port) && P4=$(free_port) &&
	P5=$(free_port) || exit 1
spawn uecho "$PY" "$H/udp_echo.py" 127.0.0.2 "$P1" "$P2" "$P3" "$P4" "$P5"
check "udp limits: echo server on 127.0.0.2, 5 ports" ready uecho || exit 1

log_lines() { wc -l <"$(log_of "$1")"; }
logged() {	# NAME FROM_LINE ERE: a line matching ERE after FROM_LINE
	tail -n +"$(($2 + 1))" "$(log_of "$1")" | grep -qE -- "$3" && return 0
	echo "no line matching /$3/ in $1.log after line $2; last lines:"
	tail -n 15 "$(log_of "$1")"
	return 1
}
count_logged() {	# NAME FROM_LINE ERE WANT: exactly WANT such lines
	local n
	n=$(tail -n +"$(($2 + 1))" "$(log_of "$1")" | grep -cE -- "$3")
	[ "$n" -eq "$4" ] && return 0
	echo "$n lines matching /$3/ in $1.log, expected $4"
	return 1
}
has_all() {	# FILE LINE...: FILE holds every LINE
	local f=$1
	shift
	while [ $# -gt 0 ]; do
		has "$1" "$f" || return 1
		shift
	done
}
OBS="$TMP/obs"

# ------------------------------------------------------ max-udp-assocs 2
n=$(log_lines server)
timeout 60 "$PY" "$H/udp_limits.py" assocs "$SOCKS_PORT" 127.0.0.2 "$P1" >"$OBS" 2>&1
sed 's/^/# assocs: /' "$OBS"
check "udp limits: max-udp-assocs 2: associations 1 and 2 are granted" \
	has_all "$OBS" rep1=00 rep2=00
check "udp limits: max-udp-assocs 2: 1 and 2 echo" \
	has_all "$OBS" a1=yes a2=yes
check "udp limits: max-udp-assocs 2: a third gets SOCKS reply 0x01 (general failure)" \
	has rep3=01 "$OBS"
check "udp limits: max-udp-assocs 2: 1 and 2 still echo after the refusal" \
	has_all "$OBS" a1_after=yes a2_after=yes
check "udp limits: max-udp-assocs 2: the server log names max-udp-assocs (2)" \
	logged server "$n" 'tunnel alice: max-udp-assocs \(2\) reached: refusing new UDP associations'
check "udp limits: max-udp-assocs 2: with 1 closed, a fourth is granted and echoes" \
	has_all "$OBS" rep4=00 a4=yes
check "udp limits: max-udp-assocs 2: 2 still echoes at the end" has a2_end=yes "$OBS"

# ------------------------------------------------------ max-udp-peers 3
sleep 1.1	# the last limit line is a second old: this one is not held back
n=$(log_lines server)
timeout 60 "$PY" "$H/udp_limits.py" peers "$SOCKS_PORT" 127.0.0.2 \
	"$P1" "$P2" "$P3" "$P4" "$P5" >"$OBS" 2>&1
sed 's/^/# peers: /' "$OBS"
check "udp limits: max-udp-peers 3: of 5 echo ports exactly the first 3 answer" \
	has "answered=$P1,$P2,$P3" "$OBS"
check "udp limits: max-udp-peers 3: the 3 answer again" has again=3 "$OBS"
check "udp limits: max-udp-peers 3: a reply from a dropped peer still comes back (full cone)" \
	has fullcone=ok "$OBS"
PEERS_RE='tunnel alice: udp [0-9]+: max-udp-peers \(3\) reached: dropping datagrams to new destinations'
check "udp limits: max-udp-peers 3: the server log says so, once for the association" \
	count_logged server "$n" "$PEERS_RE" 1
check "udp limits: max-udp-peers 3: at its end the association reports the dropped datagrams" \
	wait_for 10 logged server "$n" 'udp [0-9]+: 2 datagrams to new destinations dropped \(max-udp-peers\)'

check "udp limits: server still running" kill -0 "$(pid_of server)"
check "udp limits: client still running" kill -0 "$(pid_of client)"

# ------------------------------------------------------ bad values
refused() {	# BINARY FILE DIRECTIVE: -t fails naming FILE:LINE and the value
	local out rc line
	line=$(grep -nxF -- "$3" "$2" | cut -d: -f1)
	out=$(timeout 10 "$1" -t -c "$2" 2>&1)
	rc=$?
	echo "exit $rc: $out"
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] &&
		grep -qF "$(basename "$2"):$line:" <<<"$out" &&
		grep -qF "'${3%% *}'" <<<"$out"
}
bad_conf() {	# SRC DST LINE
	{ cat "$1"; echo "$3"; } >"$2" && chmod 600 "$2"
}
bad_conf "$SERVER_CONF" "$PKI/bad1.conf" "max-udp-peers 0"
check "udp limits: server: 'max-udp-peers 0' is refused with file:line" \
	refused "$BUILD/proxy-server" "$PKI/bad1.conf" "max-udp-peers 0"
bad_conf "$SERVER_CONF" "$PKI/bad2.conf" "max-udp-assocs 10000001"
check "udp limits: server: 'max-udp-assocs 10000001' is refused with file:line" \
	refused "$BUILD/proxy-server" "$PKI/bad2.conf" "max-udp-assocs 10000001"
bad_conf "$CLIENT_CONF" "$PKI/bad3.conf" "max-udp-assocs none"
check "udp limits: client: 'max-udp-assocs none' is refused with file:line" \
	refused "$BUILD/proxy-client" "$PKI/bad3.conf" "max-udp-assocs none"
bad_conf "$CLIENT_CONF" "$PKI/bad4.conf" "max-udp-peers 0"
check "udp limits: client: 'max-udp-peers 0' is refused with file:line" \
	refused "$BUILD/proxy-client" "$PKI/bad4.conf" "max-udp-peers 0"
good_conf() {	# BINARY FILE
	timeout 10 "$1" -t -c "$2"
}
bad_conf "$CLIENT_CONF" "$PKI/good.conf" "max-udp-assocs 10000000
max-udp-peers 1"
check "udp limits: client: max-udp-assocs 10000000, max-udp-peers 1 accepted" \
	good_conf "$BUILD/proxy-client" "$PKI/good.conf"
