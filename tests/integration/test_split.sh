#!/bin/bash
# Split routing (route, route-file, route-default; SIGHUP reload) in
# network namespaces made here, nothing outside them addressed:
#
#   campus ------------ client ------------ vps ------------ net
#   198.18.8.1          198.18.8.2          198.18.7.1       198.18.9.1
#   fd00:8::1           fd00:8::2           198.18.9.2       fd00:9::1
#                       198.18.7.2          fd00:9::2
#   dnsmasq: campus.test                    proxy-server     dnsmasq: net.test
#   http, udp echo      proxy-client        (dns net:53)     http, udp echo
#
# Nothing forwards: campus is reachable from the client only, net from
# the vps only. The client resolves with campus's dnsmasq (its
# namespace's resolv.conf), the server with net's (its `dns`). Its
# profile: campus networks direct, a block rule for a name and a
# network, route-default proxy. Checks: curl --socks5-hostname to a
# campus name, IPv4 and IPv6 address gets through (direct: the campus
# host sees the client's address and the server never hears of it); a
# net name and IPv6 address go through the server; blocked destinations
# get reply 0x02 (PySocks); one PySocks UDP association reaches a campus
# and a net peer; the log lines and `status --json` name the rules; a bad
# rule file is an error naming file:line (-t); SIGHUP while a direct and
# a proxied download run: both complete intact, the tunnel stays, the
# new rules apply, and a bad file keeps the old ones. Split DNS: the
# client's DNS forwarder (dns-listen) asks campus's dnsmasq itself for
# campus.test names (dns-direct), over UDP and TCP, and the vps's
# resolver (net's dnsmasq) through the tunnel for the rest; a dns-direct
# name server that never answers (a sink on campus, which sends a forged
# answer from another port and one for another question) gets SERVFAIL
# within connect-timeout, the forgeries never reach dig.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

need_root "$(basename "$0")"
need_cmd ip ss curl dnsmasq sha256sum nft

NS_CLI=split-cli-$$ NS_VPS=split-vps-$$ NS_CAM=split-cam-$$ NS_NET=split-net-$$
on_exit "for n in $NS_CLI $NS_VPS $NS_CAM $NS_NET; do ip netns del \$n 2>/dev/null; done; rm -rf /etc/netns/$NS_CLI"

CAM4=198.18.8.1 CAM6=fd00:8::1 CLI_CAM4=198.18.8.2 CLI_CAM6=fd00:8::2
VPS4=198.18.7.1 CLI4=198.18.7.2
NET4=198.18.9.1 NET6=fd00:9::1 VPS_NET4=198.18.9.2 VPS_NET6=fd00:9::2
SPORT=443 HPORT=8080 UPORT=7007 SOCKS=1080 DNSP=5353 SINKP=5354

in_ns() {	# NS CMD...
	ip netns exec "$@"
}

try() {
	"$@" && return 0
	echo "failed: $*"
	return 1
}

