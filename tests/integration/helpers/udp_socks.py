"""UDP through SOCKS5 with PySocks (a real third-party SOCKS client).

usage:
  udp_socks.py integrity SOCKS_PORT HOST PORT [--count N] [--window W]
      N datagrams of random sizes 1..1400 and random contents, at most W in
      flight; each echo is matched by content. Prints "sent=N received=R
      intact=I lost=L corrupt=C".
  udp_socks.py sources SOCKS_PORT HOST PORT1 PORT2 [PORT3]
      ONE association sends to PORT1 and PORT2 (alternating) and checks the
      source recvfrom() reports for each reply. Prints "replies=R
      right_source=S" and "wrong: ..." lines. With PORT3: asks the echo
      server at PORT1 to answer from PORT3 (never sent to) and prints
      "fullcone=ok" or "fullcone=none" / "fullcone=wrong ...".
  udp_socks.py once SOCKS_PORT HOST PORT
      one datagram; prints "reply=yes" or "reply=no" (none within 2 s).
SOCKS_PORT "-" talks to HOST directly (to validate the helper). SOCKS host
is 127.0.0.1.
"""
import collections
import os
import random
import socket
import sys

import socks


def make_sock(socks_port, family):
    """A UDP socket to send to a destination of the given family. Through
    the proxy it is always AF_INET (the proxy is at 127.0.0.1; PySocks
    cannot bind an AF_INET6 UDP socksocket) and IPv6 destinations go as
    ATYP 4 in the SOCKS header."""
    if socks_port == "-":
        s = socket.socket(family, socket.SOCK_DGRAM)
    else:
        s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
        s.set_proxy(socks.SOCKS5, "127.0.0.1", int(socks_port))
    s.settimeout(3)
    return s


def integrity(argv):
    socks_port, host, port = argv[0], argv[1], int(argv[2])
    count = int(argv[argv.index("--count") + 1]) if "--count" in argv else 300
    window = int(argv[argv.index("--window") + 1]) if "--window" in argv else 16
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = make_sock(socks_port, fam)
    rnd = random.Random(12345)
    payloads = []
    for i in range(count):
        size = (1, 1400)[i] if i < 2 else rnd.randint(1, 1400)
        payloads.append(os.urandom(size))
    outstanding = collections.Counter()   # short payloads may repeat
    received = intact = corrupt = 0
    nxt = 0
    while nxt < count or outstanding:
        while nxt < count and sum(outstanding.values()) < window:
            s.sendto(payloads[nxt], (host, port))
            outstanding[payloads[nxt]] += 1
            nxt += 1
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            outstanding.clear()   # what is still outstanding is lost
            continue
        received += 1
        if outstanding[data] > 0:
            outstanding[data] -= 1
            if not outstanding[data]:
                del outstanding[data]
            intact += 1
        else:
            corrupt += 1
    lost = count - intact
    print("sent=%d received=%d intact=%d lost=%d corrupt=%d" %
          (nxt, received, intact, lost, corrupt))
    return 0


def sources(argv):
    socks_port, host = argv[0], argv[1]
    ports = [int(p) for p in argv[2:4]]
    port3 = int(argv[4]) if len(argv) > 4 else None
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = make_sock(socks_port, fam)
    replies = right = 0
    for i in range(20):
        p = ports[i % 2]
        msg = b"to %d #%d " % (p, i) + os.urandom(16)
        s.sendto(msg, (host, p))
        try:
            data, src = s.recvfrom(65535)
        except socket.timeout:
            print("wrong: no reply to datagram %d sent to port %d" % (i, p))
            continue
        replies += 1
        if data == msg and src[0] == host and src[1] == p:
            right += 1
        else:
            print("wrong: sent to %s:%d, reply %r from %r" % (host, p, data[:12], src))
    print("replies=%d right_source=%d" % (replies, right))
    if port3:
        msg = b"FROM:%d:" % port3 + os.urandom(8)
        s.sendto(msg, (host, ports[0]))
        try:
            data, src = s.recvfrom(65535)
            if data == msg and src[0] == host and src[1] == port3:
                print("fullcone=ok")
            else:
                print("fullcone=wrong %r from %r" % (data[:12], src))
        except socket.timeout:
            print("fullcone=none")
    return 0


def once(argv):
    socks_port, host, port = argv[0], argv[1], int(argv[2])
    s = make_sock(socks_port, socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(2)
    msg = b"once " + os.urandom(8)
    s.sendto(msg, (host, port))
    try:
        data, _ = s.recvfrom(65535)
        print("reply=yes" if data == msg else "reply=other")
    except socket.timeout:
        print("reply=no")
    return 0


def main():
    mode = sys.argv[1]
    return {"integrity": integrity, "sources": sources,
            "once": once}[mode](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
