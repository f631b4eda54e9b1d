"""Plain UDP from several source ports to several peers, for the TPROXY
limits (max-udp-assocs, max-udp-peers) in test_transparent.sh.

usage: udp_sources.py DEST PORT1 ... PORTn [--sources N] [--rounds R]

N ordinary sockets (N source ports, default 4) each send one datagram to
each DEST:PORT in turn, R rounds (default 2), and wait up to 3 s for its
echo before the next one: one datagram in flight at a time. Prints
sent=S answered=A right_source=R (replies that came from the address
and port the datagram was sent to) and a "wrong: ..." line for each
miss. Exit 0 whenever it ran: the test decides.
"""
import os
import socket
import sys


def option(a, name, default):
    if name in a:
        i = a.index(name)
        value = int(a[i + 1])
        del a[i:i + 2]
        return value
    return default


def main():
    a = sys.argv[1:]
    nsrc = option(a, "--sources", 4)
    rounds = option(a, "--rounds", 2)
    dest, ports = a[0], [int(p) for p in a[1:]]
    family = socket.AF_INET6 if ":" in dest else socket.AF_INET
    socks = []
    for _ in range(nsrc):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind(("", 0))
        s.settimeout(3)
        socks.append(s)
    sent = answered = right = 0
    for r in range(rounds):
        for i, s in enumerate(socks):
            for p in ports:
                msg = b"round %d source %d peer %d " % (r, i, p) + os.urandom(8)
                s.sendto(msg, (dest, p))
                sent += 1
                try:
                    while True:
                        data, src = s.recvfrom(65535)
                        if data == msg:
                            break
                except socket.timeout:
                    print("wrong: no answer to round %d source %d peer %d"
                          % (r, i, p), flush=True)
                    continue
                answered += 1
                if src[0] == dest and src[1] == p:
                    right += 1
                else:
                    print("wrong: answer from %r for %s:%d" % (src, dest, p),
                          flush=True)
    print("sent=%d answered=%d right_source=%d" % (sent, answered, right),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
