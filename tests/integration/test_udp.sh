#!/bin/bash
# UDP ASSOCIATE through the tunnel: PySocks datagrams of 1..1400 bytes
# echoed intact (IPv4 and IPv6), the real source address of each reply in
# one association, a reply from a peer never sent to (full-cone NAT), and
# by hand: 0.0.0.0:0 in the request, BND.ADDR, FRAG != 0 dropped, and the
# association ending with its TCP control connection; datagrams it
# cannot carry (no header, too long, a fragment) logged once a kind and
# counted in status, 16,369 bytes to IPv4 carried; datagrams beside a
# saturating download all come back; a flood into a frozen tunnel is
# dropped, not queued (the client's memory stays put).
. "$(dirname "$0")/../lib.sh"
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

check "udp: start server and client" start_pair || exit 1

U1=$(free_port) && U2=$(free_port) && U3=$(free_port) && U6=$(free_port) || exit 1
spawn uecho "$PY" "$H/udp_echo.py" 127.0.0.2 "$U1" "$U2" "$U3"
spawn uecho6 "$PY" "$H/udp_echo.py" ::1 "$U6"
check "udp: echo server on 127.0.0.2 ready" ready uecho || exit 1
check "udp: echo server on ::1 ready" ready uecho6 || exit 1

OBS="$TMP/obs"
N=400
timeout 60 "$PY" "$H/udp_socks.py" integrity "$SOCKS_PORT" 127.0.0.2 "$U1" --count "$N" >"$OBS" 2>&1
sed 's/^/# IPv4: /' "$OBS"
check "udp: PySocks $N datagrams of 1..1400 bytes to 127.0.0.2, all back intact" \
	has "sent=$N received=$N intact=$N lost=0 corrupt=0" "$OBS"

timeout 60 "$PY" "$H/udp_socks.py" integrity "$SOCKS_PORT" ::1 "$U6" --count 100 >"$OBS" 2>&1
sed 's/^/# IPv6: /' "$OBS"
check "udp: PySocks 100 datagrams to [::1], all back intact" \
	has "sent=100 received=100 intact=100 lost=0 corrupt=0" "$OBS"

timeout 60 "$PY" "$H/udp_socks.py" sources "$SOCKS_PORT" 127.0.0.2 "$U1" "$U2" "$U3" >"$OBS" 2>&1
check "udp: one association, two echo ports: every reply has its real source" \
	has "replies=20 right_source=20" "$OBS"
check "udp: full-cone: a reply from a port never sent to reaches the client with that source" \
	has "fullcone=ok" "$OBS"

timeout 60 "$PY" "$H/udp_raw.py" "$SOCKS_PORT" 127.0.0.2 "$U1" ::1 "$U6" >"$OBS" 2>&1
sed 's/^/# raw: /' "$OBS"
check "udp: raw UDP ASSOCIATE with 0.0.0.0:0 succeeds" has assoc_rep=00 "$OBS"
check "udp: BND.ADDR is 127.0.0.1 with a real port" \
	grep -qxE 'bnd=127\.0\.0\.1:[1-9][0-9]*' "$OBS"
check "udp: datagram with FRAG=1 is dropped (no answer)" has frag1=noreply "$OBS"
check "udp: datagram with FRAG=0 is answered" has frag0=reply "$OBS"
check "udp: reply header carries the echo server's address" \
	has "frag0_src=127.0.0.2:$U1" "$OBS"
check "udp: raw datagram to an IPv6 destination (ATYP 4) is answered" has ipv6=reply "$OBS"
check "udp: IPv6 reply header carries [::1] and the port" has "ipv6_src=::1:$U6" "$OBS"
check "udp: after the TCP control connection closes, the relay answers no more" \
	has after_close=noreply "$OBS"

# What an association cannot carry is dropped with a word: bare payloads
# without a SOCKS header, datagrams longer than a frame, a fragment; each
# kind logged once for the association, all counted in status. 16,369
# bytes of payload to an IPv4 peer (the limit the README states) pass.
udp_drops_json() {
	"$BUILD/proxy-client" status --control "$TMP/client.sock" --json |
		"$PY" -c 'import json,sys; d=json.load(sys.stdin)["udp_drops"]; print(d["too_long"], d["no_header"], d["fragment"])'
}
read -r TL0 NH0 FR0 < <(udp_drops_json)
timeout 60 "$PY" "$H/udp_drops.py" "$SOCKS_PORT" 127.0.0.2 "$U1" >"$OBS" 2>&1
sed 's/^/# drops: /' "$OBS"
read -r TL1 NH1 FR1 < <(udp_drops_json)
echo "# udp_drops too_long $TL0 -> $TL1, no_header $NH0 -> $NH1, fragment $FR0 -> $FR1"
check "udp: headerless, 60,000-byte, fragment and 16,370-byte datagrams get no answer" \
	eval "has no_header=noreply $OBS && has huge=noreply $OBS &&
	 has fragment=noreply $OBS && has over_by_one=noreply $OBS"
