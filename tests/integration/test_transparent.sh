#!/bin/bash
# Transparent proxying (REDIRECT for TCP, TPROXY for UDP) in network
# namespaces made here, nothing outside them addressed:
#
#   lan ---------- client ---------- vps ---------- internet
#   192.168.77.2   .1  198.18.1.2    .1  198.18.2.1     .2
#   fd00:77::2     ::1 2001:db8:1::2 ::1 2001:db8:2::1  ::2
#
# lan's default gateway is client; client's default route is vps, which
# does not forward, so client (and lan) reach internet only through the
# tunnel; internet runs HTTP, TCP and UDP echo and dnsmasq, each logging
# the source of what it sees. proxy-server runs in vps, proxy-client in
# client with --redir/--tproxy, and `proxy-client rules --apply` puts the
# rules in place inside client. For desktop mode (client's own traffic)
# and gateway mode (lan's traffic, no proxy settings on lan), each with
# --nft and with --iptables, IPv4 and IPv6: plain curl (hash), TCP echo,
# a TCP connection to a closed port reset (not hung), UDP echo (reply
# from the original destination, also from a peer never addressed), dig
# over UDP and TCP; internet sees only the vps address;
# tcpdump on client's link to vps holds only tunnel packets and never the
# marker sent in clear; `rules --remove` restores the rule set exactly
# (nft, iptables-save, ip6tables-save, ip rule, routes), leaving the
# user's own rules alone. Then the TPROXY caps: with max-udp-assocs 2 and
# max-udp-peers 2, a LAN host talking from 4 source ports to 4 peers is
# still answered every time, both limits are logged, and the client's
# descriptor count stays within 2 reply sockets of its idle count (a
# client with the default caps, measured the same way, takes 4).
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

need_root "$(basename "$0")"
need_cmd ip ss nft iptables iptables-save ip6tables ip6tables-save tcpdump \
	dig dnsmasq curl sha256sum

# --------------------------------------------------------------- topology

NS_LAN=tp-lan-$$
NS_CLI=tp-cli-$$
NS_VPS=tp-vps-$$
NS_NET=tp-net-$$
on_exit "ip netns del $NS_LAN 2>/dev/null; ip netns del $NS_CLI 2>/dev/null;
	ip netns del $NS_VPS 2>/dev/null; ip netns del $NS_NET 2>/dev/null"

LAN4=192.168.77.2 GW4=192.168.77.1	# lan <-> client
LAN6=fd00:77::2 GW6=fd00:77::1
CLI4=198.18.1.2 VPS4=198.18.1.1		# client <-> vps
CLI6=2001:db8:1::2 VPS6=2001:db8:1::1
OUT4=198.18.2.1 NET4=198.18.2.2		# vps <-> internet
OUT6=2001:db8:2::1 NET6=2001:db8:2::2
NAME=game.proxytest			# dnsmasq's made-up name
NAME4=198.18.9.9 NAME6=2001:db8:9::9
SPORT=443	# proxy-server
RPORT=12345	# proxy-client --redir and --tproxy
# Sent in clear inside the namespaces (HTTP header, TCP and UDP payloads);
# must never appear on the client's link to the vps.
MARK=cleartext-marker-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

in_ns() {	# NS CMD...
	ip netns exec "$@"
}

try() {
	"$@" && return 0
	echo "failed: $*"
	return 1
}

veth() {	# NS1 IF1 NS2 IF2
	try ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" &&
		try ip -n "$1" link set "$2" up && try ip -n "$3" link set "$4" up
}

addrs() {	# NS IF ADDR/LEN...
	local ns=$1 dev=$2 a
	shift 2
	for a; do
		case $a in
		*:*) try ip -n "$ns" -6 addr add "$a" dev "$dev" nodad || return 1 ;;
		*) try ip -n "$ns" addr add "$a" dev "$dev" || return 1 ;;
		esac
	done
}

