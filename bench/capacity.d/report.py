#!/usr/bin/env python3
"""Turns each server's samples (sample.py) and loadgen report into the capacity table: capacity.json,
capacity.md, and the Markdown on stdout. Usage: report.py RESULTS_DIR N SPACED BURST server..."""
import json, os, platform, statistics, subprocess, sys, datetime

from capacity_stats import col_at, cpu_model, delta, fmt, merge, quantile, ratio

results, n, spaced, burst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
servers = sys.argv[5:]


def load_samples(path):
    with open(path) as f:
        head = json.loads(f.readline())
        rows = [tuple(float(x) for x in line.split()) for line in f if line.strip()]
    return head["clk_tck"], rows

def load_sends(d):
    """perf stat -I 100 -x , output: (wall ms at the end of each interval, send-like syscalls in it)."""
    path, start = os.path.join(d, "sends.csv"), os.path.join(d, "sends.start")
    if not (os.path.exists(path) and os.path.exists(start)):
        return None
    t0 = float(open(start).read().strip())
    acc = {}
    for line in open(path):
        f = line.strip().split(",")
        if len(f) < 4 or line.startswith("#"):
            continue
        try:
            t, v = float(f[0]), float(f[1])
        except ValueError:
            continue
        acc[t] = acc.get(t, 0) + v
    return [(t0 + t * 1000, v) for t, v in sorted(acc.items())]

def sends_between(sends, a, b):  # whole 100 ms intervals overlapping [a, b]
    return sum(v for t, v in sends if t > a and t - 100 < b)

def others_ms_per_s(rows, a, b, ms_per_tick):
    """CPU of every other process (not the server, not loadgen) between a and b, in ms per second (1000 = one core)."""
    lg = delta(rows, a, b, 4) if col_at(rows, a, 4) >= 0 else 0
    other = delta(rows, a, b, 5) - delta(rows, a, b, 1) - lg
    return max(0.0, other) * ms_per_tick / ((b - a) / 1000)

def cpu_at(rows, t):  # clock ticks, linear between samples
    prev = rows[0]
    for r in rows:
        if r[0] >= t:
            if r[0] == prev[0]:
                return r[1]
            return prev[1] + (r[1] - prev[1]) * (t - prev[0]) / (r[0] - prev[0])
        prev = r
    return rows[-1][1]

def rss_at(rows, t):
    best = min(rows, key=lambda r: abs(r[0] - t))
    return best[2]

def crossing(rows, count):
    for r in rows:
        if r[3] >= count:
            return r[0]
    return None

