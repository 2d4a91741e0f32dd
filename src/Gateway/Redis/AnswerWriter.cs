using System.Globalization;
using System.Threading.Channels;
using Gateway.Answers;
using Gateway.Broadcast;
using Gateway.Diagnostics;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>
/// Appends answers to the region's answers stream, one per viewer and prompt region-wide: a bounded buffer drained in
/// batches, each batch one script (<see cref="Script"/>, one round trip) that sets each answer's marker
/// (<c>SET &lt;AnsweredPrefix&gt;… NX PX DuplicateWindow</c>) and only if it was not there appends the answer
/// (<c>XADD … MAXLEN ~</c>). Each answer is acked to its client only after Redis decided (<c>{"ok":true}</c> or
/// <c>duplicate</c>), or refused with the reason — never dropped silently.
/// </summary>
internal sealed class AnswerWriter : BackgroundService, IAnswerSink
{
    public const string PromptIdField = "prompt_id";
    public const string SidField = "sid";
    public const string ViewerField = "viewer";
    public const string DataField = "data";
    public const string AtField = "at";

    private const int Batch = 512;

    private const int ArgumentsPerAnswer = 6;

    /// <summary>
    /// KEYS[1] the answers stream, KEYS[1+i] answer i's marker, KEYS[1+n+i] its prompt's tally (n answers); ARGV[1]
    /// MAXLEN ~, ARGV[2] the marker's and the tally's expiry (ms), ARGV[3] the tally's most distinct choices, then per
    /// answer prompt_id, sid, viewer, data, at, choice. Returns per answer its stream id, 0 when the marker was there (a
    /// duplicate), -1 when the XADD failed (the marker is taken back, so the viewer may answer again). A stored answer
    /// is counted in its prompt's tally in the same script: the tally is exactly what the stream holds.
    /// </summary>
    internal const string Script = """
        local results = {}
        local n = (#KEYS - 1) / 2
        for i = 1, n do
          local a = 3 + (i - 1) * 6
          if redis.call('SET', KEYS[1 + i], '1', 'NX', 'PX', ARGV[2]) then
            local id = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
              'prompt_id', ARGV[a + 1], 'sid', ARGV[a + 2], 'viewer', ARGV[a + 3], 'data', ARGV[a + 4], 'at', ARGV[a + 5])
            if type(id) == 'table' and id.err then
              redis.call('DEL', KEYS[1 + i])
              results[i] = -1
            else
              local tally, choice = KEYS[1 + n + i], ARGV[a + 6]
              if redis.call('HEXISTS', tally, choice) == 0 and redis.call('HLEN', tally) >= tonumber(ARGV[3]) then
                choice = 'other'
              end
              redis.call('HINCRBY', tally, choice, 1)
              redis.call('PEXPIRE', tally, ARGV[2])
              results[i] = id
            end
          else
            results[i] = 0
          end
        end
        return results
        """;

    private readonly BroadcastContext _context;
    private readonly RegionConnection _connection;
    private readonly RedisPromptSource _prompts;
    private readonly Channel<PendingAnswer> _pending;
    private readonly RedisKey _key;
    private readonly string _markerPrefix;
    private readonly string _tallyPrefix;
    private int _count;