topology() {
	local ns
	for ns in "$NS_LAN" "$NS_CLI" "$NS_VPS" "$NS_NET"; do
		try ip netns add "$ns" && try ip -n "$ns" link set lo up &&
			try in_ns "$ns" sysctl -qw net.ipv4.ip_forward=0 \
				net.ipv6.conf.all.forwarding=0 \
				net.ipv6.conf.all.accept_ra=0 \
				net.ipv6.conf.default.accept_ra=0 \
				net.ipv6.conf.all.accept_dad=0 \
				net.ipv6.conf.default.accept_dad=0 || return 1
	done
	veth "$NS_LAN" eth0 "$NS_CLI" tolan &&
		veth "$NS_CLI" tovps "$NS_VPS" tocli &&
		veth "$NS_VPS" tonet "$NS_NET" eth0 || return 1
	addrs "$NS_LAN" eth0 "$LAN4/24" "$LAN6/64" &&
		addrs "$NS_CLI" tolan "$GW4/24" "$GW6/64" &&
		addrs "$NS_CLI" tovps "$CLI4/24" "$CLI6/64" &&
		addrs "$NS_VPS" tocli "$VPS4/24" "$VPS6/64" &&
		addrs "$NS_VPS" tonet "$OUT4/24" "$OUT6/64" &&
		addrs "$NS_NET" eth0 "$NET4/24" "$NET6/64" || return 1
	# client routes for lan; vps routes for nobody (ip_forward stays 0
	# there); internet has no route beyond its own link.
	try in_ns "$NS_CLI" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2 \
		net.ipv4.conf.tolan.rp_filter=2 net.ipv4.conf.tovps.rp_filter=2 &&
		try ip -n "$NS_LAN" route add default via "$GW4" &&
		try ip -n "$NS_LAN" -6 route add default via "$GW6" &&
		try ip -n "$NS_CLI" route add default via "$VPS4" &&
		try ip -n "$NS_CLI" -6 route add default via "$VPS6"
}

