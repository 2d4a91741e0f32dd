#!/usr/bin/env python3
"""A/B table from bench/capacity result directories: median (and each run) per variant, ratio B ÷ A.

    python3 bench/capacity.d/ab.py NAME_A DIR_A1,DIR_A2,… NAME_B DIR_B1,DIR_B2,… [--floor DIR]

Each DIR is a --results directory of one `bench/capacity --servers gateway` run (its capacity.json)."""
import json, statistics, sys

ROWS = [
    ("RSS per idle socket (KiB)", "rssPerSocketKiB"),
    ("one prompt: last socket, median of 11 prompts (ms)", "promptLastMedianMs"),
    ("one prompt: p99 (ms)", "promptP99Ms"),
    ("one prompt alone: server CPU (ms)", "promptCpuMedianMs"),
    ("burst of 20: prompts/s (median of bursts)", "burstPromptsPerS"),
    ("burst: server CPU per prompt (ms)", "burstCpuMsPerPrompt"),
    ("burst: frames per send", "burstFramesPerSend"),
    ("idle CPU (ms/s)", "idleCpuMsPerS"),
    ("others' CPU over the run (ms/s)", None),
]


def load(d, server="gateway"):
    return json.load(open(f"{d}/capacity.json"))["servers"][server]


def value(run, key):
    return run["conditions"]["othersCpuMsPerS"] if key is None else run[key]


def main(argv):
    floor = None
    if "--floor" in argv:
        i = argv.index("--floor")
        floor = load(argv[i + 1], "floor")
        argv = argv[:i] + argv[i + 2:]
    name_a, dirs_a, name_b, dirs_b = argv
    a = [load(d) for d in dirs_a.split(",")]
    b = [load(d) for d in dirs_b.split(",")]
    head = f"| metric | {name_a} (n={len(a)}) | {name_b} (n={len(b)}) | {name_b} ÷ {name_a} |"
    sep = "|---|---|---|---:|"
    if floor:
        head += " floor |"
        sep += "---:|"
    print(head)
    print(sep)
    for label, key in ROWS:
        va = [value(r, key) for r in a]
        vb = [value(r, key) for r in b]
        ma, mb = statistics.median(va), statistics.median(vb)
        each = lambda v: " / ".join(f"{x:.3g}" if x < 10 else f"{x:.0f}" for x in v)
        row = f"| {label} | {ma:.3g} ({each(va)}) | {mb:.3g} ({each(vb)}) | {mb / ma:.2f}× |"
        if floor:
            row += f" {value(floor, key):.3g} |"
        print(row)
    for name, runs in ((name_a, a), (name_b, b)):
        print(f"- {name}: missing/duplicates {[(r['missing'], r['duplicates']) for r in runs]}, "
              f"load before {[r['conditions']['loadBefore'].split()[0] for r in runs]}")


if __name__ == "__main__":
    main(sys.argv[1:])
