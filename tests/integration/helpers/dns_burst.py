"""Many DNS queries over UDP at once, with clashing transaction ids.

usage: dns_burst.py SERVER PORT COUNT DOMAIN WANT [--timeout S]

Sends 2 * COUNT A queries for distinct names under DOMAIN, all before
reading any answer:
  - COUNT from COUNT sockets, every one with the same transaction id
    (a forwarder that keyed its pending queries on the asker's id alone
    would mix them up);
  - COUNT from one shared socket, each with its own id.
Then reads until every query is answered or S seconds (default 8) pass,
resending the unanswered ones once halfway. An answer is good when its id
is the one sent on that socket, its question is the name asked, RCODE is
0 and it holds one A record WANT. Prints one line per bad answer, then
sent=N answered=M good=G mismatched=X, and exits 0 whatever it saw (the
test decides).
"""
import os
import select
import socket
import struct
import sys
import time


def query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!HH", 1, 1)


def read_name(msg, off):
    labels, jumped, end = [], False, off
    for _ in range(128):
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            off = ((n & 0x3F) << 8) | msg[off + 1]
            jumped = True
            continue
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    if not jumped:
        end = off
    return ".".join(labels).lower(), end


def parse(msg):
    """(id, rcode, qname, [A addresses]) or raises."""
    qid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    off = 12
    qname = None
    for _ in range(qd):
        name, off = read_name(msg, off)
        off += 4
        qname = qname or name
    addrs = []
    for _ in range(an):
        _, off = read_name(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        if rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(msg[off:off + 4]))
        off += rdlen
    return qid, flags & 0xF, qname, addrs


def main():
    args = sys.argv[1:]
    timeout = 8.0
    if "--timeout" in args:
        i = args.index("--timeout")
        timeout = float(args[i + 1])
        del args[i:i + 2]
    server, port, count, domain, want = args
    port, count = int(port), int(count)
    tag = os.urandom(3).hex()
    family = socket.AF_INET6 if ":" in server else socket.AF_INET

    # (socket, id) -> name; every query not answered yet
    pending = {}
    same_id = 0x4242
    socks = []
    for i in range(count):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.setblocking(False)
        socks.append(s)
        pending[(s, same_id)] = "same%d-%s.%s" % (i, tag, domain)
    shared = socket.socket(family, socket.SOCK_DGRAM)
    shared.setblocking(False)
    socks.append(shared)
    for i in range(count):
        pending[(shared, 0x1000 + i)] = "shared%d-%s.%s" % (i, tag, domain)
    asked = dict(pending)

    def send_all():
        for (s, qid), name in list(pending.items()):
            s.sendto(query(qid, name), (server, port))

    send_all()
    sent = len(pending)
    answered = good = mismatched = 0
    start = time.monotonic()
    resent = False
    while pending:
        left = timeout - (time.monotonic() - start)
        if left <= 0:
            break
        if not resent and left < timeout / 2:
            send_all()
            resent = True
        ready, _, _ = select.select(socks, [], [], min(left, 0.2))
        for s in ready:
            while True:
                try:
                    msg = s.recv(65535)
                except BlockingIOError:
                    break
                try:
                    qid, rcode, qname, addrs = parse(msg)
                except Exception as e:  # noqa: BLE001 - report, go on
                    print("bad: unparsable answer (%s)" % e)
                    mismatched += 1
                    continue
                name = asked.get((s, qid))
                if name is None or qname != name:
                    print("bad: id %#06x question %s on a socket that "
                          "asked %s" % (qid, qname, name))
                    mismatched += 1
                    continue
                if (s, qid) not in pending:
                    continue  # the answer to a resent query
                del pending[(s, qid)]
                answered += 1
                if rcode == 0 and addrs == [want]:
                    good += 1
                else:
                    print("bad: %s rcode %d addresses %s" %
                          (name, rcode, addrs))
    for name in sorted(pending.values()):
        print("unanswered: %s" % name)
    print("sent=%d answered=%d good=%d mismatched=%d" %
          (sent, answered, good, mismatched))


if __name__ == "__main__":
    main()
