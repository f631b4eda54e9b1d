"""Datagrams a SOCKS5 UDP association cannot carry, and the largest it can.

usage: udp_drops.py SOCKS_PORT ECHO_HOST ECHO_PORT

One association (to an IPv4 echo server), each step printed as one
key=value line for the test to assert:
  src_port      this helper's UDP source port (the client logs it)
  no_header     3 bare payloads with no SOCKS UDP header: reply | noreply
  huge          2 datagrams of 60,000 bytes of payload: reply | noreply
  fragment      1 datagram with FRAG=1: reply | noreply
  max_fits      16,369 bytes of payload (the most a frame takes to an IPv4
                peer): reply | noreply
  over_by_one   16,370 bytes: reply | noreply
  after         a small datagram after all that: reply | noreply
SOCKS host is 127.0.0.1.
"""
import os
import sys

import s5

MAX_V4 = 16369


def main():
    socks_port = int(sys.argv[1])
    host, port = sys.argv[2], int(sys.argv[3])
    ctl, rep, bound, relay, u = s5.udp_associate("127.0.0.1", socks_port)
    if rep != 0:
        print("assoc_rep=%02x" % rep)
        return 1
    print("src_port=%d" % u.getsockname()[1])
    # a datagram to the echo first: the association is open end to end
    if s5.udp_exchange(u, relay, host, port, b"first") is None:
        print("first=noreply")
        return 1

    def answered(payload, wait=1.0):
        u.settimeout(wait)
        try:
            while True:
                data = u.recvfrom(65535)[0]
                if s5.parse_udp(data)[3] == payload:
                    return True
        except OSError:
            return False

    bare = b"hello without a header " + os.urandom(8)
    for _ in range(3):
        u.sendto(bare, relay)
    print("no_header=%s" % ("reply" if answered(bare) else "noreply"))
    huge = os.urandom(60000)
    for _ in range(2):
        u.sendto(s5.udp_header(host, port) + huge, relay)
    print("huge=%s" % ("reply" if answered(huge) else "noreply"))
    r = s5.udp_exchange(u, relay, host, port, b"frag " + os.urandom(8),
                        frag=1, wait=1.0)
    print("fragment=%s" % ("noreply" if r is None else "reply"))
    r = s5.udp_exchange(u, relay, host, port, os.urandom(MAX_V4), wait=3.0)
    print("max_fits=%s" % ("noreply" if r is None else "reply"))
    r = s5.udp_exchange(u, relay, host, port, os.urandom(MAX_V4 + 1),
                        wait=1.0)
    print("over_by_one=%s" % ("noreply" if r is None else "reply"))
    r = s5.udp_exchange(u, relay, host, port, b"after " + os.urandom(8))
    print("after=%s" % ("noreply" if r is None else "reply"))
    ctl.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
