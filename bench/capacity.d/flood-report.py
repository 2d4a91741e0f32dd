#!/usr/bin/env python3
"""bench/flood's table: per mode, prompts without and with the flood (from loadgen's report, by time against the
rounds and the flood reports), the gateway's CPU in each (sample.py), the flood's attempts and answers.
Usage: flood-report.py RESULTS N FLOOD_RATE TRANSPORT mode..."""
import datetime, json, math, os, re, statistics, sys

from capacity_stats import col_at, cpu_model, delta, merge, quantile

results, n, flood_rate, transport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
modes = sys.argv[5:]
MARGIN_MS = 1000  # prompts this close after a flood's start or end are left out (ramp-up, backlog)


def nearest_rank(values, q):
    v = sorted(values)
    return v[max(0, math.ceil(q * len(v)) - 1)] if v else None


def load_samples(path):
    with open(path) as f:
        head = json.loads(f.readline())
        rows = [tuple(float(x) for x in line.split()) for line in f if line.strip()]
    return head["clk_tck"], rows


def refused(text, reason):
    m = re.search(r'^gateway_connections_refused_total\{[^}]*reason="' + reason + r'"[^}]*\} (\S+)', text, re.M)
    return int(float(m.group(1))) if m else 0


def fmt(v, d=1):
    return "–" if v is None else f"{v:,.{d}f}"


