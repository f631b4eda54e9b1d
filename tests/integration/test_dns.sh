#!/bin/bash
# The client's DNS forwarder (dns-listen, dns-server) in network namespaces
# made here, nothing outside them addressed:
#
#   client ------------------------ vps
#   198.18.3.2                      198.18.3.1
#   proxy-client x4                 proxy-server (dns 127.0.0.1:LPORT)
#                                   dnsmasq A on 127.0.0.1:LPORT only
#                                   dnsmasq B on 198.18.3.1:EPORT
#                                   sink on 198.18.3.1:SINKPORT
#
# dnsmasq A, the server's own resolver, is on the vps's loopback: client
# cannot reach it except through the tunnel. It answers *.proxytest with
# ANS_A and NXDOMAIN for *.blocked.proxytest; dnsmasq B answers
# *.proxytest with ANS_B (so an answer tells which resolver gave it). Both
# log each query and its source. The sink never answers; a stranger on
# another port answers each query it sees with FORGED. Four clients in
# client, one profile each:
#   default   dns-listen 127.0.0.1:5353, no dns-server (the server's own)
#   explicit  dns-listen 127.0.0.1:5354, dns-server 198.18.3.1:EPORT
#   loopback  dns-listen 127.0.0.1:5355, dns-server 127.0.0.1:LPORT (the
#             vps's loopback named explicitly: the destination policy
#             refuses it; only the default reaches the server's resolver)
#   stranger  dns-listen 127.0.0.1:5356, dns-server 198.18.3.1:SINKPORT
# Checks: dig over UDP and TCP answers (also NXDOMAIN); client reaches
# neither dnsmasq directly; 20 concurrent digs (UDP and TCP) each get their
# own answer; a burst of 40 queries with clashing transaction ids from 21
# sockets is answered right; dnsmasq A saw the queries from 127.0.0.1 only,
# dnsmasq B from the vps address; an answer from anyone but the dns-server
# never reaches the asker, and the ids the resolver sees are not a guessable
# sequence; after the server's udp-timeout ends the associations, and after
# a server restart, the forwarders answer again; every daemon still runs at
# the end.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

need_root "$(basename "$0")"
need_cmd ip ss dig dnsmasq

# --------------------------------------------------------------- topology

NS_CLI=dns-cli-$$
NS_VPS=dns-vps-$$
on_exit "ip netns del $NS_CLI 2>/dev/null; ip netns del $NS_VPS 2>/dev/null"

CLI4=198.18.3.2 VPS4=198.18.3.1
SPORT=443			# proxy-server
LPORT=5300			# dnsmasq A, vps loopback only
EPORT=5301			# dnsmasq B, vps veth address
SINKPORT=5302			# dns_sink.py, vps veth address
DOMAIN=proxytest
ANS_A=198.18.99.99 ANS_B=198.18.88.88 FORGED=198.18.66.66
NAME=secret.$DOMAIN
NXNAME=gone.blocked.$DOMAIN
CLIENTS=(default explicit loopback stranger)
declare -A DPORT=([default]=5353 [explicit]=5354 [loopback]=5355 [stranger]=5356)
declare -A SOCKS=([default]=1080 [explicit]=1081 [loopback]=1082 [stranger]=1083)

in_ns() {	# NS CMD...
	ip netns exec "$@"
}

try() {
	"$@" && return 0
	echo "failed: $*"
	return 1
}

topology() {
	local ns
	for ns in "$NS_CLI" "$NS_VPS"; do
		try ip netns add "$ns" && try ip -n "$ns" link set lo up &&
			try in_ns "$ns" sysctl -qw net.ipv4.ip_forward=0 || return 1
	done
	try ip -n "$NS_CLI" link add tovps type veth peer name tocli \
		netns "$NS_VPS" &&
		try ip -n "$NS_CLI" link set tovps up &&
		try ip -n "$NS_VPS" link set tocli up &&
		try ip -n "$NS_CLI" addr add "$CLI4/24" dev tovps &&
		try ip -n "$NS_VPS" addr add "$VPS4/24" dev tocli
}