check "udp: 16,369 bytes to IPv4 pass, and the association works on" \
	eval "has max_fits=reply $OBS && has after=reply $OBS"
check "udp: status counts them (too_long +3, no_header +3, fragment +1)" \
	[ "$((TL1 - TL0)) $((NH1 - NH0)) $((FR1 - FR0))" = "3 3 1" ]
drops_logged() {
	local from lines
	from="from 127.0.0.1:$(sed -n 's/^src_port=//p' "$OBS") "
	lines=$(grep -F "$from" "$(log_of client)" | grep -F 'dropped a datagram')
	echo "$lines"
	[ "$(grep -c . <<<"$lines")" = 3 ] &&
		grep -q "(60010 bytes): too long for the tunnel" <<<"$lines" &&
		grep -q "): no SOCKS UDP header" <<<"$lines" &&
		grep -q "): a fragment (FRAG != 0)" <<<"$lines"
}
check "udp: the client logs each kind once for the association, with its reason" \
	drops_logged
check "udp: the association's end line counts its 7 drops" \
	wait_for 5 grep -qE 'socks: udp [0-9]+ ended after .* 7 datagrams dropped\)' \
	"$(log_of client)"

# UDP beside bulk: while a download fills the tunnel (curl reading an
# endless source as fast as it can), 200 datagrams sent one at a time
# all come back, none waiting out the helper's 3 s: they are never held
# behind the download's data or its flow control. The source's own count
# shows the download kept moving meanwhile.
SRC=$(free_port) || exit 1
spawn source "$PY" "$H/tcp_source.py" 127.0.0.2 "$SRC" --http \
	--status "$TMP/source.status"
check "udp: endless HTTP source on 127.0.0.2 ready" ready source || exit 1
source_sent() {	# bytes the source has sent so far
	awk '{ n += $4 } END { print n + 0 }' "$TMP/source.status" 2>/dev/null ||
		echo 0
}
spawn curl curl -s --max-time 60 -o /dev/null \
	--socks5-hostname "127.0.0.1:$SOCKS_PORT" "http://127.0.0.2:$SRC/"
for _ in $(seq 50); do [ "$(source_sent)" -gt 0 ] && break; sleep 0.1; done
sleep 1	# well into the download
before=$(source_sent)
timeout 60 "$PY" "$H/udp_socks.py" integrity "$SOCKS_PORT" 127.0.0.2 "$U1" \
	--count 200 --window 1 >"$OBS" 2>&1
sleep 0.5	# the status file is rewritten every 0.25 s
after=$(source_sent)
stop curl
sed 's/^/# beside a download: /' "$OBS"
echo "# the download moved $((after - before)) bytes meanwhile"
check "udp: beside a saturating download, 200 datagrams all come back" \
	has "sent=200 received=200 intact=200 lost=0 corrupt=0" "$OBS"
check "udp: the download kept moving meanwhile (over 10 MB)" \
	[ "$((after - before))" -gt 10000000 ]

# Dropped, not queued without bound: with the server frozen (SIGSTOP) the
# tunnel takes nothing, yet 100,000 datagrams of 1200 bytes (117 MiB)
# sent into one association leave the client's memory within 32 MiB of
# where it was; once the server runs on, datagrams get through again.
spawn flood "$PY" "$H/udp_hold.py" "$SOCKS_PORT" 127.0.0.2 "$U1" \
	--flood 100000 --size 1200 --flood-after "$TMP/flood.go" \
	--release "$TMP/flood.done" --hold 60
check "udp: flood association open (one echo first)" \
	wait_for 10 grep -qx reply=yes "$(log_of flood)"
rss0=$(rss_kb "$(pid_of client)")
kill -STOP "$(pid_of server)"
touch "$TMP/flood.go"
check "udp: 100,000 datagrams sent into the frozen tunnel" \
	wait_for 60 grep -qx "flooded 100000" "$(log_of flood)"
rss1=$(rss_kb "$(pid_of client)")
kill -CONT "$(pid_of server)"
touch "$TMP/flood.done"
echo "# client RSS ${rss0} KiB before the flood, ${rss1} KiB after it"
check "udp: client memory grew by less than 32 MiB (datagrams dropped, not queued)" \
	[ $((rss1 - rss0)) -lt 32768 ]
timeout 30 "$PY" "$H/udp_socks.py" once "$SOCKS_PORT" 127.0.0.2 "$U1" >"$OBS" 2>&1
check "udp: once the server runs on, a new association is answered" has reply=yes "$OBS"

check "udp: server still running" kill -0 "$(pid_of server)"
check "udp: client still running" kill -0 "$(pid_of client)"
