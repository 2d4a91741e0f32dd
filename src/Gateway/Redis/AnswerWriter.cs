using System.Globalization;
using System.Threading.Channels;
using Gateway.Answers;
using Gateway.Broadcast;
using Gateway.Diagnostics;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>
/// Appends answers to the region's answers stream: a bounded buffer drained in batches of pipelined XADDs. Each
/// answer is acked to its client only after Redis accepted it (<c>{"ok":true}</c>), or refused with the reason —
/// never dropped silently.
/// </summary>
internal sealed class AnswerWriter : BackgroundService, IAnswerSink
{
    public const string PromptIdField = "prompt_id";
    public const string SidField = "sid";
    public const string DataField = "data";
    public const string AtField = "at";

    private const int Batch = 512;

    private readonly BroadcastContext _context;
    private readonly RegionConnection _connection;
    private readonly RedisPromptSource _prompts;
    private readonly Channel<PendingAnswer> _pending;
    private readonly RedisKey _key;
    private int _count;

    public AnswerWriter(BroadcastContext context, RegionConnection connection, RedisPromptSource prompts)
    {
        _context = context;
        _connection = connection;
        _prompts = prompts;
        _key = connection.Options.Redis.AnswerStream;
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
        long maxLength = _connection.Options.Redis.AnswerMaxLength;
        var batch = new List<PendingAnswer>(Batch);
        var writes = new List<Task<RedisValue>>(Batch);
        ChannelReader<PendingAnswer> reader = _pending.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
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
                        new NameValueEntry(SidField, answer.Sid),
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
                        _context.Metrics.AnswerWritten();
                    }
                    else
                    {
                        _context.Metrics.AnswerRefused();
                    }

                    batch[i].Acknowledger.CompleteAnswer(batch[i], stored ? AnswerRefusal.None : AnswerRefusal.Unavailable);
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
            Log.RedisLoopFailed(_connection.Logger, "answers", e);
        }

        // Stopping: whatever is left is refused, not dropped.
        while (reader.TryRead(out PendingAnswer? answer))
        {
            answer.Acknowledger.CompleteAnswer(answer, AnswerRefusal.Unavailable);
        }
    }
}
