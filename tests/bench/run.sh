#!/bin/bash
# make bench: speed and memory of this proxy side by side with the peers a
# user would pick instead (ssh -D, shadowsocks-libev, trojan) and with no
# proxy at all, in ONE run, on a topology of network namespaces:
#
#   client ns  10.77.1.1 ──veth── 10.77.1.2  vps ns  10.77.2.1 ──veth── 10.77.2.2  internet ns
#   loadgen,                       servers (sshd,                          loadgen serve
#   proxy clients                  ss-server, trojan, proxy-server)        (TCP + UDP targets)
#
#   plus a TUN delay line client ns 10.77.3.1 <-> vps ns 10.77.3.2 that
#   adds BENCH_DELAY_MS each way, to count the round trips of a new flow,
#   and for the lossy section a second one, 10.77.4.1 <-> 10.77.4.2, with
#   random loss and a rate-capped bottleneck (loadgen_delay.c); for the
#   outage section a veth pair of its own, 10.77.5.1 <-> 10.77.5.2, that
#   iptables cuts and restores.
#
# Every address lives inside the namespaces; no traffic leaves them. Every
# process and namespace is removed on exit, also on failure or Ctrl-C.
#
#   tests/bench/run.sh [BUILD]
#   make bench BENCH=lossy     (only the lossy section; BENCH is BENCH_TESTS)
#   make bench BENCH=outage    (only the outage section)
#
# Environment:
#   BENCH_SECONDS=3        measuring time of each throughput/latency test
#   BENCH_ROUNDS=1         run every test this many times and report each
#                          figure's median (each round runs every test on all
#                          systems back to back, see the main loop)
#   BENCH_SYSTEMS="none proxy proxy-fo ssh ssh-aes ss-aes ss-chacha trojan"
#                          (proxy-fo: this proxy with socks-fast-open yes)
#   BENCH_IDLE_FLOWS="1000 10000"   idle flows for the memory test
#   BENCH_IDLE_MAX_S=60    time allowed to open them (each step)
#   BENCH_DELAY_MS=10      one-way delay for the round-trip test (0: skip)
#   BENCH_UDP_STEP=1       seconds per step of the UDP rate search
#   BENCH_TESTS="idle dl ul dl8 ttfb pp udp udprate load delay lossy outage"
#                          (a subset for a quicker look; the report shows
#                          "-" for the rest)
#   The lossy section: a long path losing packets at random, each loss rate
#   in turn, every lossy system through it one after the other:
#   BENCH_LOSSY_LOSS="0 0.5 1 2"  loss each way, percent
#   BENCH_LOSSY_MS=25      one-way delay
#   BENCH_LOSSY_MBIT=200   bottleneck rate each way
#   BENCH_LOSSY_QUEUE=2000 bottleneck queue, packets (tail drop)
#   BENCH_LOSSY_SEED=1     of the random loss (round r: this + r - 1; each
#                          system gets a link of its own, the same losses)
#   BENCH_LOSSY_SECONDS=20 measuring time (after BENCH_LOSSY_WARMUP=1.5;
#                          at least 10: see test_lossy)
#   BENCH_LOSSY_SYSTEMS="none proxy ss-aes trojan ssh"
#   BENCH_WORKERS="1 2"    the workers section: servers with these `workers`
#   BENCH_WORKERS_CLIENTS="1 2 4 8"  clients downloading at once (each its
#                          own proxy-client, so its own tunnel)
#   The outage section: system after system, a download held across an
#   outage of the link between the client and VPS namespaces (every packet
#   dropped both ways, no socket closed), and from the link's return a new
#   flow every 50 ms until one gets its echo:
#   BENCH_OUTAGE_S=20      the outage
#   BENCH_OUTAGE_WAIT=15   seconds allowed after the link's return
#   BENCH_OUTAGE_MIB=64    the held download's length
#   BENCH_OUTAGE_SYSTEMS="none proxy ss-aes trojan ssh"
#   BENCH_JSON=BUILD/bench-results.json
#   BENCH_KEEP=1           keep the temporary folder (logs, configs)
#   LOADGEN_SAMPLES=FILE   every latency sample appended to FILE in the
#                          order taken ("udp 12 63.1"): when the outliers came
#   BENCH_INSTALL=0        do not apt-get install missing peers
#   BENCH_PROXY_CONF='max-window 1m\nwindow 256k'  extra directives for
#                          this proxy's configs (to try a setting); each
#                          goes to the files that read it (workers: the
#                          server's; stall-timeout: the client's)
#   BENCH_PROXY_B=DIR      a second build of this proxy (DIR holds its
#                          proxy-server and proxy-client) as one more
#                          system, proxy-b, beside proxy in every section:
#                          an A/B of two commits within one run, each
#                          round alternating them with the peers. Its PKI
#                          and configs come from its own `init`, so an
#                          older build reads only what it wrote
#   BENCH_PROXY_B_CONF='resume-window off'  extra directives for proxy-b's
#                          configs (BENCH_PROXY_CONF is not applied to it;
#                          BENCH_PROXY_B=build with this compares a setting)
#   BENCH_PERF="proxy ..." perf record these systems' client and server
#                          during the single-flow download and upload
#                          (SYSTEM-ul-*.txt) (it slows them:
#                          their figures are then not comparable); reports
#                          go to BUILD/bench-perf/

set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/bench
BUILD=${1:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PY=/usr/bin/python3

S=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-1}
ALL_TESTS="idle dl ul dl8 ttfb pp udp udprate load delay lossy outage workers"
TESTS=" ${BENCH_TESTS:-$ALL_TESTS} "
LOSSY_SYSTEMS=${BENCH_LOSSY_SYSTEMS:-"none proxy ss-aes trojan ssh"}
OUTAGE_SYSTEMS=${BENCH_OUTAGE_SYSTEMS:-"none proxy ss-aes trojan ssh"}
# Only sections with systems of their own: only those systems.
SECTION_SYSTEMS=""
for t in $TESTS; do
	case $t in
	lossy) SECTION_SYSTEMS="$SECTION_SYSTEMS $LOSSY_SYSTEMS" ;;
	outage) SECTION_SYSTEMS="$SECTION_SYSTEMS $OUTAGE_SYSTEMS" ;;
	workers) SECTION_SYSTEMS="$SECTION_SYSTEMS none" ;; # its own servers
	*) SECTION_SYSTEMS="" && break ;;
	esac
done
if [ -n "$SECTION_SYSTEMS" ]; then
	# shellcheck disable=SC2086 # a word list, each system once
	SYSTEMS=${BENCH_SYSTEMS:-$(printf '%s\n' $SECTION_SYSTEMS | awk '!seen[$0]++' | tr '\n' ' ')}
else
	SYSTEMS=${BENCH_SYSTEMS:-"none proxy proxy-fo ssh ssh-aes ss-aes ss-chacha trojan"}
