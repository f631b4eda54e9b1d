#!/bin/bash
# make install / make uninstall into a scratch DESTDIR: every documented
# file lands where the README says, with sane modes; the systemd units
# carry the real binary paths and pass systemd-analyze; the man pages lint
# clean, list every option of --help (and no other) and every directive of
# the example configs (and no other); uninstall leaves no file behind.
#
# Needs no root. Installs Debian's mandoc for the lint when it is missing
# and this runs as root with apt-get; otherwise falls back to groff.

. "$(dirname "$0")/../lib.sh"

need_cmd make install sed find cmp
PREFIX=/usr
DEST=$TMP/root
UNITDIR=$DEST$PREFIX/lib/systemd/system
MANDIR=$DEST$PREFIX/share/man
DOCDIR=$DEST$PREFIX/share/doc/proxy
SERVER_BIN=$DEST$PREFIX/sbin/proxy-server
CLIENT_BIN=$DEST$PREFIX/bin/proxy-client
SERVER_MAN=$MANDIR/man8/proxy-server.8
CLIENT_MAN=$MANDIR/man1/proxy-client.1
CONF_MAN=$MANDIR/man5/proxy.conf.5

# The file list the README documents: "MODE PATH" under $DEST.
EXPECTED="755 $PREFIX/sbin/proxy-server
755 $PREFIX/bin/proxy-client
644 $PREFIX/share/man/man1/proxy-client.1
644 $PREFIX/share/man/man5/proxy.conf.5
644 $PREFIX/share/man/man8/proxy-server.8
644 $PREFIX/share/doc/proxy/server.conf
644 $PREFIX/share/doc/proxy/client.conf
644 $PREFIX/share/doc/proxy/README.md
644 $PREFIX/share/doc/proxy/PROTOCOL.md
644 $PREFIX/lib/systemd/system/proxy-server.service
644 $PREFIX/lib/systemd/system/proxy-client@.service"

if [ ! -x "$BUILD/proxy-server" ] || [ ! -x "$BUILD/proxy-client" ]; then
	not_ok "install: binaries built" "no $BUILD/proxy-server or proxy-client"
	exit 1
fi

# make_install DESTDIR [VAR=VALUE...]: make install against $BUILD. When
# $BUILD is older than the sources (someone edited them since), install
# it as it is: `all` would rebuild it with the default flags, which would
# spoil the sanitizer build in $BUILD/asan.
make_install() {
	local dest=$1
	shift
	if make -q -C "$ROOT" BUILD="$BUILD" all >/dev/null 2>&1; then
		make -C "$ROOT" install DESTDIR="$dest" BUILD="$BUILD" "$@"
	else
		echo "# $BUILD is older than the sources: installing it unchanged"
		make -C "$ROOT" -o all install DESTDIR="$dest" BUILD="$BUILD" "$@"
	fi
}

make_uninstall() {	# DESTDIR [VAR=VALUE...]
	local dest=$1
	shift
	make -C "$ROOT" uninstall DESTDIR="$dest" BUILD="$BUILD" "$@"
}

check "make install DESTDIR=... PREFIX=$PREFIX" \
	make_install "$DEST" PREFIX="$PREFIX" || exit 1

# ---------------------------------------------------------------- files

installed_files() {	# DIR: "MODE PATH" of every non-directory under DIR
	(cd "$1" && find . ! -type d -printf '%m /%P\n') | sort -k 2
}

files_as_documented() {
	local want got
	want=$(sort -k 2 <<<"$EXPECTED")
	got=$(installed_files "$DEST")
	if [ "$want" != "$got" ]; then
		echo "expected:"
		echo "$want"
		echo "installed:"
		echo "$got"
		return 1
	fi
}
check "install: exactly the documented files, with their modes" \
	files_as_documented

same_binaries() {
	cmp "$BUILD/proxy-server" "$SERVER_BIN" &&
		cmp "$BUILD/proxy-client" "$CLIENT_BIN" &&
		"$SERVER_BIN" --version && "$CLIENT_BIN" --version
}
check "install: the binaries are the build's and run" same_binaries

same_docs() {
	local f
	for f in conf/server.conf conf/client.conf README.md docs/PROTOCOL.md; do
		cmp "$ROOT/$f" "$DOCDIR/$(basename "$f")" || return 1
	done
}
check "install: docs and example configs are the source's" same_docs

