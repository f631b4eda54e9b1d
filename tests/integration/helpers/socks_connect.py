"""One raw SOCKS5 CONNECT, for checking reply codes.

usage: socks_connect.py SOCKS_HOST SOCKS_PORT DST_HOST DST_PORT
           [--domain] [--user U --password P] [--echo N] [--hold SECS]
           [--source ADDR]

Prints "rep=XX" (hex) and, on success, "bnd=HOST:PORT". With --echo N it
sends N random bytes and prints "echo=ok" or "echo=bad ...". With --hold
SECS it then keeps the flow open SECS seconds WITHOUT reading (a stalled
reader) and prints "held". --source ADDR connects from that local address.
Exit 0 if the exchange ran to its end (whatever the reply code), 1 on a
protocol/transport error (printed as "error=...").
"""
import argparse
import os
import sys
import time

import s5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socks_host")
    ap.add_argument("socks_port", type=int)
    ap.add_argument("dst_host")
    ap.add_argument("dst_port", type=int)
    ap.add_argument("--domain", action="store_true", help="send as ATYP 3")
    ap.add_argument("--user")
    ap.add_argument("--password", default="")
    ap.add_argument("--echo", type=int, default=0)
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--source", help="local address to connect from")
    a = ap.parse_args()
    try:
        s = s5.open_conn(a.socks_host, a.socks_port, a.timeout, a.source)
        if a.user is not None:
            m = s5.greet(s, b"\x02")
            if m != 2:
                print("method=%02x" % m)
                return 0
            st = s5.userpass(s, a.user, a.password)
            print("auth=%02x" % st)
            if st != 0:
                return 0
        else:
            m = s5.greet(s)
            if m != 0:
                print("method=%02x" % m)
                return 0
        rep, bh, bp = s5.request(s, 1, a.dst_host, a.dst_port, a.domain)
        print("rep=%02x" % rep)
        sys.stdout.flush()
        if rep != 0:
            return 0
        print("bnd=%s:%d" % (bh, bp))
        if a.echo:
            data = os.urandom(a.echo)
            s.sendall(data)
            got = s5.recv_exact(s, len(data))
            print("echo=ok" if got == data else "echo=bad (content differs)")
        if a.hold:
            sys.stdout.flush()
            time.sleep(a.hold)
            print("held")
        s.close()
        return 0
    except s5.Closed as e:
        print("error=closed after %d bytes" % len(e.args[0]))
    except Exception as e:  # noqa: BLE001 - report anything as an observation
        print("error=%s: %s" % (type(e).__name__, e))
    return 1


if __name__ == "__main__":
    sys.exit(main())
