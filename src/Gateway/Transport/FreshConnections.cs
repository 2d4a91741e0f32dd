namespace Gateway.Transport;

/// <summary>
/// The connections that have not sent a complete request head yet, oldest first: not viewers, so at the connection
/// cap the oldest of them makes room for a new connection (<see cref="TakeOldest"/>). Intrusive (the links are fields
/// of <see cref="HttpConnection"/>); a lock, taken twice per connection (in, out), never per message.
/// </summary>
internal sealed class FreshConnections
{
    private readonly Lock _lock = new();
    private HttpConnection? _oldest;
    private HttpConnection? _newest;

    public int Count { get; private set; }

    public void Add(HttpConnection connection, long now)
    {
        lock (_lock)
        {
            connection.FreshSince = now;
            connection.FreshPrevious = _newest;
            connection.FreshNext = null;
            if (_newest is null)
            {
                _oldest = connection;
            }
            else
            {
                _newest.FreshNext = connection;
            }

            _newest = connection;
            connection.InFreshList = true;
            Count++;
        }
    }

    /// <summary>Takes the connection out (it sent a head, or ended); nothing when it is not in.</summary>
    public void Remove(HttpConnection connection)
    {
        lock (_lock)
        {
            RemoveLocked(connection);
        }
    }

    /// <summary>
    /// Takes the oldest connection out and returns it, if it joined at or before <paramref name="since"/>; null when
    /// there is none that old.
    /// </summary>
    public HttpConnection? TakeOldest(long since = long.MaxValue)
    {
        lock (_lock)
        {
            HttpConnection? oldest = _oldest;
            if (oldest is null || oldest.FreshSince > since)
            {
                return null;
            }

            RemoveLocked(oldest);
            return oldest;
        }
    }

    private void RemoveLocked(HttpConnection connection)
    {
        if (!connection.InFreshList)
        {
            return;
        }

        if (connection.FreshPrevious is null)
        {
            _oldest = connection.FreshNext;
        }
        else
        {
            connection.FreshPrevious.FreshNext = connection.FreshNext;
        }

        if (connection.FreshNext is null)
        {
            _newest = connection.FreshPrevious;
        }
        else
        {
            connection.FreshNext.FreshPrevious = connection.FreshPrevious;
        }

        connection.FreshPrevious = null;
        connection.FreshNext = null;
        connection.InFreshList = false;
        Count--;
    }
}