# The user's own rules on the client, which apply/remove must leave alone
# (they also make the iptables tables exist before, as they will after).
user_rules() {
	try in_ns "$NS_CLI" nft -f - <<'EOF' || return 1
table inet user_keep {
	chain out {
		type filter hook output priority 10; policy accept;
		udp dport 9 counter accept comment "user rule"
	}
}
EOF
	local t
	for t in iptables ip6tables; do
		local net=10.99.0.0/16
		[ "$t" = ip6tables ] && net=fd99::/64
		try in_ns "$NS_CLI" "$t" -t nat -A POSTROUTING -s "$net" -j MASQUERADE &&
			try in_ns "$NS_CLI" "$t" -t mangle -A PREROUTING -s "$net" -j RETURN &&
			try in_ns "$NS_CLI" "$t" -A INPUT -s "$net" -j ACCEPT || return 1
	done
	try ip -n "$NS_CLI" rule add fwmark 0x99 lookup 99 pref 30000 &&
		try ip -n "$NS_CLI" -6 rule add fwmark 0x99 lookup 99 pref 30000
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

connects() {	# NS ADDR PORT: something accepts there
	probe "$1" reach "$2" "$3" | tee "$TMP/reach"
	grep -qx reach=connected "$TMP/reach"
}


check "transparent: topology lan - client - vps - internet, IPv4 + IPv6" \
	topology || exit 1
check "transparent: the user's own rules on client" user_rules || exit 1

# --------------------------------------------------------------- internet

mkdir -p "$TMP/www" || exit 1
head -c 2M /dev/urandom >"$TMP/www/file"
SHA=$(sha256sum <"$TMP/www/file" | cut -d' ' -f1)
for f in 4 6; do
	a=NET$f
	a=${!a}
	spawn "http$f" ip netns exec "$NS_NET" "$PY" -m http.server --bind "$a" 80 \
		--directory "$TMP/www"
	spawn "techo$f" ip netns exec "$NS_NET" "$PY" "$H/tcp_echo.py" "$a" 7 \
		--log-accepts
	spawn "uecho$f" ip netns exec "$NS_NET" "$PY" "$H/udp_echo.py" --log "$a" 7 8
done
spawn dns ip netns exec "$NS_NET" dnsmasq -k --conf-file=/dev/null --port=53 \
	--listen-address="$NET4" --listen-address="$NET6" --bind-interfaces \
	--no-resolv --no-hosts --address="/$NAME/$NAME4" --address="/$NAME/$NAME6" \
	--user=root --pid-file="$TMP/dnsmasq.pid" --log-facility=- --log-queries
internet_up() {
	[ "$(in_ns "$NS_NET" ss -Htln "( sport = :80 )" | wc -l)" = 2 ] &&
		[ "$(in_ns "$NS_NET" ss -Htln "( sport = :7 )" | wc -l)" = 2 ] &&
		[ "$(in_ns "$NS_NET" ss -Htln "( sport = :53 )" | wc -l)" = 2 ] &&
		grep -q '^ready' "$(log_of uecho4)" &&
		grep -q '^ready' "$(log_of uecho6)"
}
check "transparent: internet: HTTP, TCP echo, UDP echo and dnsmasq up" \
	wait_for 10 internet_up || exit 1

# ------------------------------------------------- the topology, unproxied

check "transparent: lan reaches its gateway (client), IPv4" reachable "$NS_LAN" "$GW4" 9
check "transparent: lan reaches its gateway (client), IPv6" reachable "$NS_LAN" "$GW6" 9
check "transparent: client reaches vps, IPv4" reachable "$NS_CLI" "$VPS4" 9
check "transparent: client reaches vps, IPv6" reachable "$NS_CLI" "$VPS6" 9
check "transparent: vps reaches internet's HTTP server, IPv4" \
	connects "$NS_VPS" "$NET4" 80
check "transparent: vps reaches internet's HTTP server, IPv6" \
	connects "$NS_VPS" "$NET6" 80
# Each probe that must see nothing waits out its own timeout (2 s): they
# run all at once, each into a file of its own, and are judged after.
NEG=()
neg_probe() {	# NAME NS ARGS...: probe NS ARGS... into $TMP/neg.NAME, in the background
	local name=$1
	shift
	probe "$@" >"$TMP/neg.$name" 2>&1 &
	NEG+=($!)
}
neg_saw() {	# NAME ERE: $TMP/neg.NAME has a line matching ERE
	cat "$TMP/neg.$1"
	grep -qxE -- "$2" "$TMP/neg.$1"
}
neg_probe cli4 "$NS_CLI" reach "$NET4" 80
neg_probe cli6 "$NS_CLI" reach "$NET6" 80
neg_probe lan4 "$NS_LAN" reach "$NET4" 80
neg_probe lan6 "$NS_LAN" reach "$NET6" 80
neg_probe cliudp "$NS_CLI" udp "$NET4" 7 probe --tries 1
neg_probe lanudp "$NS_LAN" udp "$NET4" 7 probe --tries 1
wait "${NEG[@]}"
UNREACH='reach=(timeout|unreachable)( .*)?'
check "transparent: without the rules client cannot reach internet, IPv4" \
	neg_saw cli4 "$UNREACH"
check "transparent: without the rules client cannot reach internet, IPv6" \
	neg_saw cli6 "$UNREACH"
check "transparent: without the rules lan cannot reach internet, IPv4" \
	neg_saw lan4 "$UNREACH"
check "transparent: without the rules lan cannot reach internet, IPv6" \
	neg_saw lan6 "$UNREACH"
check "transparent: without the rules no UDP echo from internet to client" \
	neg_saw cliudp reply=none
check "transparent: without the rules no UDP echo from internet to lan" \
	neg_saw lanudp reply=none

# ------------------------------------------------------ server and client

PKI="$TMP/pki"
SERVER_CONF="$PKI/server.conf"
CLIENT_CONF="$PKI/clients/alice.conf"
make_vps_pki() {
	try "$BUILD/proxy-server" init "$PKI" --server-name "$VPS4" &&
		try "$BUILD/proxy-server" add-client "$PKI" alice \
			--server "$VPS4:$SPORT" || return 1
	{
		grep -vE '^[[:space:]]*listen([[:space:]]|$)' "$SERVER_CONF"
		echo "listen $VPS4:$SPORT"
		echo "dns $NET4"
	} >"$SERVER_CONF.new" && chmod 600 "$SERVER_CONF.new" &&
		mv "$SERVER_CONF.new" "$SERVER_CONF" || return 1
	{
		echo "redir [::]:$RPORT"
		echo "tproxy [::]:$RPORT"
		echo "redir-exclude 198.18.200.0/24 2001:db8:200::/48"
	} >>"$CLIENT_CONF"
}
check "transparent: PKI for the vps address, profile with redir/tproxy" \
	make_vps_pki || exit 1

spawn server ip netns exec "$NS_VPS" "$BUILD/proxy-server" -c "$SERVER_CONF" \
	-v debug
check "transparent: proxy-server listening in vps" \
	wait_for 10 ns_listens "$NS_VPS" tcp "$SPORT" || exit 1
spawn client ip netns exec "$NS_CLI" "$BUILD/proxy-client" -c "$CLIENT_CONF" \
	--redir "[::]:$RPORT" --tproxy "[::]:$RPORT" -v debug
tunnel_up() {
	[ -n "$(in_ns "$NS_CLI" ss -Htn state established \
		"( dport = :$SPORT )")" ]
}
client_up() {
	ns_listens "$NS_CLI" tcp "$RPORT" && ns_listens "$NS_CLI" udp "$RPORT" &&
		tunnel_up
}
check "transparent: proxy-client in client: redir and tproxy listening, tunnel up" \
	wait_for 10 client_up || exit 1

# ----------------------------------------------------------------- phases

rules() {	# ARGS... : proxy-client rules inside client
	timeout 20 ip netns exec "$NS_CLI" "$BUILD/proxy-client" rules \
		-c "$CLIENT_CONF" "$@"
}

# nft list ruleset without counter values and blank lines, and without
# the empty built-in chains iptables-nft leaves behind in its own tables
# (iptables -A creates them, iptables -D cannot delete them; they hold no
# rule and accept everything).
nft_ruleset() {
	in_ns "$NS_CLI" nft list ruleset 2>/dev/null |
		sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/; /^[[:space:]]*$/d' |
		awk '
		/^table / { ipt = ($2 == "ip" || $2 == "ip6") &&
			$3 ~ /^(nat|mangle|filter|raw|security)$/ }
		ipt && /^\tchain [A-Z]+ \{$/ { held = $0; n = 0; next }
		held != "" {
			body[++n] = $0
			if ($0 != "\t}") next
			if (!(n == 2 && body[1] ~ /^\t\ttype .* hook .* policy accept;$/)) {
				print held
				for (i = 1; i <= n; i++) print body[i]
			}
			held = ""
			next
		}
		{ print }'
}

# Every rule-like state of client, counters and comments normalised.
snapshot() {	# FILE
	{
		echo "## nft list ruleset"
		nft_ruleset
		echo "## iptables-save"
		in_ns "$NS_CLI" iptables-save | grep -v '^#' |
			sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/'
		echo "## ip6tables-save"
		in_ns "$NS_CLI" ip6tables-save | grep -v '^#' |
			sed -E 's/\[[0-9]+:[0-9]+\]/[0:0]/'
		echo "## ip rule"
		ip -n "$NS_CLI" rule
		echo "## ip -6 rule"
		ip -n "$NS_CLI" -6 rule
		echo "## ip route show table all"
		ip -n "$NS_CLI" route show table all
		echo "## ip -6 route show table all"
		ip -n "$NS_CLI" -6 route show table all
	} >"$1" 2>&1
}

same() {	# FILE1 FILE2
	diff -u "$1" "$2"
}

printed_ok() {	# FILE: the printed rule set names what it must
	local want
	cat "$1"
	for want in "$VPS4" 192.168.0.0/16 10.0.0.0/8 127.0.0.0/8 fc00::/7 \
		fe80::/10 198.18.200.0/24 2001:db8:200::/48 "$RPORT"; do
		grep -qF -- "$want" "$1" || {
			echo "the rule set does not mention $want"
			return 1
		}
	done
}

applied_ok() {	# BACKEND BEFORE-SNAPSHOT
	local now="$TMP/applied"
	snapshot "$now"
	cat "$now"
	if [ "$1" = nft ]; then
		if ! grep -q '^table inet proxy_client' "$now"; then
			echo "no table inet proxy_client"
			return 1
		fi
	elif ! sed -n '/^## iptables-save/,/^## ip6tables-save/p' "$now" |
		grep -q '^:PROXY_' ||
		! sed -n '/^## ip6tables-save/,/^## ip rule/p' "$now" |
		grep -q '^:PROXY_'; then
		echo "no PROXY_ chains in iptables-save and ip6tables-save"
		return 1
	fi
	if [ "$(ip -n "$NS_CLI" rule | wc -l)" -le \
		"$(sed -n '/^## ip rule/,/^## ip -6 rule/p' "$2" | grep -vc '^##')" ] ||
		[ "$(ip -n "$NS_CLI" -6 rule | wc -l)" -le \
			"$(sed -n '/^## ip -6 rule/,/^## ip route/p' "$2" | grep -vc '^##')" ]; then
		echo "no new ip rule / ip -6 rule"
		return 1
	fi
	if ! ip -n "$NS_CLI" route show table all | grep -q '^local default dev lo' ||
		! ip -n "$NS_CLI" -6 route show table all | grep -q '^local default dev lo'; then
		echo "no 'local default dev lo' route (IPv4 and IPv6)"
		return 1
	fi
}

http_get() {	# NS URL
	local got
	rm -f "$TMP/got"
	timeout 20 ip netns exec "$1" curl -fsS -g --noproxy '*' --max-time 15 \
		-H "X-Marker: $MARK" -o "$TMP/got" "$2" || return 1
	got=$(sha256sum <"$TMP/got" | cut -d' ' -f1)
	echo "sha256 got $got want $SHA"
	[ "$got" = "$SHA" ]
}

dig_ok() {	# NS SERVER TYPE WANT [+tcp]
	local out="$TMP/dig.out"
	timeout 20 ip netns exec "$1" dig +time=3 +tries=2 ${5:+"$5"} @"$2" \
		"$NAME" "$3" >"$out" 2>&1
	cat "$out"
	grep -qE "^$NAME\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+$3[[:space:]]+$4\$" \
		"$out" || { echo "no answer $NAME $3 $4"; return 1; }
	grep -qF ";; SERVER: $2#53($2)" "$out" ||
		{ echo "the answer did not come from $2#53"; return 1; }
}

has_all() {	# FILE LINE...: FILE holds every LINE
	local f=$1
	shift
	while [ $# -gt 0 ]; do
		has "$1" "$f" || return 1
		shift
	done
}

traffic() {	# NS TAG FAMILY
	local ns=$1 tag=$2 dst url src obs="$TMP/obs" want
	if [ "$3" = 4 ]; then
		dst=$NET4 url="http://$NET4/file" want=$NAME4
		src="$NET4"
	else
		dst=$NET6 url="http://[$NET6]/file" want=$NAME6
		src="[$NET6]"
	fi
	check "$tag: plain curl $url, hash matches" http_get "$ns" "$url"
	probe "$ns" tcp "$dst" 7 "$MARK tcp" >"$obs"
	check "$tag: TCP echo $src:7" has echo=ok "$obs"
	check "$tag: the TCP peer is the original destination $src:7" \
		has "peer=$src:7" "$obs"
	# Nothing listens on TCP port 9 there: the local connect succeeded
	# (REDIRECT), so the server's refusal must show as a reset.
	probe "$ns" tcp "$dst" 9 "$MARK closed" >"$obs"
	check "$tag: TCP to the closed port $src:9 is reset, not left hanging" \
		matches 'echo=error .*(reset|Broken pipe).*' "$obs"
	probe "$ns" udp "$dst" 7 "$MARK udp" >"$obs"
	check "$tag: UDP echo $src:7 answered, intact" has_all "$obs" reply=ok intact=1
	check "$tag: the UDP reply comes from the original destination $src:7" \
		has "src=$src:7" "$obs"
	probe "$ns" udp "$dst" 7 "$MARK udp from 8" --from-port 8 >"$obs"
	check "$tag: a UDP reply from $src:8, never addressed, arrives from $src:8" \
		has_all "$obs" reply=ok "src=$src:8"
	if [ "$3" = 4 ]; then
		check "$tag: dig @$NET4 $NAME A (UDP)" dig_ok "$ns" "$NET4" A "$NAME4"
		check "$tag: dig +tcp @$NET4 $NAME A" dig_ok "$ns" "$NET4" A "$NAME4" +tcp
	else
		check "$tag: dig @$NET6 $NAME AAAA (UDP)" dig_ok "$ns" "$NET6" AAAA "$NAME6"
		check "$tag: dig +tcp @$NET6 $NAME AAAA" dig_ok "$ns" "$NET6" AAAA "$NAME6" +tcp
	fi
}

declare -A START=()
INET_LOGS=(http4 http6 techo4 techo6 uecho4 uecho6 dns)
mark_logs() {
	local n
	for n in "${INET_LOGS[@]}"; do
		START[$n]=$(wc -l <"$(log_of "$n")")
	done
}

# inet_saw NAME ADDR...: since mark_logs, internet's NAME log shows traffic,
# all of it from one of ADDR.
inet_saw() {
	local n=$1 srcs bad
	shift
	case $n in
	http*) srcs=$(tail -n +$((START[$n] + 1)) "$(log_of "$n")" |
		awk '/"GET / { print $1 }') ;;
	techo*) srcs=$(tail -n +$((START[$n] + 1)) "$(log_of "$n")" |
		awk '$1 == "accept" { print $2 }') ;;
	uecho*) srcs=$(tail -n +$((START[$n] + 1)) "$(log_of "$n")" |
		awk '$1 == "udp" { print $2 }') ;;
	dns) srcs=$(tail -n +$((START[$n] + 1)) "$(log_of "$n")" |
		sed -nE 's/.*query\[[A-Z]+\] .* from ([0-9a-fA-F.:]+)$/\1/p') ;;
	esac
	echo "$n saw traffic from: $(echo "$srcs" | tr '\n' ' ')"
	[ -n "$srcs" ] || { echo "nothing"; return 1; }
	bad=$(printf '%s\n' "$srcs" | grep -vxF "$(printf '%s\n' "$@")")
	[ -z "$bad" ] || { echo "not from the vps: $(echo "$bad" | tr '\n' ' ')"; return 1; }
}

