#!/usr/bin/python3
"""Turns the bench's raw results (system, key, value lines) into the table
and the JSON file: every figure with its ratio to the best peer (ssh -D,
shadowsocks-libev, trojan) in the same run."""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess

PEERS = ["ssh", "ssh-aes", "ss-aes", "ss-chacha", "trojan"]
GIB = 1 << 30


def num(raw, key):
    try:
        return float(raw[key])
    except (KeyError, ValueError):
        return None


def cpu_per_gib(side, test="dl1"):
    """CPU seconds of SIDE per GiB moved by the single-flow TEST (dl1: keys
    cpu_SIDE_s; ul1: cpu_SIDE_ul_s)."""
    key = "_ul" if test == "ul1" else ""

    def f(raw):
        s, b = num(raw, "cpu_%s%s_s" % (side, key)), num(raw, test + "_bytes")
        return s / (b / GIB) if s is not None and b else None
    return f


def giga(key):
    def f(raw):
        v = num(raw, key)
        return v / 1e9 if v else None
    return f


def mem_mib(side, n):
    def f(raw):
        v = num(raw, "mem_%s_%d" % (side, n))
        return v / 1024 if v is not None else None
    return f


def kib_per_flow(side, n):
    def f(raw):
        v0, v1 = num(raw, "mem_%s_0" % side), num(raw, "mem_%s_%d" % (side, n))
        flows = num(raw, "mem_flows_%d" % n)
        if v0 is None or v1 is None or not flows:
            return None
        return max(v1 - v0, 0) / flows
    return f


def round_trips(delay_ms):
    def f(raw):
        slow, fast = num(raw, "slow_ttfb_p50_ms"), num(raw, "ttfb1_ttfb_p50_ms")
        if slow is None or fast is None or not delay_ms:
            return None
        return max(slow - fast, 0) / (2 * delay_ms)
    return f


