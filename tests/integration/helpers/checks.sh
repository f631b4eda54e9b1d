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

# ---- a client and a server namespace (tests of links that fail) ----

# ns_names PREFIX: NS_C and NS_S, the names of the test's client and
# server namespaces (PREFIX-c-PID, PREFIX-s-PID), deleted at its exit.
ns_names() {
	NS_C=$1-c-$$
	NS_S=$1-s-$$
	on_exit "ip netns del $NS_C 2>/dev/null; ip netns del $NS_S 2>/dev/null"
}

# ns_veth C_IP S_IP: NS_C and NS_S joined by veth (ns_pair), and the
# client namespace's filter table loaded now: the first iptables call in
# a namespace may load modules and take a second on a cold machine,
# which must not count in a timed outage.
ns_veth() {
	ns_pair "$NS_C" "$1" "$NS_S" "$2" &&
		{ ip netns exec "$NS_C" iptables -S >/dev/null 2>&1 || :; }
}

# ns_pki S_IP SPORT "CLIENT..." [LINE...]: PKI=$TMP/pki with a CA, a
# server certificate for S_IP and a profile for S_IP:SPORT for each
# CLIENT; $PKI/ns-server.conf is the server's config listening on
# S_IP:SPORT only, allowing 127.0.0.2/32, its status socket at
# $TMP/server.sock, with the LINEs (each replacing the directive it
# names). ns_profile makes the clients' profiles.
ns_pki() {
	local ip=$1 port=$2 clients=$3 n l names='listen|control'
	shift 3
	PKI="$TMP/pki"
	"$BUILD/proxy-server" init "$PKI" --server-name "$ip" || return 1
	for n in $clients; do
		"$BUILD/proxy-server" add-client "$PKI" "$n" \
			--server "$ip:$port" || return 1
	done
	for l in "$@"; do
		names="$names|${l%% *}"
	done
	{
		grep -vE "^[[:space:]]*($names)([[:space:]]|\$)" "$PKI/server.conf"
		echo "listen $ip:$port"
		echo "allow 127.0.0.2/32"
		echo "control $TMP/server.sock"
		[ "$#" -eq 0 ] || printf '%s\n' "$@"
	} >"$PKI/ns-server.conf" && chmod 600 "$PKI/ns-server.conf"
}

# ns_profile NAME CLIENT [LINE...]: $PKI/ns-NAME.conf = CLIENT's profile
# from ns_pki plus the LINEs.
ns_profile() {
	local f="$PKI/ns-$1.conf" c=$2
	shift 2
	{
		cat "$PKI/clients/$c.conf"
		[ "$#" -eq 0 ] || printf '%s\n' "$@"
	} >"$f" && chmod 600 "$f"
}

# link_down NS PROTO IP PORT: PROTO (tcp or udp) between NS and IP:PORT
# stops passing, both ways: iptables DROP in NS, so no socket is closed,
# as on a Wi-Fi or a NAT that stops passing packets. link_up NS PROTO IP
# PORT lets it pass again; the test's exit lifts what is still down.
link_down() {
	_link_drop -I "$@" || return 1
	on_exit "_link_drop -D $* 2>/dev/null"
}

link_up() {
	_link_drop -D "$@"
}

_link_drop() {	# -I|-D NS PROTO IP PORT
	local rc=0
	ip netns exec "$2" iptables "$1" OUTPUT -p "$3" -d "$4" --dport "$5" \
		-j DROP || rc=1
	ip netns exec "$2" iptables "$1" INPUT -p "$3" -s "$4" --sport "$5" \
		-j DROP || rc=1
	return "$rc"
}