re() {	# ADDR: as a regular expression
	printf '%s' "${1//./\\.}"
}

pcap_txt() {	# PCAP
	tcpdump -nn -r "$1" 2>/dev/null
}

ND='(ARP, |IP6 [^ ]+ > [^ ]+: ICMP6, (neighbor (solicitation|advertisement)|multicast listener report))'

# Client's link to vps: only packets between the client and the server's
# port (plus ARP / neighbour discovery), and some of those.
outer_only_tunnel() {	# PCAP
	local txt="$1.txt" tun n other
	pcap_txt "$1" >"$txt"
	tun="IP $(re "$CLI4")\.[0-9]+ > $(re "$VPS4")\.$SPORT: |IP $(re "$VPS4")\.$SPORT > $(re "$CLI4")\.[0-9]+: "
	n=$(grep -cE "^[0-9:.]+ ($tun)" "$txt")
	echo "$(wc -l <"$txt") packets, $n between $CLI4 and $VPS4 port $SPORT"
	other=$(grep -vE "^[0-9:.]+ ($tun|$ND)" "$txt")
	[ -z "$other" ] || {
		echo "other packets:"
		printf '%s\n' "$other" | head -n 20
		return 1
	}
	[ "$n" -gt 10 ]
}

# lan's link in gateway mode: every IP packet is between the lan host and
# internet's addresses; the proxy never shows itself.
lan_only_internet() {	# PCAP
	local txt="$1.txt" ok n other
	pcap_txt "$1" >"$txt"
	ok="IP $(re "$LAN4")\.[0-9]+ > $(re "$NET4")\.[0-9]+: |IP $(re "$NET4")\.[0-9]+ > $(re "$LAN4")\.[0-9]+: "
	ok="$ok|IP6 $(re "$LAN6")\.[0-9]+ > $(re "$NET6")\.[0-9]+: |IP6 $(re "$NET6")\.[0-9]+ > $(re "$LAN6")\.[0-9]+: "
	n=$(grep -cE "^[0-9:.]+ ($ok)" "$txt")
	echo "$(wc -l <"$txt") packets, $n between lan and internet addresses"
	other=$(grep -vE "^[0-9:.]+ ($ok|$ND)" "$txt")
	[ -z "$other" ] || {
		echo "other packets:"
		printf '%s\n' "$other" | head -n 20
		return 1
	}
	[ "$n" -gt 10 ]
}

