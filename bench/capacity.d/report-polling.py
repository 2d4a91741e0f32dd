#!/usr/bin/env python3
"""Turns bench/capacity-polling's samples (sample.py) and loadgen reports into the polling table:
capacity-polling.json, capacity-polling.md, and the Markdown on stdout.
Usage: report-polling.py RESULTS_DIR N PROMPTS server..."""
import json, os, platform, statistics, sys, datetime

from capacity_stats import col_at, cpu_model, delta, fmt, merge, quantile, ratio

results, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
servers = sys.argv[4:]
base = os.path.join(results, "capacity-polling")


def ms(buckets, q):
    v = quantile(buckets, q)
    return None if v is None else v / 1000

out = {}
for s in servers:
    d = os.path.join(base, s)
    with open(os.path.join(d, "samples.txt")) as f:
        head = json.loads(f.readline())
        rows = [tuple(float(x) for x in line.split()) for line in f if line.strip()]
    rep = json.load(open(os.path.join(d, "loadgen.json")))
    meta = json.load(open(os.path.join(d, "meta.json")))
    mpt = 1000.0 / head["clk_tck"]
    prompts = sorted(rep["prompts"], key=lambda p: p["index"])
    first, rest = prompts[0], prompts[1:]

    before = [r[2] for r in rows if r[0] < meta["loadgen_started_ms"]]
    rss_before = statistics.median(before) if before else rows[0][2]
    t_all = next((r[0] for r in rows if r[3] >= n), None)
    p1 = first["publishedAtMs"]
    idle_from, idle_to = (t_all or p1 - 8000) + 3000, p1 - 500
    if idle_to - idle_from < 1000:
        idle_from = idle_to - 1000
    idle_cpu = delta(rows, idle_from, idle_to, 1) * mpt / ((idle_to - idle_from) / 1000)
    rss_idle = min(rows, key=lambda r: abs(r[0] - idle_to))[2]
    # The prompt phase: from the first publish to one interval after the last.
    ph_from, ph_to = p1, prompts[-1]["publishedAtMs"] + 1000
    ph_s = (ph_to - ph_from) / 1000
    cpu_prompts = delta(rows, ph_from, ph_to, 1) * mpt
    lg_prompts = delta(rows, ph_from, ph_to, 4) * mpt if col_at(rows, ph_from, 4) >= 0 else None
    others = (delta(rows, ph_from, ph_to, 5) - delta(rows, ph_from, ph_to, 1) - (delta(rows, ph_from, ph_to, 4) if lg_prompts is not None else 0)) * mpt / ph_s
    run_from, run_to = meta["loadgen_started_ms"], meta["loadgen_ended_ms"]
    others_run = (delta(rows, run_from, run_to, 5) - delta(rows, run_from, run_to, 1) - max(0, delta(rows, run_from, run_to, 4))) * mpt / ((run_to - run_from) / 1000)
    rss_peak = max((r[2] for r in rows if ph_from <= r[0] <= ph_to), default=rss_idle)
    per = [{"index": p["index"], "p50Ms": ms(p["latency"]["buckets"], 0.5), "p99Ms": ms(p["latency"]["buckets"], 0.99),
            "maxMs": p["latency"]["max"] / 1000, "received": p["received"], "expected": p["expected"]} for p in prompts]
    lat_rest = merge([p["latency"] for p in rest])
    out[s] = {
        "clients": rep.get("peakConnected"), "onPolling": rep.get("onPolling"), "onWebSocket": rep.get("onWebSocket"),
        "rssBeforeKiB": rss_before, "rssIdleKiB": rss_idle, "rssPerClientKiB": (rss_idle - rss_before) / n,
        "rssPeakDuringPromptsKiB": rss_peak,
        "idleCpuMsPerS": idle_cpu, "idleWindowS": (idle_to - idle_from) / 1000,
        "promptCpuMsPerS": cpu_prompts / ph_s, "cpuMsPerPrompt": cpu_prompts / len(prompts),
        "loadgenCpuMsPerS": lg_prompts / ph_s if lg_prompts is not None else None,
        "firstPromptP50Ms": per[0]["p50Ms"], "firstPromptP99Ms": per[0]["p99Ms"], "firstPromptMaxMs": per[0]["maxMs"],
        "restP50Ms": ms(lat_rest, 0.5), "restP99Ms": ms(lat_rest, 0.99),
        "restPerPromptP99MedianMs": statistics.median([p["p99Ms"] for p in per[1:]]) if len(per) > 1 else None,
        "restPerPromptP99WorstMs": max([p["p99Ms"] for p in per[1:]]) if len(per) > 1 else None,
        "restMaxMs": max([p["maxMs"] for p in per[1:]]) if len(per) > 1 else None,
        "perPrompt": per,
        "missing": sum(max(0, p["expected"] - p["received"]) for p in prompts),
        "duplicates": sum(p.get("duplicates", 0) for p in prompts),
        "errors": rep.get("errors", {}), "reconnects": rep.get("reconnects"),
        "conditions": {"pin": meta.get("pin"), "publisher": meta.get("publisher", "http"), "loadBefore": meta.get("load_before"), "loadAfter": meta.get("load_after"),
                       "othersCpuMsPerSDuringPrompts": round(others, 1), "othersCpuMsPerSRun": round(others_run, 1)},
    }

