"""Open N SOCKS5 CONNECTs and push bytes into each until nothing moves.

usage: socks_push.py SOCKS_PORT HOST PORT N SECONDS

For SECONDS, keeps writing to every flow whose socket takes data. Prints
"pushed BYTES" per flow and "reset K" for the flows the proxy ended.
"""
import select
import socket
import struct
import sys
import time


def open_flow(port, host, dport):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(host) +
              struct.pack(">H", dport))
    rep = s.recv(10)
    assert rep[1] == 0, rep
    s.setblocking(False)
    return s


def main():
    port, host, dport, n, secs = (int(sys.argv[1]), sys.argv[2],
                                  int(sys.argv[3]), int(sys.argv[4]),
                                  float(sys.argv[5]))
    flows = [open_flow(port, host, dport) for _ in range(n)]
    pushed = [0] * n
    dead = set()
    chunk = b"x" * 65536
    end = time.time() + secs
    while time.time() < end:
        live = [f for i, f in enumerate(flows) if i not in dead]
        _, w, _ = select.select(live, live, [], 0.2)
        for f in w:
            i = flows.index(f)
            try:
                pushed[i] += f.send(chunk)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                dead.add(i)
        for f in live:
            try:
                if f.recv(1) == b"":
                    dead.add(flows.index(f))
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                dead.add(flows.index(f))
    for b in pushed:
        print("pushed", b)
    print("reset", len(dead))


if __name__ == "__main__":
    main()
