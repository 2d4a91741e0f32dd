using System.Text;
using Microsoft.Extensions.Logging;

namespace Gateway.Diagnostics;

/// <summary>
/// The per-interval aggregate log line: sessions opened, closed by reason, upgrades and refused connections since
/// the last report, instead of a line per connection (a 750,000-viewer show would otherwise write millions).
/// </summary>
/// <remarks>Called by one timer; not thread-safe.</remarks>
internal sealed class TrafficReport
{
    /// <summary>The log category of the aggregate lines.</summary>
    public const string LogCategory = "Gateway.Traffic";

    private readonly GatewayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly long[] _closed = new long[GatewayMetrics.MaxCloseReasons];
    private readonly StringBuilder _reasons = new();
    private long _opened;
    private long _upgraded;
    private long _refused;

    public TrafficReport(GatewayMetrics metrics, ILogger logger)
    {
        _metrics = metrics;
        _logger = logger;
        Report(0, write: false);
    }

    /// <summary>Logs what changed over the last <paramref name="intervalMs"/>; nothing when nothing did. True when it logged.</summary>
    public bool Report(long intervalMs) => Report(intervalMs, write: true);

    private bool Report(long intervalMs, bool write)
    {
        long opened = Advance(ref _opened, _metrics.SessionsOpened);
        long upgraded = Advance(ref _upgraded, _metrics.SessionsUpgraded);
        long refused = Advance(ref _refused, _metrics.ConnectionsRefused);
        long closed = 0;
        _reasons.Clear();
        IReadOnlyList<string> names = _metrics.CloseReasonNames;
        for (int i = 0; i < names.Count; i++)
        {
            long count = Advance(ref _closed[i], _metrics.SessionsClosed(i));
            if (count != 0)
            {
                closed += count;
                _reasons.Append(_reasons.Length == 0 ? "" : ", ").Append(names[i]).Append('=').Append(count);
            }
        }

        if (!write || (opened | upgraded | refused | closed) == 0)
        {
            return false;
        }

        Log.Traffic(_logger, intervalMs, opened, closed, _reasons.ToString(), upgraded, refused, _metrics.Connections);
        return true;
    }

    private static long Advance(ref long last, long now)
    {
        long delta = now - last;
        last = now;
        return delta;
    }
}
