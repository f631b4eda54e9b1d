"""Many concurrent SOCKS5 CONNECT flows (asyncio, hand-written SOCKS5).

usage: socks_flood.py SOCKS_HOST SOCKS_PORT DST_IP DST_PORT
           [--flows N] [--size BYTES] [--timeout SECS]

Opens N flows at once (greeting, CONNECT by IPv4/IPv6 literal), waits
until every one is established or failed, so all N are open at the same
time, then each sends SIZE random bytes and reads them back. With
SOCKS_HOST "-" it connects straight to DST (to validate the helper).
Prints "flows=N established=E matched=M" and the first few failures as
"fail: ...". Exit 0 only if every flow matched.
"""
import argparse
import asyncio
import ipaddress
import os
import struct
import sys

import s5


async def one_flow(a, i, established, go):
    ip = ipaddress.ip_address(a.dst_ip)
    try:
        if a.socks_host == "-":
            reader, writer = await asyncio.open_connection(a.dst_ip, a.dst_port)
        else:
            reader, writer = await asyncio.open_connection(a.socks_host, a.socks_port)
            writer.write(b"\x05\x01\x00")
            if await reader.readexactly(2) != b"\x05\x00":
                raise ValueError("greeting refused")
            atyp = b"\x01" if ip.version == 4 else b"\x04"
            writer.write(b"\x05\x01\x00" + atyp + ip.packed + struct.pack("!H", a.dst_port))
            rep = await s5.read_reply_async(reader)
            if rep != 0:
                raise ValueError("CONNECT reply %02x" % rep)
    except Exception as e:  # noqa: BLE001
        established.append(False)
        return "flow %d: connect: %s: %s" % (i, type(e).__name__, e)
    established.append(True)
    await go.wait()
    try:
        data = os.urandom(a.size)
        writer.write(data)
        await writer.drain()
        got = await reader.readexactly(len(data))
        writer.close()
        return None if got == data else "flow %d: data differs" % i
    except Exception as e:  # noqa: BLE001
        return "flow %d: exchange: %s: %s" % (i, type(e).__name__, e)


STATE = {"established": [], "done": 0}


async def counted(coro):
    r = await coro
    STATE["done"] += 1
    return r


async def run(a):
    established, go = STATE["established"], asyncio.Event()
    tasks = [asyncio.create_task(counted(one_flow(a, i, established, go)))
             for i in range(a.flows)]
    while len(established) < a.flows:
        await asyncio.sleep(0.05)
    go.set()
    results = await asyncio.gather(*tasks)
    fails = [r for r in results if r]
    print("flows=%d established=%d matched=%d" %
          (a.flows, sum(established), a.flows - len(fails)))
    for f in fails[:10]:
        print("fail: " + f)
    return 0 if not fails else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socks_host")
    ap.add_argument("socks_port", type=int)
    ap.add_argument("dst_ip")
    ap.add_argument("dst_port", type=int)
    ap.add_argument("--flows", type=int, default=1000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    try:
        return asyncio.run(asyncio.wait_for(run(a), a.timeout))
    except asyncio.TimeoutError:
        print("timeout after %.0f s: flows=%d established=%d finished=%d" %
              (a.timeout, a.flows, sum(STATE["established"]), STATE["done"]))
        return 1


if __name__ == "__main__":
    sys.exit(main())
