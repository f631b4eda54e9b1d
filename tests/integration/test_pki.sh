#!/bin/bash
# The PKI subcommands (proxy-server init, add-client, revoke), checked with
# the openssl CLI: files and modes, the server certificate's names, inline
# client profiles, refusals (second init, duplicate or bad names), and a
# revoked client failing `openssl verify -crl_check` while another passes;
# --days: the validity of the CA, server and client certificates (default
# and given), a client certificate never outliving the CA, and --days 0
# refused as a usage error (exit 2); the CA's subject (neutral by
# default, --ca-name NAME and --ca-name=NAME, bad names refused).
#
# PROXY_SERVER=/path/to/binary runs another binary (a test driver).
. "$(dirname "$0")/../lib.sh"
need_cmd openssl sha256sum stat

PS=${PROXY_SERVER:-$BUILD/proxy-server}
D="$TMP/pki"
OUT="$TMP/out"
ERR="$TMP/err"

SAN_RE='ERROR: AddressSanitizer|runtime error:|LeakSanitizer'

# run CMD...: CMD succeeds (stdout in $OUT, stderr in $ERR, both shown
# by check when it fails) with no sanitizer report.
run() {
	local rc
	"$@" >"$OUT" 2>"$ERR"
	rc=$?
	cat "$OUT" "$ERR"
	[ "$rc" -eq 0 ] && ! grep -qE "$SAN_RE" "$ERR"
}

# refused_with CODE CMD...: CMD exits CODE with a message on stderr, and
# no sanitizer report (a crash is not a refusal).
refused_with() {
	local want=$1 rc
	shift
	"$@" >"$OUT" 2>"$ERR"
	rc=$?
	cat "$OUT" "$ERR"
	echo "exit status $rc"
	[ "$rc" -eq "$want" ] && [ -s "$ERR" ] && ! grep -qE "$SAN_RE" "$ERR"
}

# refused CMD...: CMD exits 1 (a request the PKI turns down).
refused() {
	refused_with 1 "$@"
}

mode_is() {	# MODE PATH
	local m
	m=$(stat -c %a "$2") || return 1
	[ "$m" = "$1" ] && return 0
	echo "$2: mode $m, want $1"
	return 1
}

has() {	# PATTERN FILE: grep -E
	grep -qE -- "$1" "$2" && return 0
	echo "no line matching '$1' in $2:"
	cat "$2"
	return 1
}

lacks() {	# PATTERN FILE...
	! grep -nE -- "$1" "${@:2}"
}

# block NAME FILE: the text between <NAME> and </NAME> in a profile.
block() {
	sed -n "/^<$1>\$/,/^<\\/$1>\$/p" "$2" | sed '1d;$d'
}

x509_text() {	# CERT
	openssl x509 -in "$1" -noout -text
}

serial_of() {	# CERT: uppercase hex, as index.txt has it
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'
}

not() {	# CMD...: CMD fails
	! "$@"
}

verify() {	# CERT [EXTRA openssl verify options]
	local c=$1
	shift
	openssl verify -CAfile "$D/ca.crt" "$@" "$c"
}

# ---- init

check "init" run "$PS" init "$D" --server-name vps.example.net \
	--server-name 203.0.113.5 --server-name 2001:db8::1
for f in ca.crt ca.key server.crt server.key crl.pem index.txt server.conf; do
	check "init writes $f" test -f "$D/$f"
done
check "init: clients/ is a folder" test -d "$D/clients"
check "init: ca.key mode 0600" mode_is 600 "$D/ca.key"
check "init: server.key mode 0600" mode_is 600 "$D/server.key"
check "init: ca.crt mode 0644" mode_is 644 "$D/ca.crt"
# searchable, not listable: a server running as another user re-reads
# crl.pem (0644) after a revoke; the keys and clients/ stay root's
check "init: DIR mode 0711" mode_is 711 "$D"
check "init: clients/ mode 0700" mode_is 700 "$D/clients"
check "init: no temp files left" test -z "$(find "$D" -name '*.??????')"
check "init: no key on stdout" lacks 'PRIVATE KEY' "$OUT" "$ERR"
check "server cert verifies against the CA" verify "$D/server.crt"
x509_text "$D/server.crt" >"$TMP/server.txt"
x509_text "$D/ca.crt" >"$TMP/ca.txt"
check "server cert: DNS SAN" has 'DNS:vps\.example\.net' "$TMP/server.txt"
check "server cert: IPv4 SAN" has 'IP Address:203\.0\.113\.5' \
	"$TMP/server.txt"
