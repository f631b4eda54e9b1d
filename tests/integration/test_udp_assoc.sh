#!/bin/bash
# A SOCKS5 UDP association lives as long as its TCP control connection,
# also across the server's udp-timeout (2 s here): the server ends its
# idle side, the client keeps the control connection and the relay port,
# and the next datagram is answered through a new server side. A datagram
# addressed by name (ATYP 3) is resolved on the server and answered with
# the address it came from.
. "$(dirname "$0")/../lib.sh"
H="$ROOT/tests/integration/helpers"
# shellcheck source=helpers/checks.sh
. "$H/checks.sh"

# localhost: 127.0.0.1 and ::1 both allowed, so whichever the server's
# resolver picks is a destination
export EXTRA_SERVER_CONF="udp-timeout 2s
allow 127.0.0.1/32"
check "udp assoc: start server (udp-timeout 2s) and client" start_pair || exit 1

U=$(free_port) && N=$(free_port) || exit 1
spawn uecho "$PY" "$H/udp_echo.py" 127.0.0.2 "$U"
spawn uname4 "$PY" "$H/udp_echo.py" 127.0.0.1 "$N"
spawn uname6 "$PY" "$H/udp_echo.py" ::1 "$N"
for e in uecho uname4 uname6; do
	check "udp assoc: echo server $e ready" ready "$e" || exit 1
done

OBS="$TMP/obs"
timeout 30 "$PY" "$H/udp_idle.py" "$SOCKS_PORT" 127.0.0.2 "$U" 4 localhost "$N" \
	>"$OBS" 2>&1
sed 's/^/# /' "$OBS"
check "udp assoc: UDP ASSOCIATE succeeds" has assoc_rep=00 "$OBS"
check "udp assoc: a datagram is echoed" has before=reply "$OBS"
check "udp assoc: the server ended the idle association (udp-timeout)" \
	grep -q ': udp-timeout$' "$(log_of server)"
check "udp assoc: the control connection stays open across it" \
	has ctl_after_idle=open "$OBS"
check "udp assoc: the next datagram on the same relay port is echoed" \
	has after_idle=reply "$OBS"
check "udp assoc: its reply carries the echo server's address" \
	has "after_idle_src=127.0.0.2:$U" "$OBS"
check "udp assoc: a datagram to localhost (ATYP 3) is answered" has name=reply "$OBS"
check "udp assoc: its reply carries the address the name resolved to" \
	grep -qxE "name_src=(127\.0\.0\.1|::1):$N" "$OBS"

check "udp assoc: server still running" kill -0 "$(pid_of server)"
check "udp assoc: client still running" kill -0 "$(pid_of client)"