fi
LOSSY_LOSS=${BENCH_LOSSY_LOSS:-"0 0.5 1 2"}
LOSSY_MS=${BENCH_LOSSY_MS:-25}
LOSSY_MBIT=${BENCH_LOSSY_MBIT:-200}
LOSSY_QUEUE=${BENCH_LOSSY_QUEUE:-2000}
LOSSY_SEED=${BENCH_LOSSY_SEED:-1}
LOSSY_S=${BENCH_LOSSY_SECONDS:-20}
LOSSY_WARMUP=${BENCH_LOSSY_WARMUP:-1.5}
OUTAGE_S=${BENCH_OUTAGE_S:-20}
OUTAGE_WAIT=${BENCH_OUTAGE_WAIT:-15}
OUTAGE_MIB=${BENCH_OUTAGE_MIB:-64}
IDLE_FLOWS=${BENCH_IDLE_FLOWS:-"1000 10000"}
WORKERS_N=${BENCH_WORKERS:-"1 2"}
WORKERS_CLIENTS=${BENCH_WORKERS_CLIENTS:-"1 2 4 8"}
DELAY_MS=${BENCH_DELAY_MS:-10}
UDP_STEP=${BENCH_UDP_STEP:-1}
IDLE_MAX_S=${BENCH_IDLE_MAX_S:-60}
JSON=${BENCH_JSON:-$BUILD/bench-results.json}
PROXY_B=${BENCH_PROXY_B:-}
if [ -n "$PROXY_B" ]; then
	case $PROXY_B in /*) ;; *) PROXY_B=$ROOT/$PROXY_B ;; esac
	[[ " $SYSTEMS " == *" proxy-b "* ]] || SYSTEMS="$SYSTEMS proxy-b"
	[[ " $LOSSY_SYSTEMS " == *" proxy "* ]] && LOSSY_SYSTEMS="$LOSSY_SYSTEMS proxy-b"
	[[ " $OUTAGE_SYSTEMS " == *" proxy "* ]] && OUTAGE_SYSTEMS="$OUTAGE_SYSTEMS proxy-b"
fi

if [ "$(id -u)" != 0 ]; then
	echo "bench: SKIPPED: needs root (network namespaces, veth and TUN" \
		"devices, apt-get for the peers). Run: sudo make bench" >&2
	exit 0
fi

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}

unset http_proxy https_proxy all_proxy no_proxy \
	HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY

# ---------------------------------------------------------------- install

# What the bench alone needs (make test never does): deb name and a file
# that is there once it is installed.
install_missing() {
	local reqs=(
		"openssh-server /usr/sbin/sshd"
		"openssh-client /usr/bin/ssh-keygen"
		"shadowsocks-libev /usr/bin/ss-server"
		"trojan /usr/bin/trojan"
		"iproute2 /usr/sbin/ip"
		"iptables /usr/sbin/iptables"
		"procps /usr/bin/ps"
		"openssl /usr/bin/openssl"
		"python3 /usr/bin/python3"
		"curl /usr/bin/curl"
		"gcc /usr/bin/cc"
	)
	local w pkgs=() made_policy=0
	for w in "${reqs[@]}"; do
		[ -e "${w#* }" ] || pkgs+=("${w%% *}")
	done
	[ ${#pkgs[@]} -eq 0 ] && return 0
	if [ "${BENCH_INSTALL:-1}" = 0 ]; then
		log "missing ${pkgs[*]} (BENCH_INSTALL=0: not installing)"
		return 0
	fi
	command -v apt-get >/dev/null ||
		die "missing ${pkgs[*]} and no apt-get here; install them by hand"
	log "installing ${pkgs[*]}"
	# The packages' own services (sshd, ss-server on port 8388) must not
	# start on the host: the bench runs its own copies in namespaces.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d &&
			chmod 755 /usr/sbin/policy-rc.d && made_policy=1
	fi
	{ apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${pkgs[@]}"; } >&2
	local rc=$?
	[ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
	[ $rc -eq 0 ] || log "apt-get failed; peers that are missing will be reported as such"
}

install_missing
for b in proxy-server proxy-client; do
	[ -x "$BUILD/$b" ] || die "$BUILD/$b not found: run make first"
	[ -z "$PROXY_B" ] || [ -x "$PROXY_B/$b" ] ||
		die "$PROXY_B/$b not found (BENCH_PROXY_B): run make there first"
done
[ -x "$PY" ] || die "$PY is needed for the report"

# ---------------------------------------------------------------- state

TMP=$(mktemp -d /tmp/proxy-bench.XXXXXX) || exit 1
TAG=pxb$$
NC=${TAG}c NV=${TAG}v NI=${TAG}i	# namespaces: client, vps, internet
NSES=()
declare -A PID=()	# name -> pid of what we started
RES=$TMP/results.1.tsv	# system <TAB> key <TAB> value; one file per round
: >"$RES"

cleanup() {
	local rc=$? n p i ns
	trap - EXIT INT TERM
	for n in "${!PID[@]}"; do
		kill -TERM "${PID[$n]}" 2>/dev/null
	done
	for n in "${!PID[@]}"; do
		for ((i = 0; i < 20; i++)); do
			kill -0 "${PID[$n]}" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "${PID[$n]}" 2>/dev/null
		wait "${PID[$n]}" 2>/dev/null
	done
	# Children of what we started (sshd's per-connection processes)
	# live in our namespaces only.
	for ns in "${NSES[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "kept $TMP"
	else
		rm -rf "$TMP"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT
trap 'exit 143' TERM

want() { [[ $TESTS == *" $1 "* ]]; }

# rec SYSTEM KEY VALUE
rec() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RES"; }

# start NAME NS CMD...: in the background, output appended to
# $TMP/NAME.log (a system restarted keeps what it said before).
# `ip netns exec` execs CMD, so $! is CMD's own pid.
start() {
	local name=$1 ns=$2
	shift 2
	ip netns exec "$ns" "$@" </dev/null >>"$TMP/$name.log" 2>&1 &
	PID[$name]=$!
}

stop() {
	local name=$1 pid=${PID[$1]:-} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "PID[$name]"
}

# Is something listening on PORT (TCP) in NS?
listening() { [ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null)" ]; }

wait_listen() {	# NS PORT NAME
	local i
	for ((i = 0; i < 100; i++)); do
		listening "$1" "$2" && return 0
		kill -0 "${PID[$3]:-0}" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# The pids of PID and all its descendants.
tree() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ kids[$2] = kids[$2] " " $1 }
		END {
			n = split(root, q, " "); out = ""
			while (n > 0) {
				p = q[n--]; out = out " " p
				m = split(kids[p], k, " ")
				for (i = 1; i <= m; i++) q[++n] = k[i]
			}
			print out
		}'
}

# stat_ticks PID N M: fields N + M of /proc/PID/stat (counted from 1,
# as in proc(5)), in clock ticks; 0 when the process is gone.
stat_ticks() {
	local f a
	f=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	read -r -a a <<<"${f##*) }"	# from field 3 on; comm may hold spaces
	echo $((a[$2 - 3] + a[$3 - 3]))
}

# CPU ticks (utime + stime, all threads) of a process tree.
cpu_ticks() {
	local p t=0
	for p in $(tree "$1"); do
		t=$((t + $(stat_ticks "$p" 14 15)))
	done
	echo "$t"
}

# Resident memory of a process tree in KiB.
rss_kib() {
	local p t=0 v
	for p in $(tree "$1"); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# ---------------------------------------------------------------- topology

# Every system gets the open-file limit our systemd units set
# (LimitNOFILE=65536), or more if the machine allows more; every process
# inherits it. Under a lower limit the server's default per-user flow
# budget (a quarter of what the limit allows) would cap the idle test.
[ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt 65536 ] &&
	ulimit -Hn 65536 2>/dev/null
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)

make_topology() {
	local ns
	for ns in "$NC" "$NV" "$NI"; do
		ip netns add "$ns" || return 1
		NSES+=("$ns")
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw \
			net.ipv4.ip_local_port_range="10000 65000" \
			net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=4096 || return 1
	done
	ip -n "$NC" link add c0 type veth peer name v0 netns "$NV" &&
		ip -n "$NV" link add v1 type veth peer name i0 netns "$NI" &&
		ip -n "$NC" addr add 10.77.1.1/24 dev c0 &&
		ip -n "$NV" addr add 10.77.1.2/24 dev v0 &&
		ip -n "$NV" addr add 10.77.2.1/24 dev v1 &&
		ip -n "$NI" addr add 10.77.2.2/24 dev i0 &&
		ip -n "$NC" link set c0 up && ip -n "$NV" link set v0 up &&
		ip -n "$NV" link set v1 up && ip -n "$NI" link set i0 up &&
		ip -n "$NC" route add default via 10.77.1.2 &&
		ip -n "$NI" route add default via 10.77.2.1 &&
		ip netns exec "$NV" sysctl -qw net.ipv4.ip_forward=1
}

# link NAME DEV NET ARGS...: a delay line DEV0 (NET.1, client ns) <->
# DEV1 (NET.2, vps ns), loadgen delay ARGS... (its log: $TMP/NAME.log).
link() {
	local name=$1 dev=$2 net=$3 i
	shift 3
	: >"$TMP/$name.log"
	start "$name" "$NC" "$LG" delay --ns "/run/netns/$NV" --dev "$dev" "$@"
	for ((i = 0; i < 50; i++)); do
		grep -q '^ready' "$TMP/$name.log" && break
		sleep 0.1
	done
	# A TUN device's queue holds 500 packets; the link's bursts (and
	# its turns waiting for a CPU) overflowed it, a loss nobody asked for.
	ip -n "$NC" addr add "$net.1/24" dev "${dev}0" &&
		ip -n "$NV" addr add "$net.2/24" dev "${dev}1" &&
		ip -n "$NC" link set "${dev}0" txqueuelen 20000 up &&
		ip -n "$NV" link set "${dev}1" txqueuelen 20000 up
}

# The delay line: bdelay0 in the client ns, bdelay1 in the vps ns.
start_delay() {
	[ "$DELAY_MS" != 0 ] || return 1
	link delay bdelay 10.77.3 --ms "$DELAY_MS"
}

# ---------------------------------------------------------------- peers

SRV=10.77.1.2		# the VPS as clients reach it
SRV_SLOW=10.77.3.2	# the same through the delay line
SRV_LOSSY=10.77.4.2	# and through the lossy one
SRV_OUT=10.77.5.2	# and through the outage link
TGT=10.77.2.2
TCP_T=$TGT:5001
UDP_T=$TGT:5002
PASS=bench-$RANDOM$RANDOM

# proxy_files BUILD DIR EXTRA SYSTEM...: a PKI made by BUILD's own init in
# DIR/pki, DIR/SYSTEM-server.conf for each SYSTEM (each its own port, so
# all run at once) with the directives EXTRA, the client's profile
# DIR/pki/clients/bench.conf with EXTRA too.
proxy_files() {
	local b=$1 d=$2 extra=$3 sys
	shift 3
	mkdir -p "$d" || return 1
	"$b/proxy-server" init "$d/pki" --server-name $SRV \
		--server-name $SRV_SLOW --server-name $SRV_LOSSY --server-name $SRV_OUT \
		>>"$TMP/pki.log" 2>&1 &&
		"$b/proxy-server" add-client "$d/pki" bench \
			--server $SRV:8443 >>"$TMP/pki.log" 2>&1 || return 1
	for sys in "$@"; do
		{
			grep -vE '^[[:space:]]*(listen|log-level|control)([[:space:]]|$)' \
				"$d/pki/server.conf"
			echo "listen 0.0.0.0:${SPORT[$sys]}"
			echo "allow 10.77.2.0/24"
			echo "log-level warn"
			echo "control none"
			# one bench user holds all of the idle test's flows; the
			# default per-user share (a quarter of the descriptor
			# budget) is for servers shared by several people (a
			# BENCH_PROXY_B older than that budget has no such word)
			grep -q max-flows-per-user "$b/proxy-server" &&
				echo "max-flows-per-user $((NOFILE / 2))"
			printf '%b\n' "$extra" | only_for server
		} >"$d/$sys-server.conf" && chmod 600 "$d/$sys-server.conf" ||
			return 1
	done
	# the server.conf names its files relative to its own folder
	cp "$d/pki/"*.crt "$d/pki/"*.key "$d/pki/"crl.pem "$d/" 2>/dev/null
	sed -i 's/^log-level .*/log-level warn/' "$d/pki/clients/bench.conf"
	echo "control none" >>"$d/pki/clients/bench.conf"
	printf '%b\n' "$extra" | only_for client >>"$d/pki/clients/bench.conf"
}