check "server cert: IPv6 SAN" has 'IP Address:2001:DB8:0:0:0:0:0:1' \
	"$TMP/server.txt"
check "server cert: CN is the first name" \
	has 'Subject: CN ?= ?vps\.example\.net' "$TMP/server.txt"
check "server cert: EKU serverAuth" \
	has 'TLS Web Server Authentication' "$TMP/server.txt"
check "server cert: EC P-256" has 'NIST CURVE: P-256' "$TMP/server.txt"
check "CA cert: CA:TRUE" has 'CA:TRUE' "$TMP/ca.txt"
check "CA cert: keyCertSign" has 'Certificate Sign, CRL Sign' "$TMP/ca.txt"
cat >"$TMP/server.conf.want" <<'EOF'
# proxy-server configuration written by `proxy-server init`.
# Every directive is explained in proxy.conf(5) and in the example
# server.conf under /usr/share/doc/proxy (conf/ in the source).
listen [::]:443
ca ca.crt
cert server.crt
key server.key
crl crl.pem
log-level info
# usage counts: this directory is not /etc/proxy
state-dir state
EOF
check "server.conf: as documented, paths relative to DIR" \
	diff -u "$TMP/server.conf.want" "$D/server.conf"
check "server.conf: mode 0644" mode_is 644 "$D/server.conf"
check "crl.pem is signed by the CA" \
	openssl crl -in "$D/crl.pem" -CAfile "$D/ca.crt" -noout

before=$(cd "$D" && sha256sum ca.crt ca.key)
check "init twice is refused" \
	refused "$PS" init "$D" --server-name other.example
check "init twice: says why" has 'refusing to overwrite' "$ERR"
after=$(cd "$D" && sha256sum ca.crt ca.key)
check "init twice: CA untouched" test "$before" = "$after"

# The CA's name: neutral by default (it is the server certificate's
# issuer, shown to anyone who connects), or as --ca-name gives it.
subject_of() {	# CERT: the subject, "CN=..." with no spaces around '='
	openssl x509 -in "$1" -noout -subject -nameopt compat |
		sed 's/^subject= *//; s/^\///'
}
check "CA subject: default names no product" \
	test -n "$(subject_of "$D/ca.crt" | grep -xE 'CN=CA [0-9a-f]{8}')"
check "server cert: issued by that CA" test \
	"$(openssl x509 -in "$D/server.crt" -noout -issuer -nameopt compat |
		sed 's/^issuer= *//; s/^\///')" = "$(subject_of "$D/ca.crt")"
check "init --ca-name NAME" \
	run "$PS" init "$TMP/named" --ca-name "Example Ops Root" --server-name a.example
check "CA subject: --ca-name NAME" \
	test "$(subject_of "$TMP/named/ca.crt")" = "CN=Example Ops Root"
check "init --ca-name=NAME" \
	run "$PS" init "$TMP/named2" --ca-name=ops-ca --server-name a.example
check "CA subject: --ca-name=NAME" \
	test "$(subject_of "$TMP/named2/ca.crt")" = "CN=ops-ca"
check "init: empty --ca-name refused" \
	refused "$PS" init "$TMP/badca" --ca-name ""
check "init: a 65-character --ca-name refused" \
	refused "$PS" init "$TMP/badca" --ca-name "$(printf 'a%.0s' {1..65})"
check "init: bad --ca-name writes no CA" test ! -e "$TMP/badca/ca.key"

check "init: bad --server-name refused" \
	refused "$PS" init "$TMP/bad" --server-name 'foo bar'
check "init: bad --server-name writes no CA" test ! -e "$TMP/bad/ca.key"

# ---- add-client

check "add-client alice" run "$PS" add-client "$D" alice
P="$D/clients/alice.conf"
check "add-client: says where the profile is" has 'clients/alice\.conf' "$OUT"
check "add-client: no key on stdout" lacks 'PRIVATE KEY' "$OUT" "$ERR"
check "profile: mode 0600" mode_is 600 "$P"
for b in ca cert key; do
	check "profile: <$b> block" has "^<$b>\$" "$P"
	check "profile: </$b> block" has "^</$b>\$" "$P"
done
check "profile: server is the first SAN, port 443" \
	has '^server vps\.example\.net:443$' "$P"
