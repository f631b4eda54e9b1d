"""Plain (no proxy settings) TCP and UDP probes for the transparent tests.

usage: plain_probe.py udp DEST PORT PAYLOAD [--from-port P] [--tries N]
       plain_probe.py tcp DEST PORT PAYLOAD
       plain_probe.py reach DEST PORT [--tries N]

udp: sends PAYLOAD to DEST:PORT from an ordinary socket (with --from-port,
     prefixed with b"FROM:P:" so that udp_echo.py answers from its port
     P, a peer this socket never addressed) and waits for the reply, trying
     three times. Prints reply=ok|none, intact=1|0 and src=ADDR:PORT (the
     source address of the reply; [ADDR]:PORT for IPv6).
tcp: connects, sends PAYLOAD, reads it back. Prints echo=ok|bad and
     peer=ADDR:PORT (what getpeername says the far end is), or
     echo=error.
reach: one TCP connect (N seconds allowed, default 2). Prints
     reach=connected, reach=refused (the host answered: it is reachable),
     reach=unreachable or reach=timeout.
Exit status 0 whenever the probe ran, whatever it saw: the test decides.
"""
import socket
import sys


def fmt(addr):
    host, port = addr[0], addr[1]
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def udp(dest, port, payload, from_port, tries):
    family = socket.AF_INET6 if ":" in dest else socket.AF_INET
    data = payload.encode()
    if from_port:
        data = b"FROM:%d:" % from_port + data
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(2)
    for _ in range(tries):
        s.sendto(data, (dest, port))
        try:
            got, src = s.recvfrom(65535)
        except socket.timeout:
            continue
        print("reply=ok")
        print("intact=%d" % (got == data))
        print("src=%s" % fmt(src))
        return
    print("reply=none")


def tcp(dest, port, payload):
    data = payload.encode()
    try:
        s = socket.create_connection((dest, port), timeout=5)
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError as e:
        print("echo=error %s" % e)
        return
    print("echo=%s" % ("ok" if got == data else "bad"))
    print("peer=%s" % fmt(s.getpeername()))
    s.close()


def reach(dest, port, secs):
    family = socket.AF_INET6 if ":" in dest else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(secs)
    try:
        s.connect((dest, port))
        print("reach=connected")
    except ConnectionRefusedError:
        print("reach=refused")
    except socket.timeout:
        print("reach=timeout")
    except OSError as e:
        print("reach=unreachable %s" % e)
    s.close()


def option(a, name, default):
    if name in a:
        i = a.index(name)
        value = int(a[i + 1])
        del a[i:i + 2]
        return value
    return default


def main():
    a = sys.argv[1:]
    from_port = option(a, "--from-port", 0)
    tries = option(a, "--tries", 0)
    kind, dest, port = a[0], a[1], int(a[2])
    if kind == "udp":
        udp(dest, port, a[3], from_port, tries or 3)
    elif kind == "tcp":
        tcp(dest, port, a[3])
    else:
        reach(dest, port, tries or 2)


if __name__ == "__main__":
    main()
