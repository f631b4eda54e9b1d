"""Many SOCKS5 CONNECTs open at the same time, held open; counts the replies.

usage: socks_hold.py SOCKS_HOST SOCKS_PORT DST_IP DST_PORT
           [--flows N] [--answer-timeout SECS] [--echo BYTES]
           [--hold SECS] [--release FILE]

Opens N connections to the SOCKS server at once; each sends a greeting
(no auth) and a CONNECT to DST_IP:DST_PORT and waits up to answer-timeout
(default 5) for the whole exchange. Every connection stays open whatever
happened to it. With --echo, each flow that got reply 00 then sends BYTES
random bytes and reads them back (all of them concurrently). Prints one
key=value line each:

  flows=N        connections attempted
  rep00=K ...    one line per reply code seen, in hex (rep01=, rep05=, ...)
  noanswer=K     connected, no (complete) reply within answer-timeout
  closed=K       the SOCKS server closed or reset before replying
  connerr=K      the TCP connect to the SOCKS server itself failed
  echo_ok=K      (with --echo) flows whose echo came back intact

then "held" and keeps every connection open until FILE exists (with
--release) or SECS seconds passed (--hold, default 0: release at once),
then closes them all and prints "released". Exit 0 when it ran to the
end, whatever it saw: the test decides.
"""
import argparse
import asyncio
import collections
import ipaddress
import os
import struct
import sys

import s5


async def one(a, counts, open_flows):
    ip = ipaddress.ip_address(a.dst_ip)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(a.socks_host, a.socks_port), a.answer_timeout)
    except (OSError, asyncio.TimeoutError):
        counts["connerr"] += 1
        return
    idx = len(open_flows)
    open_flows.append((reader, writer, None))

    async def exchange():
        writer.write(b"\x05\x01\x00")
        if await reader.readexactly(2) != b"\x05\x00":
            raise ValueError("greeting refused")
        atyp = b"\x01" if ip.version == 4 else b"\x04"
        writer.write(b"\x05\x01\x00" + atyp + ip.packed +
                     struct.pack("!H", a.dst_port))
        return await s5.read_reply_async(reader)

    try:
        rep = await asyncio.wait_for(exchange(), a.answer_timeout)
    except asyncio.TimeoutError:
        counts["noanswer"] += 1
        return
    except (asyncio.IncompleteReadError, ConnectionError, OSError, ValueError):
        counts["closed"] += 1
        return
    counts["rep%02x" % rep] += 1
    if rep == 0:
        open_flows[idx] = (reader, writer, True)


async def echo(reader, writer, size, timeout):
    data = os.urandom(size)
    try:
        writer.write(data)
        await writer.drain()
        got = await asyncio.wait_for(reader.readexactly(size), timeout)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, OSError):
        return False
    return got == data


async def run(a):
    counts = collections.Counter()
    open_flows = []
    await asyncio.gather(*(one(a, counts, open_flows) for _ in range(a.flows)))
    print("flows=%d" % a.flows)
    for k in sorted(counts):
        print("%s=%d" % (k, counts[k]))
    if a.echo:
        ok = await asyncio.gather(*(echo(r, w, a.echo, a.answer_timeout * 4)
                                    for r, w, good in open_flows if good))
        print("echo_ok=%d" % sum(ok))
    print("held", flush=True)
    loop = asyncio.get_running_loop()
    end = loop.time() + a.hold
    while loop.time() < end:
        if a.release and os.path.exists(a.release):
            break
        await asyncio.sleep(0.1)
    for _, w, _ in open_flows:
        w.close()
    await asyncio.sleep(0.2)
    print("released", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socks_host")
    ap.add_argument("socks_port", type=int)
    ap.add_argument("dst_ip")
    ap.add_argument("dst_port", type=int)
    ap.add_argument("--flows", type=int, default=10)
    ap.add_argument("--answer-timeout", type=float, default=5)
    ap.add_argument("--echo", type=int, default=0)
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--release")
    a = ap.parse_args()
    if a.release and a.hold == 0:
        a.hold = 3600
    asyncio.run(run(a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