check "profile: no server-name when the host is a SAN" lacks '^server-name' "$P"
check "profile: socks 127.0.0.1:1080" has '^socks 127\.0\.0\.1:1080$' "$P"
block cert "$P" >"$TMP/alice.crt"
block key "$P" >"$TMP/alice.key"
block ca "$P" >"$TMP/alice-ca.crt"
check "profile: the CA is ca.crt" cmp "$TMP/alice-ca.crt" "$D/ca.crt"
check "profile: client cert verifies against the CA" verify "$TMP/alice.crt"
x509_text "$TMP/alice.crt" >"$TMP/alice.txt"
check "client cert: EKU clientAuth" \
	has 'TLS Web Client Authentication' "$TMP/alice.txt"
check "client cert: CN is the name" has 'Subject: CN ?= ?alice$' \
	"$TMP/alice.txt"
check "profile: key is unencrypted PKCS#8" \
	has '^-----BEGIN PRIVATE KEY-----$' "$TMP/alice.key"
check "profile: key matches the cert" test \
	"$(openssl pkey -in "$TMP/alice.key" -pubout 2>&1)" = \
	"$(openssl x509 -in "$TMP/alice.crt" -noout -pubkey 2>&1)"
ALICE=$(serial_of "$TMP/alice.crt")
check "index.txt: alice valid" has "^alice $ALICE valid\$" "$D/index.txt"

check "add-client bob --server IPv4:PORT" \
	run "$PS" add-client "$D" bob --server 198.51.100.7:8443
check "profile: server as given" \
	has '^server 198\.51\.100\.7:8443$' "$D/clients/bob.conf"
check "profile: server-name when the host is no SAN" \
	has '^server-name vps\.example\.net$' "$D/clients/bob.conf"
block cert "$D/clients/bob.conf" >"$TMP/bob.crt"

check "add-client carol --server [IPv6]:PORT" \
	run "$PS" add-client "$D" carol --server '[2001:db8::1]:4443'
check "profile: IPv6 server in brackets" \
	has '^server \[2001:db8::1\]:4443$' "$D/clients/carol.conf"
check "profile: IPv6 SAN needs no server-name" \
	lacks '^server-name' "$D/clients/carol.conf"

sum=$(sha256sum <"$P")
check "duplicate name refused" refused "$PS" add-client "$D" alice
check "duplicate name: profile untouched" test "$sum" = "$(sha256sum <"$P")"
check "duplicate name: one index line" \
	test "$(grep -c '^alice ' "$D/index.txt")" = 1
for bad in ../x '' _x a/b .hidden 'a b'; do
	check "bad name '$bad' refused" refused "$PS" add-client "$D" "$bad"
done
check "bad name: nothing written outside clients/" test ! -e "$D/x.conf"
check "bad --server refused" \
	refused "$PS" add-client "$D" dave --server 2001:db8::1
check "bad --server: no profile" test ! -e "$D/clients/dave.conf"

# ---- revoke

crl_check() {	# CERT
	verify "$1" -crl_check -CRLfile "$D/crl.pem"
}
check "before revoke: alice passes the CRL check" crl_check "$TMP/alice.crt"
check "revoke alice" run "$PS" revoke "$D" alice
check "revoke: says the server refuses her" has 'refuses' "$OUT"
openssl crl -in "$D/crl.pem" -noout -text >"$TMP/crl.txt"
check "crl.pem lists alice's serial" has "Serial Number: $ALICE\$" \
	"$TMP/crl.txt"
check "crl.pem: CRL number bumped" has '^ +2$' "$TMP/crl.txt"
check "crl.pem: still signed by the CA" \
	openssl crl -in "$D/crl.pem" -CAfile "$D/ca.crt" -noout
check "crl.pem: mode 0644" mode_is 644 "$D/crl.pem"
check "revoked alice fails verify -crl_check" \
	not crl_check "$TMP/alice.crt"
check "bob still passes verify -crl_check" crl_check "$TMP/bob.crt"
check "index.txt: alice revoked" has "^alice $ALICE revoked\$" "$D/index.txt"
check "index.txt: bob still valid" has '^bob [0-9A-F]+ valid$' "$D/index.txt"
check "revoke twice refused" refused "$PS" revoke "$D" alice
check "revoke an unknown name refused" refused "$PS" revoke "$D" nobody
check "a revoked name is not reissued" refused "$PS" add-client "$D" alice

check "revoke bob" run "$PS" revoke "$D" bob
openssl crl -in "$D/crl.pem" -noout -text >"$TMP/crl.txt"
check "both revoked serials in crl.pem" \
	test "$(grep -c 'Serial Number' "$TMP/crl.txt")" = 2