probe() {	# NS ARGS... (plain_probe.py, 20 s at most)
	local ns=$1
	shift
	timeout 20 ip netns exec "$ns" "$PY" "$H/plain_probe.py" "$@"
}

reachable() {	# NS ADDR PORT: the host answers (connect or RST)
	probe "$1" reach "$2" "$3" | tee "$TMP/reach"
	grep -qE '^reach=(connected|refused)' "$TMP/reach"
}


check "dns: topology client - vps" topology || exit 1
check "dns: client reaches vps" reachable "$NS_CLI" "$VPS4" 9

# ------------------------------------------------------------- resolvers

dnsmasq_in_vps() {	# NAME ADDR PORT ANSWER
	spawn "$1" ip netns exec "$NS_VPS" dnsmasq -k --conf-file=/dev/null \
		--port="$3" --listen-address="$2" --bind-interfaces \
		--no-resolv --no-hosts --address="/$DOMAIN/$4" \
		--address="/blocked.$DOMAIN/" --user=root \
		--pid-file="$TMP/$1.pid" --log-facility=- --log-queries
}
dnsmasq_in_vps dnsA 127.0.0.1 "$LPORT" "$ANS_A"
dnsmasq_in_vps dnsB "$VPS4" "$EPORT" "$ANS_B"
spawn sink ip netns exec "$NS_VPS" "$PY" -u "$H/dns_sink.py" "$VPS4" \
	"$SINKPORT" "$FORGED"
resolvers_up() {
	ns_listens "$NS_VPS" udp "$LPORT" 127.0.0.1 &&
		ns_listens "$NS_VPS" tcp "$LPORT" 127.0.0.1 &&
		ns_listens "$NS_VPS" udp "$EPORT" "$VPS4" &&
		ns_listens "$NS_VPS" tcp "$EPORT" "$VPS4" &&
		grep -q '^ready' "$(log_of sink)"
}
check "dns: dnsmasq A on vps 127.0.0.1:$LPORT, B on $VPS4:$EPORT, sink on :$SINKPORT" \
	wait_for 10 resolvers_up || exit 1

# dig_run NS SERVER PORT NAME OUT [DIG-OPTIONS...]
dig_run() {
	local ns=$1 server=$2 port=$3 name=$4 out=$5
	shift 5
	timeout 20 ip netns exec "$ns" dig +time=2 +tries=2 "$@" \
		@"$server" -p "$port" "$name" A >"$out" 2>&1
}

# dig_ok NS SERVER PORT NAME WANT-ADDR UDP|TCP [DIG-OPTIONS...]: NOERROR
# with the one A record WANT-ADDR, from SERVER#PORT over the protocol.
dig_ok() {
	local ns=$1 server=$2 port=$3 name=$4 want=$5 proto=$6 out
	shift 6
	out=$(mktemp "$TMP/dig.XXXXXX")
	dig_run "$ns" "$server" "$port" "$name" "$out" "$@"
	cat "$out"
	grep -q 'status: NOERROR' "$out" || { echo "not NOERROR"; return 1; }
	grep -qE "^$name\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+$want\$" \
		"$out" || { echo "no answer $name A $want"; return 1; }
	[ "$(grep -cE '^[^;].*[[:space:]]IN[[:space:]]+A[[:space:]]' "$out")" = 1 ] ||
		{ echo "not exactly one A record"; return 1; }
	grep -qF ";; SERVER: $server#$port($server) ($proto)" "$out" ||
		{ echo "the answer did not come from $server#$port over $proto"; return 1; }
	! grep -qi 'mismatch' "$out" || { echo "dig saw a mismatched answer"; return 1; }
}

