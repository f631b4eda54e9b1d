#!/bin/bash
# make deb, installed on this machine as a user would: the package builds
# (lintian clean when lintian is here), names its libraries by Debian
# package name, installs every file where the README says; the installed
# units pass systemd-analyze and are neither enabled nor started by the
# install; the installed server, set up by `proxy-server setup` in a
# scratch folder, and the installed client carry a real curl download
# (under systemd when it runs, as proxy-server.service, else started
# directly); `dpkg -r` removes every file, `dpkg --purge` the enablement
# link `systemctl enable` made, and neither touches /etc/proxy (a key file
# planted there, and whatever was there before, keep their bytes).
#
# Root only; leaves the machine as it found it, also on failure: it skips
# when the package or any file it ships is there already (someone's own
# install), and its exit purges the package and removes what it planted.
# The sanitizer run skips: the package is built from the source with
# Debian's flags, never from the sanitizer build.

. "$(dirname "$0")/../lib.sh"
need_root
need_cmd make dpkg dpkg-deb dpkg-shlibdeps dpkg-gencontrol curl sha256sum
# shellcheck source=helpers/checks.sh
. "$ROOT/tests/integration/helpers/checks.sh"
if [ "${PROXY_ASAN:-0}" = 1 ]; then
	skip "$_LIB_SCRIPT" "the package holds the Debian-flags build, not the sanitizer build (checked in the normal run)"
	exit 0
fi

PKGNAME=proxy
SYSTEMD=0
[ -d /run/systemd/system ] && SYSTEMD=1

installed() {	# the package is installed (or half installed)
	dpkg-query -W -f='${Status}' "$PKGNAME" 2>/dev/null |
		grep -qE ' (installed|half-installed|unpacked|half-configured|triggers-[a-z]+|config-files)$'
}

if installed; then
	skip "$_LIB_SCRIPT" "package $PKGNAME is already installed here: the test would remove it"
	exit 0
fi

# ---------------------------------------------------------------- build

# The Debian-flags objects stay in $BUILD/deb between runs: only what
# changed is compiled again.
build_deb() {
	make -C "$ROOT" -j2 --no-print-directory deb BUILD="$BUILD"
}
# make deb runs lintian when it is here and fails on any error or warning
# that debian/lintian-overrides does not explain.
if command -v lintian >/dev/null 2>&1; then
	check "make deb (lintian: no error or warning)" build_deb || exit 1
else
	check "make deb" build_deb || exit 1
	skip "lintian" "no lintian (make deps installs it)"
fi
DEB=$(find "$BUILD/deb" -maxdepth 1 -name "proxy_*.deb" | head -n 1)
[ -f "$DEB" ] || { not_ok "make deb: a .deb in $BUILD/deb" "none"; exit 1; }

depends_by_name() {
	local dep pkg
	dep=$(dpkg-deb -f "$DEB" Depends)
	echo "Depends: $dep"
	for pkg in libc6 libssl3 libev4 libc-ares2 libsqlite3-0; do
		# libssl3 on Debian 12, libssl3t64 after the 64-bit time_t move
		grep -qE "(^|, )${pkg}(t64)? " <<<"$dep" || { echo "no $pkg"; return 1; }
	done
}
check "control: Depends names the runtime libraries by package" depends_by_name

# What the package ships: its regular files and symlinks, as paths.
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { p = $6; sub(/^\./, "", p); print p }' \
	>"$TMP/shipped"
[ -s "$TMP/shipped" ] || { not_ok "dpkg-deb -c lists the files" "empty"; exit 1; }

shipped_as_documented() {
	local f unit
	unit=$(grep -m1 '/systemd/system/proxy-server\.service$' "$TMP/shipped")
	for f in /usr/sbin/proxy-server /usr/bin/proxy-client \
		/usr/share/man/man8/proxy-server.8.gz \
		/usr/share/man/man1/proxy-client.1.gz \
		/usr/share/man/man5/proxy.conf.5.gz \
		/usr/share/doc/proxy/server.conf /usr/share/doc/proxy/client.conf \
		/usr/share/doc/proxy/README.md.gz /usr/share/doc/proxy/copyright \
		"${unit%/*}/proxy-client@.service"; do
		grep -qxF "$f" "$TMP/shipped" || { echo "not shipped: $f"; return 1; }
	done
	[ -n "$unit" ] || { echo "no proxy-server.service"; return 1; }
	! grep -E '^/etc/' "$TMP/shipped"	# no conffile: /etc/proxy is setup's
}
check "package: binaries, man pages, units, docs; nothing in /etc" \
	shipped_as_documented || exit 1
