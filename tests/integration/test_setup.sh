#!/bin/bash
# proxy-server setup, init --port and add-client --print, as a first-time
# VPS owner meets them: setup run twice against a scratch folder (--dir,
# no systemd started: --no-start) makes the PKI, server.conf listening on
# --port, and a first profile naming that port; the second run changes no
# byte and no mode (checksums) and says so. A server started from the
# made server.conf and a client on the made profile carry a real curl
# download. add-client --print writes a working profile to stdout and
# keeps no copy, yet the client is in the index (revoke finds it).
# init --port writes the listen line that add-client's default follows.
# As root, in network namespaces the test makes: --open-firewall opens
# the port (TCP and UDP) once in an nft input chain (policy drop) and in an iptables
# INPUT chain, and the second run adds nothing; without --server-name the
# certificate names the interfaces' addresses.
. "$(dirname "$0")/../lib.sh"
need_cmd curl openssl sha256sum stat
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

PS=$BUILD/proxy-server
D=$TMP/root/etc/proxy	# a scratch "/etc/proxy"
mkdir -p "$TMP/root/etc" || exit 1
PORT=$(free_port) || exit 1
OUT=$TMP/out

# state DIR: every file's mode and checksum, for "changes nothing".
state() {
	(cd "$1" && find . -printf '%m %p\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

setup_first() {
	"$PS" setup --dir "$D" --server-name 127.0.0.1 --port "$PORT" \
		--no-start >"$OUT.1" 2>&1
	local rc=$?
	cat "$OUT.1"
	[ "$rc" -eq 0 ] && ! grep -q 'nothing changed' "$OUT.1"
}
check "setup: first run makes everything" setup_first || exit 1
state "$D" >"$TMP/state.1"

made_files() {
	local f
	for f in ca.crt ca.key server.crt server.key crl.pem index.txt \
		server.conf clients/client1.conf; do
		[ -f "$D/$f" ] || { echo "no $D/$f"; return 1; }
	done
	[ "$(stat -c %a "$D/ca.key")" = 600 ] &&
		[ "$(stat -c %a "$D/clients/client1.conf")" = 600 ]
}
check "setup: PKI, server.conf and clients/client1.conf made (keys 0600)" \
	made_files

check "setup: server.conf listens on --port" \
	matches "listen \[::\]:$PORT" "$D/server.conf"
check "setup: the profile connects to the same port" \
	matches "server 127\.0\.0\.1:$PORT" "$D/clients/client1.conf"
check "setup: says the firewall port to open" \
	grep -q "open TCP port $PORT" "$OUT.1"
check "setup: no systemd for --dir: says how to start the server" \
	grep -qF "proxy-server -c $D/server.conf" "$OUT.1"
check "setup: prints the scp line for the profile" \
	grep -qE "^  scp [^ ]+@127\.0\.0\.1:$D/clients/client1\.conf \.\$" "$OUT.1"

setup_again() {
	"$PS" setup --dir "$D" --server-name 127.0.0.1 --port "$PORT" \
		--no-start >"$OUT.2" 2>&1
	local rc=$?
	cat "$OUT.2"
	[ "$rc" -eq 0 ] && grep -q 'nothing changed' "$OUT.2" &&
		grep -q 'exists: the PKI is kept' "$OUT.2" &&
		grep -q 'client1.conf exists: kept' "$OUT.2"
}
check "setup: second run says it changed nothing" setup_again
state "$D" >"$TMP/state.2"
check "setup: second run changed no file and no mode (checksums)" \
	diff -u "$TMP/state.1" "$TMP/state.2"

other_port() {
	"$PS" setup --dir "$D" --port 1 --no-start >"$OUT.3" 2>&1 &&
		grep -q "listens on port $PORT, not --port 1" "$OUT.3"
}
check "setup: another --port on a made server.conf is named, not applied" \
	other_port
state "$D" >"$TMP/state.3"
check "setup: ... and changes nothing" diff -u "$TMP/state.1" "$TMP/state.3"

check "the made server.conf passes -t" "$PS" -t -c "$D/server.conf"

# ---- the made config and profile carry a real download
# The made files plus what any test adds: status sockets of its own, and
# loopback destinations allowed (the policy refuses them by default).
cp "$D/server.conf" "$D/server-test.conf"
printf 'control %s\nallow 127.0.0.2/32\n' "$TMP/server.sock" >>"$D/server-test.conf"
cp "$D/clients/client1.conf" "$TMP/client1.conf"
echo "control $TMP/client1.sock" >>"$TMP/client1.conf"
chmod 600 "$TMP/client1.conf"
mkdir -p "$TMP/www" && head -c 300000 /dev/urandom >"$TMP/www/blob"
WWW=$(free_port) && SOCKS=$(free_port) || exit 1
check "http server" http_serve www 127.0.0.2 "$WWW" "$TMP/www" || exit 1
spawn server "$PS" -c "$D/server-test.conf" -v debug
check "server from the made config listens on --port" \
	wait_tcp 127.0.0.1 "$PORT" 10 || exit 1
spawn client "$BUILD/proxy-client" -c "$TMP/client1.conf" \
	--socks "127.0.0.1:$SOCKS" -v debug
check "client on the made profile" wait_tcp 127.0.0.1 "$SOCKS" 10

fetch() {	# SOCKS_PORT: the blob through the tunnel, byte for byte
	wait_for 10 curl -fsS --max-time 5 --socks5-hostname "127.0.0.1:$1" \
		-o "$TMP/got" "http://127.0.0.2:$WWW/blob" &&
		cmp "$TMP/got" "$TMP/www/blob"
}
check "curl through the made profile to the made server" fetch "$SOCKS"

# ---- add-client --print
print_profile() {
	"$PS" add-client "$D" bob --print >"$TMP/bob.conf" 2>"$TMP/bob.err"
	local rc=$?
	cat "$TMP/bob.err"
	[ "$rc" -eq 0 ] && grep -q 'no copy is kept' "$TMP/bob.err" &&
		grep -qx "server 127.0.0.1:$PORT" "$TMP/bob.conf" &&
		grep -qx '<key>' "$TMP/bob.conf" &&
		tail -n 1 "$TMP/bob.conf" | grep -qx '</key>'
}
check "add-client --print: the profile on stdout, messages on stderr" \
	print_profile
check "add-client --print: no copy on the server" \
	test ! -e "$D/clients/bob.conf"
check "add-client --print: bob is in the index" \
	grep -qE '^bob [0-9A-F]+ valid$' "$D/index.txt"
print_again() {
	! "$PS" add-client "$D" bob --print >"$TMP/bob2.conf" 2>/dev/null &&
		[ ! -s "$TMP/bob2.conf" ]
}
check "add-client --print: an existing name fails and prints nothing" \
	print_again
echo "control $TMP/bob.sock" >>"$TMP/bob.conf"
chmod 600 "$TMP/bob.conf"
SOCKS2=$(free_port) || exit 1
spawn bob "$BUILD/proxy-client" -c "$TMP/bob.conf" --socks "127.0.0.1:$SOCKS2" \
	-v debug
check "curl through the printed profile" fetch "$SOCKS2"
check "revoke finds the printed client" "$PS" revoke "$D" bob

# ---- init --port, and add-client's default port
D2=$TMP/init-port
init_port() {
	"$PS" init "$D2" --server-name vps.example --port 8443 >/dev/null &&
		grep -qx 'listen \[::\]:8443' "$D2/server.conf" &&
		"$PS" add-client "$D2" carol >/dev/null &&
		grep -qx 'server vps.example:8443' "$D2/clients/carol.conf"
}
check "init --port: listen and add-client's default port agree" init_port
check "init --port 0 is a usage error" \
	test "$("$PS" init "$TMP/bad" --port 0 >/dev/null 2>&1; echo $?)" = 2

# ---- root only: the firewall and the interfaces' addresses, in
# namespaces of our own
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	skip "setup --open-firewall" "needs root and ip"
	exit 0
fi
NS=fh-setup-$$
on_exit "ip netns del $NS 2>/dev/null"
check "namespace" ns_new "$NS" || exit 1

if command -v nft >/dev/null; then
	nft_rules() {	# how many accept rules for PROTO PORT the chain has
		ip netns exec "$NS" nft list chain inet t input |
			grep -c "$1 dport $PORT accept"
	}
	fw_nft() {
		ip netns exec "$NS" nft -f - <<-EOF2 || return 1
			table inet t {
				chain input { type filter hook input priority 0; policy drop; }
			}
		EOF2
		ip netns exec "$NS" "$PS" setup --dir "$TMP/fw" --server-name \
			127.0.0.1 --port "$PORT" --no-start --open-firewall \
			>"$OUT.fw1" 2>&1 || { cat "$OUT.fw1"; return 1; }
		cat "$OUT.fw1"
		[ "$(nft_rules tcp)" = 1 ] && [ "$(nft_rules udp)" = 1 ]
	}
	check "setup --open-firewall: nft input chain gets the port (TCP, UDP)" \
		fw_nft
	fw_nft_again() {
		ip netns exec "$NS" "$PS" setup --dir "$TMP/fw" --no-start \
			--open-firewall >"$OUT.fw2" 2>&1 || return 1
		cat "$OUT.fw2"
		[ "$(nft_rules tcp)" = 1 ] && [ "$(nft_rules udp)" = 1 ] &&
			grep -q 'nothing changed' "$OUT.fw2" &&
			grep -q 'already accepts' "$OUT.fw2"
	}
	check "setup --open-firewall again: no second rule, nothing changed" \
		fw_nft_again
	ip netns exec "$NS" nft delete table inet t
else
	skip "setup --open-firewall: nft" "no nft"
fi

if command -v iptables >/dev/null; then
	ipt_rules() {	# PROTO
		ip netns exec "$NS" iptables -S INPUT |
			grep -c -- "-p $1 -m $1 --dport $PORT -j ACCEPT"
	}
	fw_ipt() {
		ip netns exec "$NS" iptables -P INPUT DROP &&
			ip netns exec "$NS" "$PS" setup --dir "$TMP/fw" \
				--no-start --open-firewall >"$OUT.fw3" 2>&1 &&
			ip netns exec "$NS" "$PS" setup --dir "$TMP/fw" \
				--no-start --open-firewall >"$OUT.fw4" 2>&1
		local rc=$?
		cat "$OUT.fw3" "$OUT.fw4"
		[ "$rc" -eq 0 ] && [ "$(ipt_rules tcp)" = 1 ] &&
			[ "$(ipt_rules udp)" = 1 ] &&
			grep -q 'nothing changed' "$OUT.fw4"
	}
	check "setup --open-firewall: iptables INPUT gets the port once (TCP, UDP)" \
		fw_ipt
else
	skip "setup --open-firewall: iptables" "no iptables"
fi

names_from_interfaces() {
	ip -n "$NS" link add fh0 type veth peer name fh1 &&
		ip -n "$NS" link set fh1 up &&
		ip -n "$NS" addr add 10.77.0.5/24 dev fh0 &&
		ip -n "$NS" addr add 2001:db8:77::5/64 dev fh0 nodad &&
		ip -n "$NS" link set fh0 up &&
		ip netns exec "$NS" "$PS" setup --dir "$TMP/ifs" --no-start \
			>"$OUT.if" 2>&1 || { cat "$OUT.if"; return 1; }
	cat "$OUT.if"
	openssl x509 -in "$TMP/ifs/server.crt" -noout -ext subjectAltName \
		>"$TMP/san" && cat "$TMP/san" &&
		grep -q 'IP Address:10.77.0.5' "$TMP/san" &&
		grep -q 'IP Address:2001:DB8:77:0:0:0:0:5' "$TMP/san" &&
		! grep -q '127.0.0.1' "$TMP/san" &&
		grep -qx 'server 10.77.0.5:443' "$TMP/ifs/clients/client1.conf"
}
check "setup without --server-name: the interfaces' addresses" \
	names_from_interfaces
