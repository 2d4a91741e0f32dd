using Gateway.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Diagnostics;

public class TrafficReportTests
{
    private readonly GatewayMetrics _metrics = new(["/"]);
    private readonly RecordingLogger _logger = new();

    public TrafficReportTests() => _metrics.DescribeCloseReasons(["transport_close", "ping_timeout"]);

    [Fact]
    public void Report_NothingChanged_WritesNothing()
    {
        _metrics.SessionOpened(websocket: true); // before the report existed: not part of its first interval
        var report = new TrafficReport(_metrics, _logger);

        Assert.False(report.Report(10_000));
        Assert.Empty(_logger.Entries);
    }

    [Fact]
    public void Report_SessionsCameAndWent_OneLineWithTheDeltasByReason()
    {
        var report = new TrafficReport(_metrics, _logger);
        for (int i = 0; i < 3; i++)
        {
            _metrics.SessionOpened(websocket: false);
        }

        _metrics.SessionUpgraded();
        _metrics.SessionClosed(websocket: true, reason: 1);
        _metrics.SessionClosed(websocket: false, reason: 1);
        _metrics.Refusal(RefusalReason.MaxConnections);

        Assert.True(report.Report(10_000));
        (EventId id, LogLevel level, Dictionary<string, object?> state) = Assert.Single(_logger.Entries);
        Assert.Equal((40, LogLevel.Information), (id.Id, level));
        Assert.Equal(3L, state["Opened"]);
        Assert.Equal(2L, state["Closed"]);
        Assert.Equal("ping_timeout=2", state["ClosedByReason"]);
        Assert.Equal(1L, state["Upgrades"]);
        Assert.Equal(1L, state["Refused"]);
        Assert.Equal(1L, state["Connections"]);

        Assert.False(report.Report(10_000)); // deltas: the next interval starts from here
        Assert.Single(_logger.Entries);
    }

    private sealed class RecordingLogger : ILogger
    {
        public List<(EventId, LogLevel, Dictionary<string, object?>)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((eventId, logLevel, ((IEnumerable<KeyValuePair<string, object?>>)state!).ToDictionary(kv => kv.Key, kv => kv.Value)));
    }
}