# only_for server|client: the directive lines on stdin that program
# reads (the others refuse a profile with the other's directives, so
# BENCH_PROXY_CONF='workers 1' goes to the server alone). The lists are
# proxy.conf(5)'s server-only and client-only directives.
only_for() {
	local other
	if [ "$1" = server ]; then
		other='server|server-name|socks|socks-user|socks-allow|stall-timeout|socks-fast-open|redir|tproxy|redir-exclude|dns-listen|dns-server|dns-memo'
	else
		other='listen|crl|dns|allow|deny|handshake-timeout|first-byte-timeout|max-startups|max-startups-per-source|shutdown-grace|workers|max-tunnels|max-tunnels-per-user|max-flows|max-flows-total|max-flows-per-user|max-buffer-total|fallback|user|group|state-dir|account-flush|quota|quota-default|rate|rate-default'
	fi
	grep -vE "^[[:space:]]*($other)([[:space:]]|\$)" || true
}

# proxy_build SYSTEM, proxy_dir SYSTEM: where a system of this proxy's
# binaries and configs are (proxy-b: the second build, BENCH_PROXY_B).
proxy_build() { if [ "$1" = proxy-b ]; then echo "$PROXY_B"; else echo "$BUILD"; fi; }
proxy_dir() { if [ "$1" = proxy-b ]; then echo "$TMP/cfg/b"; else echo "$TMP/cfg"; fi; }

setup_files() {
	local d=$TMP/cfg
	mkdir -p "$d" "$TMP/ssh" && chmod 700 "$TMP/ssh" || return 1

	# this project: one server each for proxy and proxy-fo, so both can
	# run at once; proxy-b's own in cfg/b
	proxy_files "$BUILD" "$d" "${BENCH_PROXY_CONF:-}" proxy proxy-fo ||
		return 1
	{ cat "$d/pki/clients/bench.conf"; echo "socks-fast-open yes"; } \
		>"$d/bench-fo.conf" && chmod 600 "$d/bench-fo.conf" || return 1
	if [ -n "$PROXY_B" ]; then
		proxy_files "$PROXY_B" "$d/b" "${BENCH_PROXY_B_CONF:-}" proxy-b ||
			return 1
	fi

	# ssh -D: throwaway host and user keys, our own sshd_config
	ssh-keygen -q -t ed25519 -N '' -f "$TMP/ssh/host_key" &&
		ssh-keygen -q -t ed25519 -N '' -f "$TMP/ssh/user_key" &&
		cp "$TMP/ssh/user_key.pub" "$TMP/ssh/authorized_keys" || return 1
	# one sshd each for ssh and ssh-aes, so both can run at once
	for sys in ssh ssh-aes; do
		cat >"$TMP/ssh/$sys-sshd_config" <<-EOF || return 1
		Port ${SPORT[$sys]}
		ListenAddress 0.0.0.0
		HostKey $TMP/ssh/host_key
		PidFile none
		AuthorizedKeysFile $TMP/ssh/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		AllowTcpForwarding yes
		X11Forwarding no
		PrintMotd no
		MaxStartups 100
		LogLevel ERROR
		EOF
	done
	mkdir -p /run/sshd	# sshd's privilege separation directory

	# trojan: a throwaway self-signed certificate for bench.test
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 2 -subj /CN=bench.test \
		-addext subjectAltName=DNS:bench.test \
		-keyout "$d/trojan.key" -out "$d/trojan.crt" >/dev/null 2>&1 ||
		return 1
	cat >"$d/trojan-server.json" <<-EOF
		{ "run_type": "server", "local_addr": "0.0.0.0", "local_port": 8444,
		  "remote_addr": "127.0.0.1", "remote_port": 80,
		  "password": ["$PASS"], "log_level": 2,
		  "ssl": { "cert": "$d/trojan.crt", "key": "$d/trojan.key",
		    "key_password": "", "cipher_tls13":
		    "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384",
		    "prefer_server_cipher": true, "alpn": ["http/1.1"],
		    "reuse_session": true, "session_ticket": false,
		    "session_timeout": 600, "plain_http_response": "",
		    "curves": "", "dhparam": "" },
		  "tcp": { "prefer_ipv4": false, "no_delay": true, "keep_alive": true,
		    "reuse_port": false, "fast_open": false, "fast_open_qlen": 20 },
		  "mysql": { "enabled": false } }
	EOF
}

