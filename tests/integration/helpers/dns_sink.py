"""A name server that never answers, and a stranger who does.

usage: dns_sink.py ADDR PORT FORGED-ADDR [wrong-question]

Listens for DNS queries on UDP ADDR:PORT and answers none of them from
there. For each query it prints
    query id=N src=IP:PORT name=NAME
and then, from another socket (an ephemeral port on ADDR: not the name
server the asker addressed), sends an answer that matches the query (same
id, same question) with one A record FORGED-ADDR, as an off-path attacker
who guessed the id would. With wrong-question it then also answers from
the name server's own address, with the right id but another question
(QTYPE AAAA for A): an answer to something not asked. Prints "ready"
once listening; runs until killed.
"""
import socket
import struct
import sys


def qname(msg):
    labels, off = [], 12
    while off < len(msg) and msg[off]:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels), off + 1 + 4   # end of the question


def main():
    addr, port, forged = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    wrong_question = sys.argv[4:] == ["wrong-question"]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind((addr, 0))
    print("ready", flush=True)
    while True:
        msg, src = s.recvfrom(65535)
        if len(msg) < 12:
            continue
        qid = struct.unpack("!H", msg[:2])[0]
        name, end = qname(msg)
        print("query id=%d src=%s:%d name=%s" % (qid, src[0], src[1], name),
              flush=True)
        answer = (struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) +
                  msg[12:end] + b"\xc0\x0c" +
                  struct.pack("!HHIH", 1, 1, 300, 4) +
                  socket.inet_aton(forged))
        stranger.sendto(answer, src)
        if wrong_question:
            other = answer[:end - 4] + struct.pack("!H", 28) + answer[end - 2:]
            s.sendto(other, src)


if __name__ == "__main__":
    main()