UNITDIR=$(grep -m1 '/systemd/system/proxy-server\.service$' "$TMP/shipped")
UNITDIR=${UNITDIR%/*}

# ---------------------------------------------------------------- the machine as found

# Someone's own install (make install PREFIX=/usr, say) of a file the
# package ships would be overwritten, and then removed by the purge.
clash=
while read -r f; do
	if [ -e "$f" ] || [ -L "$f" ]; then
		clash=$f
		break
	fi
done <"$TMP/shipped"
if [ -n "$clash" ]; then
	skip "$_LIB_SCRIPT" "$clash exists already (not from the package): installing would replace it"
	exit 0
fi
# The same for a unit of that name anywhere systemd looks.
for d in /etc/systemd/system /run/systemd/system /usr/local/lib/systemd/system \
	/lib/systemd/system /usr/lib/systemd/system; do
	if [ -e "$d/proxy-server.service" ] || [ -e "$d/proxy-client@.service" ]; then
		skip "$_LIB_SCRIPT" "a proxy unit exists already in $d: the test would disturb it"
		exit 0
	fi
done
WANTS=/etc/systemd/system/multi-user.target.wants
if [ -e "$WANTS/proxy-server.service" ] || [ -L "$WANTS/proxy-server.service" ]; then
	skip "$_LIB_SCRIPT" "$WANTS/proxy-server.service exists already"
	exit 0
fi

# /etc/proxy: whatever is there stays; a key file of our own is planted
# so the check below can fail even on a machine without one.
ETC=/etc/proxy
ETC_MADE=0
if [ ! -d "$ETC" ]; then
	mkdir -m 0711 "$ETC" || exit 1
	ETC_MADE=1
fi
PLANTED=$ETC/deb-test-$$.key
on_exit "rm -f '$PLANTED'; [ $ETC_MADE = 1 ] && rmdir '$ETC' 2>/dev/null"
(umask 077 && head -c 64 /dev/urandom | base64 >"$PLANTED") || exit 1

etc_state() {	# every path's mode and every file's checksum under /etc/proxy
	(cd "$ETC" && find . -printf '%m %p\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
etc_state >"$TMP/etc.before"

# From here on the exit purges what the test installed, whatever happens.
# shellcheck disable=SC2016 # expanded when the exit runs
on_exit 'cleanup_package'
cleanup_package() {
	if [ "$SYSTEMD" = 1 ]; then
		systemctl stop proxy-server.service >/dev/null 2>&1
		rm -rf /run/systemd/system/proxy-server.service.d
	fi
	if installed; then
		echo "# purging the package the test installed"
		dpkg --purge "$PKGNAME" >/dev/null 2>&1
	fi
	# links a failed check may have left (the purge removes them too)
	[ -L "$WANTS/proxy-server.service" ] && rm -f "$WANTS/proxy-server.service"
	[ "$SYSTEMD" = 1 ] && systemctl daemon-reload >/dev/null 2>&1
	return 0
}

# ---------------------------------------------------------------- install

check "dpkg -i" dpkg -i "$DEB" || exit 1

all_in_place() {
	local f missing=0
	while read -r f; do
		[ -e "$f" ] || { echo "missing: $f"; missing=1; }
	done <"$TMP/shipped"
	# and dpkg knows them as the package's
	dpkg -L "$PKGNAME" | grep -qxF /usr/sbin/proxy-server || return 1
	return "$missing"
}
check "installed: every file the package ships is in place" all_in_place

check "installed: proxy-server --version" /usr/sbin/proxy-server --version
check "installed: proxy-client --version" /usr/bin/proxy-client --version
check "installed: the unit runs /usr/sbin/proxy-server" \
	grep -qx 'ExecStart=/usr/sbin/proxy-server -c /etc/proxy/server.conf' \
	"$UNITDIR/proxy-server.service"
check "installed: the client's unit runs /usr/bin/proxy-client" \
	grep -qx 'ExecStart=/usr/bin/proxy-client -c /etc/proxy/client/%i.conf' \
	"$UNITDIR/proxy-client@.service"

if command -v systemd-analyze >/dev/null 2>&1; then
	verify_units() {
		local out rc
		out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify \
			"$UNITDIR/proxy-server.service" "$UNITDIR/proxy-client@.service" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		[ "$rc" -eq 0 ] && ! grep -q 'proxy-' <<<"$out"
	}
	check "installed units: systemd-analyze verify" verify_units
else
	skip "installed units: systemd-analyze verify" "no systemd-analyze"
fi

if command -v systemctl >/dev/null 2>&1; then
	# is-enabled reads the unit files and links: no running systemd needed
	not_enabled() {
		local s
		s=$(systemctl is-enabled proxy-server.service 2>&1)
		echo "proxy-server.service: $s"
		[ "$s" = disabled ]
	}
	check "install: proxy-server.service is not enabled (no PKI yet)" not_enabled
	if [ "$SYSTEMD" = 1 ]; then
		check "install: proxy-server.service is not started" \
			bash -c '! systemctl is-active --quiet proxy-server.service'
	fi
fi

# ---------------------------------------------------------------- it serves

# setup into a scratch folder under /run (the unit's private /tmp would
# hide one under /tmp), listening on loopback only.
RUNDIR=$(mktemp -d /run/proxy-deb-test.XXXXXX) || exit 1
on_exit "rm -rf '$RUNDIR'"
D=$RUNDIR/etc
PORT=$(free_port) && WWW=$(free_port) && SOCKS=$(free_port) || exit 1
setup_run() {
	/usr/sbin/proxy-server setup --dir "$D" --server-name 127.0.0.1 \
		--port "$PORT" --no-start
}
check "installed: proxy-server setup --dir (scratch)" setup_run || exit 1
# loopback only, status socket and counts in the unit's writable places
# (or ours when run directly), the test's destination allowed
{
	grep -vE '^[[:space:]]*listen([[:space:]]|$)' "$D/server.conf"
	echo "listen 127.0.0.1:$PORT"
	echo "allow 127.0.0.2/32"
} >"$D/server-test.conf" && chmod 600 "$D/server-test.conf" || exit 1
cp "$D/clients/client1.conf" "$TMP/client1.conf" &&
	echo "control $TMP/client.sock" >>"$TMP/client1.conf" &&
	chmod 600 "$TMP/client1.conf" || exit 1

if [ "$SYSTEMD" = 1 ]; then
	# The installed unit as shipped, told only to read the scratch config
	# and to keep its status socket and counts apart from a real server's.
	echo "control /run/proxy/deb-test-$$.sock" >>"$D/server-test.conf"
	echo "state-dir /run/proxy/deb-test-$$" >>"$D/server-test.conf"
	mkdir -p /run/systemd/system/proxy-server.service.d
	printf '[Service]\nExecStart=\nExecStart=/usr/sbin/proxy-server -c %s\n' \
		"$D/server-test.conf" \
		>/run/systemd/system/proxy-server.service.d/deb-test.conf
	systemctl daemon-reload
	check "systemd: systemctl start proxy-server.service" \
		systemctl start proxy-server.service
	check "systemd: proxy-server.service is active" \
		systemctl is-active --quiet proxy-server.service
	on_exit "rm -rf /run/proxy/deb-test-$$ /run/proxy/deb-test-$$.sock"
else
	echo "control $TMP/server.sock" >>"$D/server-test.conf"
	echo "state-dir $TMP/state" >>"$D/server-test.conf"
	spawn server /usr/sbin/proxy-server -c "$D/server-test.conf"
fi
check "installed server listens" wait_tcp 127.0.0.1 "$PORT" 10

mkdir -p "$TMP/www" && head -c 200000 /dev/urandom >"$TMP/www/blob"
check "http server" http_serve www 127.0.0.2 "$WWW" "$TMP/www" || exit 1
spawn client /usr/bin/proxy-client -c "$TMP/client1.conf" --socks "127.0.0.1:$SOCKS"
check "installed client listens" wait_tcp 127.0.0.1 "$SOCKS" 10

fetch() {
	wait_for 10 curl -fsS --max-time 5 --socks5-hostname "127.0.0.1:$SOCKS" \
		-o "$TMP/got" "http://127.0.0.2:$WWW/blob" &&
		cmp "$TMP/got" "$TMP/www/blob"
}
check "installed client and server carry a download, byte for byte" fetch

stop client
if [ "$SYSTEMD" = 1 ]; then
	systemctl stop proxy-server.service
	rm -rf /run/systemd/system/proxy-server.service.d
	systemctl daemon-reload
else
	stop server
fi

# ---------------------------------------------------------------- remove, purge

# Enabled as `proxy-server setup` would: the link must survive a remove
# (like a config file) and go with the purge.
ENABLED=0
if command -v systemctl >/dev/null 2>&1 &&
	systemctl enable proxy-server.service >/dev/null 2>&1 &&
	[ -L "$WANTS/proxy-server.service" ]; then
	ENABLED=1
fi

check "dpkg -r" dpkg -r "$PKGNAME"

files_gone() {
	local f left=0
	while read -r f; do
		[ -e "$f" ] && { echo "left: $f"; left=1; }
	done <"$TMP/shipped"
	return "$left"
}
check "dpkg -r: every file the package shipped is gone" files_gone
if [ "$ENABLED" = 1 ]; then
	check "dpkg -r: the enablement link is kept (like a config)" \
		test -L "$WANTS/proxy-server.service"
fi

check "dpkg --purge" dpkg --purge "$PKGNAME"
purged() { ! installed; }
check "dpkg --purge: dpkg keeps no record of the package" purged
if [ "$ENABLED" = 1 ]; then
	check "dpkg --purge: the enablement link is gone" \
		bash -c "[ ! -L '$WANTS/proxy-server.service' ]"
else
	skip "dpkg --purge: the enablement link" "systemctl enable made no link here"
fi

etc_state >"$TMP/etc.after"
check "remove and purge left /etc/proxy alone (the planted key too)" \
	diff -u "$TMP/etc.before" "$TMP/etc.after"
check "the planted key file is still there" test -s "$PLANTED"