trojan_client_conf() {	# SERVER_IP SOCKS_PORT FILE
	cat >"$3" <<-EOF
		{ "run_type": "client", "local_addr": "127.0.0.1", "local_port": $2,
		  "remote_addr": "$1", "remote_port": 8444,
		  "password": ["$PASS"], "log_level": 2,
		  "ssl": { "verify": true, "verify_hostname": true,
		    "cert": "$TMP/cfg/trojan.crt", "sni": "bench.test",
		    "cipher_tls13":
		    "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384",
		    "alpn": ["h2", "http/1.1"], "reuse_session": true,
		    "session_ticket": false, "curves": "" },
		  "tcp": { "no_delay": true, "keep_alive": true, "reuse_port": false,
		    "fast_open": false, "fast_open_qlen": 20 } }
	EOF
}

# Per system: a label, the server's port in the vps ns and the SOCKS port
# in the client ns.
declare -A LABEL=(
	[none]="no proxy" [proxy]="this proxy"
	[proxy-fo]="this proxy, socks-fast-open"
	[proxy-b]="this proxy, build B"
	[ssh]="ssh -D" [ssh-aes]="ssh -D aes128-gcm"
	[ss-aes]="ss-libev aes-128-gcm" [ss-chacha]="ss-libev chacha20"
	[trojan]="trojan"
)
declare -A SPORT=([proxy]=8443 [proxy-fo]=8445 [proxy-b]=8446 [ssh]=2222 [ssh-aes]=2223 [ss-aes]=8388
	[ss-chacha]=8389 [trojan]=8444)
declare -A SOCKS=([proxy]=1080 [proxy-fo]=1086 [proxy-b]=1087 [ssh]=1081 [ssh-aes]=1082 [ss-aes]=1083
	[ss-chacha]=1084 [trojan]=1085)

# start_server SYSTEM: the server side in the vps ns.
start_server() {
	case $1 in
	proxy*) start srv-$1 "$NV" "$(proxy_build "$1")/proxy-server" \
		-c "$(proxy_dir "$1")/$1-server.conf" ;;
	ssh | ssh-aes) start srv-$1 "$NV" /usr/sbin/sshd -D -e -f "$TMP/ssh/$1-sshd_config" ;;
	ss-aes) start srv-$1 "$NV" ss-server -s 0.0.0.0 -p 8388 -k "$PASS" \
		-m aes-128-gcm -u -t 600 ;;
	ss-chacha) start srv-$1 "$NV" ss-server -s 0.0.0.0 -p 8389 -k "$PASS" \
		-m chacha20-ietf-poly1305 -u -t 600 ;;
	trojan) start srv-$1 "$NV" trojan -c "$TMP/cfg/trojan-server.json" ;;
	esac
}

# start_client SYSTEM NAME SERVER_IP SOCKS_PORT: the client side.
start_client() {
	local sys=$1 name=$2 ip=$3 port=$4
	case $sys in
	proxy | proxy-b) start "$name" "$NC" "$(proxy_build "$sys")/proxy-client" \
		-c "$(proxy_dir "$sys")/pki/clients/bench.conf" \
		--server "$ip:${SPORT[$sys]}" --socks "127.0.0.1:$port" ;;
	proxy-fo) start "$name" "$NC" "$BUILD/proxy-client" \
		-c "$TMP/cfg/bench-fo.conf" --server "$ip:${SPORT[$sys]}" \
		--socks "127.0.0.1:$port" ;;
	ssh | ssh-aes)
		local c=()
		[ "$sys" = ssh-aes ] && c=(-o Ciphers=aes128-gcm@openssh.com)
		start "$name" "$NC" ssh -N -F /dev/null -D "127.0.0.1:$port" \
			-i "$TMP/ssh/user_key" -p "${SPORT[$sys]}" "${c[@]}" \
			-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
			-o BatchMode=yes -o ExitOnForwardFailure=yes \
			-o LogLevel=ERROR "root@$ip" ;;
	ss-aes | ss-chacha)
		local m=aes-128-gcm
		[ "$sys" = ss-chacha ] && m=chacha20-ietf-poly1305
		start "$name" "$NC" ss-local -s "$ip" -p "${SPORT[$sys]}" \
			-b 127.0.0.1 -l "$port" -k "$PASS" -m "$m" -u -t 600 ;;
	trojan)
		trojan_client_conf "$ip" "$port" "$TMP/cfg/$name.json"
		start "$name" "$NC" trojan -c "$TMP/cfg/$name.json" ;;
	esac
}

# until a flow through SOCKS_PORT gets its echo (15 s)
wait_flow() {
	local i
	for ((i = 0; i < 30; i++)); do
		ip netns exec "$NC" "$LG" ttfb --socks "127.0.0.1:$1" \
			--tcp $TCP_T --count 1 --seconds 2 >/dev/null 2>&1 &&
			return 0
		sleep 0.5
	done
	return 1
}

# ---------------------------------------------------------------- tests

# lg SYSTEM PREFIX MODE ARGS...: run loadgen in the client ns through
# SYSTEM's SOCKS port (LG_PORT when set; directly for "none"), record
# "PREFIX_key value".
lg() {
	local sys=$1 prefix=$2 mode=$3 socks=none k v rc
	shift 3
	[ "$sys" != none ] && socks=127.0.0.1:${LG_PORT:-${SOCKS[$sys]}}
	ip netns exec "$NC" "$LG" "$mode" --socks "$socks" --tcp $TCP_T \
		"$@" >"$TMP/lg.out" 2>>"$TMP/$sys.loadgen.log"
	rc=$?
	while read -r k v; do
		rec "$sys" "${prefix}_$k" "$v"
	done <"$TMP/lg.out"
	[ $rc -eq 0 ] || rec "$sys" "${prefix}_failed" 1
	return $rc
}

