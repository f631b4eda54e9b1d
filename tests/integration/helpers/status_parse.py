"""Reads the output of `proxy-client status` and `proxy-server status`,
as the table or as --json (parsed with the json module).

usage:
  status_parse.py client FILE
      prints "format=table|json", "state=", "server=", "tls=", "flows=N"
      (the count the tunnel reports), "rows=N" (flows listed) and one line
      per listed flow: "flow KIND SOURCE DESTINATION UP DOWN STATE", bytes
      as integers (from the table: the shown figure times its unit). From
      JSON also "rtt_ms=" and, after each TCP flow's line, "window SOURCE
      DESTINATION BYTES" (its receive window).
  status_parse.py server FILE
      prints "format=", "connected=N" and one line per client:
      "client USER PEER flows=N sent=N received=N".
  status_parse.py agree client|server TABLE JSON1 JSON2
      TABLE was taken between JSON1 and JSON2: the same flows (or
      clients), the same counts, and every byte figure of the table
      between the JSON ones (within the rounding of the table's "12.3
      MiB"). Prints "agree=yes" or "agree=no" and what differs; exit 1
      when they differ.
Exit 1 when FILE is neither a status table nor valid JSON ("error=...").
"""
import json
import re
import sys

UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
         "TiB": 1 << 40}
BYTES = r"([0-9.]+ (?:B|KiB|MiB|GiB|TiB))"


class Bad(Exception):
    pass


def size(text):
    """'16.3 MiB' -> (bytes, tolerance of the rounding)."""
    num, unit = text.split()
    mult = UNITS[unit]
    tol = 0 if mult == 1 else mult // 20 + 1
    return int(float(num) * mult), tol


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def client_table(text):
    d = {"format": "table", "flows_list": []}
    m = re.search(r"^tunnel +(\S+), server (\S+)$", text, re.M)
    if not m:
        raise Bad("no 'tunnel STATE, server ADDR' line")
    d["state"], d["server"] = m.group(1), m.group(2)
    m = re.search(r"^since +.* ago, (.*)$", text, re.M)
    d["tls"] = m.group(1) if m else ""
    m = re.search(r"^traffic +%s sent, %s received$" % (BYTES, BYTES), text,
                  re.M)
    if not m:
        raise Bad("no 'traffic' line")
    d["sent"], d["received"] = size(m.group(1)), size(m.group(2))
    m = re.search(r"^flows +(\d+)$", text, re.M)
    if not m:
        raise Bad("no 'flows N' line")
    d["flows"] = int(m.group(1))
    if not re.search(r"^KIND +SOURCE +DESTINATION +AGE +UP +DOWN +STATE$",
                     text, re.M):
        raise Bad("no flow table header")
    row = re.compile(r"^(TCP|UDP) +(\S+) +(\S+) +(.+?) +%s +%s +(\S+)$"
                     % (BYTES, BYTES))
    for line in text.splitlines():
        m = row.match(line)
        if m:
            d["flows_list"].append({
                "kind": m.group(1), "source": m.group(2),
                "destination": m.group(3), "up": size(m.group(5)),
                "down": size(m.group(6)), "state": m.group(7)})
    return d


def client_json(text):
    j = json.loads(text)
    t = j["tunnel"]
    return {"format": "json", "state": t["state"], "server": t["server"],
            "tls": t["tls"], "flows": t["flows"], "rtt_ms": t.get("rtt_ms"),
            "sent": (t["bytes_sent"], 0),
            "received": (t["bytes_received"], 0),
            "flows_list": [{"kind": f["kind"], "source": f["source"],
                            "destination": f["destination"],
                            "up": (f["bytes_up"], 0),
                            "down": (f["bytes_down"], 0),
                            "state": f["state"], "window": f.get("window")}
                           for f in j["flows"]]}


def server_table(text):
    m = re.search(r"^(\d+) connected", text, re.M)
    if not m:
        raise Bad("no 'N connected' line")
    d = {"format": "table", "connected": int(m.group(1)), "clients": []}
    # a last column, WORKER, when the server runs several workers
    if not re.search(r"^USER +PEER +SINCE +FLOWS +SENT +RECEIVED( +WORKER)?$",
                     text, re.M):
        raise Bad("no client table header")
    row = re.compile(r"^(\S+) +(\S+) +(.+?) +(\d+) +%s +%s(?: +\d+)?$"
                     % (BYTES, BYTES))
    for line in text.splitlines():
        m = row.match(line)
        if m:
            d["clients"].append({
                "user": m.group(1), "peer": m.group(2),
                "flows": int(m.group(4)), "sent": size(m.group(5)),
                "received": size(m.group(6))})
    return d