link() {	# NS1 IF1 ADDRS1 NS2 IF2 ADDRS2 (addresses comma-separated)
	local a
	try ip -n "$1" link add "$2" type veth peer name "$5" netns "$4" ||
		return 1
	for a in ${3//,/ }; do try ip -n "$1" addr add "$a" dev "$2" nodad ||
		return 1; done
	for a in ${6//,/ }; do try ip -n "$4" addr add "$a" dev "$5" nodad ||
		return 1; done
	try ip -n "$1" link set "$2" up && try ip -n "$4" link set "$5" up
}

topology() {
	local ns
	for ns in "$NS_CLI" "$NS_VPS" "$NS_CAM" "$NS_NET"; do
		try ns_new "$ns" &&
			try in_ns "$ns" sysctl -qw net.ipv4.ip_forward=0 &&
			try in_ns "$ns" sysctl -qw net.ipv6.conf.all.forwarding=0 ||
			return 1
	done
	link "$NS_CLI" tocam "$CLI_CAM4/24,$CLI_CAM6/64" \
		"$NS_CAM" tocli "$CAM4/24,$CAM6/64" &&
		link "$NS_CLI" tovps "$CLI4/24" "$NS_VPS" tocli "$VPS4/24" &&
		link "$NS_VPS" tonet "$VPS_NET4/24,$VPS_NET6/64" \
			"$NS_NET" tovps "$NET4/24,$NET6/64" || return 1
	# the client resolves with campus's DNS (ip netns exec mounts it)
	mkdir -p "/etc/netns/$NS_CLI" &&
		echo "nameserver $CAM4" >"/etc/netns/$NS_CLI/resolv.conf"
}
check "split: topology campus - client - vps - net" topology || exit 1

unreachable() {	# NS ADDR: nothing answers a TCP connect there
	! timeout 5 ip netns exec "$1" curl -s --max-time 2 \
		"http://$2:$HPORT/" >/dev/null
}

# ------------------------------------------------------ campus and net

WWW_CAM=$TMP/www-cam WWW_NET=$TMP/www-net
mkdir -p "$WWW_CAM" "$WWW_NET"
echo "campus page" >"$WWW_CAM/page"
echo "net page" >"$WWW_NET/page"
head -c 40000000 /dev/urandom >"$WWW_CAM/big"
cp "$WWW_CAM/big" "$WWW_NET/big"
BIG_SUM=$(sha256sum <"$WWW_CAM/big" | cut -d' ' -f1)

site() {	# NAME NS ADDR4 ADDR6 DOMAIN DIR
	spawn "$1-dns" ip netns exec "$2" dnsmasq -k --conf-file=/dev/null \
		--listen-address="$3" --bind-interfaces --no-resolv --no-hosts \
		--host-record="www.$5,$3,$4" --host-record="v6.$5,$4" \
		--host-record="www.ads.$5,$3" --user=root \
		--pid-file="$TMP/$1-dns.pid" --log-facility=- --log-queries
	spawn "$1-http" ip netns exec "$2" "$PY" -m http.server --bind :: \
		"$HPORT" --directory "$6"
	spawn "$1-udp" ip netns exec "$2" "$PY" -u "$H/udp_echo.py" --log \
		:: "$UPORT"
}
site cam "$NS_CAM" "$CAM4" "$CAM6" campus.test "$WWW_CAM"
site net "$NS_NET" "$NET4" "$NET6" net.test "$WWW_NET"
sites_up() {
	ns_listens "$NS_CAM" udp 53 && ns_listens "$NS_NET" udp 53 &&
		ns_listens "$NS_CAM" tcp "$HPORT" &&
		ns_listens "$NS_NET" tcp "$HPORT" && ready cam-udp && ready net-udp
}
check "split: dnsmasq, http and udp echo on campus and net" \
	wait_for 15 sites_up || exit 1
check "split: the vps cannot reach campus" unreachable "$NS_VPS" "$CAM4"
check "split: the client cannot reach net" unreachable "$NS_CLI" "$NET4"

# ------------------------------------------------------ server and client

PKI="$TMP/pki"
RULES="$PKI/clients/campus.txt"
PROFILE="$PKI/clients/alice.conf"
setup() {
	try "$BUILD/proxy-server" init "$PKI" --server-name "$VPS4" >/dev/null &&
		try "$BUILD/proxy-server" add-client "$PKI" alice \
			--server "$VPS4:$SPORT" >/dev/null || return 1
	{
		grep -vE '^[[:space:]]*(listen|dns|control)([[:space:]]|$)' \
			"$PKI/server.conf"
		echo "listen $VPS4:$SPORT"
		echo "dns $NET4:53"
		echo "control $TMP/server.sock"
	} >"$PKI/server.new" && chmod 600 "$PKI/server.new" &&
		mv "$PKI/server.new" "$PKI/server.conf" || return 1
	printf '# campus networks\n%s\n\n%s  # v6\n' 198.18.8.0/24 fd00:8::/64 \
		>"$RULES"
	{
		grep -vE '^[[:space:]]*(socks|control)([[:space:]]|$)' "$PROFILE"
		echo "socks 127.0.0.1:$SOCKS"
		echo "control $TMP/client.sock"
		echo "route-file direct campus.txt"
		echo "route block domain:ads.campus.test 198.18.10.0/24"
		echo "route-default proxy"
		echo "dns-listen 127.0.0.1:$DNSP"
		echo "dns-direct domain:campus.test $CAM4"
		echo "dns-direct full:sink.campus.test $CAM4:$SINKP"
		echo "connect-timeout 3s"
	} >"$PROFILE.new" && chmod 600 "$PROFILE.new" &&
		mv "$PROFILE.new" "$PROFILE"
}
check "split: PKI, server config, client profile with rules" setup || exit 1
RULE_FILE_LINE="$RULES:2"
BLOCK_LINE="$PROFILE:$(grep -n '^route block' "$PROFILE" | cut -d: -f1)"
DNS_LINE="$PROFILE:$(grep -n '^dns-direct domain' "$PROFILE" | cut -d: -f1)"

spawn server ip netns exec "$NS_VPS" "$BUILD/proxy-server" \
	-c "$PKI/server.conf" -v debug
check "split: server listening" wait_for 15 ns_listens "$NS_VPS" tcp "$SPORT" ||
	exit 1
spawn client ip netns exec "$NS_CLI" "$BUILD/proxy-client" -c "$PROFILE" \
	-v debug
tunnel_up() {
	grep -q 'tunnel: connected' "$(log_of client)"
}
check "split: tunnel up" wait_for 15 tunnel_up || exit 1

fetch() {	# URL OUT: curl --socks5-hostname in the client's namespace
	timeout 60 ip netns exec "$NS_CLI" curl -sS --max-time 50 -g \
		--socks5-hostname "127.0.0.1:$SOCKS" -o "$2" "$1"
}

got() {	# URL WANT
	fetch "$1" "$TMP/got" || return 1
	grep -qxF "$2" "$TMP/got" || { echo "got:"; cat "$TMP/got"; return 1; }
}

server_never_saw() {	# DEST
	if grep -F "open $1" "$(log_of server)"; then
		echo "the server opened a flow to $1"
		return 1
	fi
}

client_logged() {	# ERE
	wait_for 5 grep -qE -- "$1" "$(log_of client)" && return 0
	echo "the client log has no line matching '$1':"
	tail -n 20 "$(log_of client)"
	return 1
}

http_source() {	# SITE ADDR: SITE's http server saw a request from ADDR
	grep -qF "$2 - -" "$(log_of "$1-http")" && return 0
	echo "$1 saw no request from $2:"
	tail -n 5 "$(log_of "$1-http")"
	return 1
}

check "split: campus name (www.campus.test) direct" \
	got "http://www.campus.test:$HPORT/page" "campus page"
check "split: campus IPv4 address direct" \
	got "http://$CAM4:$HPORT/page" "campus page"
check "split: campus IPv6 address direct" \
	got "http://[$CAM6]:$HPORT/page" "campus page"
check "split: campus IPv6-only name direct" \
	got "http://v6.campus.test:$HPORT/page" "campus page"
check "split: campus saw the client's own addresses" \
	eval "http_source cam $CLI_CAM4 && http_source cam $CLI_CAM6"
check "split: the server never heard of the campus flows" eval \
	"server_never_saw www.campus.test && server_never_saw $CAM4 &&
	 server_never_saw '[$CAM6]' && server_never_saw v6.campus.test"
check "split: the client's log names the rule file's line" \
	client_logged "socks \\(direct by $RULE_FILE_LINE\\): direct flow to www\\.campus\\.test:$HPORT ended"

check "split: net name (www.net.test) through the vps" \
	got "http://www.net.test:$HPORT/page" "net page"
check "split: net IPv6 address through the vps" \
	got "http://[$NET6]:$HPORT/page" "net page"
check "split: net saw the vps, the server opened both" eval \
	"http_source net $VPS_NET4 && http_source net $VPS_NET6 &&
	 grep -qF 'open www.net.test:$HPORT' '$(log_of server)' &&
	 grep -qF 'open [$NET6]:$HPORT' '$(log_of server)'"
check "split: the proxied flow's log line names the default" \
	client_logged "socks \\(proxy by default\\): flow [0-9]+ to www\\.net\\.test:$HPORT ended"

blocked() {	# HOST
	ip netns exec "$NS_CLI" timeout 20 "$PY" "$H/split_socks.py" connect \
		"$SOCKS" "$1" "$HPORT" | tee "$TMP/blocked"
	has "connect=error 0x02" "$TMP/blocked"
}
check "split: PySocks to a blocked name gets 0x02" blocked www.ads.campus.test
check "split: PySocks to a blocked network gets 0x02" blocked 198.18.10.7
check "split: PySocks to a campus name connects" eval \
	"ip netns exec $NS_CLI timeout 20 $PY $H/split_socks.py connect $SOCKS www.campus.test $HPORT | grep -qx connect=ok"
check "split: the block is logged with its rule" \
	client_logged "www\\.ads\\.campus\\.test:$HPORT: block by $BLOCK_LINE"

udp_mixed() {
	ip netns exec "$NS_CLI" timeout 40 "$PY" "$H/split_socks.py" udp \
		"$SOCKS" "$CAM4" "$UPORT" "$NET4" "$UPORT" "$CAM6" "$UPORT" \
		"$NET6" "$UPORT" | tee "$TMP/udp"
	has "peer=$CAM4:$UPORT replies=5 right=5" "$TMP/udp" &&
		has "peer=$NET4:$UPORT replies=5 right=5" "$TMP/udp" &&
		has "peer=$CAM6:$UPORT replies=5 right=5" "$TMP/udp" &&
		has "peer=$NET6:$UPORT replies=5 right=5" "$TMP/udp"
}
check "split: one PySocks UDP association, campus and net peers (v4, v6)" \
	udp_mixed
udp_sources() {
	grep -E "^udp ($CLI_CAM4|::ffff:$CLI_CAM4|$CLI_CAM6) " \
		"$(log_of cam-udp)" >/dev/null &&
		grep -E "^udp ($VPS_NET4|::ffff:$VPS_NET4|$VPS_NET6) " \
			"$(log_of net-udp)" >/dev/null &&
		! grep -E "^udp ($VPS_NET4|::ffff:$VPS_NET4|$VPS_NET6) " \
			"$(log_of cam-udp)" && ! grep -F "$CLI_CAM4" \
		"$(log_of net-udp)" && return 0
	echo "campus saw:"; tail -n 5 "$(log_of cam-udp)"
	echo "net saw:"; tail -n 5 "$(log_of net-udp)"
	return 1
}
check "split: campus datagrams came from the client, net ones from the vps" \
	udp_sources

status_counts() {
	ip netns exec "$NS_CLI" "$BUILD/proxy-client" status \
		--control "$TMP/client.sock" --json >"$TMP/status.json" || return 1
	"$PY" - "$TMP/status.json" "$RULE_FILE_LINE" "$BLOCK_LINE" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))["routing"]
rules = {x["rule"]: x for x in r["by_rule"]}
print(json.dumps(r))
assert r["direct"]["flows"] >= 5 and r["direct"]["bytes_down"] > 0, "direct"
assert r["proxy"]["flows"] >= 2 and r["proxy"]["bytes_down"] > 0, "proxy"
assert r["block"]["flows"] == 2, "block"
assert rules[sys.argv[2]]["action"] == "direct", "rule file line"
assert rules[sys.argv[3]]["flows"] == 2, "block line"
assert rules["default"]["action"] == "proxy", "default"
PYEOF
}
check "split: status --json counts flows and bytes per direction and rule" \
	status_counts