    public AnswerWriter(BroadcastContext context, RegionConnection connection, RedisPromptSource prompts)
    {
        _context = context;
        _connection = connection;
        _prompts = prompts;
        _key = connection.Options.Redis.AnswerStream;
        _markerPrefix = connection.Options.Redis.AnsweredPrefix;
        _tallyPrefix = connection.Options.Redis.TallyPrefix;
        _pending = Channel.CreateBounded<PendingAnswer>(new BoundedChannelOptions(connection.Options.Answers.MaxPending)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: the caller refuses with "busy"
        });
    }

    public bool Stores => true;

    public int Pending => Volatile.Read(ref _count);

    /// <summary>False when the buffer is full or Redis is away (the region is not ready): the caller acks the refusal at once.</summary>
    public bool TryAccept(PendingAnswer answer, out AnswerRefusal refusal)
    {
        if (_prompts.NotReadyReason is not null)
        {
            refusal = AnswerRefusal.Unavailable;
            return false;
        }

        if (!_pending.Writer.TryWrite(answer))
        {
            refusal = AnswerRefusal.Busy;
            return false;
        }

        Interlocked.Increment(ref _count);
        refusal = AnswerRefusal.None;
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (await _connection.ConnectedOrStoppedAsync(stoppingToken).ConfigureAwait(false) is not { } redis)
        {
            return;
        }

        IDatabase db = redis.GetDatabase();
        var maxLength = (RedisValue)_connection.Options.Redis.AnswerMaxLength;
        var markerExpiry = (RedisValue)_connection.Options.Answers.DuplicateWindow;
        var batch = new List<PendingAnswer>(Batch);
        var outcomes = new AnswerRefusal[Batch];
        ChannelReader<PendingAnswer> reader = _pending.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                while (batch.Count < Batch && reader.TryRead(out PendingAnswer? answer))
                {
                    batch.Add(answer);
                }

                await WriteBatchAsync(db, batch, maxLength, markerExpiry, outcomes).ConfigureAwait(false);
                for (int i = 0; i < batch.Count; i++)
                {
                    if (outcomes[i] == AnswerRefusal.None)
                    {
                        _context.Metrics.AnswerWritten();
                    }
                    else
                    {
                        _context.Metrics.AnswerRefused();
                    }

                    batch[i].Acknowledger.CompleteAnswer(batch[i], outcomes[i]);
                }

                Interlocked.Add(ref _count, -batch.Count);
                batch.Clear();
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            Log.RedisLoopFailed(_connection.Logger, "answers", e);
        }

        // Stopping: whatever is left is refused, not dropped.
        while (reader.TryRead(out PendingAnswer? answer))
        {
            answer.Acknowledger.CompleteAnswer(answer, AnswerRefusal.Unavailable);
        }
    }

    /// <summary>One script for the batch; each answer's outcome: stored, a duplicate, or unavailable (Redis failed).</summary>
    private async Task WriteBatchAsync(IDatabase db, List<PendingAnswer> batch, RedisValue maxLength, RedisValue markerExpiry, AnswerRefusal[] outcomes)
    {
        var keys = new RedisKey[1 + (2 * batch.Count)];
        var values = new RedisValue[3 + (ArgumentsPerAnswer * batch.Count)];
        keys[0] = _key;
        values[0] = maxLength;
        values[1] = markerExpiry;
        values[2] = AnswerTally.MaxChoicesPerPrompt;
        for (int i = 0; i < batch.Count; i++)
        {
            PendingAnswer answer = batch[i];
            keys[1 + i] = MarkerKey(_markerPrefix, answer.Viewer, answer.PromptId);
            keys[1 + batch.Count + i] = _tallyPrefix + answer.PromptId;
            int a = 3 + (i * ArgumentsPerAnswer);
            values[a] = answer.PromptId;
            values[a + 1] = answer.Sid;
            values[a + 2] = answer.Viewer;
            values[a + 3] = answer.Data;
            values[a + 4] = answer.AtMs;
            values[a + 5] = AnswerTally.ChoiceOf(answer.Data);
        }

        RedisResult[]? results = null;
        try
        {
            results = (RedisResult[]?)await db.ScriptEvaluateAsync(Script, keys, values).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidCastException)
        {
            // Refused below as unavailable. (Had the script run and only its reply been lost, the answers are stored
            // and a retry is acked duplicate.)
        }

        for (int i = 0; i < batch.Count; i++)
        {
            RedisResult? result = results is not null && i < results.Length ? results[i] : null;
            outcomes[i] = result is null || result.IsNull ? AnswerRefusal.Unavailable
                : result.Resp2Type == ResultType.BulkString ? AnswerRefusal.None
                : (long)result == 0 ? AnswerRefusal.Duplicate
                : AnswerRefusal.Unavailable;
        }
    }

    public async Task<Dictionary<string, Dictionary<string, long>>?> ReadTallyAsync(IReadOnlyList<string> promptIds, CancellationToken cancellationToken)
    {
        if (_connection.Connection is not { } redis)
        {
            return null;
        }

        IDatabase db = redis.GetDatabase();
        try
        {
            // Pipelined: one round trip for every prompt.
            Task<HashEntry[]>[] reads = promptIds.Select(id => db.HashGetAllAsync(_tallyPrefix + id)).ToArray();
            HashEntry[][] tallies = await Task.WhenAll(reads).WaitAsync(cancellationToken).ConfigureAwait(false);
            var region = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
            for (int i = 0; i < promptIds.Count; i++)
            {
                if (tallies[i].Length > 0)
                {
                    region[promptIds[i]] = tallies[i].ToDictionary(e => e.Name.ToString(), e => (long)e.Value, StringComparer.Ordinal);
                }
            }

            return region;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>
    /// The marker of one viewer's answer to one prompt: <c>&lt;prefix&gt;&lt;prompt id length&gt;:&lt;prompt id&gt;:&lt;viewer&gt;</c>
    /// (the length keeps a prompt id with a colon from meeting another pair's key).
    /// </summary>
    public static string MarkerKey(string prefix, string viewer, string promptId) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}{promptId.Length}:{promptId}:{viewer}");
}
