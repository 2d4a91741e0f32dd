#!/usr/bin/env python3
"""bench/onscreen's tables: the viewer pages' display instants per prompt (sent ahead vs pushed at the reveal) and
the gateway's CPU with the operator console open vs closed, from RESULTS/onscreen/ (meta.json, viewers.json,
console.json: browser.mjs's result lines; samples.txt: sample.py). Writes RESULTS/onscreen.json and onscreen.md and
prints the Markdown. Usage: report.py RESULTS_DIR"""
import datetime, json, os, platform, statistics, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "capacity.d"))
from capacity_stats import cpu_model, delta, fmt  # noqa: E402

BOUND_MS = 30  # the target: every page within 30 ms of reveal_at and of each other

results = sys.argv[1]
d = os.path.join(results, "onscreen")


def load_json(name):
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return None
    text = open(path).read().strip()
    try:
        return json.loads(text.splitlines()[-1]) if text else None
    except json.JSONDecodeError:
        return None


meta = load_json("meta.json") or {}
with open(os.path.join(d, "samples.txt")) as f:
    head = json.loads(f.readline())
    rows = [tuple(float(x) for x in line.split()) for line in f if line.strip()]
ms_per_tick = 1000 / head["clk_tck"]


def cpu_ms_per_s(a, b, column):
    """CPU between a and b (ms since the epoch) of the sampled column, in ms per second (1000 = one core)."""
    return delta(rows, a, b, column) * ms_per_tick / ((b - a) / 1000)


def conditions(a, b):
    """The gateway's, loadgen's and everything else's CPU between a and b, ms per second."""
    gateway = cpu_ms_per_s(a, b, 1)
    loadgen = cpu_ms_per_s(a, b, 4) if rows[0][4] >= 0 else 0.0
    busy = cpu_ms_per_s(a, b, 5)
    return {"gatewayCpuMsPerS": round(gateway, 1), "loadgenCpuMsPerS": round(loadgen, 1),
            # Chromium and node (the pages, the console, their driver) are in here, with other people's work.
            "othersCpuMsPerS": round(max(0.0, busy - gateway - loadgen), 1),
            "stealMsPerS": round(cpu_ms_per_s(a, b, 7), 1)}


def ms(v):
    """Whole milliseconds (the pages' clocks tick in them) as they are, else as fmt does."""
    return f"{v:,}" if isinstance(v, int) or (isinstance(v, float) and v.is_integer()) else fmt(v)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def browser_summary(result):
    return {"ok": result.get("ok"), "error": result.get("error"),
            "failedChecks": [c["name"] for c in result.get("checks", []) if not c["ok"]]}


out = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
       "machine": {"nproc": os.cpu_count(), "kernel": platform.release(), "cpu": cpu_model()},
       "meta": meta}
lines = [f"# bench/onscreen — {meta.get('started', '?')} to {out['date']}", "",
         f"`{meta.get('command', 'bench/onscreen')}`: one gateway (Release, embedded mode) with {fmt(meta.get('connections'))} "
         f"loadgen websocket sockets in `show-42` ({meta.get('sourceIps', '?')}); {os.cpu_count()} cores ({cpu_model()}). "
         f"Load average {meta.get('loadStart', '?')} at the start, {meta.get('loadEnd', '?')} at the end.", ""]

