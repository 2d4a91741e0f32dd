using System.Globalization;
using System.Text;

namespace Gateway.LoadGen;

/// <summary>The final summary table printed on stdout.</summary>
public static class Summary
{
    public static string Render(Report r)
    {
        var sb = new StringBuilder();
        void Line(string k, string v) => sb.Append(CultureInfo.InvariantCulture, $"  {k,-26} {v}\n");
        string Ms(long us) => (us / 1000.0).ToString(us >= 10_000 ? "0" : "0.0", CultureInfo.InvariantCulture) + " ms";
        string Dist(HistogramData d)
        {
            Histogram h = Histogram.FromData(d);
            return h.TotalCount == 0 ? "-" :
                $"p50 {Ms(h.ValueAt(50))}  p90 {Ms(h.ValueAt(90))}  p99 {Ms(h.ValueAt(99))}  p99.9 {Ms(h.ValueAt(99.9))}  max {Ms(h.Max)}  (n={h.TotalCount:N0})";
        }

        sb.Append(CultureInfo.InvariantCulture, $"\n== loadgen {r.Scenario} against {r.Target} ({r.Transport}, {r.Processes} process{(r.Processes == 1 ? "" : "es")}, {r.DurationSeconds:0.0} s)\n");
        Line("sockets", $"{r.Connections:N0} wanted, peak {r.PeakConnected:N0}, at end {r.ConnectedAtEnd:N0} (websocket {r.OnWebSocket:N0}, polling {r.OnPolling:N0})");
        Line("connects", $"{r.Connects:N0} (reconnects {r.Reconnects:N0}, recovered state {r.Recovered:N0}, upgrade failures {r.UpgradeFailures:N0})");
        Line("connect time", Dist(r.ConnectTime));
        Line("time ack rtt", Dist(r.TimeAckRtt));
        Line("errors", r.Errors.Count == 0 ? "none" : string.Join(", ", r.Errors.OrderByDescending(e => e.Value).Select(e => $"{e.Key} {e.Value:N0}")));
        if (r.Prompts.Count > 0)
        {
            Line("publish -> receive", Dist(r.Latency));
            sb.Append("\n  prompt     expected   received  missing  dup  ooo      p50      p99     last\n");
            foreach (PromptReport p in r.Prompts)
            {
                Histogram h = Histogram.FromData(p.Latency);
                sb.Append(CultureInfo.InvariantCulture,
                    $"  {p.Id,-8} {p.Expected,10:N0} {p.Received,10:N0} {p.Missing,8:N0} {p.Duplicates,4:N0} {p.OutOfOrder,4:N0} {Ms(h.ValueAt(50)),8} {Ms(h.ValueAt(99)),8} {Ms(h.Max),8}\n");
            }

            sb.Append('\n');
        }

        if (r.Storm is not null)
        {
            Line("storm", $"dropped {r.Storm.Dropped:N0}, 99% back after {(r.Storm.SecondsTo99Percent < 0 ? "never" : r.Storm.SecondsTo99Percent.ToString("0.00", CultureInfo.InvariantCulture) + " s")}, state recovered {r.Storm.Recovered:N0}");
        }

        ProcessFigures p2 = r.Process;
        Line("loadgen cost", string.Create(CultureInfo.InvariantCulture,
            $"cpu {p2.CpuSeconds:0.0} s ({p2.CpuPercent:0}% of one core), peak rss {p2.PeakRssBytes / 1048576.0:0} MiB, {p2.RssPerSocketBytes / 1024:0.0} KiB rss per socket"));
        foreach (SloResult s in r.Slo)
        {
            Line("slo " + s.Metric, string.Create(CultureInfo.InvariantCulture, $"{s.Actual} (limit {s.Limit}) {(s.Passed ? "ok" : "BROKEN")}"));
        }

        return sb.ToString();
    }
}