check "split: status table shows the routing counters" eval \
	"ip netns exec $NS_CLI $BUILD/proxy-client status --control $TMP/client.sock | grep -E '^direct +[0-9]+'"

# ------------------------------------------------------ split DNS

spawn sink ip netns exec "$NS_CAM" "$PY" -u "$H/dns_sink.py" "$CAM4" \
	"$SINKP" 198.18.8.66 wrong-question
check "split: dns forwarder and the campus sink up" wait_for 10 eval \
	"ns_listens $NS_CLI udp $DNSP && ns_listens $NS_CLI tcp $DNSP && ready sink"

dns_answer() {	# NAME TYPE WANT [DIG-OPTIONS...]: the forwarder answers WANT
	local name=$1 type=$2 want=$3
	shift 3
	timeout 20 ip netns exec "$NS_CLI" dig +time=5 +tries=1 "$@" \
		@127.0.0.1 -p "$DNSP" "$name" "$type" >"$TMP/dig" 2>&1
	cat "$TMP/dig"
	grep -q 'status: NOERROR' "$TMP/dig" &&
		grep -qE "^$name\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+$type[[:space:]]+$want\$" \
			"$TMP/dig" && ! grep -qi mismatch "$TMP/dig"
}
# the client's own lookups (a SOCKS name no name rule covers) ask
# campus too: only what it is asked from here on counts
CAM_DNS_BEFORE=$(wc -l <"$(log_of cam-dns)")
asked() {	# SITE NAME: SITE's dnsmasq was asked for NAME (campus: lately)
	local from=1
	[ "$1" = cam ] && from=$((CAM_DNS_BEFORE + 1))
	tail -n +"$from" "$(log_of "$1-dns")" | grep -qE "query\[A\] $2 from"
}
check "split: dns-direct name over UDP from campus's resolver" \
	dns_answer www.campus.test A "$CAM4"