out = {}
for s in servers:
    d = os.path.join(results, s)
    tck, rows = load_samples(os.path.join(d, "samples.txt"))
    with open(os.path.join(d, "loadgen.json")) as f:
        rep = json.load(f)
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    ms_per_tick = 1000.0 / tck
    prompts = sorted(rep["prompts"], key=lambda p: p["index"])
    sp = [p for p in prompts if 1 <= p["index"] <= spaced]
    bu = [p for p in prompts if spaced < p["index"] <= spaced + burst]
    measured = sp[1:]  # prompt 1 warms up the publish path (JIT, first-touch); reported separately

    before = [r[2] for r in rows if r[0] < meta["loadgen_started_ms"]]
    rss_before = statistics.median(before) if before else rows[0][2]
    t_all = crossing(rows, n)
    t5, t95 = crossing(rows, 0.05 * n), crossing(rows, 0.95 * n)
    first_pub = sp[0]["publishedAtMs"] if sp else rows[-1][0]
    idle_from = (t_all or first_pub - 33000) + 3000
    idle_to = first_pub - 500
    idle_cpu = (cpu_at(rows, idle_to) - cpu_at(rows, idle_from)) * ms_per_tick / ((idle_to - idle_from) / 1000)
    rss_idle = rss_at(rows, idle_to)

    # Bursts: one entry per burst in the loadgen report; the table shows the median over them.
    bursts = rep.get("bursts") or []
    if not bursts and bu:  # a report from before --bursts: one burst
        bursts = [{"round": 1, "firstIndex": bu[0]["index"], "lastIndex": bu[-1]["index"], "startMs": bu[0]["publishedAtMs"] + 20, "publishMs": None}]
    sends = load_sends(d)
    wide = len(rows[0]) >= 9
    idle_sends_per_ms = (sends_between(sends, idle_from, idle_to) / (idle_to - idle_from)) if sends else None
    each = []
    for b in bursts:
        ps = [p for p in prompts if b["firstIndex"] <= p["index"] <= b["lastIndex"]]
        if not ps or any(p["received"] == 0 for p in ps):
            continue
        k = len(ps)
        start = b["startMs"]
        dur = max(p["latency"]["max"] for p in ps) / 1000
        end = start + dur
        frames = sum(p["received"] for p in ps)
        e = {"round": b["round"], "ms": round(dur, 1), "promptsPerS": round(k / (dur / 1000), 2),
             "cpuMsPerPrompt": round(delta(rows, start, end, 1) * ms_per_tick / k, 2),
             "publishMs": b.get("publishMs"), "complete": all(p["received"] >= p["expected"] for p in ps)}
        if wide:
            if col_at(rows, start, 4) >= 0:
                e["loadgenCpuMsPerPrompt"] = round(delta(rows, start, end, 4) * ms_per_tick / k, 2)
            e["othersCpuMsPerS"] = round(others_ms_per_s(rows, start, end, ms_per_tick), 1)
            e["stealMsPerS"] = round(delta(rows, start, end, 7) * ms_per_tick / (dur / 1000), 1)
            e["segmentsPerFrame"] = round(delta(rows, start, end, 8) / frames, 3)
        if sends:
            n_sends = sends_between(sends, start - 100, end + 300) - idle_sends_per_ms * (dur + 400)
            e["framesPerSend"] = round(frames / n_sends, 2) if n_sends > 0 else None
        each.append(e)

    def med(key):
        v = [e[key] for e in each if e.get(key) is not None]
        return statistics.median(v) if v else None

    burst_dur_ms = med("ms")
    burst_end = (bursts[0]["startMs"] + each[0]["ms"]) if each else None
    after = [r[2] for r in rows if burst_end and burst_end <= r[0] <= burst_end + 1000]
    rss_after = max(after) if after else rss_at(rows, burst_end or rows[-1][0])

    # Conditions over the whole loadgen run.
    run_from, run_to = meta["loadgen_started_ms"], meta.get("loadgen_ended_ms", rows[-1][0])
    conditions = {"loadBefore": meta.get("load_before"), "loadAfter": meta.get("load_after"), "pin": meta.get("pin", "none")}
    if wide:
        conditions["othersCpuMsPerS"] = round(others_ms_per_s(rows, run_from, run_to, ms_per_tick), 1)
        conditions["othersCpuIdleWindowMsPerS"] = round(others_ms_per_s(rows, idle_from, idle_to, ms_per_tick), 1)
        conditions["stealMsPerS"] = round(delta(rows, run_from, run_to, 7) * ms_per_tick / ((run_to - run_from) / 1000), 1)

    # One prompt's server CPU: from its publish until its last socket had it (prompts 2-12 each alone, so one
    # frame per send: the per-send cost without coalescing), median over the prompts.
    spaced_cpu = [(cpu_at(rows, p["publishedAtMs"] + p["latency"]["max"] / 1000 + 50) - cpu_at(rows, p["publishedAtMs"])) * ms_per_tick
                  for p in measured if p["received"] > 0]

    lat = merge([p["latency"] for p in measured])
    lasts = [p["latency"]["max"] / 1000 for p in measured]
    missing = sum(max(0, p["expected"] - p["received"]) for p in prompts)
    dups = sum(p.get("duplicates", 0) for p in prompts)
    out[s] = {
        "connections": rep.get("peakConnected"),
        "connectedAtFirstPrompt": sp[0]["expected"] if sp else None,
        "rssBeforeKiB": rss_before,
        "rssIdleKiB": rss_idle,
        "rssPerSocketKiB": (rss_idle - rss_before) / n,
        "promptP50Ms": (quantile(lat, 0.5) or 0) / 1000,
        "promptP99Ms": (quantile(lat, 0.99) or 0) / 1000,
        "promptLastMedianMs": statistics.median(lasts) if lasts else None,
        "promptLastMaxMs": max(lasts) if lasts else None,
        "promptLastEachMs": [round(x, 1) for x in lasts],
        "promptCpuMedianMs": statistics.median(spaced_cpu) if spaced_cpu else None,
        "warmupPromptLastMs": sp[0]["latency"]["max"] / 1000 if sp else None,
        "burstMs": burst_dur_ms,
        "burstPromptsPerS": med("promptsPerS"),
        "burstCpuMsPerPrompt": med("cpuMsPerPrompt"),
        "burstLoadgenCpuMsPerPrompt": med("loadgenCpuMsPerPrompt"),
        "burstSegmentsPerFrame": med("segmentsPerFrame"),
        "burstFramesPerSend": med("framesPerSend"),
        "burstPublishMs": med("publishMs"),
        "burstOthersCpuMsPerS": med("othersCpuMsPerS"),
        "bursts": each,
        "conditions": conditions,
        "idleCpuMsPerS": idle_cpu,
        "idleWindowS": (idle_to - idle_from) / 1000,
        "rssAfterBurstKiB": rss_after,
        "rssAfterBurstRatio": rss_after / rss_idle,
        "connectRatePerS": 0.9 * n / ((t95 - t5) / 1000) if t5 and t95 and t95 > t5 else None,
        "missing": missing,
        "duplicates": dups,
        "errors": rep.get("errors", {}),
        "reconnects": rep.get("reconnects"),
    }

