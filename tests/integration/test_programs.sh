#!/bin/bash
# The README's command lines for programs nobody on the project wrote,
# run as written against a real tunnel, each seen on the server's log
# (a flow to the test's destination) so a program that quietly went
# direct fails: Chromium with --proxy-bypass-list='<-loopback>' (and,
# without it, the loopback bypass the README warns about); Firefox with
# the README's user.js, with and without
# network.proxy.allow_hijacking_localhost; git over git:// through
# GIT_PROXY_COMMAND and core.gitProxy with OpenBSD nc -X 5, git over http
# through ALL_PROXY=socks5h:// and http.proxy; ssh with ProxyCommand nc
# -X 5. Destinations on 127.0.0.2 (the test's server allows it). A
# program that is not installed skips its checks (make deps installs
# them).

. "$(dirname "$0")/../lib.sh"
need_cmd curl
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

check "tunnel up" start_pair || exit 1
SOCKS="127.0.0.1:$SOCKS_PORT"
DEST=127.0.0.2

# went_through MARK PORT: since server log line MARK, the server opened a
# flow to $DEST:PORT.
went_through() {
	logged_since "$1" "flow [0-9]+: open $DEST:$2\$"
}

# not_through MARK PORT: ... and here it did not.
not_through() {
	! log_since "$1" | grep -qE "flow [0-9]+: open $DEST:$2\$" ||
		{ echo "a flow to $DEST:$2 went through the tunnel"; return 1; }
}

mark() { wc -l <"$(log_of server)"; }

# ---------------------------------------------------------------- browsers

WWW=$(free_port) || exit 1
mkdir -p "$TMP/www" && echo '<html><body><p id="m">through-the-tunnel</p></body></html>' \
	>"$TMP/www/index.html"
check "web page on $DEST" http_serve www "$DEST" "$WWW" "$TMP/www" || exit 1
URL="http://$DEST:$WWW/"

CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
if [ -n "$CHROMIUM" ]; then
	# --no-sandbox: Chromium refuses to run as root with its sandbox
	chromium_get() {	# EXTRA_ARGS...: the page's DOM on stdout
		timeout 60 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu \
			--user-data-dir="$TMP/chromium" --proxy-server="socks5://$SOCKS" \
			"$@" --dump-dom "$URL" 2>"$TMP/chromium.err"
	}
	chromium_through() {
		local m
		m=$(mark)
		chromium_get --proxy-bypass-list='<-loopback>' >"$TMP/dom" &&
			grep -q through-the-tunnel "$TMP/dom" && went_through "$m" "$WWW"
	}
	check "chromium --proxy-bypass-list='<-loopback>': page through the tunnel" \
		chromium_through
	chromium_bypass() {
		local m
		m=$(mark)
		chromium_get >"$TMP/dom" && grep -q through-the-tunnel "$TMP/dom" &&
			not_through "$m" "$WWW"
	}
	check "chromium without it: loopback goes direct (as the README warns)" \
		chromium_bypass
else
	skip "chromium" "not installed (make deps installs it)"
fi

FIREFOX=$(command -v firefox-esr || command -v firefox)
if [ -n "$FIREFOX" ]; then
	firefox_get() {	# HIJACK(true|false): a screenshot of the page
		local prof=$TMP/firefox-$1
		rm -rf "$prof" && mkdir -p "$prof" || return 1
		cat >"$prof/user.js" <<EOF
user_pref("network.proxy.type", 1);
user_pref("network.proxy.socks", "127.0.0.1");
user_pref("network.proxy.socks_port", $SOCKS_PORT);
user_pref("network.proxy.socks_version", 5);
user_pref("network.proxy.socks_remote_dns", true);
user_pref("network.proxy.allow_hijacking_localhost", $1);
EOF
		rm -f "$TMP/ff.png"
		HOME=$prof timeout 60 "$FIREFOX" --headless --profile "$prof" \
			--screenshot "$TMP/ff.png" "$URL" >"$TMP/firefox.log" 2>&1 &&
			[ -s "$TMP/ff.png" ]
	}
	firefox_through() {
		local m
		m=$(mark)
		firefox_get true && went_through "$m" "$WWW"
	}
	check "firefox, README's user.js with allow_hijacking_localhost: through the tunnel" \
		firefox_through
	firefox_bypass() {
		local m
		m=$(mark)
		firefox_get false && not_through "$m" "$WWW"
	}
	check "firefox without allow_hijacking_localhost: loopback goes direct" \
		firefox_bypass
else
	skip "firefox" "not installed (make deps installs it)"
fi

# ---------------------------------------------------------------- git, ssh

if command -v nc >/dev/null 2>&1 && nc -h 2>&1 | grep -q OpenBSD; then
	NC=1
else
	NC=0
	skip "git:// and ssh through nc -X 5" "no OpenBSD netcat (make deps installs netcat-openbsd)"
fi