check "split: dns-direct name over TCP from campus's resolver" \
	dns_answer v6.campus.test AAAA "$CAM6" +tcp
check "split: other names over UDP and TCP through the tunnel" eval \
	"dns_answer www.net.test A $NET4 && dns_answer www.net.test A $NET4 +tcp"
check "split: campus was asked for the campus names, by the client itself" \
	eval "asked cam www.campus.test && grep -qE 'query\[AAAA\] v6.campus.test from $CLI_CAM4' '$(log_of cam-dns)'"
check "split: campus was not asked for net names, net never for campus ones" \
	eval "! asked cam www.net.test && asked net www.net.test &&
	 ! grep -F campus.test '$(log_of net-dns)'"
sink_servfail() {
	timeout 20 ip netns exec "$NS_CLI" dig +time=8 +tries=1 \
		@127.0.0.1 -p "$DNSP" sink.campus.test A >"$TMP/dig" 2>&1
	cat "$TMP/dig"
	grep -q 'status: SERVFAIL' "$TMP/dig" && ! grep -qF 198.18.8.66 "$TMP/dig" &&
		grep -qE "name=sink.campus.test" "$(log_of sink)" &&
		grep -qE "src=$CLI_CAM4:" "$(log_of sink)"
}
check "split: a silent dns-direct server: SERVFAIL, forged answers dropped" \
	sink_servfail
