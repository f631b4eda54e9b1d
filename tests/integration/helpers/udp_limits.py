"""The server's UDP limits seen from SOCKS5 clients.

usage:
  udp_limits.py assocs SOCKS_PORT HOST PORT
      UDP ASSOCIATE by hand (to see the reply code) against a server with
      max-udp-assocs 2: associations 1 and 2 echo a datagram through
      HOST:PORT; a third is asked for; 1 and 2 echo again; 1 is closed
      (its TCP control connection) and a fourth is asked for. Prints
      a1=yes|no a2=yes|no rep3=XX a1_after=.. a2_after=.. rep4=XX
      a4=yes|no (XX the REP byte in hex, "closed" if the connection
      ended without a reply).
  udp_limits.py peers SOCKS_PORT HOST PORT1 ... PORTn
      ONE association (PySocks) sends a datagram to each port in turn and
      waits 1.5 s for its echo; then to each port that answered, again;
      then asks the echo server at PORT1 to answer from PORTn (a peer
      whose datagrams were dropped). Prints answered=P,P,... (the ports
      that answered, in order), again=N (how many answered the second
      time) and fullcone=ok|none|wrong.
SOCKS host is 127.0.0.1. Exit 0 whenever it ran: the test decides.
"""
import os
import socket
import sys

import socks

import s5


def assoc(socks_port):
    """A UDP association: (control connection, relay address, REP)."""
    ctl = s5.open_conn("127.0.0.1", socks_port, timeout=10)
    s5.greet(ctl)
    try:
        rep, bh, bp = s5.request(ctl, 3, "0.0.0.0", 0)
    except s5.Closed:
        return ctl, None, "closed"
    relay = (bh if bh not in ("0.0.0.0", "::") else "127.0.0.1", bp)
    return ctl, relay, "%02x" % rep


def echoes(u, relay, host, port):
    """One datagram through the relay: 'yes' when it comes back."""
    if relay is None:
        return "no"
    payload = os.urandom(12)
    u.sendto(s5.udp_header(host, port) + payload, relay)
    u.settimeout(3)
    try:
        while True:
            data, _ = u.recvfrom(65535)
            if s5.parse_udp(data)[3] == payload:
                return "yes"
    except socket.timeout:
        return "no"


def assocs(argv):
    socks_port, host, port = int(argv[0]), argv[1], int(argv[2])
    sockets = []
    for _ in range(4):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        sockets.append(u)
    c1, r1, rep1 = assoc(socks_port)
    c2, r2, rep2 = assoc(socks_port)
    print("rep1=%s" % rep1)
    print("rep2=%s" % rep2)
    print("a1=%s" % echoes(sockets[0], r1, host, port))
    print("a2=%s" % echoes(sockets[1], r2, host, port))
    c3, r3, rep3 = assoc(socks_port)
    print("rep3=%s" % rep3)
    print("a3=%s" % echoes(sockets[2], r3 if rep3 == "00" else None,
                           host, port))
    print("a1_after=%s" % echoes(sockets[0], r1, host, port))
    print("a2_after=%s" % echoes(sockets[1], r2, host, port))
    c1.close()
    c3.close()
    c4, r4, rep4 = assoc(socks_port)
    print("rep4=%s" % rep4)
    print("a4=%s" % echoes(sockets[3], r4 if rep4 == "00" else None,
                           host, port))
    print("a2_end=%s" % echoes(sockets[1], r2, host, port))
    c2.close()
    c4.close()
    return 0


def peers(argv):
    socks_port, host = int(argv[0]), argv[1]
    ports = [int(p) for p in argv[2:]]
    s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
    s.set_proxy(socks.SOCKS5, "127.0.0.1", socks_port)

    def ask(port, msg, wait=1.5):
        s.sendto(msg, (host, port))
        s.settimeout(wait)
        try:
            while True:
                data, src = s.recvfrom(65535)
                if data == msg:
                    return src
        except socket.timeout:
            return None

    answered = [p for p in ports if ask(p, b"peer %d " % p + os.urandom(8))]
    print("answered=%s" % ",".join(str(p) for p in answered))
    again = sum(1 for p in answered if ask(p, b"again " + os.urandom(8)))
    print("again=%d" % again)
    msg = b"FROM:%d:" % ports[-1] + os.urandom(8)
    src = ask(ports[0], msg, wait=3)
    if src is None:
        print("fullcone=none")
    elif src[0] == host and src[1] == ports[-1]:
        print("fullcone=ok")
    else:
        print("fullcone=wrong %r" % (src,))
    return 0


def main():
    return {"assocs": assocs, "peers": peers}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
