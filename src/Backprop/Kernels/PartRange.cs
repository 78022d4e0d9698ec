namespace Backprop.Kernels;

/// <summary>How a job of <c>count</c> items (rows, columns, floats, pairs) is cut among the parts of a parallel region.</summary>
internal static class PartRange
{
    /// <summary>
    /// Part <paramref name="p"/> of <paramref name="parts"/> over <paramref name="count"/> items: [Start, End). Cuts fall
    /// at multiples of <paramref name="granule"/> (so every part but the last runs whole vectors) and are as even as
    /// whole granules allow; the last part ends at <paramref name="count"/>, and together the parts cover
    /// [0, <paramref name="count"/>) in order. A part may be empty when there are fewer granules than parts.
    /// </summary>
    public static (int Start, int End) Of(int count, int parts, int p, int granule = 1)
    {
        long granules = count / granule;
        int start = (int)(granules * p / parts) * granule;
        int end = p == parts - 1 ? count : (int)(granules * (p + 1) / parts) * granule;
        return (start, end);
    }
}