check "split: the client logs the direct query and the SERVFAIL" eval \
	"client_logged 'dns: www\.campus\.test to $CAM4:53 \(direct by $DNS_LINE\)' &&
	 client_logged 'dns: 1 direct queries unanswered by their name server within connect-timeout: SERVFAIL'"
dns_status() {
	ip netns exec "$NS_CLI" "$BUILD/proxy-client" status \
		--control "$TMP/client.sock" --json >"$TMP/status.json" || return 1
	"$PY" - "$TMP/status.json" "$DNS_LINE" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))["routing"]
rules = {x["rule"]: x for x in r["by_rule"]}
print(json.dumps(rules.get(sys.argv[2])))
assert rules[sys.argv[2]]["action"] == "direct", "action"
assert rules[sys.argv[2]]["flows"] == 2, "one flow a direct query"
assert rules[sys.argv[2]]["bytes_down"] > 0, "answers counted"
PYEOF
}
check "split: status counts the dns-direct rule's queries and bytes" \
	dns_status
bad_dns_rule() {	# next to the profile: its rule file is relative
	local bad=$PKI/clients/baddns.conf
	{ cat "$PROFILE"; echo "dns-direct domain:x.test not-an-address"; } \
		>"$bad" && chmod 600 "$bad" || return 1
	! "$BUILD/proxy-client" -c "$bad" -t 2>"$TMP/baddns.err" &&
		cat "$TMP/baddns.err" &&
		grep -qF "$bad:$(wc -l <"$bad"): 'dns-direct': bad name server 'not-an-address'" \
			"$TMP/baddns.err"
}
check "split: -t names a bad dns-direct line" bad_dns_rule

# ------------------------------------------------------ bad rule files