# dig_nx NS SERVER PORT NAME [DIG-OPTIONS...]: NXDOMAIN, no answer.
dig_nx() {
	local ns=$1 server=$2 port=$3 name=$4 out
	shift 4
	out=$(mktemp "$TMP/dig.XXXXXX")
	dig_run "$ns" "$server" "$port" "$name" "$out" "$@"
	cat "$out"
	grep -q 'status: NXDOMAIN' "$out" || { echo "not NXDOMAIN"; return 1; }
	grep -q 'ANSWER: 0,' "$out" || { echo "NXDOMAIN with answers"; return 1; }
}

# dig_fails NS SERVER PORT NAME [DIG-OPTIONS...]: no answer with data
# (silence or SERVFAIL).
dig_fails() {
	local ns=$1 server=$2 port=$3 name=$4 out
	shift 4
	out=$(mktemp "$TMP/dig.XXXXXX")
	dig_run "$ns" "$server" "$port" "$name" "$out" +time=1 +tries=1 "$@"
	cat "$out"
	# SERVFAIL carries nothing: the forwarder gives it to a query it
	# could not serve within connect-timeout, which may beat dig's wait.
	if grep -q 'status:' "$out" && ! grep -q 'status: SERVFAIL' "$out"; then
		echo "got an answer"
		return 1
	fi
}

check "dns: vps itself gets $NAME from dnsmasq A (UDP)" \
	dig_ok "$NS_VPS" 127.0.0.1 "$LPORT" "$NAME" "$ANS_A" UDP
check "dns: client cannot reach dnsmasq A at $VPS4:$LPORT (UDP)" \
	dig_fails "$NS_CLI" "$VPS4" "$LPORT" "$NAME"
check "dns: client cannot reach dnsmasq A at $VPS4:$LPORT (TCP)" \
	dig_fails "$NS_CLI" "$VPS4" "$LPORT" "$NAME" +tcp
check "dns: client cannot reach dnsmasq A at its own 127.0.0.1:$LPORT" \
	dig_fails "$NS_CLI" 127.0.0.1 "$LPORT" "$NAME"

# ------------------------------------------------------ server and clients

PKI="$TMP/pki"
SERVER_CONF="$PKI/server.conf"
make_vps_pki() {
	local v conf
	try "$BUILD/proxy-server" init "$PKI" --server-name "$VPS4" &&
		try "$BUILD/proxy-server" add-client "$PKI" alice \
			--server "$VPS4:$SPORT" || return 1
	{
		grep -vE '^[[:space:]]*(listen|dns|control)([[:space:]]|$)' \
			"$SERVER_CONF"
		echo "listen $VPS4:$SPORT"
		echo "dns 127.0.0.1:$LPORT"
		echo "control none"
		echo "udp-timeout 2"	# the associations end between sections
		echo "shutdown-grace 1"
	} >"$SERVER_CONF.new" && chmod 600 "$SERVER_CONF.new" &&
		mv "$SERVER_CONF.new" "$SERVER_CONF" || return 1
	for v in "${CLIENTS[@]}"; do
		conf="$PKI/clients/$v.conf"
		{
			grep -vE '^[[:space:]]*(socks|control|dns-listen|dns-server)([[:space:]]|$)' \
				"$PKI/clients/alice.conf"
			echo "socks 127.0.0.1:${SOCKS[$v]}"
			echo "control none"
			echo "dns-listen 127.0.0.1:${DPORT[$v]}"
			case $v in
			explicit) echo "dns-server $VPS4:$EPORT" ;;
			loopback) echo "dns-server 127.0.0.1:$LPORT" ;;
			stranger) echo "dns-server $VPS4:$SINKPORT" ;;
			esac
		} >"$conf" && chmod 600 "$conf" || return 1
	done
}
check "dns: PKI for the vps address, four client profiles" make_vps_pki ||
	exit 1

spawn server ip netns exec "$NS_VPS" "$BUILD/proxy-server" -c "$SERVER_CONF" \
	-v debug
