"""One SOCKS5 UDP association through PySocks, held open.

usage: udp_hold.py SOCKS_PORT HOST PORT [--hold SECS] [--release FILE]
                   [--flood N --size BYTES --flood-after FILE]

Opens a UDP association through the SOCKS5 server at 127.0.0.1:SOCKS_PORT
(PySocks does the UDP ASSOCIATE on the first sendto), sends one datagram
to HOST:PORT (an echo server) and prints "reply=yes" or "reply=no" (none
within 3 s). With --flood it then waits for FILE to exist and sends N
datagrams of BYTES to HOST:PORT as fast as it can, ignoring errors, and
prints "flooded N" (how they fare is for the test to see). Then it
prints "held" and keeps the association (and its TCP
control connection) open until FILE exists (with --release) or SECS
seconds passed (default 30), and prints "released". Exit 0 when it ran to
the end, whatever it saw: the test decides.
"""
import argparse
import os
import socket
import time

import socks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socks_port", type=int)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--hold", type=float, default=30)
    ap.add_argument("--release")
    ap.add_argument("--flood", type=int, default=0)
    ap.add_argument("--size", type=int, default=1200)
    ap.add_argument("--flood-after")
    a = ap.parse_args()
    s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
    s.set_proxy(socks.SOCKS5, "127.0.0.1", a.socks_port)
    s.settimeout(3)
    s.sendto(b"status test", (a.host, a.port))
    try:
        data, _ = s.recvfrom(2048)
        print("reply=yes" if data == b"status test" else "reply=wrong",
              flush=True)
    except socket.timeout:
        print("reply=no", flush=True)
    end = time.monotonic() + a.hold
    if a.flood:
        while a.flood_after and not os.path.exists(a.flood_after):
            if time.monotonic() > end:
                return
            time.sleep(0.05)
        payload = os.urandom(a.size)
        for _ in range(a.flood):
            try:
                s.sendto(payload, (a.host, a.port))
            except OSError:
                pass
        print("flooded %d" % a.flood, flush=True)
    print("held", flush=True)
    while time.monotonic() < end:
        if a.release and os.path.exists(a.release):
            break
        time.sleep(0.1)
    s.close()
    print("released", flush=True)


if __name__ == "__main__":
    main()