# Memory with 0, 1000 and 10,000 idle flows: loadgen opens them step by
# step, says "ready N" and waits for a line before the next step.
test_idle() {
	local sys=$1 cpid=$2 spid=$3 steps="" n i=0 fifo=$TMP/idle.in v
	for n in $IDLE_FLOWS; do
		[ "$n" -gt "$BIG" ] && n=$BIG
		steps=${steps:+$steps,}$n
	done
	sleep 0.5
	rec "$sys" mem_client_0 "$(rss_kib "$cpid")"
	rec "$sys" mem_server_0 "$(rss_kib "$spid")"
	rm -f "$fifo" "$TMP/idle.out" && mkfifo "$fifo" || return 1
	ip netns exec "$NC" "$LG" idle --socks "127.0.0.1:${SOCKS[$sys]}" \
		--tcp $TCP_T --steps "$steps" --conc 32 --seconds "$IDLE_MAX_S" \
		<"$fifo" >"$TMP/idle.out" 2>>"$TMP/$sys.loadgen.log" &
	PID[idle]=$!
	exec 9>"$fifo"
	for n in ${steps//,/ }; do
		i=$((i + 1))
		while [ "$(grep -c '^errors' "$TMP/idle.out")" -lt $i ]; do
			kill -0 "${PID[idle]}" 2>/dev/null || break 2
			sleep 0.2
		done
		v=$(awk -v i=$i '/^ready/ && ++n == i { print $2 }' "$TMP/idle.out")
		sleep 1		# let the proxies settle
		rec "$sys" "mem_flows_$n" "$v"
		rec "$sys" "mem_open_s_$n" \
			"$(awk -v i=$i '/^open_s/ && ++n == i { print $2 }' "$TMP/idle.out")"
		rec "$sys" "mem_client_$n" "$(rss_kib "$cpid")"
		rec "$sys" "mem_server_$n" "$(rss_kib "$spid")"
		log "  $n idle flows asked for, $v open"
		echo >&9
	done
	exec 9>&-
	wait "${PID[idle]}" 2>/dev/null
	unset "PID[idle]"
	rm -f "$fifo"
}

# test_flow_cpu SYSTEM CPID SPID dl|ul: the single-flow download or upload
# with CPU accounting of the client and server process trees (keys
# cpu_client_s and cpu_server_s for dl, cpu_client_ul_s and
# cpu_server_ul_s for ul), perf recorded when BENCH_PERF names SYSTEM.
test_flow_cpu() {
	local sys=$1 cpid=$2 spid=$3 mode=$4 c0 s0 c1 s1 hz
	local pre=${4}1 tag=$1 key=""
	[ "$mode" = ul ] && tag=$1-ul key=_ul
	hz=$(getconf CLK_TCK)
	c0=$(cpu_ticks "$cpid")
	s0=$(cpu_ticks "$spid")
	if [[ " ${BENCH_PERF:-} " == *" $sys "* ]] && command -v perf >/dev/null; then
		mkdir -p "$BUILD/bench-perf"
		perf record -q -F 999 -g -o "$TMP/perf-client.data" \
			-p "$(tree "$cpid" | tr -s ' ' ',' | sed 's/^,//; s/,$//')" \
			-- sleep "$S" >/dev/null 2>&1 &
		PID[perf1]=$!
		perf record -q -F 999 -g -o "$TMP/perf-server.data" \
			-p "$(tree "$spid" | tr -s ' ' ',' | sed 's/^,//; s/,$//')" \
			-- sleep "$S" >/dev/null 2>&1 &
		PID[perf2]=$!
	fi
	lg "$sys" "$pre" "$mode" --seconds "$S" || return 1
	c1=$(cpu_ticks "$cpid")
	s1=$(cpu_ticks "$spid")
	if [ -n "${PID[perf1]:-}" ]; then
		wait "${PID[perf1]}" "${PID[perf2]}" 2>/dev/null
		unset "PID[perf1]" "PID[perf2]"
		local side
		for side in client server; do
			{
				perf report -i "$TMP/perf-$side.data" --no-children \
					--sort dso --stdio -g none
				perf report -i "$TMP/perf-$side.data" --no-children \
					--sort dso,sym --stdio -g caller,0.5,callee \
					--percent-limit 0.5
			} >"$BUILD/bench-perf/$tag-$side.txt" 2>/dev/null
			cp "$TMP/perf-$side.data" "$BUILD/bench-perf/$tag-$side.data"
		done
		log "  perf reports: $BUILD/bench-perf/$tag-{client,server}.txt"
	fi
	rec "$sys" "cpu_client${key}_s" "$(echo "$c0 $c1 $hz" | awk '{ print ($2 - $1) / $3 }')"
	rec "$sys" "cpu_server${key}_s" "$(echo "$s0 $s1 $hz" | awk '{ print ($2 - $1) / $3 }')"
}

# Ticks of CPU (user + system) used by this shell's children that have
# ended and been waited for (a foreground `ip netns exec LOADGEN`).
child_ticks() { stat_ticks $$ 16 17; }

# dl on the path with no proxy, with the CPU of both ends of the load
# tool: what one TCP connection costs per byte on this machine, kernel
# included. report.py weighs a proxy's three connections with it.
test_dl_path_cpu() {
	local t0 g0 t1 g1 hz
	hz=$(getconf CLK_TCK)
	t0=$(cpu_ticks "${PID[target]}")
	g0=$(child_ticks)
	lg none dl1 dl --seconds "$S" || return 1
	t1=$(cpu_ticks "${PID[target]}")
	g1=$(child_ticks)
	rec none cpu_path_s "$(echo "$t0 $t1 $g0 $g1 $hz" |
		awk '{ print ($2 - $1 + $4 - $3) / $5 }')"
	# the cipher's rate next to it, so that a noisy spell moves both
	rec none aes_gcm_bps "$(aes_gcm_rate)"
}

# AES-128-GCM on 16 KiB records, one core, in bytes per second: the
# crypto every byte through a TLS proxy pays twice (encrypt, decrypt).
aes_gcm_rate() {
	command -v openssl >/dev/null || return 0
	openssl speed -evp aes-128-gcm -bytes 16384 -seconds 1 2>/dev/null |
		awk '$1 == "AES-128-GCM" { v = $NF; sub(/k$/, "", v); print v * 1000 }'
}

# A ClientHello to replay (loadgen hello): TLS 1.3 only, as any client's.
make_client_hello() {
	$PY - "$1" <<'EOF'
import ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(incoming, outgoing)
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
open(sys.argv[1], "wb").write(outgoing.read())
EOF
}

# The handshake capacity of the server with W workers on PORT: TLS server
# flights a second (its key exchange and signature) against a replayed
# ClientHello, 32 at a time. That costs the load generator next to
# nothing, so unlike the downloads (whose clients decrypt as much as the
# server encrypts) it leaves the server both cores: its CPU share shows
# whether the workers use them. Figures go to the log and
# BUILD/bench-workers-hello.tsv.
workers_hello() {
	local w=$1 port=$2 s0 s1 t0 t1 hz rate cpu out=$BUILD/bench-workers-hello.tsv
	hz=$(getconf CLK_TCK)
	[ -s "$out" ] || printf 'workers\tflights_per_s\tserver_cpu_pct\tserver_cpu_ms_per_1000\n' >"$out"
	s0=$(cpu_ticks "${PID[srv-w$w]}")
	t0=$(date +%s.%N)
	ip netns exec "$NC" "$LG" hello --tcp "$SRV:$port" --hello "$TMP/hello.bin" \
		--conc 32 --seconds "$S" --warmup 0 >"$TMP/whello.$w" \
		2>>"$TMP/workers.loadgen.log"
	t1=$(date +%s.%N)
	s1=$(cpu_ticks "${PID[srv-w$w]}")
	rate=$(awk '$1 == "per_s" { print $2 }' "$TMP/whello.$w")
	if [ -z "$rate" ]; then
		log "  workers $w: no handshake figure (log: $TMP/workers.loadgen.log)"
		return 0
	fi
	cpu=$(echo "$s0 $s1 $hz" | awk '{ printf "%.2f", ($2 - $1) / $3 }')
	printf '%s\t%s\t%s\t%s\n' "$w" "$rate" \
		"$(awk -v c="$cpu" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 100 * c / (b - a) }')" \
		"$(awk -v c="$cpu" -v r="$rate" -v s="$S" 'BEGIN { if (r > 0) printf "%.1f", 1000 * c / (r * s / 1000); else print "-" }')" \
		>>"$out"
	log "  workers $w, handshakes: $rate server flights/s;" \
		"server CPU $(tail -n 1 "$out" | cut -f 3) %," \
		"$(tail -n 1 "$out" | cut -f 4) ms per 1000"
}