def kernel():
    return platform.release()

summary = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "machine": {"nproc": os.cpu_count(), "kernel": kernel(), "memGiB": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1), "cpu": cpu_model()},
    "connections": n, "spacedPrompts": spaced, "burstPrompts": burst, "servers": out,
}
with open(os.path.join(results, "capacity.json"), "w") as f:
    json.dump(summary, f, indent=2)

G, S, F = out.get("gateway"), out.get("socketio"), out.get("floor")

# metric key, label, unit, target check on the gateway (text, predicate)
rows = [
    ("rssPerSocketKiB", "RSS per idle socket", " KiB", "≤ 6 KiB [5]", lambda g: g["rssPerSocketKiB"] <= 6),
    ("promptP50Ms", "one prompt: p50", " ms", "", None),
    ("promptP99Ms", "one prompt: p99", " ms", "", None),
    ("promptLastMedianMs", "one prompt: last socket (median of prompts)", " ms", "≤ 1.35× floor [1.15×]",
     lambda g: F is not None and g["promptLastMedianMs"] <= 1.35 * F["promptLastMedianMs"]),
    ("promptLastMaxMs", "one prompt: last socket (worst prompt)", " ms", "", None),
    ("promptCpuMedianMs", "one prompt: server CPU until its last socket (median)", " ms", "", None),
    ("burstPromptsPerS", f"burst of {burst}: prompts/s to every socket (median of bursts)", "/s", "≥ 30/s [45]", lambda g: (g["burstPromptsPerS"] or 0) >= 30),
    ("burstCpuMsPerPrompt", f"burst of {burst}: server CPU per prompt (median)", " ms", "", None),
    ("burstLoadgenCpuMsPerPrompt", f"burst of {burst}: loadgen CPU per prompt (median)", " ms", "", None),
    ("burstSegmentsPerFrame", f"burst of {burst}: TCP segments per frame delivered (ACKs included)", "", "", None),
    ("burstFramesPerSend", f"burst of {burst}: frames per send syscall (--count-sends)", "", "", None),
    ("burstPublishMs", f"burst of {burst}: time to publish the {burst} (one POST after the other)", " ms", "", None),
    ("burstOthersCpuMsPerS", f"burst of {burst}: CPU of other processes meanwhile", " ms/s", "", None),
    ("idleCpuMsPerS", "idle CPU (heartbeats only)", " ms/s", "≤ 0.6× socket.io [0.3×]",
     lambda g: S is not None and g["idleCpuMsPerS"] <= 0.6 * S["idleCpuMsPerS"]),
    ("rssAfterBurstRatio", "RSS after burst ÷ idle RSS", "×", "≤ 1.75× [1.15×]", lambda g: g["rssAfterBurstRatio"] <= 1.75),
    ("connectRatePerS", "connect rate during the ramp", "/s", "", None),
]
lines = [
    f"Capacity at {n:,} websocket sockets — {summary['date']}, {summary['machine']['nproc']} cores ({summary['machine']['cpu']}), kernel {summary['machine']['kernel']}, {summary['machine']['memGiB']} GiB",
    "",
    "| metric | gateway | socket.io 4.8 | floor | gateway ÷ socket.io | gateway ÷ floor | target | met |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
]
for key, label, unit, target, check in rows:
    gv, sv, fv = (x[key] if x else None for x in (G, S, F))
    met = "" if check is None or G is None else ("yes" if check(G) else "**no**")
    lines.append(f"| {label} | {fmt(gv, unit)} | {fmt(sv, unit)} | {fmt(fv, unit)} | {ratio(gv, sv)} | {ratio(gv, fv)} | {target} | {met} |")