no_marker() {	# PCAP
	! grep -aqF "$MARK" "$1"
}

has_marker() {	# PCAP
	grep -aqF "$MARK" "$1"
}

capture() {	# NAME IFACE: tcpdump in client on IFACE into $TMP/NAME.pcap
	spawn "$1" ip netns exec "$NS_CLI" tcpdump -i "$2" -nn -U -s 0 -Z root \
		-w "$TMP/$1.pcap" &&
		wait_for 10 grep -q 'listening on' "$(log_of "$1")"
}

phase() {	# desktop|gateway nft|iptables
	local mode=$1 be=$2 tag="transparent: $1 $2" args from inner
	local before="$TMP/before.$1.$2" after="$TMP/after.$1.$2"
	args=("--$be" --ipv6)
	from=$NS_CLI inner=lo
	if [ "$mode" = gateway ]; then
		args+=(--gateway)
		from=$NS_LAN inner=tolan
	fi
	snapshot "$before"
	rules "${args[@]}" >"$TMP/printed.$mode.$be" 2>&1
	check "$tag: rules ${args[*]} prints the server and the exclusions" \
		printed_ok "$TMP/printed.$mode.$be"
	snapshot "$after"
	check "$tag: printing the rules changes nothing" same "$before" "$after"
	if ! check "$tag: rules ${args[*]} --apply" rules "${args[@]}" --apply; then
		rules "${args[@]}" --remove >/dev/null 2>&1
		return 1
	fi
	check "$tag: the rules are in place (table/chains, ip rule, local route)" \
		applied_ok "$be" "$before"

	capture "outer-$mode-$be" tovps || not_ok "$tag: tcpdump on client's link to vps"
	capture "inner-$mode-$be" "$inner" || not_ok "$tag: tcpdump on client's $inner"
	mark_logs
	traffic "$from" "$tag IPv4" 4
	traffic "$from" "$tag IPv6" 6
	sleep 0.3	# the last replies reach the capture
	stop "outer-$mode-$be"
	stop "inner-$mode-$be"

	check "$tag: internet saw the HTTP requests from $OUT4 only" inet_saw http4 "$OUT4"
	check "$tag: internet saw the HTTP requests from $OUT6 only" inet_saw http6 "$OUT6"
	check "$tag: internet saw the TCP echo connections from $OUT4 only" inet_saw techo4 "$OUT4"
	check "$tag: internet saw the TCP echo connections from $OUT6 only" inet_saw techo6 "$OUT6"
	check "$tag: internet saw the UDP datagrams from $OUT4 only" inet_saw uecho4 "$OUT4"
	check "$tag: internet saw the UDP datagrams from $OUT6 only" inet_saw uecho6 "$OUT6"
	check "$tag: internet saw the DNS queries from the vps only" inet_saw dns "$OUT4" "$OUT6"
	check "$tag: tcpdump on client's link to vps: only client <-> server port $SPORT" \
		outer_only_tunnel "$TMP/outer-$mode-$be.pcap"
	check "$tag: the marker sent in clear is in the capture on client's $inner" \
		has_marker "$TMP/inner-$mode-$be.pcap"
	check "$tag: the marker never appears on client's link to vps" \
		no_marker "$TMP/outer-$mode-$be.pcap"
	if [ "$mode" = gateway ]; then
		check "$tag: lan's link carries only lan <-> internet addresses" \
			lan_only_internet "$TMP/inner-$mode-$be.pcap"
	fi

	check "$tag: rules ${args[*]} --remove" rules "${args[@]}" --remove
	snapshot "$after"
	check "$tag: after --remove the rule set is exactly as before --apply" \
		same "$before" "$after"
}

