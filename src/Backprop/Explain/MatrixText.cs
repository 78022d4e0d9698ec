using System.Globalization;
using System.Text;

namespace Backprop.Explain;

/// <summary>
/// Prints a matrix as NumPy does, with every number right-aligned to the widest so columns line up even with minus
/// signs: <c>[[ 0.70  0.40]</c> / <c> [-0.80  0.00]]</c>. Without negatives or mixed widths this is the engine's
/// <c>Tensor.ToString(decimals)</c> exactly (<c>[[0.81 0.81] [0.97 0.71]]</c>, one row per line).
/// </summary>
internal static class MatrixText
{
    public static string Format(Tensor t, int decimals)
    {
        if (t.Rank == 0 || t.Rank > 2) return t.ToString(decimals);
        var cells = t.ToArray().Select(v => TensorFormatter.Number(v, decimals)).ToArray();
        int width = cells.Length == 0 ? 0 : cells.Max(c => c.Length);
        int cols = t.Dim(-1), rows = t.Rank == 2 ? t.Dim(0) : 1;
        var sb = new StringBuilder();
        if (t.Rank == 2) sb.Append('[');
        for (int r = 0; r < rows; r++)
        {
            if (r > 0) sb.Append("\n ");
            sb.Append('[');
            for (int c = 0; c < cols; c++)
            {
                if (c > 0) sb.Append(' ');
                sb.Append(cells[r * cols + c].PadLeft(width));
            }
            sb.Append(']');
        }
        if (t.Rank == 2) sb.Append(']');
        return sb.ToString();
    }
}