check "revoked bob fails verify -crl_check" not crl_check "$TMP/bob.crt"

# ---- init without names

check "init without --server-name" run "$PS" init "$TMP/plain"
check "no names: DNS:proxy-server" has 'DNS:proxy-server' \
	<(x509_text "$TMP/plain/server.crt")
check "no names: add-client" run "$PS" add-client "$TMP/plain" eve
check "no names: server proxy-server:443" \
	has '^server proxy-server:443$' "$TMP/plain/clients/eve.conf"

# ---- --days

# end_of CERT: its notAfter, in seconds since the epoch.
end_of() {
	local e
	e=$(openssl x509 -in "$1" -noout -enddate) || return 1
	date -u -d "${e#notAfter=}" +%s
}

# lasts CERT DAYS: CERT expires DAYS days from now, give or take 2 hours
# (the certificates were made seconds ago; a day off is 24 hours off).
lasts() {
	local end now
	end=$(end_of "$1") || return 1
	now=$(date -u +%s)
	echo "$(basename "$1"): $(openssl x509 -in "$1" -noout -enddate)," \
		"$(((end - now) / 3600)) hours from now; want $2 days ($(($2 * 24)) hours)"
	[ "$end" -ge $((now + $2 * 86400 - 7200)) ] &&
		[ "$end" -le $((now + $2 * 86400 + 7200)) ]
}

# within_ca CERT CA: CERT expires no later than CA.
within_ca() {
	local c a
	c=$(end_of "$1") && a=$(end_of "$2") || return 1
	echo "$(basename "$1") ends $(date -u -d "@$c"), CA $(date -u -d "@$a")"
	[ "$c" -le "$a" ]
}

check "--days default: CA valid 3650 days" lasts "$D/ca.crt" 3650
check "--days default: server cert valid 3650 days" lasts "$D/server.crt" 3650
check "--days default: client cert valid 1825 days" lasts "$TMP/alice.crt" 1825

S="$TMP/short"
check "init --days 30" run "$PS" init "$S" --server-name 127.0.0.1 --days 30
check "init --days 30: CA expires in 30 days" lasts "$S/ca.crt" 30
check "init --days 30: server cert expires in 30 days" lasts "$S/server.crt" 30
check "add-client --days 10" run "$PS" add-client "$S" ten --days 10
block cert "$S/clients/ten.conf" >"$TMP/ten.crt"
check "add-client --days 10: client cert expires in 10 days" lasts "$TMP/ten.crt" 10
check "add-client --days 10: client cert verifies against the CA" \
	openssl verify -CAfile "$S/ca.crt" "$TMP/ten.crt"
check "add-client --days 100 under a 30-day CA" run "$PS" add-client "$S" long --days 100
block cert "$S/clients/long.conf" >"$TMP/long.crt"
check "add-client --days 100: client cert does not outlive the CA" \
	within_ca "$TMP/long.crt" "$S/ca.crt"
check "add-client (default 1825 days) under a 30-day CA" run "$PS" add-client "$S" dflt
block cert "$S/clients/dflt.conf" >"$TMP/dflt.crt"
check "add-client default: client cert does not outlive the CA" \
	within_ca "$TMP/dflt.crt" "$S/ca.crt"

# the long options also in their --name=value form
E="$TMP/eq"
check "init --server-name=NAME --days=20" \
	run "$PS" init "$E" --server-name=eq.example --days=20
check "init --server-name=eq.example: the name is in the certificate" \
	has 'DNS:eq.example' <(x509_text "$E/server.crt")
check "init --days=20: the CA expires in 20 days" lasts "$E/ca.crt" 20
check "add-client --server=H:P --days=5" \
	run "$PS" add-client "$E" eve --server=eq.example:8443 --days=5
check "add-client --server=eq.example:8443: the profile says so" \
	has '^server eq.example:8443$' "$E/clients/eve.conf"

DAYS0_RE='--days[^0-9]*0([^0-9]|$)'
check "init --days 0 refused with exit 2" \
	refused_with 2 "$PS" init "$TMP/zero" --days 0
check "init --days 0: the message names --days 0" has "$DAYS0_RE" "$ERR"
check "init --days 0: writes no CA" test ! -e "$TMP/zero/ca.key"
check "add-client --days 0 refused with exit 2" \
	refused_with 2 "$PS" add-client "$S" zero --days 0
check "add-client --days 0: the message names --days 0" has "$DAYS0_RE" "$ERR"
check "add-client --days 0: no profile" test ! -e "$S/clients/zero.conf"