# workers: the aggregate download of 1, 2, 4 and 8 clients at once, each
# its own proxy-client (its own tunnel, on the worker the kernel picks),
# through a server with `workers 1` and one with `workers 2`, and the
# server's CPU: its share (above 100 %: more than one core busy) and its
# seconds per GiB moved; then the server's handshake capacity
# (workers_hello). Figures go to the log and BUILD/bench-workers.tsv.
test_workers() {
	local w n i port s0 s1 hz sum cpu out=$BUILD/bench-workers.tsv pids
	local max=0 srv=8450
	hz=$(getconf CLK_TCK)
	for n in $WORKERS_CLIENTS; do [ "$n" -gt "$max" ] && max=$n; done
	printf 'workers\tclients\tMB_per_s\tserver_cpu_pct\tserver_cpu_s_per_GiB\n' >"$out"
	rm -f "$BUILD/bench-workers-hello.tsv"
	make_client_hello "$TMP/hello.bin" || log "  workers: no ClientHello made"
	for w in $WORKERS_N; do
		{
			grep -vE '^[[:space:]]*(listen|workers)([[:space:]]|$)' \
				"$TMP/cfg/proxy-server.conf"
			echo "listen 0.0.0.0:$srv"
			echo "workers $w"
			echo "max-tunnels-per-user $max"
			# the handshake test's 32 at a time from one address
			echo "max-startups 256"
			echo "max-startups-per-source 256"
		} >"$TMP/cfg/workers-$w.conf" && chmod 600 "$TMP/cfg/workers-$w.conf"
		start "srv-w$w" "$NV" "$BUILD/proxy-server" -c "$TMP/cfg/workers-$w.conf"
		if ! wait_listen "$NV" $srv "srv-w$w"; then
			log "  workers $w: server did not start (log: $TMP/srv-w$w.log)"
			stop "srv-w$w"
			continue
		fi
		for ((i = 1; i <= max; i++)); do
			port=$((1200 + i))
			start "cli-w$i" "$NC" "$BUILD/proxy-client" \
				-c "$TMP/cfg/pki/clients/bench.conf" \
				--server "$SRV:$srv" --socks "127.0.0.1:$port"
		done
		for ((i = 1; i <= max; i++)); do
			wait_listen "$NC" $((1200 + i)) "cli-w$i" &&
				wait_flow $((1200 + i)) ||
				log "  workers $w: client $i has no flow"
		done
		for n in $WORKERS_CLIENTS; do
			pids=()
			s0=$(cpu_ticks "${PID[srv-w$w]}")
			for ((i = 1; i <= n; i++)); do
				ip netns exec "$NC" "$LG" dl --socks "127.0.0.1:$((1200 + i))" \
					--tcp $TCP_T --seconds "$S" >"$TMP/wdl.$i" \
					2>>"$TMP/workers.loadgen.log" &
				pids+=($!)
			done
			wait "${pids[@]}"
			s1=$(cpu_ticks "${PID[srv-w$w]}")
			sum=$(cat $(for ((i = 1; i <= n; i++)); do echo "$TMP/wdl.$i"; done) |
				awk '$1 == "mbps" { t += $2 } END { printf "%.1f", t }')
			cpu=$(echo "$s0 $s1 $hz" | awk '{ printf "%.2f", ($2 - $1) / $3 }')
			printf '%s\t%s\t%s\t%s\t%s\n' "$w" "$n" "$sum" \
				"$(awk -v c="$cpu" -v s="$S" 'BEGIN { printf "%.0f", 100 * c / s }')" \
				"$(awk -v c="$cpu" -v m="$sum" -v s="$S" 'BEGIN { if (m > 0) printf "%.2f", c / (m * 1e6 * s / 1073741824); else print "-" }')" \
				>>"$out"
			log "  workers $w, $n clients: $(tail -n 1 "$out" | cut -f 3) MB/s;" \
				"server CPU $(tail -n 1 "$out" | cut -f 4) %," \
				"$(tail -n 1 "$out" | cut -f 5) s per GiB"
		done
		for ((i = 1; i <= max; i++)); do stop "cli-w$i"; done
		workers_hello "$w" $srv
		stop "srv-w$w"
	done
	log "  workers: tables in $out and $BUILD/bench-workers-hello.tsv"
}

# The new-flow round-trip test through the delay line.
test_delay() {
	local sys=$1 port k v
	[ -n "${PID[delay]:-}" ] || return 0
	if [ "$sys" = none ]; then
		# Straight to the target, routed through the delay line.
		ip -n "$NC" route add $TGT/32 via $SRV_SLOW dev bdelay0 || return 1
		ip netns exec "$NC" "$LG" ttfb --socks none --tcp $TCP_T \
			--count 20 --seconds 10 >"$TMP/lg.out" 2>>"$TMP/$sys.loadgen.log"
		ip netns exec "$NC" "$LG" dl --socks none --tcp $TCP_T \
			--seconds "$S" >>"$TMP/lg.out" 2>>"$TMP/$sys.loadgen.log"
		ip -n "$NC" route del $TGT/32
	else
		port=$((${SOCKS[$sys]} + 100))
		start_client "$sys" slow-$sys $SRV_SLOW $port
		if ! wait_flow $port; then
			rec "$sys" slow_failed 1
			stop slow-$sys
			return 1
		fi
		ip netns exec "$NC" "$LG" ttfb --socks "127.0.0.1:$port" \
			--tcp $TCP_T --count 20 --seconds 10 \
			>"$TMP/lg.out" 2>>"$TMP/$sys.loadgen.log"
		# a long path: does the flow's window open up?
		ip netns exec "$NC" "$LG" dl --socks "127.0.0.1:$port" \
			--tcp $TCP_T --seconds "$S" \
			>>"$TMP/lg.out" 2>>"$TMP/$sys.loadgen.log"
		stop slow-$sys
	fi
	while read -r k v; do
		rec "$sys" "slow_$k" "$v"
	done <"$TMP/lg.out"
}