phase desktop nft
phase desktop iptables
phase gateway nft
phase gateway iptables

# (its 2 s timeout runs while the limits below are set up; judged
# before their rules are applied)
neg_probe removed "$NS_CLI" reach "$NET4" 80
REMOVED_PROBE=$!
check "transparent: proxy-server still running" kill -0 "$(pid_of server)"
check "transparent: proxy-client still running" kill -0 "$(pid_of client)"

# ------------------------------------------------------- TPROXY limits
# A LAN host talks UDP from 4 source ports to 4 peers (gateway mode, nft),
# first through a client with the default caps, to see what the traffic
# costs in descriptors (one reply socket per peer), then through one with
# max-udp-assocs 2 and max-udp-peers 2: every datagram is still answered
# from the right peer (the oldest association or reply socket is closed
# to make room, nothing is refused), both limits are logged, and the
# client never holds more than 2 reply sockets; with udp-timeout 2s it
# closes them once the traffic has been quiet that long.
LP=(7001 7002 7003 7004)
spawn uecho_lim ip netns exec "$NS_NET" "$PY" "$H/udp_echo.py" --log "$NET4" "${LP[@]}"
check "transparent: limits: UDP echo on $NET4 ports ${LP[*]}" ready uecho_lim || exit 1
CAPPED_CONF="$PKI/clients/capped.conf"
{
	cat "$CLIENT_CONF"
	echo "max-udp-assocs 2"
	echo "max-udp-peers 2"
	echo "udp-timeout 2s"
} \
	>"$CAPPED_CONF" && chmod 600 "$CAPPED_CONF"
