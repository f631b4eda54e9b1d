"""SOCKS5 CONNECT exchanges for the fast-open tests (hand-written SOCKS5).

usage: socks_fastopen.py echo SOCKS_HOST SOCKS_PORT DST_HOST DST_PORT
           [--size N] [--half-close] [--pipeline] [--timeout S]
       socks_fastopen.py refused SOCKS_HOST SOCKS_PORT DST_HOST DST_PORT
           [--timeout S]
       socks_fastopen.py flood SOCKS_HOST SOCKS_PORT DST_HOST DST_PORT
           [--flows N] [--size N] [--timeout S]

DST_HOST is sent as an IPv4/IPv6 literal when it is one, else as a name.
Times are in milliseconds from the moment the CONNECT request was sent.

echo: CONNECT to a TCP echo server; the moment the reply is read, send N
  random bytes (default 1024) from a second thread and, with --half-close,
  shutdown(SHUT_WR) right after them, while this thread reads the echo: up
  to N bytes, or with --half-close until end of file. --pipeline writes
  the greeting, the request and the first 64 KiB of data in ONE send
  before reading anything (a client that does not wait for the replies).
  Prints rep=XX, reply_ms, sent_ms (all data and the FIN handed to the
  kernel), first_ms (first echoed byte), then echo=ok or echo=bad with
  the byte counts, and with --half-close eof=1 when the echo ended in a
  clean end of file (eof=0 with the reason otherwise).
refused: CONNECT; print rep=XX and reply_ms; on success send a short
  request and wait: after=reset (the connection was reset), after=eof,
  after=data (bytes arrived: should not happen) or after=timeout, with
  after_ms.
flood: N flows at once (asyncio), each: greeting, CONNECT, and the moment
  its reply arrives SIZE random bytes and a half-close, then read until
  end of file; the echo must be exact. Prints flows=N ok=M and the first
  failures as "fail: ...".
Exit status 0 whenever the exchange ran (the test decides from the
output); 1 on a usage or transport error before the reply.
"""
import argparse
import asyncio
import os
import socket
import sys
import threading
import time

import s5


def ms(t0):
    return int((time.monotonic() - t0) * 1000)


def handshake(a, payload=b""):
    """Connects, greets, sends CONNECT (+ payload with --pipeline).
    Returns (sock, rep, t0)."""
    s = s5.open_conn(a.socks_host, a.socks_port, a.timeout)
    req = b"\x05\x01\x00" + s5.encode_addr(a.dst_host, a.dst_port)
    if payload:
        t0 = time.monotonic()
        s.sendall(b"\x05\x01\x00" + req + payload)
        if s5.recv_exact(s, 2) != b"\x05\x00":
            raise ValueError("greeting refused")
    else:
        if s5.greet(s) != 0:
            raise ValueError("greeting refused")
        t0 = time.monotonic()
        s.sendall(req)
    rep, _, _ = s5.read_reply(s)
    return s, rep, t0


def echo(a):
    data = os.urandom(a.size)
    first = data[:65536] if a.pipeline else b""
    s, rep, t0 = handshake(a, first)
    print("rep=%02x" % rep)
    print("reply_ms=%d" % ms(t0))
    if rep != 0:
        return 0
    sent = {}

    def writer():
        try:
            s.sendall(data[len(first):])
            if a.half_close:
                s.shutdown(socket.SHUT_WR)
            sent["ms"] = ms(t0)
        except OSError as e:
            sent["error"] = "%s" % e

    th = threading.Thread(target=writer)
    th.start()
    got = bytearray()
    first_ms = None
    end = "eof=0 (timeout)"
    try:
        while a.half_close or len(got) < len(data):
            chunk = s.recv(1 << 20)
            if not chunk:
                end = "eof=1"
                break
            if first_ms is None:
                first_ms = ms(t0)
            got += chunk
    except OSError as e:
        end = "eof=0 (%s)" % e
    th.join()
    print("sent_ms=%s" % sent.get("ms", "none " + sent.get("error", "")))
    print("first_ms=%s" % first_ms)
    if bytes(got) == data:
        print("echo=ok")
    else:
        same = 0
        while same < min(len(got), len(data)) and got[same] == data[same]:
            same += 1
        print("echo=bad got=%d want=%d same_prefix=%d" %
              (len(got), len(data), same))
    if a.half_close:
        print(end)
    s.close()
    return 0


def refused(a):
    s, rep, t0 = handshake(a)
    print("rep=%02x" % rep)
    print("reply_ms=%d" % ms(t0))
    if rep != 0:
        return 0
    try:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        chunk = s.recv(65536)
        what = "data bytes=%d" % len(chunk) if chunk else "eof"
    except ConnectionResetError:
        what = "reset"
    except BrokenPipeError:
        what = "reset"      # the RST came before our send
    except socket.timeout:
        what = "timeout"
    print("after=%s" % what)
    print("after_ms=%d" % ms(t0))
    s.close()
    return 0


async def one_flow(a, i):
    data = os.urandom(a.size)
    try:
        reader, writer = await asyncio.open_connection(a.socks_host,
                                                       a.socks_port)
        writer.write(b"\x05\x01\x00")
        if await reader.readexactly(2) != b"\x05\x00":
            return "flow %d: greeting refused" % i
        writer.write(b"\x05\x01\x00" + s5.encode_addr(a.dst_host, a.dst_port))
        head = await reader.readexactly(4)
        n = {1: 4, 4: 16}.get(head[3])
        if n is None:
            n = (await reader.readexactly(1))[0]
        await reader.readexactly(n + 2)
        if head[1] != 0:
            return "flow %d: CONNECT reply %02x" % (i, head[1])
        writer.write(data)
        writer.write_eof()
        got = await reader.read()   # to end of file
        writer.close()
        if got != data:
            return "flow %d: echo differs (%d of %d bytes)" % (
                i, len(got), len(data))
        return None
    except Exception as e:  # noqa: BLE001 - report anything as an observation
        return "flow %d: %s: %s" % (i, type(e).__name__, e)


async def flood_all(a):
    return await asyncio.gather(*[one_flow(a, i) for i in range(a.flows)])


def flood(a):
    try:
        results = asyncio.run(asyncio.wait_for(flood_all(a), a.timeout))
    except asyncio.TimeoutError:
        print("flows=%d ok=timeout after %.0f s" % (a.flows, a.timeout))
        return 0
    fails = [r for r in results if r]
    print("flows=%d ok=%d" % (a.flows, a.flows - len(fails)))
    for f in fails[:10]:
        print("fail: " + f)
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["echo", "refused", "flood"])
    ap.add_argument("socks_host")
    ap.add_argument("socks_port", type=int)
    ap.add_argument("dst_host")
    ap.add_argument("dst_port", type=int)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--flows", type=int, default=200)
    ap.add_argument("--half-close", action="store_true")
    ap.add_argument("--pipeline", action="store_true")
    ap.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    try:
        return {"echo": echo, "refused": refused, "flood": flood}[a.mode](a)
    except s5.Closed as e:
        print("error=closed after %d bytes" % len(e.args[0]))
    except Exception as e:  # noqa: BLE001 - report anything as an observation
        print("error=%s: %s" % (type(e).__name__, e))
    return 1


if __name__ == "__main__":
    sys.exit(main())