bad_rules() {
	printf '10.0.0.0/8\n# fine\nnot-a-rule\n' >"$TMP/bad.txt"
	{
		grep -vE '^[[:space:]]*route' "$PROFILE"
		echo "route-file direct $TMP/bad.txt"
	} >"$TMP/bad.conf" && chmod 600 "$TMP/bad.conf" || return 1
	! "$BUILD/proxy-client" -c "$TMP/bad.conf" -t 2>"$TMP/bad.err" &&
		cat "$TMP/bad.err" &&
		grep -qF "$TMP/bad.txt:3: bad entry 'not-a-rule'" "$TMP/bad.err" &&
		grep -qF "$TMP/bad.conf:" "$TMP/bad.err"
}
check "split: -t names a bad rule file's line" bad_rules
check "split: -t accepts the good profile with its rule file" \
	"$BUILD/proxy-client" -c "$PROFILE" -t

# ------------------------------------------------------ transparent mode

nft_direct_sets() {
	ip netns exec "$NS_CLI" "$BUILD/proxy-client" rules -c "$PROFILE" \
		--nft --ipv6 --redir 127.0.0.1:1081 --apply || return 1
	ip netns exec "$NS_CLI" nft list table inet proxy_client \
		>"$TMP/nft.txt"
	ip netns exec "$NS_CLI" "$BUILD/proxy-client" rules -c "$PROFILE" \
		--nft --remove >/dev/null
	cat "$TMP/nft.txt"
	grep -A6 'set direct4' "$TMP/nft.txt" | grep -qF '198.18.8.0/24' &&
		grep -A6 'set direct6' "$TMP/nft.txt" | grep -qF 'fd00:8::/64' &&
		grep -qF 'ip daddr @direct4 return' "$TMP/nft.txt" &&
		grep -qF 'ip6 daddr @direct6 return' "$TMP/nft.txt" &&
		! grep -A6 'set direct4' "$TMP/nft.txt" | grep -qF '198.18.10.0'
}
check "split: proxy-client rules puts the direct networks in nft sets" \
	nft_direct_sets

# ------------------------------------------------------ SIGHUP reload

download() {	# NAME URL
	spawn "$1" ip netns exec "$NS_CLI" curl -sS --max-time 60 -g \
		--limit-rate 8M --socks5-hostname "127.0.0.1:$SOCKS" \
		-o "$TMP/$1.out" "$2"
}
LINES_BEFORE=$(wc -l <"$(log_of client)")
download dl-cam "http://www.campus.test:$HPORT/big"
download dl-net "http://www.net.test:$HPORT/big"
downloading() {
	[ -s "$TMP/dl-cam.out" ] && [ -s "$TMP/dl-net.out" ]
}
check "split: two downloads (direct, proxied) started" wait_for 10 downloading
CLIENT_PID=$(pid_of client) # ip netns exec execs: the same process
reload_bad() {
	echo "nonsense/99" >>"$RULES"
	kill -HUP "$CLIENT_PID" &&
		client_logged "reload: .*$RULES:5: .*; the old rules stay"
}
check "split: SIGHUP with a bad rule file keeps the old rules" reload_bad
reload_good() {
	sed -i '$d' "$RULES" && echo "$NET4/32" >>"$RULES" &&
		kill -HUP "$CLIENT_PID" && client_logged "reload: [0-9]+ routing rules"
}
check "split: SIGHUP with a good rule file takes it" reload_good
finished() {	# NAME
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$(pid_of "$1")" 2>/dev/null || break
		sleep 0.2
	done
	stop "$1"
	[ "$(sha256sum <"$TMP/$1.out" | cut -d' ' -f1)" = "$BIG_SUM" ] && return 0
	echo "$1: $(wc -c <"$TMP/$1.out") bytes, sha256 differs"
	return 1
}
check "split: the direct download completed intact across the reloads" \
	finished dl-cam
check "split: the proxied download completed intact across the reloads" \
	finished dl-net
check "split: the tunnel never dropped" eval \
	"! tail -n +$((LINES_BEFORE + 1)) '$(log_of client)' |
	 grep -E 'tunnel: (lost|cannot)|reconnecting'"
check "split: the old rules still send campus direct" \
	got "http://$CAM4:$HPORT/page" "campus page"
check "split: the new rule sends $NET4 direct (unreachable from here)" \
	eval "! fetch http://$NET4:$HPORT/page $TMP/x &&
	 client_logged 'socks: $NET4:$HPORT: direct connect failed .*direct by $RULES:5'"
check "split: client still running" kill -0 "$CLIENT_PID"