check "dns: proxy-server listening in vps" \
	wait_for 10 ns_listens "$NS_VPS" tcp "$SPORT" "$VPS4" || exit 1
for v in "${CLIENTS[@]}"; do
	spawn "client-$v" ip netns exec "$NS_CLI" "$BUILD/proxy-client" \
		-c "$PKI/clients/$v.conf" -v debug
done
tunnels() {	# number of tunnels up in client
	in_ns "$NS_CLI" ss -Htn state established "( dport = :$SPORT )" | wc -l
}
clients_up() {
	local v
	for v in "${CLIENTS[@]}"; do
		ns_listens "$NS_CLI" udp "${DPORT[$v]}" 127.0.0.1 &&
			ns_listens "$NS_CLI" tcp "${DPORT[$v]}" 127.0.0.1 || return 1
	done
	[ "$(tunnels)" -ge ${#CLIENTS[@]} ]
}
check "dns: four proxy-clients in client: dns-listen on UDP and TCP, tunnels up" \
	wait_for 10 clients_up || exit 1

# Log lines of dnsmasq NAME from line START on.
declare -A START=()
mark_logs() {
	local n
	for n in dnsA dnsB; do
		START[$n]=$(wc -l <"$(log_of "$n")")
	done
}
new_log() {	# NAME
	tail -n +$((START[$1] + 1)) "$(log_of "$1")"
}

# ---------------------------------------------------- the server's resolver

P=${DPORT[default]}
mark_logs
check "dns: default: dig @127.0.0.1 -p $P $NAME over UDP answers $ANS_A" \
	dig_ok "$NS_CLI" 127.0.0.1 "$P" "$NAME" "$ANS_A" UDP
check "dns: default: dig +tcp @127.0.0.1 -p $P $NAME answers $ANS_A" \
	dig_ok "$NS_CLI" 127.0.0.1 "$P" "$NAME" "$ANS_A" TCP +tcp
check "dns: default: $NXNAME over UDP is NXDOMAIN" \
	dig_nx "$NS_CLI" 127.0.0.1 "$P" "$NXNAME"
check "dns: default: $NXNAME over TCP is NXDOMAIN" \
	dig_nx "$NS_CLI" 127.0.0.1 "$P" "$NXNAME" +tcp

# concurrent PROTO N: N digs at once in client, each for its own name.
concurrent() {
	local proto=$1 n=$2 i opt=() bad=0 pids=()
	[ "$proto" = TCP ] && opt=(+tcp)
	for ((i = 1; i <= n; i++)); do
		dig_run "$NS_CLI" 127.0.0.1 "$P" "c$i-$proto-$$.$DOMAIN" \
			"$TMP/conc.$proto.$i" "${opt[@]}" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for ((i = 1; i <= n; i++)); do
		local name="c$i-$proto-$$.$DOMAIN" out="$TMP/conc.$proto.$i"
		if ! grep -q 'status: NOERROR' "$out" ||
			! grep -qE "^$name\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+$ANS_A\$" "$out" ||
			grep -qi mismatch "$out"; then
			echo "query $i ($name):"
			cat "$out"
			bad=$((bad + 1))
		fi
	done
	echo "$((n - bad)) of $n answered right"
	[ "$bad" = 0 ]
}
check "dns: default: 20 concurrent digs over UDP, each its own answer" \
	concurrent UDP 20
check "dns: default: 20 concurrent digs over TCP, each its own answer" \
	concurrent TCP 20

burst() {
	local out="$TMP/burst"
	timeout 20 ip netns exec "$NS_CLI" "$PY" "$H/dns_burst.py" 127.0.0.1 \
		"$P" 20 "$DOMAIN" "$ANS_A" >"$out" 2>&1
	cat "$out"
	has "sent=40 answered=40 good=40 mismatched=0" "$out"
}
check "dns: default: 40 queries at once, 20 sockets with the same id and 20 ids on one socket" \
	burst

# saw NAME ADDR MIN: since mark_logs dnsmasq NAME logged at least MIN
# queries, every one from ADDR.
saw() {
	local srcs bad
	srcs=$(new_log "$1" |
		sed -nE 's/.*query\[[A-Z]+\] [^ ]+ from ([0-9a-fA-F.:]+)$/\1/p')
	echo "$1 saw $(printf '%s' "$srcs" | grep -c .) queries from:" \
		"$(printf '%s\n' "$srcs" | sort | uniq -c | tr '\n' ' ')"
	[ "$(printf '%s' "$srcs" | grep -c .)" -ge "$3" ] ||
		{ echo "fewer than $3"; return 1; }
	bad=$(printf '%s\n' "$srcs" | grep -vxF "$2")
	[ -z "$bad" ] || { echo "not from $2: $(echo "$bad" | sort -u | tr '\n' ' ')"; return 1; }
}
saw_name() {	# NAME QNAME: dnsmasq NAME logged a query for QNAME
	new_log "$1" | grep -qF "] $2 from " && return 0
	echo "$1 never saw $2"
	return 1
}
never_saw() {	# NAME QNAME
	! new_log "$1" | grep -F "] $2 from "
}
# 2 + 2 + 20 + 20 + 40 queries at least
check "dns: dnsmasq A saw the queries, all from 127.0.0.1 inside vps" \
	wait_for 3 saw dnsA 127.0.0.1 84
check "dns: dnsmasq A saw $NAME and $NXNAME" \
	eval "saw_name dnsA $NAME && saw_name dnsA $NXNAME"
check "dns: dnsmasq B saw none of them" never_saw dnsB "$NAME"

# ------------------------------------------------- an explicit dns-server

P=${DPORT[explicit]}
EXNAME=explicit-$$.$DOMAIN
mark_logs
check "dns: explicit ($VPS4:$EPORT): dig $EXNAME over UDP answers $ANS_B" \
	dig_ok "$NS_CLI" 127.0.0.1 "$P" "$EXNAME" "$ANS_B" UDP
check "dns: explicit ($VPS4:$EPORT): dig +tcp $EXNAME answers $ANS_B" \
	dig_ok "$NS_CLI" 127.0.0.1 "$P" "$EXNAME" "$ANS_B" TCP +tcp
check "dns: explicit: $NXNAME over UDP is NXDOMAIN" \
	dig_nx "$NS_CLI" 127.0.0.1 "$P" "$NXNAME"
check "dns: explicit: $NXNAME over TCP is NXDOMAIN" \
	dig_nx "$NS_CLI" 127.0.0.1 "$P" "$NXNAME" +tcp
check "dns: dnsmasq B saw the queries, all from the vps address $VPS4" \
	wait_for 3 saw dnsB "$VPS4" 4
check "dns: dnsmasq A never saw $EXNAME" never_saw dnsA "$EXNAME"

# ------------------------ an explicit dns-server on the vps's own loopback

P=${DPORT[loopback]}
LONAME=loopback-$$.$DOMAIN
mark_logs
check "dns: loopback (dns-server 127.0.0.1:$LPORT): no answer over UDP" \
	dig_fails "$NS_CLI" 127.0.0.1 "$P" "$LONAME" +time=2
check "dns: loopback (dns-server 127.0.0.1:$LPORT): no answer over TCP" \
	dig_fails "$NS_CLI" 127.0.0.1 "$P" "$LONAME" +tcp +time=2
check "dns: loopback: dnsmasq A never saw $LONAME (the policy refuses)" \
	never_saw dnsA "$LONAME"

# --------------------------------- answers from anyone but the dns-server

# The sink never answers; a stranger answers each query it sees, with the
# right id and question, from another port. Only the name server the query
# went to may answer: the asker must get nothing.
P=${DPORT[stranger]}
SPNAME=spoof-$$.$DOMAIN
check "dns: stranger: a forged answer from $VPS4:<not $SINKPORT> is not delivered" \
	dig_fails "$NS_CLI" 127.0.0.1 "$P" "$SPNAME" +time=2
check "dns: stranger: the sink saw $SPNAME (so the forged answer was sent)" \
	wait_for 3 grep -q "name=$SPNAME\$" "$(log_of sink)"

# The ids the resolver sees: a guessable sequence lets an off-path attacker
# forge answers (with the resolver's address as source) in one try.
unpredictable_ids() {
	local i ids pids=() lo hi n
	for ((i = 1; i <= 6; i++)); do
		dig_run "$NS_CLI" 127.0.0.1 "$P" "id$i-$$.$DOMAIN" \
			"$TMP/ids.$i" +time=1 +tries=1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	ids=$(sed -nE "s/^query id=([0-9]+) .* name=(id[0-9]+|spoof)-$$\.$DOMAIN\$/\1/p" \
		"$(log_of sink)" | sort -n)
	echo "ids seen by the resolver: $(echo "$ids" | tr '\n' ' ')"
	n=$(echo "$ids" | grep -c .)
	[ "$n" -ge 7 ] || { echo "expected 7 queries, saw $n"; return 1; }
	lo=$(echo "$ids" | head -n 1) hi=$(echo "$ids" | tail -n 1)
	if [ $((hi - lo)) -lt 16 ]; then
		echo "7 ids within $((hi - lo + 1)) consecutive values: predictable"
		return 1
	fi
}
check "dns: stranger: transaction ids toward the resolver are not sequential" \
	unpredictable_ids

# ------------------------------------- association idle timeout, restart

assoc_timeouts() {	# N: at least N "udp-timeout" lines in the server log
	[ "$(grep -c ': udp-timeout$' "$(log_of server)")" -ge "$1" ]
}
check "dns: the server ended the idle associations (udp-timeout 2)" \
	wait_for 6 assoc_timeouts ${#CLIENTS[@]}
check "dns: default: answers again after its association timed out" \
	dig_ok "$NS_CLI" 127.0.0.1 "${DPORT[default]}" "$NAME" "$ANS_A" UDP
check "dns: explicit: answers again after its association timed out" \
	dig_ok "$NS_CLI" 127.0.0.1 "${DPORT[explicit]}" "again-$$.$DOMAIN" "$ANS_B" UDP

# A graceful restart: GOAWAY to every client, then new tunnels. default
# and explicit have a UDP association open now, loopback and stranger
# have no flow at all.
stop server
spawn server ip netns exec "$NS_VPS" "$BUILD/proxy-server" -c "$SERVER_CONF" \
	-v debug
check "dns: proxy-server restarted" \
	wait_for 10 ns_listens "$NS_VPS" tcp "$SPORT" "$VPS4"
all_tunnels() {
	[ "$(tunnels)" -ge ${#CLIENTS[@]} ]
}
check "dns: every client's tunnel is back after the restart" \
	wait_for 10 all_tunnels
check "dns: default: after the restart, UDP answers" \
	dig_ok "$NS_CLI" 127.0.0.1 "${DPORT[default]}" "$NAME" "$ANS_A" UDP
check "dns: default: after the restart, TCP answers" \
	dig_ok "$NS_CLI" 127.0.0.1 "${DPORT[default]}" "$NAME" "$ANS_A" TCP +tcp
check "dns: explicit: after the restart, UDP answers" \
	dig_ok "$NS_CLI" 127.0.0.1 "${DPORT[explicit]}" "restart-$$.$DOMAIN" "$ANS_B" UDP

# ------------------------------------------------------------------- end

for n in server "${CLIENTS[@]/#/client-}" dnsA dnsB sink; do
	check "dns: $n still running" kill -0 "$(pid_of "$n")"
done
