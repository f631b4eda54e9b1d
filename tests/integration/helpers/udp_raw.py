"""SOCKS5 UDP ASSOCIATE by hand, to check the corner cases PySocks hides.

usage: udp_raw.py SOCKS_PORT ECHO_HOST ECHO_PORT [ECHO6_HOST ECHO6_PORT]

Steps, each printed as one key=value observation line (the test asserts):
  assoc_rep     REP of a UDP ASSOCIATE sent with DST 0.0.0.0:0
  bnd           BND.ADDR:BND.PORT of that reply
  frag1         a datagram with FRAG=1 to the echo server: reply | noreply
  frag0         then the same with FRAG=0: reply | noreply | badreply ...
  frag0_src     source address in the reply header
  ipv6          (with ECHO6) a datagram to an IPv6 echo (ATYP 4): reply | ...
  after_close   after closing the TCP control connection, a datagram to
                the old relay port: reply | noreply
SOCKS host is 127.0.0.1.
"""
import os
import sys
import time

import s5


def main():
    socks_port = int(sys.argv[1])
    host, port = sys.argv[2], int(sys.argv[3])
    ctl, rep, bound, relay, u = s5.udp_associate("127.0.0.1", socks_port)
    print("assoc_rep=%02x" % rep)
    print("bnd=%s:%d" % bound)
    if rep != 0:
        return 0

    r = s5.udp_exchange(u, relay, host, port, b"frag1 " + os.urandom(8),
                        frag=1, wait=1.5)
    print("frag1=%s" % ("noreply" if r is None else "reply"))
    payload = b"frag0 " + os.urandom(8)
    r = s5.udp_exchange(u, relay, host, port, payload)
    if r is None:
        print("frag0=noreply")
    else:
        print("frag0=%s" % ("reply" if r[0] == 0 else "badreply frag=%d" % r[0]))
        print("frag0_src=%s:%d" % (r[1], r[2]))
    if len(sys.argv) > 5:
        h6, p6 = sys.argv[4], int(sys.argv[5])
        r = s5.udp_exchange(u, relay, h6, p6, b"v6 " + os.urandom(8))
        if r is None:
            print("ipv6=noreply")
        else:
            print("ipv6=reply")
            print("ipv6_src=%s:%d" % (r[1], r[2]))

    ctl.close()
    time.sleep(0.5)
    r = s5.udp_exchange(u, relay, host, port, b"late " + os.urandom(8), wait=2.0)
    print("after_close=%s" % ("noreply" if r is None else "reply"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
