#!/bin/bash
# A download over a long path that loses packets arrives whole. A client
# namespace and a server namespace joined only by the bench's packet link
# (tests/bench/loadgen_delay.c: 25 ms each way, 1 % of packets dropped at
# random each way, seeded, a 200 Mbit/s bottleneck with a 2000-packet
# queue), the server behind it; 16 MiB of random bytes fetched through
# the tunnel with curl must match their sha256, and the link's counters
# must show that it dropped packets on the way down (else the test proved
# nothing); and the tunnel's send budget follows the rule for a flow
# sending alone (below). Speed is measured in make bench (BENCH=lossy),
# not here.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip cc curl sha256sum
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

ns_names lossy
C_IP=10.78.9.1
S_IP=10.78.9.2
SPORT=8443
HP=8080
SOCKS=1080
LG=$TMP/loadgen
B="$ROOT/tests/bench"

check "lossy: build the bench's loadgen" cc -O2 -D_GNU_SOURCE -o "$LG" \
	"$B"/loadgen*.c -lpthread || exit 1
check "lossy: namespaces $NS_C and $NS_S" \
	eval "ns_new $NS_C && ns_new $NS_S" || exit 1

spawn link ip netns exec "$NS_C" "$LG" delay --ns "/run/netns/$NS_S" \
	--dev blsy --ms 25 --drop 0.01 --seed 7 --mbit 200 --queue 2000
link_ready() {
	ready link &&
		ip -n "$NS_C" addr add "$C_IP/24" dev blsy0 &&
		ip -n "$NS_S" addr add "$S_IP/24" dev blsy1 &&
		ip -n "$NS_C" link set blsy0 txqueuelen 20000 up &&
		ip -n "$NS_S" link set blsy1 txqueuelen 20000 up
}
check "lossy: the link, 1 % loss each way over 50 ms" link_ready || exit 1

mk_pki() {
	ns_pki "$S_IP" "$SPORT" alice "state-dir $TMP/state" &&
		ns_profile alice alice "control $TMP/client.sock"
}
check "lossy: PKI, server config and client profile" mk_pki || exit 1
mkdir -p "$TMP/www" &&
	head -c $((16 << 20)) /dev/urandom >"$TMP/www/blob" || exit 1
WANT=$(sha256sum <"$TMP/www/blob" | cut -d' ' -f1)
spawn www ip netns exec "$NS_S" "$PY" -m http.server --bind 127.0.0.2 "$HP" \
	--directory "$TMP/www"
spawn server ip netns exec "$NS_S" "$BUILD/proxy-server" -c "$PKI/ns-server.conf"
spawn client ip netns exec "$NS_C" "$BUILD/proxy-client" -c "$PKI/ns-alice.conf" \
	--socks "127.0.0.1:$SOCKS"
served() { ip netns exec "$NS_S" bash -c "exec 3<>/dev/tcp/127.0.0.2/$HP" 2>/dev/null; }
check "lossy: web server in $NS_S ready" wait_for 10 served || exit 1

fetch() {	# the blob through the tunnel; its sha256 must be the file's
	local got
	got=$(timeout 60 ip netns exec "$NS_C" curl -fsS --max-time 50 \
		--socks5-hostname "127.0.0.1:$SOCKS" "http://127.0.0.2:$HP/blob" |
		sha256sum | cut -d' ' -f1)
	echo "sha256 $got (want $WANT)"
	[ "$got" = "$WANT" ]
}
up() {
	timeout 10 ip netns exec "$NS_C" curl -fsS --max-time 5 -o /dev/null \
		--socks5-hostname "127.0.0.1:$SOCKS" "http://127.0.0.2:$HP/"
}
check "lossy: a flow through the tunnel works" wait_for 20 up || exit 1
check "lossy: 16 MiB through 1 % loss arrive whole (sha256)" fetch

# The send budget (the server's status, "send_budget"): a flow that has
# sent alone for a second on a connection losing our segments may leave
# two round trips' worth unsent; with two flows sending, an eighth of
# one (a frame of one waits behind what the other queued). Each download
# (48 MiB) is read at 10 MB/s, so it lasts about 5 s; the budget is read
# every 0.2 s after the first 1.5 s. BIG is more than an eighth of a
# round trip can be on this link (25 MB/s x 50 ms / 8 = 156 KB), far
# less than two round trips at 10 MB/s (1 MB; at 4 MB/s the kernel's
# delivery rate, app-limited, came out at 2 MB/s and two round trips
# at 207 KB in one run of four).
BIG=$((256 << 10))
head -c $((48 << 20)) /dev/zero >"$TMP/www/big" || exit 1
budget() {
	ip netns exec "$NS_S" "$BUILD/proxy-server" status \
		--control "$TMP/server.sock" --json 2>/dev/null |
		grep -o '"send_budget":[0-9]*' | head -n 1 | cut -d: -f2
}
slow_fetch() {
	timeout 30 ip netns exec "$NS_C" curl -fsS --max-time 25 \
		--limit-rate 10M -o /dev/null \
		--socks5-hostname "127.0.0.1:$SOCKS" "http://127.0.0.2:$HP/big"
}
all_running() {
	local p
	for p; do kill -0 "$p" 2>/dev/null || return 1; done
}
# budgets N: the budgets read while all N downloads run (one that ends
# first leaves the other alone)
budgets() {
	local n=$1 i pids=() seen=""
	for ((i = 0; i < n; i++)); do
		slow_fetch &
		pids+=($!)
	done
	sleep 1.5
	while all_running "${pids[@]}"; do
		seen="$seen $(budget)"
		sleep 0.2
	done
	wait "${pids[@]}" || return 1
	echo "${seen# }"
}
largest() { tr ' ' '\n' <<<"$1" | sort -n | tail -n 1; }
alone_gets_more() {
	local seen b
	seen=$(budgets 1) || return 1
	b=$(largest "$seen")
	echo "send budgets read, one download: $seen (want one >= $BIG)"
	[ "${b:-0}" -ge "$BIG" ]
}
two_never() {
	local seen b
	seen=$(budgets 2) || return 1
	b=$(largest "$seen")
	echo "send budgets read, two downloads: $seen (want all < $BIG)"
	[ -n "$b" ] && [ "$b" -lt "$BIG" ]
}
check "lossy: a download alone may leave round trips of data unsent" \
	alone_gets_more
check "lossy: two downloads at once may not" two_never

# SIGTERM makes the link print its counters: way1 is server -> client.
stop link
dropped() {
	local l
	l=$(awk '$1 == "way1" { print $5 }' "$(log_of link)")
	echo "packets dropped at random on the way down: ${l:-none}"
	[ -n "$l" ] && [ "$l" -gt 0 ]
}
check "lossy: the link dropped packets on the way down" dropped
