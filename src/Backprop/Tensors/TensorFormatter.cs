using System.Globalization;
using System.Text;

namespace Backprop;

/// <summary>Prints tensors the way the seeds and NumPy do: <c>[[0.81 0.81] [0.97 0.71]]</c>.</summary>
internal static class TensorFormatter
{
    public static string Format(Tensor t, int decimals)
    {
        var sb = new StringBuilder();
        if (t.Rank == 0) return t.data[0].ToString("F" + decimals, CultureInfo.InvariantCulture);
        int offset = 0;
        Append(sb, t, 0, ref offset, decimals);
        return sb.ToString();
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
                sb.Append(t.data[offset++].ToString("F" + decimals, CultureInfo.InvariantCulture));
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
