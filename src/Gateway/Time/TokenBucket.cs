namespace Gateway.Time;

/// <summary>
/// A token bucket on a millisecond clock the caller passes in (<see cref="TimingWheel.Now"/>): <c>rate</c> tokens a
/// second, at most <c>burst</c> saved up. Thread-safe; a lock, because it is taken once per new session, not per message.
/// </summary>
public sealed class TokenBucket
{
    private readonly Lock _lock = new();
    private readonly double _perMs;
    private readonly double _burst;
    private double _tokens;
    private long _refilledAt;

    public TokenBucket(int ratePerSecond, int burst, long now)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burst);
        _perMs = ratePerSecond / 1000.0;
        _burst = burst;
        _tokens = burst;
        _refilledAt = now;
    }

    /// <summary>Takes one token if there is one at <paramref name="now"/> (ms).</summary>
    public bool TryTake(long now)
    {
        lock (_lock)
        {
            if (now > _refilledAt)
            {
                _tokens = Math.Min(_burst, _tokens + ((now - _refilledAt) * _perMs));
                _refilledAt = now;
            }

            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }
}