# --- 1. viewer pages ---------------------------------------------------------------------------------------------
viewers = load_json("viewers.json")
if viewers is not None:
    obs = viewers.get("observations", {})
    spreads = obs.get("spreads", {"sendAhead": [], "atReveal": []})
    skews = obs.get("skewsMs", [])
    records = {p["id"]: p for p in obs.get("prompts", []) if isinstance(p, dict)}
    prompts = [dict(r, mode="ahead") for r in spreads["sendAhead"]] + [dict(r, mode="at reveal") for r in spreads["atReveal"]]
    prompts.sort(key=lambda r: r.get("revealAt") or 0)
    for r in prompts:
        rec = records.get(r["id"], {})
        r["gateway"] = {k: rec.get(k) for k in ("recipients", "firstWriteMs", "lastWriteMs", "slowConsumers")}
        r["withinBound"] = r["spreadMs"] <= BOUND_MS and all(abs(x) <= BOUND_MS for x in r["msAfterReveal"])

    def mode_summary(mode):
        rs = [r for r in prompts if r["mode"] == mode]
        offsets = [x for r in rs for x in r["msAfterReveal"]]
        return {"prompts": len(rs),
                "spreadMedianMs": median([r["spreadMs"] for r in rs]),
                "spreadMaxMs": max((r["spreadMs"] for r in rs), default=None),
                "msAfterRevealMedian": median(offsets),
                "msAfterRevealWorst": max(offsets, key=abs, default=None),
                "withinBound": sum(r["withinBound"] for r in rs)}

    ahead, at_reveal = mode_summary("ahead"), mode_summary("at reveal")
    phase = conditions(meta["viewersStartMs"], meta["viewersEndMs"]) if "viewersStartMs" in meta else {}
    out["viewers"] = {"sendAhead": ahead, "atReveal": at_reveal, "prompts": prompts, "skewsMs": skews,
                      "connectionsDuring": obs.get("connectionsDuringTest"), "conditions": phase,
                      "loadBefore": meta.get("viewersLoadBefore"), "loadAfter": meta.get("viewersLoadAfter"),
                      "browser": browser_summary(viewers)}
    lines += ["## Viewer pages: display instant − reveal_at (server clock), ms", "",
              f"Six Chromium pages (`/demo/`, clocks skewed {', '.join(f'{s // 1000:+d} s' for s in skews)}), prompts revealed "
              f"{meta.get('revealInMs', '?')} ms after publish, alternately sent ahead {meta.get('sendAheadMs', '?')} ms "
              f"(`sendAhead`) and pushed at `reveal_at` (`sendAhead` 0); {fmt(obs.get('connectionsDuringTest'))} sockets connected. "
              f"Spread = max − min of the pages' true display instants; arrived = the prompt's arrival at each page before "
              f"`reveal_at` (negative: after it). Gateway: its `/v1/prompts` record, first and last socket write after the "
              f"push (`reveal_at` − send-ahead).", "",
              "| prompt | mode | spread | " + " | ".join(f"page {s // 1000:+d} s" for s in skews) +
              " | arrived before reveal | gateway: recipients, first / last write, ms |",
              "| --- | --- | ---: | " + " | ".join("---:" for _ in skews) + " | ---: | ---: |"]
    for r in prompts:
        arrived = [x for x in r.get("arrivedMsBeforeReveal", []) if x is not None]
        g = r["gateway"]
        lines.append(f"| {r['id']} | {r['mode']} | **{ms(r['spreadMs'])}** | " + " | ".join(ms(x) for x in r["msAfterReveal"]) +
                     f" | {(ms(min(arrived)) + ' … ' + ms(max(arrived))) if arrived else '–'} | "
                     f"{fmt(g['recipients'])}, {fmt(g['firstWriteMs'])} / {fmt(g['lastWriteMs'])} |")
    lines += ["", "| mode | prompts | spread: median, max | page − reveal_at: median, worst | prompts within 30 ms |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for name, m in (("sent ahead", ahead), ("at reveal", at_reveal)):
        lines.append(f"| {name} | {m['prompts']} | {ms(m['spreadMedianMs'])}, {ms(m['spreadMaxMs'])} ms | "
                     f"{ms(m['msAfterRevealMedian'])}, {ms(m['msAfterRevealWorst'])} ms | {m['withinBound']} of {m['prompts']} |")
    lines += ["", f"During the rounds: gateway {fmt(phase.get('gatewayCpuMsPerS'))} ms/s, loadgen {fmt(phase.get('loadgenCpuMsPerS'))} ms/s, "
              f"others (Chromium and node included) {fmt(phase.get('othersCpuMsPerS'))} ms/s of CPU; load average "
              f"{meta.get('viewersLoadBefore', '?')} → {meta.get('viewersLoadAfter', '?')}; sockets after: {meta.get('viewersConnectionsAfter', '?')}."
              + ("" if viewers.get("ok") else f" Browser checks failed: {browser_summary(viewers)}."), ""]

# --- 2. operator console -----------------------------------------------------------------------------------------
console = load_json("console.json")
if console is not None:
    windows = console.get("observations", {}).get("windows", [])
    warm = console.get("observations", {}).get("warmUp")
    for w in windows:
        w.update(conditions(w["startMs"], w["endMs"]))
        w["seconds"] = round((w["endMs"] - w["startMs"]) / 1000, 1)
        w["requestsPerS"] = round(sum(w["requests"].values()) / w["seconds"], 2)
    on = [w["gatewayCpuMsPerS"] for w in windows if w["console"]]
    off = [w["gatewayCpuMsPerS"] for w in windows if not w["console"]]
    # Each open window against the closed ones next to it (before and after), so a drift falls on both sides.
    pairs = []
    for i, w in enumerate(windows):
        if w["console"]:
            near = [windows[j]["gatewayCpuMsPerS"] for j in (i - 1, i + 1) if 0 <= j < len(windows) and not windows[j]["console"]]
            if near:
                pairs.append(round((w["gatewayCpuMsPerS"] - statistics.mean(near)) / 10, 2))
    cost = (statistics.mean(on) - statistics.mean(off)) / 10 if on and off else None  # ms/s → % of one core
    out["console"] = {"costPercentOfCore": None if cost is None else round(cost, 2), "eachOpenWindowPercentOfCore": pairs,
                      "warmUp": warm, "closedCpuMsPerS": median(off), "openCpuMsPerS": median(on), "windows": windows,
                      "loadBefore": meta.get("consoleLoadBefore"), "loadAfter": meta.get("consoleLoadAfter"),
                      "browser": browser_summary(console)}
    lines += ["## Operator console: the gateway's CPU, console open vs closed", "",
              f"Windows of {meta.get('consoleSeconds', '?')} s, alternately closed and open (`/console/` signed in, "
              f"in Chromium); the gateway's utime+stime from /proc every 50 ms. "
              + (f"First the paths the console polls ({', '.join(f'`{p}`' for p in warm['paths'])}) were called {warm['callsEach']} "
                 f"times each (the JIT's tier-up of the admin endpoints is paid once per gateway, not per console). " if warm else "")
              + f"Load average "
              f"{meta.get('consoleLoadBefore', '?')} → {meta.get('consoleLoadAfter', '?')}.", "",
              "| window | console | s | sockets | gateway CPU ms/s | % of a core | console requests/s | loadgen ms/s | others ms/s |",
              "| ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    for i, w in enumerate(windows):
        req = ", ".join(f"{p} {n / w['seconds']:.2f}" for p, n in sorted(w["requests"].items())) or "–"
        lines.append(f"| {i + 1} | {'open' if w['console'] else 'closed'} | {w['seconds']} | {fmt(w.get('connectionsBefore'))} | "
                     f"{fmt(w['gatewayCpuMsPerS'])} | {fmt(w['gatewayCpuMsPerS'] / 10)} % | {req} | {fmt(w['loadgenCpuMsPerS'])} | {fmt(w['othersCpuMsPerS'])} |")
    lines += ["", f"**Console cost: {fmt(cost)} % of one core** (mean open − mean closed; each open window against the closed "
              f"ones beside it: {', '.join(f'{p:+.2f} %' for p in pairs) or '–'}). Target < 1 %."
              + ("" if console.get("ok") else f" Browser checks failed: {browser_summary(console)}."), ""]

with open(os.path.join(results, "onscreen.json"), "w") as f:
    json.dump(out, f, indent=2)
md = "\n".join(lines) + "\n"
with open(os.path.join(results, "onscreen.md"), "w") as f:
    f.write(md)
print(md)