# The lossy section: for each loss rate and each lossy system, a fresh
# lossy link and a second client of that system through it (its server
# is the one already up); a download with a UDP probe and a TCP echo
# beside it (64 B every 20 ms each: a game's traffic), and the UDP probe
# alone. Every system of a round gets the same loss pattern (a link of
# its own, seeded BENCH_LOSSY_SEED + round - 1), each round another: with
# one link per loss rate the first system after its start met the same
# first losses every round (a BBR start-up cut short by them: 14 MB/s at
# 2 %, in every round that system came first), the others the
# generator's later draws. Each download is measured 20 s: BBR drains
# its queue (4 packets in flight for 0.2 s and a round trip, PROBE_RTT)
# once its lowest round trip is 10 s old, so a peer's fresh connection
# measured 1.5 + 8 s never did, where the proxy's long-lived tunnel
# does every 10 s, so within most 8-s windows: 3-4 % of its download
# (in 115 s of 8-s downloads 4-8 of them in the tunnel, 0-3 for
# ss-libev; in 25-s downloads 7-10 against 9). Keys:
# lossy_LOSS_{dl_mbps,udp_p50_ms,udp_p99_ms,tcp_p50_ms,idle_rtt_p99_ms,
# alone_mbps,...}.
test_lossy() {
	local loss sys pre drop seed=$((LOSSY_SEED + round - 1)) sums
	for loss in $LOSSY_LOSS; do
		drop=$(awk -v p="$loss" 'BEGIN { print p / 100 }')
		log "    $loss % loss, $((2 * LOSSY_MS)) ms RTT, $LOSSY_MBIT Mbit/s," \
			"$LOSSY_QUEUE packets of queue, seed $seed"
		pre=lossy_${loss}
		sums="0 0 0"
		for sys in "${ORDER[@]}"; do
			[[ " $LOSSY_SYSTEMS " == *" $sys "* ]] || continue
			[ "${UP[$sys]}" = 1 ] || continue
			if ! link lossy blossy 10.77.4 --ms "$LOSSY_MS" \
				--drop "$drop" --seed "$seed" \
				--mbit "$LOSSY_MBIT" --queue "$LOSSY_QUEUE"; then
				log "    no lossy link (log: $TMP/lossy.log)"
				stop lossy
				continue
			fi
			lossy_one "$sys" "$pre"
			stop lossy	# SIGTERM: it prints its counters first
			sums=$(awk -v s="$sums" 'BEGIN { split(s, a, " ") }
				$1 ~ /^way/ { a[1] += $3; a[2] += $5; a[3] += $7 }
				END { print a[1], a[2], a[3] }' "$TMP/lossy.log")
		done
		# shellcheck disable=SC2086 # three numbers
		log "    links: $(printf '%d packets, %d lost at random, %d at the queue' $sums)"
	done
}

# lossy_one SYSTEM PREFIX: one system's figures through the lossy link.
lossy_one() {
	local sys=$1 pre=$2 port="" udp=(--udp "$UDP_T")
	[ "$sys" = ssh ] || [ "$sys" = ssh-aes ] && udp=()
	if [ "$sys" = none ]; then
		ip -n "$NC" route add $TGT/32 via $SRV_LOSSY dev blossy0 || return 1
	else
		port=$((${SOCKS[$sys]} + 200))
		start_client "$sys" lossy-$sys $SRV_LOSSY $port
		if ! wait_flow $port; then
			rec "$sys" "${pre}_failed" 1
			stop lossy-$sys
			return 1
		fi
	fi
	LG_PORT=$port lg "$sys" "$pre" load "${udp[@]}" --seconds "$LOSSY_S" \
		--warmup "$LOSSY_WARMUP" --interval-ms 20
	[ ${#udp[@]} -gt 0 ] && LG_PORT=$port lg "$sys" "${pre}_idle" udprtt \
		"${udp[@]}" --size 64 --seconds 2.5 --count 1000 --interval-ms 20
	# and a download with nothing beside it (the tunnel's send budget is
	# sized for what waits beside a download)
	LG_PORT=$port lg "$sys" "${pre}_alone" dl --seconds "$LOSSY_S" \
		--warmup "$LOSSY_WARMUP"
	if [ "$sys" = none ]; then
		ip -n "$NC" route del $TGT/32
	else
		stop lossy-$sys
	fi
	return 0
}

# The outage section. Its link is a veth pair of its own, o0 (client ns)
# <-> o1 (vps ns): cutting it leaves the other clients alone. For each
# system in turn: a client through it, a 'P' download through that,
# read at 2 MiB/s for 1.5 s (under way, far from its end), then the cut
# for OUTAGE_S and the return; loadgen hold says how the download ended,
# loadgen newflow when a new flow first got its echo after the return.
# Keys: outage_back_s, outage_hold_{end,end_s,resume_s,at_cut,...}.
# Each system keeps the settings it has in the other tests: this proxy
# its defaults (keepalive 10s 30s, stall-timeout auto: 2 s on this path,
# resume-window 60s); ss-local and ss-server -t 600 (an idle connection
# is closed after 600 s); trojan keep_alive true (SO_KEEPALIVE at the
# kernel's 2 h); ssh and sshd their defaults (ServerAliveInterval and
# ClientAliveInterval 0, off; TCPKeepAlive yes, the kernel's 2 h). So no
# peer gives up on its connections within an outage of a few minutes: a
# flow across it waits for TCP's retransmission, which backs off.
test_outage() {
	local sys t0=$SECONDS
	if ! { ip -n "$NC" link add o0 type veth peer name o1 netns "$NV" &&
		ip -n "$NC" addr add 10.77.5.1/24 dev o0 &&
		ip -n "$NV" addr add $SRV_OUT/24 dev o1 &&
		ip -n "$NC" link set o0 up && ip -n "$NV" link set o1 up; }; then
		log "    no outage link"
		ip -n "$NC" link del o0 2>/dev/null
		return 1
	fi
	# the raw table's modules load now, not in the first cut
	ip netns exec "$NC" iptables -t raw -S >/dev/null 2>&1
	ip netns exec "$NV" iptables -t raw -S >/dev/null 2>&1
	log "    ${OUTAGE_S} s outage, a ${OUTAGE_MIB} MiB download held across it," \
		"${OUTAGE_WAIT} s allowed after the return"
	for sys in "${ORDER[@]}"; do
		[[ " $OUTAGE_SYSTEMS " == *" $sys "* ]] || continue
		[ "${UP[$sys]}" = 1 ] || continue
		outage_one "$sys"
	done
	ip -n "$NC" link del o0
	log "    the outage section took $((SECONDS - t0)) s"
}

# outage_cut down|up: every packet arriving at either end of the link is
# dropped (the raw table: before anything else sees it). Each side's
# sends leave as usual and no socket hears of the cut, as on a Wi-Fi or
# a NAT that stops passing packets.
outage_cut() {
	local op=-I rc=0
	[ "$1" = up ] && op=-D
	ip netns exec "$NC" iptables -t raw $op PREROUTING -i o0 -j DROP || rc=1
	ip netns exec "$NV" iptables -t raw $op PREROUTING -i o1 -j DROP || rc=1
	return $rc
}

# until loadgen NAME says "ready" in FILE (10 s)
outage_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready' "$2" && return 0
		kill -0 "${PID[$1]:-0}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# outage_one SYSTEM: one system's outage.
outage_one() {
	local sys=$1 socks=none port hold=$TMP/hold.out back=$TMP/back.out
	local t0 left i k v cut=0
	if [ "$sys" = none ]; then
		ip -n "$NC" route add $TGT/32 via $SRV_OUT dev o0 || return 1
	else
		port=$((${SOCKS[$sys]} + 300))
		socks=127.0.0.1:$port
		start_client "$sys" "out-$sys" $SRV_OUT "$port"
		if ! wait_flow "$port"; then
			rec "$sys" outage_failed 1
			stop "out-$sys"
			return 1
		fi
	fi
	: >"$hold"
	: >"$back"
	ip netns exec "$NC" "$LG" hold --socks "$socks" --tcp $TCP_T \
		--bytes $((OUTAGE_MIB << 20)) --rate $((2 << 20)) \
		--seconds "$OUTAGE_WAIT" >"$hold" 2>>"$TMP/$sys.loadgen.log" &
	PID[hold]=$!
	ip netns exec "$NC" "$LG" newflow --socks "$socks" --tcp $TCP_T \
		--interval-ms 50 --timeout-ms 2000 --seconds "$OUTAGE_WAIT" \
		>"$back" 2>>"$TMP/$sys.loadgen.log" &
	PID[newflow]=$!
	if ! outage_ready hold "$hold" || ! outage_ready newflow "$back"; then
		rec "$sys" outage_failed 1
		log "    ${LABEL[$sys]}: no download or no poller (log: $TMP/$sys.loadgen.log)"
	elif sleep 1.5 && cut=1 && ! outage_cut down; then
		rec "$sys" outage_failed 1
		log "    ${LABEL[$sys]}: iptables cannot cut the link"
	else
		t0=$EPOCHREALTIME
		kill -USR2 "${PID[hold]}" 2>/dev/null
		left=$(awk -v a="$t0" -v s="$OUTAGE_S" -v b="$EPOCHREALTIME" \
			'BEGIN { d = a + s - b; printf "%.3f", (d > 0 ? d : 0) }')
		sleep "$left"
		outage_cut up
		cut=0
		kill -USR1 "${PID[newflow]}" "${PID[hold]}" 2>/dev/null
		# both give up OUTAGE_WAIT s after the return
		for ((i = 0; i < (OUTAGE_WAIT + 5) * 10; i++)); do
			kill -0 "${PID[hold]}" 2>/dev/null ||
				kill -0 "${PID[newflow]}" 2>/dev/null || break
			sleep 0.1
		done
	fi
	[ "$cut" = 1 ] && outage_cut up 2>/dev/null
	stop hold
	stop newflow
	while read -r k v; do
		[ "$k" = ready ] || rec "$sys" "outage_hold_$k" "$v"
	done <"$hold"
	while read -r k v; do
		[ "$k" = ready ] || rec "$sys" "outage_$k" "$v"
	done <"$back"
	log "    ${LABEL[$sys]}: download $(awk '$1 == "end" { print $2 }' "$hold")," \
		"new flow after $(awk '$1 == "back_s" { print $2 }' "$back") s"
	if [ "$sys" = none ]; then
		ip -n "$NC" route del $TGT/32
	else
		stop "out-$sys"
	fi
	return 0
}

declare -A UP=() CPID=() SPID=()	# per system: up?, client and server pid

# start_system SYSTEM: its server in the vps ns, its client in the client
# ns, and one flow through both; on failure the status says why and the
# system sits this round out.
start_system() {
	local sys=$1 cmd
	UP[$sys]=0
	CPID[$sys]="" SPID[$sys]=""
	if [ "$sys" = none ]; then
		UP[$sys]=1
		return 0
	fi
	case $sys in
	proxy*) cmd=$(proxy_build "$sys")/proxy-server ;;
	ssh*) cmd=/usr/sbin/sshd ;;
	ss-*) cmd=/usr/bin/ss-server ;;
	trojan) cmd=/usr/bin/trojan ;;
	esac
	if [ ! -x "$cmd" ]; then
		rec "$sys" status "not installed: $cmd"
		log "  ${LABEL[$sys]}: not installed: $cmd"
		return 0
	fi
	start_server "$sys"
	if ! wait_listen "$NV" "${SPORT[$sys]}" "srv-$sys"; then
		rec "$sys" status "server did not start: $(tail -n 1 "$TMP/srv-$sys.log")"
		log "  ${LABEL[$sys]}: server did not start (log: $TMP/srv-$sys.log)"
		stop "srv-$sys"
		return 0
	fi
	start_client "$sys" "cli-$sys" $SRV "${SOCKS[$sys]}"
	if ! wait_listen "$NC" "${SOCKS[$sys]}" "cli-$sys" ||
		! wait_flow "${SOCKS[$sys]}"; then
		rec "$sys" status "client did not start or no flow: $(tail -n 1 "$TMP/cli-$sys.log")"
		log "  ${LABEL[$sys]}: client did not start (log: $TMP/cli-$sys.log)"
		stop "cli-$sys"
		stop "srv-$sys"
		return 0
	fi
	CPID[$sys]=${PID[cli-$sys]}
	SPID[$sys]=${PID[srv-$sys]}
	UP[$sys]=1
}