def metrics(idle_steps, delay_ms):
    """(key, label, unit, better, getter); better: hi, lo or None."""
    m = [
        ("dl1", "download, 1 flow", "MB/s", "hi", "dl1_mbps"),
        ("ul1", "upload, 1 flow", "MB/s", "hi", "ul1_mbps"),
        ("dl8", "download, 8 flows", "MB/s", "hi", "dl8_mbps"),
        ("cpu_client", "client CPU per GiB downloaded", "s", "lo",
         cpu_per_gib("client")),
        ("cpu_server", "server CPU per GiB downloaded", "s", "lo",
         cpu_per_gib("server")),
        ("cpu_client_ul", "client CPU per GiB uploaded", "s", "lo",
         cpu_per_gib("client", "ul1")),
        ("cpu_server_ul", "server CPU per GiB uploaded", "s", "lo",
         cpu_per_gib("server", "ul1")),
        ("cpu_path", "one TCP connection's CPU per GiB, both ends", "s",
         None, cpu_per_gib("path")),
        ("aes_gcm", "AES-128-GCM on one core (openssl speed)", "GB/s", None,
         giga("aes_gcm_bps")),
        ("ttfb1_p50", "new flow, 1st echo byte p50 (serial)", "ms", "lo",
         "ttfb1_ttfb_p50_ms"),
        ("ttfb1_p99", "new flow, 1st echo byte p99 (serial)", "ms", "lo",
         "ttfb1_ttfb_p99_ms"),
        ("ttfb16_p50", "new flow, 1st echo byte p50 (16 at once)", "ms", "lo",
         "ttfb16_ttfb_p50_ms"),
        ("ttfb16_p99", "new flow, 1st echo byte p99 (16 at once)", "ms", "lo",
         "ttfb16_ttfb_p99_ms"),
        ("flows_per_s", "new flows per second (16 at once)", "/s", "hi",
         "ttfb16_flows_per_s"),
        ("tcp_rtt_p50", "TCP 1-byte ping-pong RTT p50", "ms", "lo",
         "pp_rtt_p50_ms"),
        ("tcp_rtt_p99", "TCP 1-byte ping-pong RTT p99", "ms", "lo",
         "pp_rtt_p99_ms"),
        ("udp64_p50", "UDP RTT 64 B p50", "ms", "lo", "udp64_rtt_p50_ms"),
        ("udp64_p99", "UDP RTT 64 B p99", "ms", "lo", "udp64_rtt_p99_ms"),
        ("udp1200_p50", "UDP RTT 1200 B p50", "ms", "lo", "udp1200_rtt_p50_ms"),
        ("udp_rate", "UDP 64 B datagrams/s, <1% loss", "/s", "hi",
         "udprate_pps"),
        ("load_udp_p50", "under load: UDP RTT p50", "ms", "lo",
         "load_udp_p50_ms"),
        ("load_udp_p99", "under load: UDP RTT p99", "ms", "lo",
         "load_udp_p99_ms"),
        ("load_tcp_p50", "under load: TCP RTT p50", "ms", "lo",
         "load_tcp_p50_ms"),
        ("load_tcp_p99", "under load: TCP RTT p99", "ms", "lo",
         "load_tcp_p99_ms"),
        ("load_dl", "under load: the download", "MB/s", "hi", "load_dl_mbps"),
    ]
    for side in ("client", "server"):
        for n in [0] + idle_steps:
            m.append(("mem_%s_%d" % (side, n),
                      "%s RSS, %d idle flows" % (side, n), "MiB", "lo",
                      mem_mib(side, n)))
        if idle_steps:
            n = idle_steps[-1]
            if side == "client":
                m.append(("idle_open_%d" % n,
                          "idle flows open (of %d asked)" % n, "", "hi",
                          "mem_flows_%d" % n))
                prev = idle_steps[-2] if len(idle_steps) > 1 else 0
                m.append(("idle_open_s_%d" % n,
                          "s to open idle flows %d to %d, 32 at once"
                          % (prev, n), "s", "lo", "mem_open_s_%d" % n))
            m.append(("kib_per_flow_%s" % side,
                      "%s KiB per idle flow (at %d)" % (side, n), "KiB", "lo",
                      kib_per_flow(side, n)))
    if delay_ms:
        m.append(("slow_ttfb_p50",
                  "new flow p50, %g ms each way" % delay_ms, "ms", "lo",
                  "slow_ttfb_p50_ms"))
        m.append(("round_trips", "round trips to open a flow", "", "lo",
                  round_trips(delay_ms)))
        m.append(("slow_dl", "download, 1 flow, %g ms each way" % delay_ms,
                  "MB/s", "hi", "slow_mbps"))
    return m


LOSSY = [
    ("dl", "single download", "MB/s", "hi", "dl_mbps"),
    ("alone", "single download, nothing beside it", "MB/s", "hi",
     "alone_mbps"),
    ("udp_p50", "UDP 64 B every 20 ms beside it, p50", "ms", "lo",
     "udp_p50_ms"),
    ("udp_p99", "same, p99", "ms", "lo", "udp_p99_ms"),
    ("tcp_p50", "TCP echo every 20 ms beside it, p50", "ms", "lo",
     "tcp_p50_ms"),
    ("idle_udp_p99", "UDP 64 B RTT p99, no download", "ms", "lo",
     "idle_rtt_p99_ms"),
]


def secs(key, none):
    """Seconds from the raw figure; NONE (a text) when the tool said -1."""
    def f(raw):
        v = num(raw, key)
        if v is None:
            return None
        return none if v < 0 else v
    return f


def hold_outcome(raw):
    """How the held download ended, and when."""
    e = raw.get("outage_hold_end")
    if not e:
        return None
    t, tc = num(raw, "outage_hold_end_s"), num(raw, "outage_hold_end_cut_s")
    if e == "complete" or e == "stalled":
        return e
    if t is not None and t >= 0:
        return "%s, %s s after the return" % (e, fmt(t))
    if tc is not None and tc >= 0:
        return "%s, %s s into the outage" % (e, fmt(tc))
    return e


