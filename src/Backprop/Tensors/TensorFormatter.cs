using System.Globalization;
using System.Text;

namespace Backprop;

/// <summary>Prints tensors the way the seeds and NumPy do: <c>[[0.81 0.81] [0.97 0.71]]</c>.</summary>
internal static class TensorFormatter
{
    public static string Format(Tensor t, int decimals)
    {
        var sb = new StringBuilder();
        if (t.Rank == 0) return Number(t.data[0], decimals);
        int offset = 0;
        Append(sb, t, 0, ref offset, decimals);
        return sb.ToString();
    }

    /// <summary>A value with fixed decimals; a value that rounds to zero prints as 0, never -0.</summary>
    public static string Number(float v, int decimals)
    {
        var text = v.ToString("F" + decimals, CultureInfo.InvariantCulture);
        return text.StartsWith('-') && text.AsSpan(1).IndexOfAnyExcept("0.") < 0 ? text[1..] : text;
    }

    private static void Append(StringBuilder sb, Tensor t, int axis, ref int offset, int decimals)
    {
        sb.Append('[');
        int n = t.dims[axis];
        for (int i = 0; i < n; i++)
        {
            if (axis == t.Rank - 1)
            {
                if (i > 0) sb.Append(' ');
                sb.Append(Number(t.data[offset++], decimals));
            }
            else
            {
                if (i > 0) sb.Append(axis == t.Rank - 2 ? "\n " : "\n\n ").Append(' ', axis);
                Append(sb, t, axis + 1, ref offset, decimals);
            }
        }
        sb.Append(']');
    }
}
