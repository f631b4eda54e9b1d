"""UDP echo server on one address and one or more ports.

usage: udp_echo.py [--log] ADDR PORT [PORT...]

Each datagram is sent back unchanged from the port it arrived on, except
one starting with b"FROM:<port>:" which is answered from the socket bound
to <port> (one of ours) instead: a reply from a peer the client never sent
to, for the full-cone NAT check. Prints "ready" once bound. With --log it
also prints one line per datagram received,

    udp PEER_ADDR PEER_PORT LOCAL_PORT LENGTH

so a test can check where the traffic came from.
"""
import selectors
import socket
import sys


def main():
    args = sys.argv[1:]
    log = bool(args) and args[0] == "--log"
    if log:
        args = args[1:]
    addr = args[0]
    ports = [int(p) for p in args[1:]]
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sel = selectors.DefaultSelector()
    socks = {}
    for p in ports:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((addr, p))
        socks[p] = s
        sel.register(s, selectors.EVENT_READ, p)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            data, peer = s.recvfrom(65535)
            if log:
                print("udp %s %d %d %d" % (peer[0], peer[1], key.data,
                                           len(data)), flush=True)
            out = s
            if data.startswith(b"FROM:"):
                try:
                    out = socks[int(data.split(b":")[1])]
                except (ValueError, KeyError, IndexError):
                    pass
            out.sendto(data, peer)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
