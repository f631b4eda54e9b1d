#!/bin/bash
# mkdeb.sh BUILD: the Debian package "proxy" from the binaries in BUILD
# (make deb builds them there with dpkg-buildflags' hardening flags, then
# runs this). Prints the path of the .deb it wrote in BUILD.
#
# A staged tree and dpkg-deb rather than dpkg-buildpackage: the tree is
# exactly what `make install PREFIX=/usr` installs, so the package and a
# source install cannot drift apart, and nothing is built twice or written
# outside BUILD (dpkg-buildpackage puts its results in the parent folder
# and needs debhelper or a hand-written debian/rules). The Debian tools do
# the Debian parts: dpkg-shlibdeps the Depends (by Debian package name,
# from the libraries the binaries link), dpkg-gencontrol the control file
# (version from debian/changelog, Installed-Size), dpkg-deb the archive.
#
# One package for both programs, as openvpn, wireguard-tools and
# shadowsocks-libev ship theirs: the two share the man page proxy.conf(5),
# the docs and /etc/proxy, and are small (under 1 MB together); two
# packages would need a third for what they share.

set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:?usage: mkdeb.sh BUILD}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
WORK=$BIN/pkg		# dpkg's tools want a debian/ folder: ours is here
PKG=$WORK/debian/proxy	# the staged tree
DOC=$PKG/usr/share/doc/proxy

for t in dpkg-deb dpkg-shlibdeps dpkg-gencontrol dpkg-parsechangelog; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "mkdeb: no $t (apt-get install dpkg-dev, or make deps)" >&2; exit 1; }
done

# One version: debian/changelog's must be the programs' own.
version=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
prog=$(sed -n 's/^#define PROXY_VERSION "\(.*\)"$/\1/p' "$ROOT/common/version.h")
if [ "$version" != "$prog" ]; then
	echo "mkdeb: debian/changelog is at $version, common/version.h at $prog:" \
		"add a changelog entry (dch -v $prog)" >&2
	exit 1
fi

# The changelog's date for every time stamp dpkg-deb writes: the same
# source gives the same package.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(dpkg-parsechangelog \
	-l "$ROOT/debian/changelog" -S Timestamp)}
export SOURCE_DATE_EPOCH

rm -rf "$WORK"
mkdir -p "$WORK/debian"
cp "$ROOT/debian/control" "$ROOT/debian/changelog" "$WORK/debian/"

# Units where this distribution keeps them (/lib/systemd/system up to
# Debian 12, /usr/lib/systemd/system after the /usr merge).
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null) ||
	unitdir=/lib/systemd/system
[ -n "$unitdir" ] || unitdir=/lib/systemd/system

# -o all: install BUILD's binaries as they are (make deb just built them
# with the package's flags; `all` would rebuild them with the default ones).
MAKEFLAGS='' make -C "$ROOT" --no-print-directory -o all install BUILD="$BIN" \
	DESTDIR="$PKG" PREFIX=/usr SYSTEMDUNITDIR="$unitdir" >/dev/null

# What Debian's policy asks of the files (dh_strip, dh_compress and
# dh_installdocs would do this in a debhelper build).
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$PKG/usr/sbin/proxy-server" "$PKG/usr/bin/proxy-client"
gzip -9n "$PKG"/usr/share/man/man*/*
# The large docs compressed; the example configs stay plain at the path
# the man pages and server.conf's header give, ready to copy.
gzip -9n "$DOC/README.md" "$DOC/PROTOCOL.md"
gzip -9nc "$ROOT/debian/changelog" >"$DOC/changelog.gz"
install -m 0644 "$ROOT/debian/copyright" "$DOC/copyright"
install -D -m 0644 "$ROOT/debian/lintian-overrides" \
	"$PKG/usr/share/lintian/overrides/proxy"

mkdir -p "$PKG/DEBIAN"
install -m 0755 "$ROOT/debian/postinst" "$ROOT/debian/prerm" \
	"$ROOT/debian/postrm" "$PKG/DEBIAN/"

# Modes as a package wants them whatever the umask was.
find "$PKG" -type d -exec chmod 0755 {} +
find "$PKG" -path "$PKG/DEBIAN" -prune -o -type f -exec chmod 0644 {} +
chmod 0755 "$PKG/usr/sbin/proxy-server" "$PKG/usr/bin/proxy-client"

(cd "$PKG" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
	LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$PKG/DEBIAN/md5sums"

cd "$WORK"
dpkg-shlibdeps -Tdebian/proxy.substvars \
	debian/proxy/usr/sbin/proxy-server debian/proxy/usr/bin/proxy-client
dpkg-gencontrol -pproxy -Pdebian/proxy -Tdebian/proxy.substvars \
	-fdebian/files
chmod 0644 "$PKG/DEBIAN/control"

arch=$(dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null || dpkg --print-architecture)
deb=$BIN/proxy_${version}_${arch}.deb
rm -f "$BIN"/proxy_*.deb
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$deb" >/dev/null
echo "$deb"