def server_json(text):
    j = json.loads(text)
    cl = [{"user": c["user"], "peer": c["peer"], "flows": c["flows"],
           "sent": (c["bytes_sent"], 0),
           "received": (c["bytes_received"], 0)} for c in j["clients"]]
    return {"format": "json", "connected": len(cl), "clients": cl}


def parse(kind, path):
    text = read(path)
    if text.lstrip().startswith("{"):
        try:
            return client_json(text) if kind == "client" else \
                server_json(text)
        except (ValueError, KeyError, TypeError) as e:
            raise Bad("JSON: %s: %s" % (type(e).__name__, e))
    return client_table(text) if kind == "client" else server_table(text)


def show(kind, d):
    print("format=%s" % d["format"])
    if kind == "client":
        print("state=%s" % d["state"])
        print("server=%s" % d["server"])
        print("tls=%s" % d["tls"])
        print("flows=%d" % d["flows"])
        if d.get("rtt_ms") is not None:
            print("rtt_ms=%s" % d["rtt_ms"])
        print("rows=%d" % len(d["flows_list"]))
        for f in d["flows_list"]:
            print("flow %s %s %s %d %d %s" % (
                f["kind"], f["source"], f["destination"], f["up"][0],
                f["down"][0], f["state"]))
            if f.get("window") is not None:
                print("window %s %s %d" % (f["source"], f["destination"],
                                           f["window"]))
    else:
        print("connected=%d" % d["connected"])
        for c in d["clients"]:
            print("client %s %s flows=%d sent=%d received=%d" % (
                c["user"], c["peer"], c["flows"], c["sent"][0],
                c["received"][0]))


def between(what, t, lo, hi, bad):
    v, tol = t
    if not lo[0] - tol <= v <= hi[0] + tol:
        bad.append("%s: table %d (+-%d) not within %d..%d of the JSON"
                   % (what, v, tol, lo[0], hi[0]))


def agree(kind, table, j1, j2):
    bad = []
    if table["format"] != "table" or j1["format"] != "json" or \
            j2["format"] != "json":
        bad.append("want a table and two JSON outputs")
        return bad
    if kind == "client":
        for k in ("state", "server", "tls", "flows"):
            if not table[k] == j1[k] == j2[k]:
                bad.append("%s: table %r, JSON %r then %r"
                           % (k, table[k], j1[k], j2[k]))
        n = (len(table["flows_list"]), len(j1["flows_list"]),
             len(j2["flows_list"]))
        if len(set(n)) != 1 or n[0] != table["flows"]:
            bad.append("listed flows: table %d (says %d), JSON %d then %d"
                       % (n[0], table["flows"], n[1], n[2]))
        between("tunnel bytes sent", table["sent"], j1["sent"], j2["sent"],
                bad)
        between("tunnel bytes received", table["received"], j1["received"],
                j2["received"], bad)
        key = ("kind", "source", "destination")
        items, name = table["flows_list"], "flow %s %s -> %s"
    else:
        if not table["connected"] == j1["connected"] == j2["connected"]:
            bad.append("connected: table %d, JSON %d then %d" % (
                table["connected"], j1["connected"], j2["connected"]))
        key = ("user", "peer")
        items, name = table["clients"], "client %s %s"
    lists = "flows_list" if kind == "client" else "clients"
    for it in items:
        k = tuple(it[x] for x in key)
        m1 = [x for x in j1[lists] if tuple(x[y] for y in key) == k]
        m2 = [x for x in j2[lists] if tuple(x[y] for y in key) == k]
        label = name % k
        if len(m1) != 1 or len(m2) != 1:
            bad.append("%s: in the table, %d and %d times in the JSON"
                       % (label, len(m1), len(m2)))
            continue
        if kind == "client":
            between(label + " up", it["up"], m1[0]["up"], m2[0]["up"], bad)
            between(label + " down", it["down"], m1[0]["down"],
                    m2[0]["down"], bad)
        else:
            if not it["flows"] == m1[0]["flows"] == m2[0]["flows"]:
                bad.append("%s flows: table %d, JSON %d then %d" % (
                    label, it["flows"], m1[0]["flows"], m2[0]["flows"]))
            between(label + " sent", it["sent"], m1[0]["sent"],
                    m2[0]["sent"], bad)
            between(label + " received", it["received"],
                    m1[0]["received"], m2[0]["received"], bad)
    return bad


def main():
    try:
        if sys.argv[1] == "agree":
            kind = sys.argv[2]
            d = [parse(kind, p) for p in sys.argv[3:6]]
            bad = agree(kind, *d)
            print("agree=%s" % ("no" if bad else "yes"))
            for b in bad:
                print(b)
            return 1 if bad else 0
        kind = sys.argv[1]
        show(kind, parse(kind, sys.argv[2]))
        return 0
    except (Bad, OSError, IndexError) as e:
        print("error=%s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