def hold_mib(raw):
    """MiB before the cut / by the return / in all: a tuple, shown as
    "a / b / c" (over rounds, the median of each)."""
    v = [num(raw, "outage_hold_" + k) for k in ("at_cut", "at_back", "bytes")]
    if None in v:
        return None
    return tuple(x / (1 << 20) for x in v)


def done_s(raw):
    """Seconds from the return to the download's end, when complete."""
    if raw.get("outage_hold_end") != "complete":
        return None
    return secs("outage_hold_end_s", None)(raw)


def outage_metrics(wait):
    none = "none in %s s" % wait
    return [
        ("outage_back", "new flow: 1st echo byte, s after the link returns",
         "s", "lo", secs("outage_back_s", none)),
        ("outage_hold", "held download: how it ended", "", None,
         hold_outcome),
        ("outage_resume", "held download: 1st new byte, s after the return",
         "s", "lo", secs("outage_hold_resume_s", "none")),
        ("outage_done", "held download: complete, s after the return", "s",
         "lo", done_s),
        ("outage_mib", "held download: MiB before the cut / by the return "
         "/ in all", "", None, hold_mib),
    ]


def summary(got):
    """Rounds that gave text (or text and numbers): each distinct value
    with how many rounds gave it."""
    vals = [v if isinstance(v, str) else fmt(v) for v in got if v is not None]
    if not vals:
        return None
    if len(set(vals)) == 1:
        return vals[0]
    return ", ".join("%s x%d" % (v, vals.count(v)) for v in dict.fromkeys(vals))


def lossy_levels(rounds):
    """The loss rates measured, as their key strings, in numeric order."""
    got = {k.split("_")[1] for raw in rounds for r in raw.values() for k in r
           if k.startswith("lossy_") and k.endswith("_dl_mbps")}
    return sorted(got, key=float)


def lossy_metrics(levels):
    return [("lossy_%s_%s" % (l, k), "%s %% loss: %s" % (l, label), u, b,
             "lossy_%s_%s" % (l, get))
            for l in levels for k, label, u, b, get in LOSSY]