stop_system() {
	[ "$1" = none ] && return 0
	stop "cli-$1"
	stop "srv-$1"
}

# run_test TEST SYSTEM: one test on one system that is up.
run_test() {
	local t=$1 sys=$2 cpid=${CPID[$2]} spid=${SPID[$2]} udp=(--udp "$UDP_T")
	case $sys in ssh | ssh-aes) udp=() ;; esac	# TCP only
	case $t in
	idle) [ -n "$cpid" ] && test_idle "$sys" "$cpid" "$spid" ;;
	dl)
		if [ -n "$cpid" ]; then
			test_flow_cpu "$sys" "$cpid" "$spid" dl
		elif [ "$sys" = none ]; then
			test_dl_path_cpu
		else
			lg "$sys" dl1 dl --seconds "$S"
		fi
		;;
	ul)
		if [ -n "$cpid" ]; then
			test_flow_cpu "$sys" "$cpid" "$spid" ul
		else
			lg "$sys" ul1 ul --seconds "$S"
		fi
		;;
	dl8) lg "$sys" dl8 dl --seconds "$S" --flows 8 ;;
	ttfb)
		lg "$sys" ttfb1 ttfb --seconds "$S" --count 3000
		lg "$sys" ttfb16 ttfb --seconds "$S" --count 200000 --conc 16
		;;
	pp) lg "$sys" pp pingpong --seconds 2 --count 5000 ;;
	udp)
		[ ${#udp[@]} -gt 0 ] || return 0
		lg "$sys" udp64 udprtt "${udp[@]}" --size 64 --seconds 2 --count 2000
		lg "$sys" udp1200 udprtt "${udp[@]}" --size 1200 --seconds 2 --count 2000
		;;
	udprate)
		[ ${#udp[@]} -gt 0 ] || return 0
		lg "$sys" udprate udprate "${udp[@]}" --size 64 --seconds "$UDP_STEP"
		;;
	load) lg "$sys" load load "${udp[@]}" --seconds "$S" --interval-ms 5 ;;
	delay) test_delay "$sys" ;;
	esac
}

# ---------------------------------------------------------------- main

LG=$TMP/loadgen
cc -O2 -Wall -D_GNU_SOURCE -o "$LG" "$HERE"/loadgen*.c -lpthread ||
	die "cannot build loadgen"

# Systems with one connection per flow need two descriptors per flow on
# each side; the idle test stays within the open-file limit for all.
BIG=10000
[ $(((NOFILE - 100) / 2)) -lt $BIG ] && BIG=$(((NOFILE - 100) / 2))

make_topology || die "cannot build the namespaces"
setup_files || die "cannot make the configs (log: $TMP/pki.log)"
start target "$NI" "$LG" serve --tcp $TCP_T --udp $UDP_T
wait_listen "$NI" 5001 target || die "the target did not start"
start_delay || log "no delay line: the round-trip test is skipped"

log "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: *//')," \
	"${S}s per test; open-file limit $NOFILE"
for sys in $SYSTEMS; do
	[ -n "${LABEL[$sys]:-}" ] || die "unknown system $sys"
done
T0=$SECONDS
TSVS=()
ORDER=($SYSTEMS)
for ((round = 1; round <= ROUNDS; round++)); do
	RES=$TMP/results.$round.tsv
	TSVS+=(--tsv "$RES")
	[ "$ROUNDS" -gt 1 ] && log "round $round of $ROUNDS"
	# All systems run at once, idle but for the one under test: each test
	# then measures every system within a minute or two, so a noisy spell
	# on this shared machine hits one test of all columns, not one
	# column's every test. The order turns by one each round.
	for sys in "${ORDER[@]}"; do
		start_system "$sys"
	done
	for t in $ALL_TESTS; do
		want "$t" || continue
		log "  $t"
		if [ "$t" = lossy ]; then
			test_lossy
			continue
		fi
		if [ "$t" = workers ]; then
			test_workers
			continue
		fi
		if [ "$t" = outage ]; then
			test_outage
			continue
		fi
		for sys in "${ORDER[@]}"; do
			[ "${UP[$sys]}" = 1 ] && run_test "$t" "$sys"
		done
		# 10,000 flows leave state behind that slows some peers for
		# the rest of their life (sshd's channel table keeps its size:
		# ssh -D then downloads 30% slower at twice the CPU), so the
		# tests after this one get fresh processes.
		if [ "$t" = idle ]; then
			log "  restarting every system"
			for sys in "${ORDER[@]}"; do
				[ "${UP[$sys]}" = 1 ] && stop_system "$sys"
				start_system "$sys"
			done
		fi
	done
	for sys in "${ORDER[@]}"; do
		[ "${UP[$sys]}" = 1 ] || continue
		stop_system "$sys"
		rec "$sys" status ok
	done
	ORDER=("${ORDER[@]:1}" "${ORDER[0]}")
done
log "done in $((SECONDS - T0)) s"

"$PY" "$HERE/report.py" "${TSVS[@]}" --json "$JSON" --systems "$SYSTEMS" \
	--delay-ms "$DELAY_MS" --seconds "$S" --nofile "$NOFILE" \
	--lossy "rtt_ms=$((2 * LOSSY_MS)) mbit=$LOSSY_MBIT queue=$LOSSY_QUEUE seed=$LOSSY_SEED$([ "$ROUNDS" -gt 1 ] && echo "-$((LOSSY_SEED + ROUNDS - 1))") seconds=$LOSSY_S" \
	--outage "seconds=$OUTAGE_S wait=$OUTAGE_WAIT mib=$OUTAGE_MIB" \
	--labels "$(for s in $SYSTEMS; do printf '%s=%s\n' "$s" "${LABEL[$s]}"; done)"
