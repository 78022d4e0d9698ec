namespace Backprop.Distributed;

/// <summary>
/// Which values of a buffer each rank owns in <see cref="ICommunicator.ReduceScatter"/> and
/// <see cref="ICommunicator.AllGather"/>: rank r's part of a buffer of L values is [Start, End), equal runs of whole
/// 64-byte lines (16 floats) in rank order, the last one short. A rank may own nothing when L is small; the parts
/// cover the buffer, in order, without overlap.
/// </summary>
/// <remarks>
/// Whole lines, so no two owners write one cache line, and a part starts where a vector of any width starts.
/// </remarks>
public static class RankParts
{
    /// <summary>Floats per 64-byte line: every part but the last is a multiple of it.</summary>
    public const int LineFloats = 16;

    /// <summary>Rank <paramref name="rank"/>'s part of a buffer of <paramref name="length"/> values among <paramref name="ranks"/> ranks.</summary>
    public static (int Start, int End) Of(int length, int ranks, int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfLessThan(ranks, 1);
        if ((uint)rank >= (uint)ranks) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"the rank must be 0 to {ranks - 1}.");
        int per = (int)(((long)length + (long)ranks * LineFloats - 1) / ((long)ranks * LineFloats) * LineFloats);
        int start = (int)Math.Min((long)rank * per, length);
        return (start, (int)Math.Min((long)start + per, length));
    }
}
