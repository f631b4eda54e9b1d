"""PySocks (a real third-party SOCKS client) for the split routing test.

usage:
  split_socks.py connect SOCKS_PORT HOST PORT
      one CONNECT (HOST as a name when it is not an address, resolved by
      the proxy); prints "connect=ok" or "connect=error CODE" where CODE
      is the SOCKS5 reply ("0x02") or the exception.
  split_socks.py udp SOCKS_PORT HOST PORT [HOST PORT]...
      ONE association sends 5 datagrams to each peer in turn; prints
      "peer=HOST:PORT replies=N right=M" per peer (right: the echo came
      back intact and from the peer's own address).
The proxy is at 127.0.0.1.
"""
import os
import re
import socket
import sys

import socks


def connect(argv):
    port, host, dport = int(argv[0]), argv[1], int(argv[2])
    s = socks.socksocket(socket.AF_INET, socket.SOCK_STREAM)
    s.set_proxy(socks.SOCKS5, "127.0.0.1", port, rdns=True)
    s.settimeout(10)
    try:
        s.connect((host, dport))
        print("connect=ok")
    except socks.ProxyError as e:
        # "Socket error: 0x02: Connection not allowed by ruleset"
        code = re.search(r"\b0x[0-9a-fA-F]{2}\b", str(e))
        print("connect=error %s" % (code.group(0) if code else
                                     str(e).replace(" ", "_")))
    finally:
        s.close()
    return 0


def udp(argv):
    port = int(argv[0])
    peers = [(argv[i], int(argv[i + 1])) for i in range(1, len(argv), 2)]
    s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
    s.set_proxy(socks.SOCKS5, "127.0.0.1", port)
    s.settimeout(3)
    got = {p: [0, 0] for p in peers}
    for i in range(5):
        for p in peers:
            msg = b"split %d " % i + os.urandom(12)
            s.sendto(msg, p)
            try:
                data, src = s.recvfrom(65535)
            except socket.timeout:
                continue
            got[p][0] += 1
            if data == msg and socket.inet_pton(
                    socket.AF_INET6 if ":" in p[0] else socket.AF_INET,
                    p[0]) == socket.inet_pton(
                    socket.AF_INET6 if ":" in src[0] else socket.AF_INET,
                    src[0]) and src[1] == p[1]:
                got[p][1] += 1
    for p in peers:
        print("peer=%s:%d replies=%d right=%d" % (p[0], p[1], got[p][0],
                                                  got[p][1]))
    return 0


def main():
    return {"connect": connect, "udp": udp}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