summary = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "kernel": platform.release(),
                "memGiB": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
    "clients": n, "prompts": k, "transport": "polling (--polling-share 1: never upgrade)", "servers": out,
}
with open(os.path.join(results, "capacity-polling.json"), "w") as f:
    json.dump(summary, f, indent=2)

G, S = out.get("gateway"), out.get("socketio")
metrics = [
    ("rssPerClientKiB", "RSS per idle polling client", " KiB"),
    ("idleCpuMsPerS", "idle CPU (parked polls, heartbeats)", " ms/s"),
    ("promptCpuMsPerS", f"CPU while prompting ({k} prompts, 1/s)", " ms/s"),
    ("cpuMsPerPrompt", "server CPU per prompt (prompt phase ÷ prompts)", " ms"),
    ("loadgenCpuMsPerS", "loadgen CPU while prompting", " ms/s"),
    ("firstPromptP50Ms", "first prompt after start: p50", " ms"),
    ("firstPromptP99Ms", "first prompt after start: p99", " ms"),
    ("firstPromptMaxMs", "first prompt after start: last client", " ms"),
    ("restP50Ms", f"prompts 2–{k}: p50 (all deliveries)", " ms"),
    ("restP99Ms", f"prompts 2–{k}: p99 (all deliveries)", " ms"),
    ("restPerPromptP99MedianMs", f"prompts 2–{k}: per-prompt p99, median", " ms"),
    ("restPerPromptP99WorstMs", f"prompts 2–{k}: per-prompt p99, worst", " ms"),
    ("restMaxMs", f"prompts 2–{k}: last client, worst", " ms"),
]
lines = [
    f"Polling capacity at {n:,} clients that never upgrade, {k} prompts 1 s apart — {summary['date']}, {summary['machine']['nproc']} cores ({summary['machine']['cpu']}), kernel {summary['machine']['kernel']}",
    "",
    "| metric | gateway | socket.io 4.8 | gateway ÷ socket.io |",
    "| --- | ---: | ---: | ---: |",
]
for key, label, unit in metrics:
    gv, sv = (x[key] if x else None for x in (G, S))
    lines.append(f"| {label} | {fmt(gv, unit)} | {fmt(sv, unit)} | {ratio(gv, sv)} |")
lines.append("")
for s in servers:
    o, c = out[s], out[s]["conditions"]
    lines.append(f"- {s}: peak {o['clients']:,} clients ({o['onPolling']} on polling, {o['onWebSocket']} upgraded); missing {o['missing']}, duplicates {o['duplicates']}, "
                 f"reconnects {o['reconnects']}, errors {json.dumps(o['errors'])}; idle window {o['idleWindowS']:.0f} s; RSS before {o['rssBeforeKiB'] / 1024:.0f} MiB, "
                 f"idle {o['rssIdleKiB'] / 1024:.0f} MiB, peak while prompting {o['rssPeakDuringPromptsKiB'] / 1024:.0f} MiB")
    lines.append(f"  - conditions: pin {c['pin']}, publisher {c['publisher']}; load average {c['loadBefore']} before, {c['loadAfter']} after; other processes' CPU "
                 f"{c['othersCpuMsPerSDuringPrompts']} ms/s while prompting, {c['othersCpuMsPerSRun']} ms/s over the run (1000 = one core)")
    lines.append("  - per prompt p50/p99 (ms): " + ", ".join(f"#{p['index']} {fmt(p['p50Ms'])}/{fmt(p['p99Ms'])}" for p in o["perPrompt"]))
md = "\n".join(lines) + "\n"
with open(os.path.join(results, "capacity-polling.md"), "w") as f:
    f.write(md)
print(md)