# ---------------------------------------------------------------- units

unit_paths() {
	local s=$UNITDIR/proxy-server.service c=$UNITDIR/proxy-client@.service
	if grep -n '@[A-Z_]*@' "$s" "$c"; then
		echo "placeholders left in the units"
		return 1
	fi
	if ! grep -qx "ExecStart=$PREFIX/sbin/proxy-server -c /etc/proxy/server.conf" "$s" ||
		! grep -qx "ExecStart=$PREFIX/bin/proxy-client -c /etc/proxy/client/%i.conf" "$c"; then
		grep -H '^ExecStart=' "$s" "$c"
		return 1
	fi
}
check "units: ExecStart names the installed binaries" unit_paths

# has UNIT LINE...: every LINE is a line of UNIT.
has() {
	local unit=$1 line rc=0
	shift
	for line in "$@"; do
		grep -qxF -- "$line" "$unit" || { echo "$unit: no '$line'"; rc=1; }
	done
	return "$rc"
}

# shellcheck disable=SC2016 # $MAINPID is a literal part of the unit
unit_hardening() {
	local s=$UNITDIR/proxy-server.service c=$UNITDIR/proxy-client@.service
	local common=(ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes
		PrivateTmp=yes ReadOnlyPaths=/etc/proxy Restart=on-failure
		LimitNOFILE=65536)
	has "$s" "${common[@]}" \
		CapabilityBoundingSet=CAP_NET_BIND_SERVICE \
		AmbientCapabilities=CAP_NET_BIND_SERVICE \
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
		'ExecReload=/bin/kill -HUP $MAINPID' &&
		has "$c" "${common[@]}" &&
		grep -q '^CapabilityBoundingSet=.*CAP_NET_ADMIN' "$c" &&
		! grep -n 'CAP_NET_ADMIN' "$s"
}
check "units: hardened; CAP_NET_ADMIN only in the client's" unit_hardening

# A parse check that needs no systemd: sections and Key=Value lines only.
unit_syntax() {
	local u
	for u in "$UNITDIR"/*.service; do
		awk '
			/^[ \t]*([#;].*)?$/ { next }
			/^\[(Unit|Service|Install)\]$/ { sec = $0; seen[$0] = 1; next }
			/^[A-Za-z]+=/ && sec != "" { next }
			{ printf "%s:%d: not a section or Key=Value: %s\n", FILENAME, NR, $0; bad = 1 }
			END {
				if (!seen["[Unit]"] || !seen["[Service]"] || !seen["[Install]"]) {
					printf "%s: missing a section\n", FILENAME; bad = 1
				}
				exit bad
			}' "$u" || return 1
	done
}
check "units: parse as unit files" unit_syntax

# systemd-analyze wants the ExecStart binary to exist: verify copies that
# point at the DESTDIR binaries. Documentation=man: pages are looked up
# with man(1), so MANPATH points at the installed pages.
VERIFY=$TMP/verify
mkdir -p "$VERIFY"
for u in proxy-server.service proxy-client@.service; do
	sed -e "s|^ExecStart=$PREFIX/sbin/|ExecStart=$DEST$PREFIX/sbin/|" \
		-e "s|^ExecStart=$PREFIX/bin/|ExecStart=$DEST$PREFIX/bin/|" \
		"$UNITDIR/$u" >"$VERIFY/$u"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	analyze_verify() {
		local out
		out=$(MANPATH=$MANDIR SYSTEMD_LOG_COLOR=0 systemd-analyze verify \
			"$VERIFY/proxy-server.service" \
			"$VERIFY/proxy-client@.service" 2>&1)
		local rc=$?
		printf '%s\n' "$out"
		# Warnings about our units count too, not only the exit status.
		[ "$rc" -eq 0 ] && ! grep -q 'proxy-' <<<"$out"
	}
	check "units: systemd-analyze verify" analyze_verify
	if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
		exposure() {	# UNIT: systemd's exposure score at most 3.0 ("OK")
			systemd-analyze security --offline=yes --threshold=30 \
				"$VERIFY/$1" | tail -n 3
			return "${PIPESTATUS[0]}"
		}
		check "units: proxy-server.service exposure at most 3.0" \
			exposure proxy-server.service
		check "units: proxy-client@.service exposure at most 3.0" \
			exposure proxy-client@.service
	else
		skip "units: exposure" "systemd-analyze has no security --offline (systemd < 250)"
	fi
else
	skip "units: systemd-analyze verify" "no systemd-analyze on this machine"
fi

# ---------------------------------------------------------------- man pages

PAGES=("$SERVER_MAN" "$CLIENT_MAN" "$CONF_MAN")

if ! command -v mandoc >/dev/null 2>&1 && [ "$(id -u)" = 0 ] &&
	command -v apt-get >/dev/null 2>&1; then
	echo "# installing mandoc for the man page lint"
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq \
		mandoc >/dev/null 2>&1 || echo "# could not install mandoc"
fi

lint_mandoc() {	# PAGE: no message of level warning or above
	local out rc
	out=$(mandoc -T lint -W warning "$1" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	[ "$rc" -eq 0 ] && [ -z "$out" ]
}

lint_groff() {	# PAGE: groff with every warning on says nothing
	local out
	out=$(groff -ww -z -mandoc "$1" 2>&1) || return 1
	printf '%s\n' "$out"
	[ -z "$out" ]
}

for page in "${PAGES[@]}"; do
	name=$(basename "$page")
	if command -v mandoc >/dev/null 2>&1; then
		check "man: $name: mandoc -T lint" lint_mandoc "$page"
	else
		skip "man: $name: mandoc -T lint" "no mandoc (apt-get install mandoc)"
	fi
	if command -v groff >/dev/null 2>&1; then
		check "man: $name: groff -ww" lint_groff "$page"
	else
		skip "man: $name: groff -ww" "no groff"
	fi
done

# help_options BINARY: every --long and -x option its --help lists.
help_options() {
	"$1" --help | grep -oE -- '(^|[[:space:],[|])--?[a-zA-Z][a-zA-Z0-9-]*' |
		sed 's/^[[:space:],[|]*//' | sort -u
}