LIM_ARGS=(--nft --ipv6 --gateway)
wait "$REMOVED_PROBE"
check "transparent: after --remove client reaches internet no more" \
	neg_saw removed "$UNREACH"
snapshot "$TMP/before.limits"
check "transparent: limits: rules ${LIM_ARGS[*]} --apply" rules "${LIM_ARGS[@]}" --apply

# limit_run NAME PROFILE: a fresh client NAME on PROFILE; its descriptors
# when the tunnel is up (BASE), the most it held while the LAN host's
# traffic ran (PEAK), what the sender saw ($TMP/NAME.obs).
limit_run() {
	local name=$1 pid n
	stop client
	stop client_free
	spawn "$name" ip netns exec "$NS_CLI" "$BUILD/proxy-client" -c "$2" \
		--redir "[::]:$RPORT" --tproxy "[::]:$RPORT" -v debug
	wait_for 10 client_up || { echo "$name did not come up"; return 1; }
	sleep 0.5
	pid=$(pid_of "$name")
	BASE=$(nfds "$pid")
	PEAK=$BASE
	timeout 120 ip netns exec "$NS_LAN" "$PY" "$H/udp_sources.py" "$NET4" \
		"${LP[@]}" --sources 4 --rounds 2 >"$TMP/$name.obs" 2>&1 &
	local sender=$!
	while kill -0 "$sender" 2>/dev/null; do
		n=$(nfds "$pid") && [ "${n:-0}" -gt "$PEAK" ] && PEAK=$n
		sleep 0.05
	done
	wait "$sender"
	n=$(nfds "$pid") && [ "${n:-0}" -gt "$PEAK" ] && PEAK=$n
	sed "s/^/# $name: /" "$TMP/$name.obs"
	echo "# $name: $BASE descriptors with the tunnel up, at most $PEAK with the traffic"
}
all_answered() {	# OBS
	has "sent=32 answered=32 right_source=32" "$1"
}

