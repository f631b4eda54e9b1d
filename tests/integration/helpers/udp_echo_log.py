"""UDP echo server that logs the source of every datagram it receives.

usage: udp_echo_log.py ADDR PORT [PORT...]

Like udp_echo.py (each datagram is sent back unchanged from the port it
arrived on; one starting with b"FROM:<port>:" is answered from our socket
bound to <port> instead, a peer the sender never addressed), and prints one
line per datagram received:

    udp PEER_ADDR PEER_PORT LOCAL_PORT LENGTH

so a test can check where the traffic came from. Prints "ready" once bound.
"""
import selectors
import socket
import sys


def main():
    addr = sys.argv[1]
    ports = [int(p) for p in sys.argv[2:]]
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sel = selectors.DefaultSelector()
    socks = {}
    for p in ports:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind((addr, p))
        socks[p] = s
        sel.register(s, selectors.EVENT_READ, p)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            data, peer = s.recvfrom(65535)
            print("udp %s %d %d %d" % (peer[0], peer[1], key.data, len(data)),
                  flush=True)
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
