"""A TCP target that accepts and never reads, so senders fill its buffers.

usage: tcp_noread.py ADDR PORT

Prints "ready" once listening; keeps every accepted socket open.
"""
import socket
import sys
import time


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2])))
    s.listen(64)
    print("ready", flush=True)
    held = []
    while True:
        c, _ = s.accept()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        held.append(c)


if __name__ == "__main__":
    main()