lines.append("")
for s in servers:
    o = out[s]
    lines.append(f"- {s}: peak {o['connections']:,} sockets, {o['connectedAtFirstPrompt']} at the first prompt; missing deliveries {o['missing']}, duplicates {o['duplicates']}, "
                 f"reconnects {o['reconnects']}, errors {json.dumps(o['errors'])}; warm-up prompt 1 last {fmt(o['warmupPromptLastMs'], ' ms')}; "
                 f"idle window {o['idleWindowS']:.0f} s; RSS before {o['rssBeforeKiB'] / 1024:.0f} MiB, idle {o['rssIdleKiB'] / 1024:.0f} MiB, after burst {o['rssAfterBurstKiB'] / 1024:.0f} MiB; "
                 f"last socket per prompt (ms): {o['promptLastEachMs']}")
    c = o["conditions"]
    lines.append(f"  - conditions: pin {c['pin']}; load average {c['loadBefore']} before, {c['loadAfter']} after; "
                 f"other processes' CPU {c.get('othersCpuMsPerS', '–')} ms/s over the run, {c.get('othersCpuIdleWindowMsPerS', '–')} ms/s in the idle window "
                 f"(1000 = one core); steal {c.get('stealMsPerS', '–')} ms/s")
    lines.append("  - bursts: " + "; ".join(
        f"#{e['round']} {e['promptsPerS']}/s, {e['cpuMsPerPrompt']} ms CPU/prompt"
        + (f", loadgen {e['loadgenCpuMsPerPrompt']} ms" if e.get('loadgenCpuMsPerPrompt') is not None else "")
        + (f", {e['segmentsPerFrame']} seg/frame" if e.get('segmentsPerFrame') is not None else "")
        + (f", {e['framesPerSend']} frames/send" if e.get('framesPerSend') is not None else "")
        + (f", publish {e['publishMs']:.0f} ms" if e.get('publishMs') is not None else "")
        + (f", others {e['othersCpuMsPerS']} ms/s" if e.get('othersCpuMsPerS') is not None else "")
        + ("" if e['complete'] else " (incomplete)")
        for e in o["bursts"]))
md = "\n".join(lines) + "\n"
with open(os.path.join(results, "capacity.md"), "w") as f:
    f.write(md)
print(md)
