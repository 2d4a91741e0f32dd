using System.Globalization;
using System.Threading.Channels;
using Gateway.Diagnostics;
using Gateway.EngineIO;
using Gateway.SocketIO;
using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>An answer waiting for Redis, and who to ack when it is stored.</summary>
internal sealed record PendingAnswer(EngineSession Session, NamespaceSocket Socket, long AckId, string PromptId, string Data, long AtMs);

/// <summary>
/// Appends answers to the region's answers stream: a bounded buffer drained in batches of pipelined XADDs. Each
/// answer is acked to its client only after Redis accepted it (<c>{"ok":true}</c>), or refused with the reason —
/// never dropped silently.
/// </summary>
internal sealed class AnswerWriter
{
    public const string PromptIdField = "prompt_id";
    public const string SidField = "sid";
    public const string DataField = "data";
    public const string AtField = "at";

    private const int Batch = 512;

    private readonly GatewayRuntime _runtime;
    private readonly Region _region;
    private readonly Channel<PendingAnswer> _pending;
    private readonly RedisKey _key;
    private int _count;

    public AnswerWriter(GatewayRuntime runtime, Region region)
    {
        _runtime = runtime;
        _region = region;
        _key = runtime.Options.Redis.AnswerStream;
        _pending = Channel.CreateBounded<PendingAnswer>(new BoundedChannelOptions(runtime.Options.Answers.MaxPending)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: the caller refuses with "busy"
        });
    }

    public int Pending => Volatile.Read(ref _count);

    /// <summary>False when the buffer is full or Redis is away: the caller acks the refusal at once.</summary>
    public bool TryEnqueue(PendingAnswer answer, out string? error)
    {
        if (_region.NotReadyReason is not null)
        {
            error = "unavailable";
            return false;
        }

        if (!_pending.Writer.TryWrite(answer))
        {
            error = "busy";
            return false;
        }

        Interlocked.Increment(ref _count);
        error = null;
        return true;
    }

    public async Task RunAsync(Task<ConnectionMultiplexer> connecting)
    {
        ConnectionMultiplexer redis;
        try
        {
            redis = await connecting.WaitAsync(_region.Stopping).ConfigureAwait(false);
        }
        catch (Exception)
        {
            return;
        }

        IDatabase db = redis.GetDatabase();
        long maxLength = _runtime.Options.Redis.AnswerMaxLength;
        var batch = new List<PendingAnswer>(Batch);
        var writes = new List<Task<RedisValue>>(Batch);
        ChannelReader<PendingAnswer> reader = _pending.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_region.Stopping).ConfigureAwait(false))
            {
                while (batch.Count < Batch && reader.TryRead(out PendingAnswer? answer))
                {
                    batch.Add(answer);
                }

                // Issued back to back without awaiting each: StackExchange.Redis pipelines them on one connection.
                foreach (PendingAnswer answer in batch)
                {
                    writes.Add(db.StreamAddAsync(_key,
                    [
                        new NameValueEntry(PromptIdField, answer.PromptId),
                        new NameValueEntry(SidField, answer.Socket.Id),
                        new NameValueEntry(DataField, answer.Data),
                        new NameValueEntry(AtField, answer.AtMs.ToString(CultureInfo.InvariantCulture)),
                    ], maxLength: maxLength, useApproximateMaxLength: true));
                }

                try
                {
                    await Task.WhenAll(writes).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Each write is looked at below.
                }

                for (int i = 0; i < batch.Count; i++)
                {
                    bool stored = writes[i].IsCompletedSuccessfully;
                    if (stored)
                    {
                        _runtime.Metrics.AnswerWritten();
                    }
                    else
                    {
                        _runtime.Metrics.AnswerRefused();
                    }

                    batch[i].Session.CompleteAnswer(batch[i], stored ? null : "unavailable");
                }

                Interlocked.Add(ref _count, -batch.Count);
                batch.Clear();
                writes.Clear();
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            Log.RedisLoopFailed(_region.Logger, "answers", e);
        }

        // Stopping: whatever is left is refused, not dropped.
        while (reader.TryRead(out PendingAnswer? answer))
        {
            answer.Session.CompleteAnswer(answer, "unavailable");
        }
    }
}
