#!/usr/bin/env python3
"""Samples a server process every 50 ms. One line per sample (columns named in the JSON header):

  ms          wall clock, ms since the epoch
  ticks       the server's utime+stime (clock ticks)
  rss         the server's VmRSS (KiB)
  conns       the server's /v1/stats connection count, only until N sockets are connected (to time the ramp;
              polling stops afterwards so it does not disturb the idle measurement), else -1; never polled
              without --stats-url (bench/onscreen: the admin calls are what it measures)
  lg_ticks    the load generator's utime+stime (its pid is read from --loadgen-pidfile once it exists), else -1
  sys_busy    /proc/stat, all CPUs: user+nice+system+irq+softirq+steal ticks (everything but idle and iowait)
  sys_total   /proc/stat, all CPUs: every tick
  steal       /proc/stat, all CPUs: steal ticks (time the hypervisor gave our vCPUs to someone else)
  outsegs     /proc/net/snmp Tcp OutSegs (this network namespace: every TCP segment sent, ACKs included)

sys_busy minus the server's and the load generator's ticks is what other processes (other people's builds, this
sampler) used meanwhile: report.py prints it so a disturbed run is visible as such. Stops by itself when the
process exits or after --max-seconds."""
import argparse, json, os, sys, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--pid", type=int, required=True)
ap.add_argument("--stats-url", default=None)
ap.add_argument("--connections", type=int, default=0)
ap.add_argument("--out", required=True)
ap.add_argument("--max-seconds", type=float, default=300)
ap.add_argument("--loadgen-pidfile", default=None)
a = ap.parse_args()


def proc_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def server():
    ticks = proc_ticks(a.pid)
    rss = 0
    with open(f"/proc/{a.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return ticks, rss


def system():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user/nice)
    total = sum(v[:8])
    busy = total - v[3] - v[4]
    return busy, total, v[7]


def outsegs():
    with open("/proc/net/snmp") as f:
        lines = [l.split() for l in f if l.startswith("Tcp:")]
    return int(lines[1][lines[0].index("OutSegs")])


lg_pid = None
deadline = time.time() + a.max_seconds
polling = a.stats_url is not None
last_poll = 0.0
with open(a.out, "w") as out:
    out.write(json.dumps({"clk_tck": os.sysconf("SC_CLK_TCK"), "ncpu": os.cpu_count(),
                          "columns": ["ms", "ticks", "rss", "conns", "lg_ticks", "sys_busy", "sys_total", "steal", "outsegs"]}) + "\n")
    while time.time() < deadline:
        try:
            ticks, rss = server()
        except (FileNotFoundError, ProcessLookupError):
            break
        if lg_pid is None and a.loadgen_pidfile and os.path.exists(a.loadgen_pidfile):
            try:
                with open(a.loadgen_pidfile) as f:
                    lg_pid = int(f.read().strip() or 0) or None
            except ValueError:
                lg_pid = None
        lg = -1
        if lg_pid is not None:
            try:
                lg = proc_ticks(lg_pid)
            except (FileNotFoundError, ProcessLookupError):
                lg = -1
        busy, total, steal = system()
        segs = outsegs()
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
        out.write(f"{now * 1000:.1f} {ticks} {rss} {conns} {lg} {busy} {total} {steal} {segs}\n")
        out.flush()
        time.sleep(0.05)
