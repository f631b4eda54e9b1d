"""A TCP port where connects time out: listen(0) and never accept.

usage: tcp_blackhole.py ADDR PORT

The listener's accept queue (length 1 with backlog 0) is filled by one
connection of our own, so the kernel drops every later SYN and a connect
to ADDR:PORT hangs until the connector's own timeout. Prints "ready".
"""
import socket
import sys
import time


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(0)
    fill = []
    for _ in range(3):          # one fills the queue; the rest must time out
        c = socket.socket(family, socket.SOCK_STREAM)
        c.settimeout(0.5)
        try:
            c.connect((addr, port))
        except OSError:
            pass
        fill.append(c)
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
