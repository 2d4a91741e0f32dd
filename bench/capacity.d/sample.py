#!/usr/bin/env python3
"""Samples a server process every 50 ms: wall ms, utime+stime (clock ticks), VmRSS (KiB), and — only until
N sockets are connected — the server's /v1/stats connection count (to time the ramp; polling stops
afterwards so it does not disturb the idle measurement). Stops by itself when the process exits or after
--max-seconds."""
import argparse, json, os, sys, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--pid", type=int, required=True)
ap.add_argument("--stats-url", required=True)
ap.add_argument("--connections", type=int, required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--max-seconds", type=float, default=300)
a = ap.parse_args()

def cpu_and_rss():
    with open(f"/proc/{a.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    rss = 0
    with open(f"/proc/{a.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return ticks, rss

deadline = time.time() + a.max_seconds
polling = True
last_poll = 0.0
with open(a.out, "w") as out:
    out.write(json.dumps({"clk_tck": os.sysconf("SC_CLK_TCK")}) + "\n")
    while time.time() < deadline:
        try:
            ticks, rss = cpu_and_rss()
        except (FileNotFoundError, ProcessLookupError):
            break
        now = time.time()
        conns = -1
        if polling and now - last_poll >= 0.1:
            last_poll = now
            try:
                with urllib.request.urlopen(a.stats_url, timeout=1) as r:
                    conns = int(json.load(r)["connections"])
            except Exception:
                conns = -1
            if conns >= a.connections:
                polling = False
        out.write(f"{now * 1000:.1f} {ticks} {rss} {conns}\n")
        out.flush()
        time.sleep(0.05)
