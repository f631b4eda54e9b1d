"""TCP echo server (asyncio): echoes every byte back until the peer closes.

usage: tcp_echo.py ADDR PORT [--log-accepts]

Prints "ready" once listening; with --log-accepts, one "accept HOST PORT"
line per connection (so a test can check that none arrived).
"""
import argparse
import asyncio
import sys


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("--log-accepts", action="store_true")
    a = ap.parse_args()

    async def handle(reader, writer):
        if a.log_accepts:
            peer = writer.get_extra_info("peername")
            print("accept %s %s" % (peer[0], peer[1]), flush=True)
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, a.addr, a.port, backlog=4096,
                                        reuse_address=True)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