def ceiling(values, nproc):
    """What no TLS proxy can beat here, if it spent no CPU of its own.
    Each byte crosses three TCP connections (app to proxy client, tunnel,
    proxy server to target), each costing what the no-proxy path's one
    connection costs in all, and is encrypted and decrypted once, at
    `openssl speed`'s rate: that bounds a single download. Each side of
    the proxy holds one receiving and one sending end and runs the
    cipher once: that bounds its CPU per GiB from below. Bounds, not
    estimates: they leave out every system call, copy and wakeup of the
    proxy itself."""
    path = values.get("none", {}).get("cpu_path")
    direct = values.get("none", {}).get("dl1")
    aes_rate = (values.get("none", {}).get("aes_gcm") or 0) * 1e9
    if not path or not aes_rate or not nproc:
        return None
    cipher = GIB / aes_rate
    return {"mbps": nproc / (3 * path + 2 * cipher) * GIB / 1e6,
            "side_s_per_gib": path + cipher, "cores": nproc,
            "path_s_per_gib": path, "aes_gcm_bytes_per_s": aes_rate,
            "no_proxy_mbps": direct}


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    a = abs(v)
    if a >= 1000:
        return "{:,.0f}".format(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3f" % v


def versions():
    out = {}
    for pkg in ("openssh-server", "shadowsocks-libev", "trojan", "openssl"):
        try:
            out[pkg] = subprocess.run(
                ["dpkg-query", "-W", "-f", "${Version}", pkg],
                capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return out


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model,
            "kernel": platform.release()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv", required=True, action="append",
                    help="one file per round; each figure is the median "
                    "over the rounds")
    ap.add_argument("--json", required=True)
    ap.add_argument("--systems", required=True)
    ap.add_argument("--labels", default="")
    ap.add_argument("--delay-ms", type=float, default=0)
    ap.add_argument("--seconds", default="")
    ap.add_argument("--nofile", default="")
    ap.add_argument("--lossy", default="",
                    help="the lossy link's settings, key=value ...")
    ap.add_argument("--outage", default="",
                    help="the outage section's settings, key=value ...")
    a = ap.parse_args()

    systems = a.systems.split()
    labels = dict(l.split("=", 1) for l in a.labels.splitlines() if "=" in l)
    rounds = []
    for path in a.tsv:
        raw = {s: {} for s in systems}
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 3 and parts[0] in raw:
                    raw[parts[0]][parts[1]] = parts[2]
        rounds.append(raw)
    steps = sorted({int(k.rsplit("_", 1)[1]) for raw in rounds
                    for r in raw.values() for k in r
                    if k.startswith("mem_flows_")})
    main_ms = metrics(steps, a.delay_ms)
    levels = lossy_levels(rounds)
    lossy = dict(kv.split("=", 1) for kv in a.lossy.split() if "=" in kv)
    outage = dict(kv.split("=", 1) for kv in a.outage.split() if "=" in kv)
    ran_outage = any(k.startswith("outage_") for raw in rounds
                     for r in raw.values() for k in r)
    out_ms = outage_metrics(outage.get("wait", "?")) if ran_outage else []
    ms = main_ms + lossy_metrics(levels) + out_ms

    # Each round's figures, then the median of the rounds: a noisy
    # minute then moves one round of every system, not one column.
    values = {s: {} for s in systems}
    per_round = {s: {} for s in systems}  # numbers only, round by round
    for s in systems:
        for key, _, _, _, get in ms:
            got = [num(raw[s], get) if isinstance(get, str) else get(raw[s])
                   for raw in rounds]
            if any(isinstance(v, str) for v in got):
                values[s][key] = summary(got)
                continue
            if any(isinstance(v, tuple) for v in got):
                got = [v for v in got if v is not None]
                values[s][key] = " / ".join(
                    fmt(statistics.median(c)) for c in zip(*got))
                continue
            if len(rounds) > 1 and any(v is not None for v in got):
                per_round[s][key] = got
            got = sorted(v for v in got if v is not None)
            values[s][key] = (statistics.median(got) if got else None)
    raw = rounds[-1]

    best, ratios = {}, {s: {} for s in systems}
    for key, _, _, better, _ in ms:
        cand = [(values[p][key], p) for p in PEERS
                if p in values and isinstance(values[p][key], (int, float))]
        if better == "lo":
            cand = [c for c in cand if c[0] > 0]
        if not cand or not better:
            continue
        v, p = max(cand) if better == "hi" else min(cand)
        best[key] = {"system": p, "value": v}
        for s in systems:
            x = values[s][key]
            if isinstance(x, (int, float)) and v:
                ratios[s][key] = x / v

    status = {s: raw[s].get("status", "not run") for s in systems}
    doc = {
        "date": datetime.datetime.now().astimezone().isoformat(
            timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "settings": {"seconds": a.seconds, "delay_ms": a.delay_ms,
                     "rounds": len(rounds),
                     "lossy": dict(lossy, loss_percent=levels),
                     "outage": outage if ran_outage else {},
                     "nofile": a.nofile, "idle_flows": steps},
        "peers": [p for p in PEERS if p in systems],
        "metrics": [{"key": k, "label": l, "unit": u, "better": b}
                    for k, l, u, b, _ in ms],
        "systems": {s: {"label": labels.get(s, s), "status": status[s],
                        "values": values[s], "ratio_to_best_peer": ratios[s],
                        "rounds": per_round[s], "raw": raw[s]}
                    for s in systems},
        "best_peer": best,
        "ceiling": ceiling(values, os.cpu_count()),
    }
    with open(a.json, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")

    def table(ms, systems, status_row):
        """Markdown, readable in a terminal and pasteable."""
        head = ["metric"] + [labels.get(s, s) for s in systems]
        rows = []
        for key, label, unit, better, _ in ms:
            row = ["%s%s" % (label, " (%s)" % unit if unit else "")]
            for s in systems:
                v = values[s][key]
                cell = fmt(v)
                if v is not None and key in ratios[s] and s != "none":
                    cell += " (%.2f)" % ratios[s][key]
                row.append(cell)
            rows.append(row)
        if status_row:
            rows.append(["status"] + [status[s] for s in systems])
        w = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        line = lambda r: "| " + " | ".join(
            c.ljust(w[i]) if i == 0 else c.rjust(w[i])
            for i, c in enumerate(r)) + " |"
        print()
        print(line(head))
        print("|" + "|".join("-" * (x + 2) if i == 0 else "-" * (x + 1) + ":"
                             for i, x in enumerate(w)) + "|")
        for r in rows:
            print(line(r))

    ran_main = any(values[s][k] is not None for s in systems
                   for k, _, _, _, _ in main_ms)
    if ran_main or not (levels or ran_outage):
        table(main_ms, systems, True)
    if levels:
        print()
        print("Lossy path: %s ms RTT, random loss each way, a %s Mbit/s "
              "bottleneck with a %s-packet queue each way (seed %s: each "
              "system its own link, the same losses for all in a round), "
              "%s s per test:" % (lossy.get("rtt_ms", "?"), lossy.get("mbit", "?"),
                             lossy.get("queue", "?"), lossy.get("seed", "?"),
                             lossy.get("seconds", "?")))
        lsys = [s for s in systems
                if any(values[s][k] is not None
                       for k, _, _, _, _ in lossy_metrics(levels))]
        table(lossy_metrics(levels), lsys, not ran_main)
    if ran_outage:
        print()
        print("Outage: the link between the client and VPS namespaces drops "
              "every packet both ways for %s s" % outage.get("seconds", "?"))
        print("(iptables DROP where packets arrive, no socket closed). A %s "
              "MiB download, read at 2 MiB/s until the" % outage.get("mib", "?"))
        print("cut, is held across it, every byte checked; from the link's "
              "return a new flow every 50 ms")
        print("until one gets its echo. %s s allowed after the return:"
              % outage.get("wait", "?"))
        osys = [s for s in systems
                if any(values[s][k] is not None for k, _, _, _, _ in out_ms)]
        table(out_ms, osys, not ran_main and not levels)
    m = doc["machine"]
    print()
    print("(ratio) = value / best peer's value in this run (peers: %s);"
          % ", ".join(labels.get(p, p) for p in doc["peers"]))
    print("higher is better for MB/s and /s, lower for everything else.")
    print("%s; %d cores, %s; kernel %s;%s %s."
          % (doc["date"], m["nproc"] or 0, m["cpu"], m["kernel"],
             " %s s per test;" % a.seconds if ran_main else "",
             "median of %d rounds" % len(rounds) if len(rounds) > 1
             else "one round"))
    c = doc["ceiling"]
    if c:
        print("Bounds for any TLS proxy here, if the proxy itself cost "
              "nothing (one TCP connection: %.3f s/GiB for both ends;"
              % c["path_s_per_gib"])
        print("AES-128-GCM: %.2f GB/s on one core):"
              % (c["aes_gcm_bytes_per_s"] / 1e9))
        print("  a single download of at most %s MB/s (%d cores / (3 "
              "connections + 2 x AES))%s;"
              % (fmt(c["mbps"]), c["cores"],
                 ", half the no-proxy path being %s" %
                 fmt(c["no_proxy_mbps"] / 2) if c["no_proxy_mbps"] else ""))
        print("  at least %s s of CPU per GiB on each side (1 connection "
              "+ AES once)." % fmt(c["side_s_per_gib"]))
    print("JSON: %s" % a.json)


if __name__ == "__main__":
    main()