if command -v git >/dev/null 2>&1; then
	export GIT_CONFIG_NOSYSTEM=1 HOME=$TMP/home
	mkdir -p "$HOME" "$TMP/repos"
	git init -q --bare "$TMP/repos/r.git" &&
		git -C "$TMP/repos/r.git" symbolic-ref HEAD refs/heads/main &&
		git init -q "$TMP/work" && echo "$RANDOM$RANDOM" >"$TMP/work/f" &&
		git -C "$TMP/work" add f &&
		git -C "$TMP/work" -c user.name=t -c user.email=t@t.invalid commit -qm one &&
		git -C "$TMP/work" push -q "$TMP/repos/r.git" HEAD:refs/heads/main &&
		git -C "$TMP/repos/r.git" update-server-info || exit 1

	# cloned DIR MARK PORT: the clone has the file, and came by the tunnel
	cloned() {
		cmp "$TMP/work/f" "$1/f" && went_through "$2" "$3"
	}

	GITHTTP=$(free_port) || exit 1
	check "git: dumb http server" http_serve githttp "$DEST" "$GITHTTP" "$TMP/repos"
	git_all_proxy() {
		local m
		m=$(mark)
		ALL_PROXY=socks5h://$SOCKS git clone -q "http://$DEST:$GITHTTP/r.git" \
			"$TMP/c-allproxy" && cloned "$TMP/c-allproxy" "$m" "$GITHTTP"
	}
	check "git clone http:// with ALL_PROXY=socks5h://" git_all_proxy
	git_http_proxy() {
		local m
		m=$(mark)
		git -c http.proxy="socks5h://$SOCKS" clone -q \
			"http://$DEST:$GITHTTP/r.git" "$TMP/c-httpproxy" &&
			cloned "$TMP/c-httpproxy" "$m" "$GITHTTP"
	}
	check "git clone http:// with http.proxy socks5h://" git_http_proxy

	if [ "$NC" = 1 ]; then
		GITD=$(free_port) || exit 1
		spawn gitd git daemon --export-all --base-path="$TMP/repos" \
			--listen="$DEST" --port="$GITD" --reuseaddr
		check "git daemon" wait_tcp "$DEST" "$GITD" 10
		# the README's proxy command, with the test's SOCKS port
		# shellcheck disable=SC2016 # $1 and $2 are the script's own
		printf '#!/bin/sh\nexec nc -X 5 -x %s "$1" "$2"\n' "$SOCKS" >"$TMP/git-socks"
		chmod 755 "$TMP/git-socks"
		git_proxy_command() {
			local m
			m=$(mark)
			GIT_PROXY_COMMAND=$TMP/git-socks git clone -q \
				"git://$DEST:$GITD/r.git" "$TMP/c-gpc" &&
				cloned "$TMP/c-gpc" "$m" "$GITD"
		}
		check "git clone git:// with GIT_PROXY_COMMAND (nc -X 5)" git_proxy_command
		git_core_proxy() {
			local m
			m=$(mark)
			git -c core.gitProxy="$TMP/git-socks" clone -q \
				"git://$DEST:$GITD/r.git" "$TMP/c-core" &&
				cloned "$TMP/c-core" "$m" "$GITD"
		}
		check "git clone git:// with core.gitProxy" git_core_proxy
	fi
else
	skip "git" "not installed (make deps installs it)"
fi

if [ "$NC" = 1 ] && [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null 2>&1 &&
	command -v ssh-keygen >/dev/null 2>&1; then
	SSHD=$(free_port) || exit 1
	S=$TMP/ssh
	mkdir -p "$S" && ssh-keygen -q -t ed25519 -N '' -f "$S/host" &&
		ssh-keygen -q -t ed25519 -N '' -f "$S/user" &&
		cp "$S/user.pub" "$S/authorized_keys" || exit 1
	# sshd wants its privilege separation folder; made here only if absent
	if [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd && on_exit "rmdir /run/sshd 2>/dev/null"
	fi
	cat >"$S/sshd_config" <<EOF
Port $SSHD
ListenAddress $DEST
HostKey $S/host
AuthorizedKeysFile $S/authorized_keys
AllowUsers $(id -un)
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
PidFile none
EOF
	spawn sshd /usr/sbin/sshd -D -e -f "$S/sshd_config"
	check "sshd on $DEST" wait_tcp "$DEST" "$SSHD" 10
	ssh_proxy_command() {
		local m out
		m=$(mark)
		out=$(timeout 30 ssh -F /dev/null -i "$S/user" -o BatchMode=yes \
			-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
			-o ProxyCommand="nc -X 5 -x $SOCKS %h %p" -p "$SSHD" \
			"$(id -un)@$DEST" echo ssh-through-the-tunnel 2>&1)
		echo "$out"
		grep -qx ssh-through-the-tunnel <<<"$out" && went_through "$m" "$SSHD"
	}
	check "ssh -o ProxyCommand='nc -X 5 -x ...'" ssh_proxy_command
else
	skip "ssh" "needs sshd, ssh and OpenBSD netcat"
fi
