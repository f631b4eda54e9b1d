"""A stranger at the server's UDP port (the datagram path): captures one
real client packet off the wire, then sends packets nobody holding the
tunnel's keys could make valid, each from a socket of its own, and checks
that none is ever answered.

usage: udp_stranger.py IFACE SERVER_IP PORT

Needs root (an AF_PACKET socket on IFACE, in the client's namespace).
Prints "captured=yes" (a client->server packet of the path seen within
5 s) or "captured=no", then one line per attempt, "NAME replies=N" (N
datagrams came back within 1 s; 0 is right):
  short      5 bytes
  junk       300 random bytes (an unknown tunnel id)
  replayed   the captured packet again, byte for byte
  forged     the captured packet with a counter far ahead and one
             ciphertext byte changed (the right id, a wrong tag)
  newcounter the captured packet with only the counter changed (the tag
             no longer matches its header)
"""
import os
import select
import socket
import struct
import sys
import time


def capture(iface, server, port):
    # ETH_P_ALL: a socket bound to one protocol sees only what comes in
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
    s.bind((iface, 0))
    end = time.time() + 5
    dst = socket.inet_aton(server)
    while time.time() < end:
        r, _, _ = select.select([s], [], [], max(0, end - time.time()))
        if not r:
            break
        pkt, where = s.recvfrom(70000)
        if where[1] != 0x0800 or len(pkt) < 28 or pkt[9] != 17 or \
                pkt[16:20] != dst:
            continue
        ihl = (pkt[0] & 15) * 4
        if struct.unpack("!H", pkt[ihl + 2:ihl + 4])[0] != port:
            continue
        return pkt[ihl + 8:]
    return None


def attempt(name, server, port, payload):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    s.sendto(payload, (server, port))
    replies = 0
    end = time.time() + 1
    while True:
        left = end - time.time()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            break
        try:
            s.recv(70000)
            replies += 1
        except OSError:
            pass  # an ICMP error would be the kernel's, not the server's
    print("%s replies=%d" % (name, replies), flush=True)


def main():
    iface, server, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    real = capture(iface, server, port)
    print("captured=%s" % ("yes" if real else "no"), flush=True)
    attempt("short", server, port, b"hello")
    attempt("junk", server, port, os.urandom(300))
    if not real:
        return 0
    attempt("replayed", server, port, real)
    ahead = struct.pack("!Q", struct.unpack("!Q", real[8:16])[0] + 100000)
    body = bytearray(real[16:])
    body[0] ^= 1
    attempt("forged", server, port, real[:8] + ahead + bytes(body))
    ahead = struct.pack("!Q", struct.unpack("!Q", real[8:16])[0] + 200000)
    attempt("newcounter", server, port, real[:8] + ahead + real[16:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
