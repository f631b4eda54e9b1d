# shellcheck shell=bash
# Assertion helpers shared by tests/integration/test_*.sh, sourced after
# tests/lib.sh. Each one prints what it saw when it fails, so that check
# shows the evidence.

# has LINE FILE: FILE (a helper's key=value observations) holds LINE.
has() {
	grep -qxF -- "$1" "$2" && return 0
	echo "expected the line '$1'; got:"
	cat "$2"
	return 1
}

# matches ERE FILE: some whole line of FILE matches ERE.
matches() {
	grep -qxE -- "$1" "$2" && return 0
	echo "expected a line matching '$1'; got:"
	cat "$2"
	return 1
}

# lacks ERE FILE: no line of FILE matches ERE (anchored at line start).
lacks() {
	grep -qE -- "^($1)" "$2" || return 0
	echo "unexpected line matching '^($1)':"
	grep -E -- "^($1)" "$2"
	return 1
}

# wait_for SECS CMD...: run CMD every 0.2 s until it succeeds; fails after
# SECS seconds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.2
	done
}

# log_since LINE: the server log (of the process spawned as "server")
# after line LINE (taken with wc -l before the event).
log_since() {
	tail -n +"$(($1 + 1))" "$(log_of server)"
}

# logged_since LINE ERE: the server logged ERE after line LINE.
logged_since() {
	log_since "$1" | grep -qE -- "$2" && return 0
	echo "nothing matching '$2' in the server log since line $1:"
	log_since "$1" | tail -n 15
	return 1
}

# client_profile NAME [LINE...]: $TMP/NAME.conf = the test's client
# profile ($CLIENT_CONF, from start_pair) with a status socket of its own
# ($TMP/NAME.sock) and LINEs.
client_profile() {
	local f="$TMP/$1.conf" n=$1
	shift
	{
		grep -vE '^[[:space:]]*control([[:space:]]|$)' "$CLIENT_CONF"
		echo "control $TMP/$n.sock"
		printf '%s\n' "$@"
	} >"$f" && chmod 600 "$f"
}

# server_conf NAME LINE...: $PKI/NAME.conf = the test's server config
# ($SERVER_CONF, from start_pair) with a status socket of its own
# ($TMP/NAME.sock), without its listen lines and without any directive a
# LINE names, plus the LINEs (relative paths keep working: it stays in
# $PKI).
server_conf() {
	local f="$PKI/$1.conf" n=$1 l names='listen|control'
	shift
	for l in "$@"; do
		names="$names|${l%% *}"
	done
	{
		grep -vE "^[[:space:]]*($names)([[:space:]]|\$)" "$SERVER_CONF"
		echo "control $TMP/$n.sock"
		printf '%s\n' "$@"
	} >"$f" && chmod 600 "$f"
}

# ns_new NS: a new network namespace with its loopback up. The test
# deletes it (on_exit).
ns_new() {
	ip netns add "$1" && ip -n "$1" link set lo up
}

# ns_pair NS1 IP1 NS2 IP2: two new namespaces (ns_new) joined by a veth
# pair, veth0 in NS1 with IP1/24 and veth1 in NS2 with IP2/24.
ns_pair() {
	ns_new "$1" && ns_new "$3" &&
		ip -n "$1" link add veth0 type veth peer name veth1 netns "$3" &&
		ip -n "$1" addr add "$2/24" dev veth0 &&
		ip -n "$3" addr add "$4/24" dev veth1 &&
		ip -n "$1" link set veth0 up && ip -n "$3" link set veth1 up
}

# ns_listens NS tcp|udp PORT [ADDR]: something in NS listens on PORT
# (on ADDR, when given).
ns_listens() {
	local opt=-Htln filter="sport = :$3"
	[ "$2" = udp ] && opt=-Huln
	[ -n "${4:-}" ] && filter="src $4 and $filter"
	[ -n "$(ip netns exec "$1" ss "$opt" "( $filter )")" ]
}

# ready NAME: the spawned helper NAME printed its "ready" line (10 s).
ready() {
	wait_for 10 grep -q '^ready' "$(log_of "$1")"
}

# printable_log NAME: the process log of NAME holds only printable text.
printable_log() {
	local bad
	bad=$(LC_ALL=C grep -n '[^[:print:][:space:]]' "$(log_of "$1")" | head -n 5)
	[ -z "$bad" ] && return 0
	echo "non-printable bytes in $1.log:"
	printf '%s\n' "$bad" | cat -v
	return 1
}

rss_kb() {	# PID: resident set size in KiB
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

nfds() {	# PID: number of open descriptors
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l
}
