"""What report.py and report-polling.py share: loadgen's histogram buckets, samples between two instants, the
machine, and the table's number format."""
import platform

SUB_COUNT, SUB_HALF = 128, 64  # tools/loadgen Histogram: 128 linear sub-buckets, then 64 per power of two


def lowest(i):  # Histogram.LowestOf in tools/loadgen
    if i < SUB_COUNT:
        return i
    shift = (i - SUB_COUNT) // SUB_HALF + 1
    return ((i - SUB_COUNT) % SUB_HALF + SUB_HALF) << shift

def quantile(buckets, q):
    total = sum(c for _, c in buckets)
    if total == 0:
        return None
    rank, seen = q * total, 0
    for i, c in sorted(buckets):
        seen += c
        if seen >= rank:
            return (lowest(i) + lowest(i + 1) - 1) / 2
    return lowest(sorted(buckets)[-1][0])

def merge(hists):
    acc = {}
    for h in hists:
        for i, c in h["buckets"]:
            acc[i] = acc.get(i, 0) + c
    return list(acc.items())

def col_at(rows, t, c):  # column c, linear between samples
    prev = rows[0]
    for r in rows:
        if r[0] >= t:
            if r[0] == prev[0]:
                return r[c]
            return prev[c] + (r[c] - prev[c]) * (t - prev[0]) / (r[0] - prev[0])
        prev = r
    return rows[-1][c]

def delta(rows, t0, t1, c):
    return col_at(rows, t1, c) - col_at(rows, t0, c)

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"

def fmt(v, unit=""):
    if v is None:
        return "–"
    return (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}") + unit

def ratio(a, b):
    return "–" if a is None or b in (None, 0) else f"{a / b:.2f}×"
