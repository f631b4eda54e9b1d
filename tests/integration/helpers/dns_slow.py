"""A name server that answers every query, but only after a delay.

usage: dns_slow.py ADDR PORT DELAY ANSWER-IPV4

Listens for DNS queries on UDP ADDR:PORT. Each query is answered DELAY
seconds after it arrived (others are not held up meanwhile): an A query
with one A record ANSWER-IPV4, any other type with no record (NOERROR).
Prints "query name=NAME type=N" per query and "ready" once listening; runs
until killed. A server resolving through it takes DELAY seconds to learn
an address, so its outbound connect starts that much later.
"""
import heapq
import select
import socket
import struct
import sys
import time


def question_end(msg):
    off = 12
    while off < len(msg) and msg[off]:
        off += 1 + msg[off]
    return off + 1 + 4


def qname(msg):
    labels, off = [], 12
    while off < len(msg) and msg[off]:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels)


def answer(msg, ip):
    end = question_end(msg)
    qtype = struct.unpack("!H", msg[end - 4:end - 2])[0]
    rr = b""
    if qtype == 1:
        # name pointer to the question, A, IN, TTL 1, 4 bytes
        rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 1, 4) + socket.inet_aton(ip)
    flags = 0x8180 | (struct.unpack("!H", msg[2:4])[0] & 0x0100)
    hdr = msg[:2] + struct.pack("!HHHHH", flags, 1, 1 if rr else 0, 0, 0)
    return hdr + msg[12:end] + rr, qtype


def main():
    addr, port = sys.argv[1], int(sys.argv[2])
    delay, ip = float(sys.argv[3]), sys.argv[4]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    print("ready", flush=True)
    due = []    # (time, seq, reply, src)
    seq = 0
    while True:
        wait = max(0.0, due[0][0] - time.monotonic()) if due else None
        r, _, _ = select.select([s], [], [], wait)
        if r:
            msg, src = s.recvfrom(65535)
            if len(msg) < 17:
                continue
            reply, qtype = answer(msg, ip)
            print("query name=%s type=%d" % (qname(msg), qtype), flush=True)
            seq += 1
            heapq.heappush(due, (time.monotonic() + delay, seq, reply, src))
        while due and due[0][0] <= time.monotonic():
            _, _, reply, src = heapq.heappop(due)
            s.sendto(reply, src)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
