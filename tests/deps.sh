#!/bin/bash
# Install what building and testing need, if it is missing (make deps).
#
# Build: a C compiler, make, pkg-config, OpenSSL, libev, c-ares and SQLite
#        headers.
# Tests: clang, curl, proxychains4, PySocks for Debian's python3, dnsmasq,
#        iproute2, iptables, nft, procps, openssl, tcpdump, dig, mandoc;
#        clang-format for make lint; dpkg-dev and lintian for make deb;
#        git, OpenBSD netcat, Chromium and Firefox for the README's
#        command lines (test_programs.sh).
#
# Quick and quiet when everything is there. Uses apt-get (Debian, Ubuntu)
# or dnf/yum (Fedora, RHEL; libev and proxychains-ng come from EPEL there),
# through sudo when not root. Exits non-zero only when a build dependency
# is still missing; a missing test tool only makes the tests that need it
# skip.

set -u

PY=/usr/bin/python3

have_cmd() {	# also where non-root PATHs often do not look
	command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

have_pc() {
	command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1"
}

have_header() {
	local d
	for d in /usr/include /usr/local/include /usr/include/libev; do
		[ -f "$d/$1" ] && return 0
	done
	return 1
}

# kind  deb name       rpm name             present when
REQS=(
	"build gcc           gcc                  have_cmd cc"
	"build make          make                 have_cmd make"
	"build pkg-config    pkgconf-pkg-config   have_cmd pkg-config"
	"build libssl-dev    openssl-devel        have_pc openssl"
	"build libev-dev     libev-devel          have_header ev.h"
	"build libc-ares-dev c-ares-devel         have_pc libcares"
	"build libsqlite3-dev sqlite-devel        have_pc sqlite3"
	"test  clang         clang                have_cmd clang"
	"test  curl          curl                 have_cmd curl"
	"test  proxychains4  proxychains-ng       have_cmd proxychains4"
	"test  python3-socks python3-pysocks      have_pysocks"
	"test  dnsmasq-base  dnsmasq              have_cmd dnsmasq"
	"test  iproute2      iproute              have_cmd ip"
	"test  iptables      iptables             have_cmd iptables"
	"test  procps        procps-ng            have_cmd pkill"
	"test  openssl       openssl              have_cmd openssl"
	"test  tcpdump       tcpdump              have_cmd tcpdump"
	"test  dnsutils      bind-utils           have_cmd dig"
	"test  nftables      nftables             have_cmd nft"
	"test  mandoc        mandoc               have_cmd mandoc"
	"test  clang-format  clang-tools-extra    have_cmd clang-format"
	"test  dpkg-dev      dpkg-dev             have_cmd dpkg-shlibdeps"
	"test  lintian       lintian              have_cmd lintian"
	"test  git           git                  have_cmd git"
	"test  netcat-openbsd netcat              have_openbsd_nc"
	"test  chromium      chromium             have_cmd chromium"
	"test  firefox-esr   firefox              have_cmd firefox"
)

have_openbsd_nc() {	# the README's ssh and git:// lines use its -X 5
	command -v nc >/dev/null 2>&1 && nc -h 2>&1 | grep -q OpenBSD
}

have_pysocks() {
	[ -x "$PY" ] && "$PY" -c 'import socks' 2>/dev/null
}

# missing KIND: prints "deb rpm" for every requirement of KIND not present.
missing() {
	local r kind deb rpm check
	for r in "${REQS[@]}"; do
		read -r kind deb rpm check <<<"$r"
		[ "$1" = all ] || [ "$kind" = "$1" ] || continue
		# shellcheck disable=SC2086 # check is a command with arguments
		$check || echo "$deb $rpm"
	done
}

names() {	# COLUMN(1=deb, 2=rpm) from "deb rpm" lines on stdin
	awk -v c="$1" '{ printf "%s%s", sep, $c; sep = " " } END { if (NR) print "" }'
}

todo=$(missing all)
if [ -z "$todo" ]; then
	echo "deps: all build and test dependencies are present"
	exit 0
fi

SUDO=
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		SUDO=none
	fi
fi

if command -v apt-get >/dev/null 2>&1; then
	pkgs=$(names 1 <<<"$todo")
	line="apt-get update && apt-get install -y $pkgs"
	if [ "$SUDO" != none ]; then
		echo "deps: installing $pkgs"
		export DEBIAN_FRONTEND=noninteractive
		# shellcheck disable=SC2086 # SUDO and pkgs are word lists
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
			echo "deps: apt-get update failed; trying the install anyway"
		# shellcheck disable=SC2086
		if ! $SUDO env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q $pkgs; then
			# One unknown name fails them all: try them one by one.
			for p in $pkgs; do
				$SUDO env DEBIAN_FRONTEND=noninteractive \
					apt-get install -y -q "$p" >/dev/null 2>&1 ||
					echo "deps: apt-get install $p failed"
			done
		fi
	fi
elif command -v dnf >/dev/null 2>&1 || command -v yum >/dev/null 2>&1; then
	pm=$(command -v dnf >/dev/null 2>&1 && echo dnf || echo yum)
	pkgs=$(names 2 <<<"$todo")
	line="$pm install -y $pkgs   (libev-devel, proxychains-ng: enable EPEL)"
	if [ "$SUDO" != none ]; then
		echo "deps: installing $pkgs"
		# shellcheck disable=SC2086
		if ! $SUDO "$pm" install -y $pkgs; then
			for p in $pkgs; do
				$SUDO "$pm" install -y "$p" >/dev/null 2>&1 ||
					echo "deps: $pm install $p failed"
			done
		fi
	fi
else
	pkgs=$(names 1 <<<"$todo")
	line="(no apt-get, dnf or yum here) install the equivalents of: $pkgs"
fi

build_missing=$(missing build | names 1)
test_missing=$(missing test | names 1)
[ -z "$build_missing$test_missing" ] && exit 0

[ "$SUDO" = none ] && echo "deps: not root and no sudo: cannot install anything."
if [ -n "$test_missing" ]; then
	echo "deps: warning: test tools missing: $test_missing"
	echo "deps: the tests that need them will be skipped."
fi
if [ -n "$build_missing" ]; then
	echo "deps: error: build dependencies missing: $build_missing"
fi
echo "deps: as root, run: $line"
[ -z "$build_missing" ]