# options_in_page BINARY PAGE: each option of --help is marked up as
# an option (.Fl) in the page; a mere "-u" in an example does not count.
options_in_page() {
	local bin=$1 page=$2 opt missing=()
	while read -r opt; do
		[ -n "$opt" ] || continue
		grep -qE -- "(^|[[:space:]])Fl ${opt#-}([[:space:]]|$)" "$page" ||
			missing+=("$opt")
	done <<<"$(help_options "$bin")"
	if [ ${#missing[@]} -gt 0 ]; then
		echo "in $(basename "$bin") --help but not in $(basename "$page"): ${missing[*]}"
		return 1
	fi
}

# page_options PAGE: the options the page's lists describe (.It Fl lines).
page_options() {
	grep -E '^\.It .*Fl ' "$1" | grep -oE '(^|[[:space:]])Fl -?[a-zA-Z][a-zA-Z0-9-]*' |
		sed -E 's/^[[:space:]]*Fl /-/' | sort -u
}

# page_options_in_help BINARY PAGE: the page lists no option --help lacks.
page_options_in_help() {
	local bin=$1 page=$2 help opt extra=()
	help=$(help_options "$bin")
	while read -r opt; do
		[ -n "$opt" ] || continue
		grep -qxF -- "$opt" <<<"$help" || extra+=("$opt")
	done <<<"$(page_options "$page")"
	if [ ${#extra[@]} -gt 0 ]; then
		echo "in $(basename "$page") but not in $(basename "$bin") --help: ${extra[*]}"
		return 1
	fi
	[ -n "$(page_options "$page")" ] || { echo "no options found in $page"; return 1; }
}

# commands_in_page BINARY PAGE: the commands in the usage lines of
# --help ("proxy-server init DIR ...") are described (.It Cm) in the page.
commands_in_page() {
	local bin=$1 page=$2 prog cmd missing=()
	prog=$(basename "$bin")
	while read -r cmd; do
		[ -n "$cmd" ] || continue
		grep -qE "^\.It Cm $cmd( |$)" "$page" || missing+=("$cmd")
	done <<<"$("$bin" --help |
		sed -nE "s/^(usage:)? *$prog ([a-z][a-z-]*)( .*)?\$/\\2/p")"
	if [ ${#missing[@]} -gt 0 ]; then
		echo "commands not described in $(basename "$page"): ${missing[*]}"
		return 1
	fi
}

check "man: proxy-server.8 has every option of proxy-server --help" \
	options_in_page "$SERVER_BIN" "$SERVER_MAN"
check "man: proxy-client.1 has every option of proxy-client --help" \
	options_in_page "$CLIENT_BIN" "$CLIENT_MAN"
check "man: proxy-server.8 lists no option proxy-server --help lacks" \
	page_options_in_help "$SERVER_BIN" "$SERVER_MAN"
check "man: proxy-client.1 lists no option proxy-client --help lacks" \
	page_options_in_help "$CLIENT_BIN" "$CLIENT_MAN"
check "man: proxy-server.8 describes every command of --help" \
	commands_in_page "$SERVER_BIN" "$SERVER_MAN"
check "man: proxy-client.1 describes every command of --help" \
	commands_in_page "$CLIENT_BIN" "$CLIENT_MAN"

# conf_directives FILE...: directive names in example configs, set
# ("name args") or commented out ("#name args", "#<name>"); prose
# comments have a blank after the '#'.
conf_directives() {
	sed -nE -e 's/^#?<([a-z][a-z0-9-]*)>[[:space:]]*$/\1/p' \
		-e 's/^#?([a-z][a-z0-9-]*)([[:space:]].*)?$/\1/p' "$@" | sort -u
}

page_directives() {	# the directives proxy.conf.5 describes
	sed -nE 's/^\.It Ic ([a-z][a-z0-9-]*)( .*)?$/\1/p' "$CONF_MAN" | sort -u
}

# (Temporary files rather than <(...): a process substitution the shell
# does not wait for can outlive the script as a zombie of its group.)
conf_directives "$ROOT"/conf/*.conf >"$TMP/directives.conf"
page_directives >"$TMP/directives.man"

directives_in_page() {
	local missing
	missing=$(comm -23 "$TMP/directives.conf" "$TMP/directives.man")
	[ -z "$missing" ] || { echo "not in proxy.conf.5:" "${missing//$'\n'/ }"; return 1; }
	[ -s "$TMP/directives.conf" ]
}

page_directives_in_conf() {
	local extra
	extra=$(comm -13 "$TMP/directives.conf" "$TMP/directives.man")
	[ -z "$extra" ] || { echo "in proxy.conf.5 but in no conf/*.conf:" "${extra//$'\n'/ }"; return 1; }
}

check "man: proxy.conf.5 describes every directive of conf/*.conf" \
	directives_in_page
check "man: proxy.conf.5 describes no directive conf/*.conf lacks" \
	page_directives_in_conf

# ---------------------------------------------------------------- uninstall

no_files_left() {	# DIR: only (empty) directories remain
	local left
	left=$(find "$1" ! -type d)
	[ -z "$left" ] || { echo "left behind:"; echo "$left"; return 1; }
}

check "make uninstall" make_uninstall "$DEST" PREFIX="$PREFIX"
check "uninstall: no file left behind" no_files_left "$DEST"

# Another prefix, and the unit folder set apart as distributions do.
DEST2=$TMP/root2
other_prefix() {
	make_install "$DEST2" PREFIX=/usr/local SYSTEMDUNITDIR=/lib/systemd/system &&
		grep -qx 'ExecStart=/usr/local/sbin/proxy-server -c /etc/proxy/server.conf' \
			"$DEST2/lib/systemd/system/proxy-server.service" &&
		grep -qx 'ExecStart=/usr/local/bin/proxy-client -c /etc/proxy/client/%i.conf' \
			"$DEST2/lib/systemd/system/proxy-client@.service" &&
		[ -x "$DEST2/usr/local/sbin/proxy-server" ] &&
		[ -f "$DEST2/usr/local/share/man/man8/proxy-server.8" ] &&
		make_uninstall "$DEST2" PREFIX=/usr/local SYSTEMDUNITDIR=/lib/systemd/system &&
		no_files_left "$DEST2"
}
check "install/uninstall with PREFIX=/usr/local SYSTEMDUNITDIR=/lib/systemd/system" \
	other_prefix