out = {}
lines = []
for mode in modes:
    d = os.path.join(results, mode)
    rep = json.load(open(os.path.join(d, "loadgen.json")))
    meta = json.load(open(os.path.join(d, "meta.json")))
    tck, rows = load_samples(os.path.join(d, "samples.txt"))
    ms_per_tick = 1000.0 / tck
    rounds = []
    for line in open(os.path.join(d, "rounds.txt")):
        i, cond, start, end = line.split()
        r = {"round": int(i), "cond": cond, "start": float(start), "end": float(end)}
        if cond == "with":
            path = os.path.join(d, f"flood-{i}.json")
            if os.path.exists(path):
                f = json.load(open(path))
                fs = datetime.datetime.fromisoformat(f["startedAt"].replace("Z", "+00:00")).timestamp() * 1000
                r.update(flood=f, fs=fs, fe=fs + f["pacedSeconds"] * 1000)
            else:
                r["flood"] = None
        rounds.append(r)

    # Each prompt (but the warm-up) to the round it lies in, by its publish instant and its last socket.
    prompts = [p for p in rep["prompts"] if p["index"] >= 2 and p["received"] > 0]
    # The gateway's lifecycle records (GET /v1/prompts), by their publish instant: its last socket write, no client involved.
    gw_path = os.path.join(d, "prompts.json")
    gw_prompts = json.load(open(gw_path))["prompts"] if os.path.exists(gw_path) else []
    gw_prompts = [g for g in gw_prompts if g.get("lastWriteMs") is not None and g.get("recipients", 0) > 0]
    gw_by_cond = {"without": [], "with": []}
    by_cond = {"without": [], "with": []}
    per_round = {}
    prev_flood_end = 0
    for r in rounds:
        if r["cond"] == "with":
            if not r.get("flood"):
                continue
            lo, hi = r["fs"] + MARGIN_MS, r["fe"]
            prev_flood_end = r["fe"]
        else:
            lo, hi = max(r["start"], prev_flood_end + MARGIN_MS), r["end"]
        mine = [p for p in prompts if p["publishedAtMs"] >= lo and p["publishedAtMs"] + p["latency"]["max"] / 1000 <= hi]
        r["prompts"] = len(mine)
        r["window"] = (lo, hi)
        by_cond[r["cond"]] += mine
        gw_by_cond[r["cond"]] += [g["lastWriteMs"] for g in gw_prompts if g["publishedAt"] >= lo and g["publishedAt"] + g["lastWriteMs"] <= hi]
        per_round[r["round"]] = [round(p["latency"]["max"] / 1000, 1) for p in mine]

    def cond_stats(cond):
        ps = by_cond[cond]
        lasts = [p["latency"]["max"] / 1000 for p in ps]
        windows = [r["window"] for r in rounds if r["cond"] == cond and "window" in r]
        secs = sum(hi - lo for lo, hi in windows) / 1000
        cpu = sum(delta(rows, lo, hi, 1) for lo, hi in windows) * ms_per_tick / secs if secs else None
        busy = sum(delta(rows, lo, hi, 5) for lo, hi in windows) * ms_per_tick / secs if secs else None
        lg = sum(delta(rows, lo, hi, 4) for lo, hi in windows) * ms_per_tick / secs if secs and col_at(rows, windows[0][0], 4) >= 0 else 0
        floods = [r["flood"] for r in rounds if r["cond"] == cond and r.get("flood")]
        flood_cpu = sum(f["cpuSeconds"] for f in floods) * 1000 / sum(f["totalSeconds"] for f in floods) if floods else 0
        missing = sum(max(0, p["expected"] - p["received"]) for p in ps)
        gw = gw_by_cond[cond]
        return {
            "prompts": len(ps),
            "gatewayPrompts": len(gw),
            "gatewayLastP50Ms": nearest_rank(gw, 0.5),
            "gatewayLastP99Ms": nearest_rank(gw, 0.99),
            "lastP50Ms": nearest_rank(lasts, 0.5),
            "lastP99Ms": nearest_rank(lasts, 0.99),
            "lastMaxMs": max(lasts) if lasts else None,
            "deliveryP99Ms": (quantile(merge([p["latency"] for p in ps]), 0.99) or 0) / 1000 if ps else None,
            "deliveryP50Ms": (quantile(merge([p["latency"] for p in ps]), 0.5) or 0) / 1000 if ps else None,
            "gatewayCpuMsPerS": cpu,
            "loadgenCpuMsPerS": lg,
            "floodCpuMsPerS": flood_cpu,
            "othersCpuMsPerS": None if busy is None else max(0.0, busy - cpu - lg - flood_cpu),
            "missing": missing,
            "seconds": secs,
        }

    wo, wi = cond_stats("without"), cond_stats("with")
    floods = [r["flood"] for r in rounds if r.get("flood")]
    statuses = {}
    for f in floods:
        for k, v in f["byStatus"].items():
            statuses[k] = statuses.get(k, 0) + v
    errors = {}
    for f in floods:
        for k, v in f["errors"].items():
            errors[k] = errors.get(k, 0) + v
    attempts = sum(f["attempts"] for f in floods)
    rates = [f["attemptsPerSecond"] for f in floods]
    answer = merge([f["answerTime"] for f in floods])
    before = open(os.path.join(d, "metrics-before.txt")).read() if os.path.exists(os.path.join(d, "metrics-before.txt")) else ""
    after = open(os.path.join(d, "metrics-after.txt")).read() if os.path.exists(os.path.join(d, "metrics-after.txt")) else ""
    reason = "max_connections" if mode == "cap" else "accept_rate"
    gateway_refused = refused(after, reason) - refused(before, reason)
    per_attempt_us = None
    if wi["gatewayCpuMsPerS"] is not None and wo["gatewayCpuMsPerS"] is not None and rates:
        per_attempt_us = (wi["gatewayCpuMsPerS"] - wo["gatewayCpuMsPerS"]) * 1000 / statistics.mean(rates)
    ratio = lambda k: (wi[k] / wo[k]) if wi.get(k) and wo.get(k) else None
    out[mode] = {
        "limits": meta["limits"], "loadBefore": meta["load_before"], "loadAfter": meta["load_after"],
        "without": wo, "with": wi,
        "ratio": {"lastP50": ratio("lastP50Ms"), "lastP99": ratio("lastP99Ms"), "deliveryP99": ratio("deliveryP99Ms"),
                  "gatewayLastP50": ratio("gatewayLastP50Ms"), "gatewayLastP99": ratio("gatewayLastP99Ms")},
        "flood": {
            "rounds": len(floods), "attempts": attempts, "attemptsPerSecondEach": rates,
            "missed": sum(f["missed"] for f in floods), "answered": sum(f["answered"] for f in floods),
            "byStatus": statuses, "status503WithRetryAfter": sum(f["status503WithRetryAfter"] for f in floods),
            "errors": errors, "answerP50Ms": (quantile(answer, 0.5) or 0) / 1000, "answerP99Ms": (quantile(answer, 0.99) or 0) / 1000,
            "gatewayRefused": gateway_refused,
        },
        "gatewayCpuUsPerAttempt": per_attempt_us,
        "perRoundLastMs": per_round,
        "peakConnected": rep.get("peakConnected"), "viewerErrors": rep.get("errors", {}),
    }

    o = out[mode]
    fl = o["flood"]
    desc = {"cap": f"`Gateway:MaxConnections={n}`: the viewers fill the cap, each attempt refused at accept",
            "rate": f"`Gateway:Limits:AcceptRate=1`, `AcceptBurst={n + 100}`: each attempt refused after its request head"}[mode]
    s503 = statuses.get("503", 0)
    lines += [
        f"### {mode}: {desc}",
        "",
        f"Flood: {len(floods)} rounds of {transport} handshakes at {flood_rate:,}/s asked; achieved {fmt(min(rates) if rates else None, 0)}–{fmt(max(rates) if rates else None, 0)}/s "
        f"({attempts:,} attempts, {fl['missed']:,} missed); answered {fl['answered']:,}: 503 with Retry-After {fl['status503WithRetryAfter']:,}, "
        f"503 without {s503 - fl['status503WithRetryAfter']:,}, other {', '.join(f'{k} {v:,}' for k, v in statuses.items() if k != '503') or 'none'}; "
        f"no answer: {', '.join(f'{k} {v:,}' for k, v in sorted(errors.items(), key=lambda kv: -kv[1])) or 'none'}; "
        f"answer time p50 {fl['answerP50Ms']:.1f} ms, p99 {fl['answerP99Ms']:.1f} ms; the gateway counted {gateway_refused:,} `{reason}` refusals.",
        "",
        "| per condition | without flood | with flood | with ÷ without |",
        "| --- | ---: | ---: | ---: |",
        f"| prompts measured | {wo['prompts']} | {wi['prompts']} | |",
        f"| last socket, p50 over prompts | {fmt(wo['lastP50Ms'])} ms | {fmt(wi['lastP50Ms'])} ms | {fmt(o['ratio']['lastP50'], 3)} |",
        f"| **last socket, p99 over prompts** | {fmt(wo['lastP99Ms'])} ms | {fmt(wi['lastP99Ms'])} ms | **{fmt(o['ratio']['lastP99'], 3)}** |",
        f"| gateway's last socket write (`/v1/prompts`), p50 over prompts | {fmt(wo['gatewayLastP50Ms'])} ms | {fmt(wi['gatewayLastP50Ms'])} ms | {fmt(o['ratio']['gatewayLastP50'], 3)} |",
        f"| gateway's last socket write, p99 over prompts ({wo['gatewayPrompts']} / {wi['gatewayPrompts']}) | {fmt(wo['gatewayLastP99Ms'])} ms | {fmt(wi['gatewayLastP99Ms'])} ms | {fmt(o['ratio']['gatewayLastP99'], 3)} |",
        f"| every delivery, p99 | {fmt(wo['deliveryP99Ms'])} ms | {fmt(wi['deliveryP99Ms'])} ms | {fmt(o['ratio']['deliveryP99'], 3)} |",
        f"| gateway CPU | {fmt(wo['gatewayCpuMsPerS'], 0)} ms/s | {fmt(wi['gatewayCpuMsPerS'], 0)} ms/s | {fmt(per_attempt_us)} µs per attempt |",
        f"| loadgen (viewers) CPU | {fmt(wo['loadgenCpuMsPerS'], 0)} ms/s | {fmt(wi['loadgenCpuMsPerS'], 0)} ms/s | |",
        f"| flood generator CPU | – | {fmt(wi['floodCpuMsPerS'], 0)} ms/s | |",
        f"| other processes and softirq | {fmt(wo['othersCpuMsPerS'], 0)} ms/s | {fmt(wi['othersCpuMsPerS'], 0)} ms/s | |",
        f"| deliveries missing | {wo['missing']} | {wi['missing']} | |",
        "",
        f"- last socket per prompt by round (ms): " + "; ".join(f"#{k} {'with' if k % 2 else 'without'} {v}" for k, v in sorted(per_round.items())),
        f"- viewers: peak {o['peakConnected']:,} connected, errors {json.dumps(o['viewerErrors'])}; load average {o['loadBefore']} before, {o['loadAfter']} after (1000 ms/s = one core)",
        "",
    ]

summary = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu_model(), "ncpu": os.cpu_count(),
           "connections": n, "floodRate": flood_rate, "transport": transport, "modes": out}
with open(os.path.join(results, "flood.json"), "w") as f:
    json.dump(summary, f, indent=2)
print(f"Refusing a flood while {n:,} websocket sockets receive a prompt a second — {summary['date']}, {summary['ncpu']} cores ({summary['cpu']})\n")
print("\n".join(lines))