limit_run client_free "$CLIENT_CONF"
if check "transparent: limits: a client with the default caps comes up" \
	test $? -eq 0; then
	check "transparent: limits: default caps: 32 datagrams from 4 source ports to 4 peers answered from the right peer" \
		all_answered "$TMP/client_free.obs"
	grew() {
		echo "descriptors: $BASE -> $PEAK (4 peers: 4 reply sockets expected)"
		[ "$PEAK" -ge $((BASE + 4)) ]
	}
	check "transparent: limits: default caps: the client holds a reply socket per peer (the measure sees them)" grew
fi
stop client_free

limit_run client_cap "$CAPPED_CONF"
if check "transparent: limits: a client with max-udp-assocs 2, max-udp-peers 2 comes up" \
	test $? -eq 0; then
	check "transparent: limits: capped: still all 32 datagrams answered from the right peer" \
		all_answered "$TMP/client_cap.obs"
	bounded() {
		echo "descriptors: $BASE -> at most $PEAK (cap: $BASE + 2)"
		[ "$PEAK" -le $((BASE + 2)) ]
	}
	check "transparent: limits: capped: the client never holds more than 2 reply sockets" bounded
	idle_closed() {	# within 10 s; the default udp-timeout is 60 s
		local i n
		for ((i = 0; i < 50; i++)); do
			n=$(nfds "$(pid_of client_cap)")
			if [ "${n:-0}" -le "$BASE" ]; then
				echo "descriptors: $n, as with the tunnel just up"
				return 0
			fi
			sleep 0.2
		done
		echo "descriptors: $n, still above $BASE 10 s after the traffic"
		return 1
	}
	check "transparent: limits: capped: udp-timeout 2s closes the idle reply sockets" \
		idle_closed
	lim_logged() {	# ERE
		grep -qE -- "$1" "$(log_of client_cap)" && return 0
		echo "no line matching /$1/ in client_cap.log"
		return 1
	}
	check "transparent: limits: capped: the client log names max-udp-assocs (2)" \
		lim_logged 'tproxy: max-udp-assocs \(2\) reached: closing the least recently used association'
	check "transparent: limits: capped: the client log names max-udp-peers (2)" \
		lim_logged 'tproxy: max-udp-peers \(2\) reached: closing the least recently used reply socket'
	check "transparent: limits: capped: proxy-client still running" \
		kill -0 "$(pid_of client_cap)"
fi
check "transparent: limits: proxy-server still running" kill -0 "$(pid_of server)"
check "transparent: limits: rules ${LIM_ARGS[*]} --remove" rules "${LIM_ARGS[@]}" --remove
snapshot "$TMP/after.limits"
check "transparent: limits: after --remove the rule set is exactly as before" \
	same "$TMP/before.limits" "$TMP/after.limits"
