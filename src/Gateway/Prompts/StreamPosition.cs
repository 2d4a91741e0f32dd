using Gateway.Broadcast;

namespace Gateway.Prompts;

/// <summary>
/// Where an entry stands in delivery order: by the instant it becomes visible (its stream time, or its
/// <c>reveal_at</c> less its send-ahead when that is later, <see cref="RevealTag.PushAt"/>), then by stream id. Every gateway of a region pushes entries in this order,
/// so "everything up to position P" names the same set of prompts on all of them — which is what lets a client
/// recover on any instance from the offset another one gave it.
/// </summary>
internal readonly record struct StreamPosition(long VisibleAt, StreamId Id) : IComparable<StreamPosition>
{
    public static readonly StreamPosition Start = new(0, StreamId.Zero);

    public static StreamPosition Of(StreamId id, long? revealAtMs, long sendAheadMs = 0) =>
        new(RevealTag.PushAt(revealAtMs, id.Ms, sendAheadMs), id);

    public int CompareTo(StreamPosition other)
    {
        int byTime = VisibleAt.CompareTo(other.VisibleAt);
        return byTime != 0 ? byTime : Id.CompareTo(other.Id);
    }

    public static bool operator <(StreamPosition a, StreamPosition b) => a.CompareTo(b) < 0;

    public static bool operator >(StreamPosition a, StreamPosition b) => a.CompareTo(b) > 0;

    public static bool operator <=(StreamPosition a, StreamPosition b) => a.CompareTo(b) <= 0;

    public static bool operator >=(StreamPosition a, StreamPosition b) => a.CompareTo(b) >= 0;
}
