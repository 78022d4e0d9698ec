using System.Globalization;

namespace Backprop.IO;

/// <summary>
/// Refuses loaded weights that hold NaN or ±Infinity. The safetensors format allows them, but a model with one
/// predicts NaN for every row, and resuming a checkpoint with one turns training NaN at once.
/// </summary>
internal static class FiniteWeights
{
    /// <summary>Throws, naming the file, the tensor and the first bad index, when a value of <paramref name="tensor"/> is not finite.</summary>
    /// <exception cref="ModelFormatException">A value is NaN or infinite.</exception>
    public static void Check(string path, string name, Tensor tensor)
    {
        var values = tensor.AsSpan();
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i])) continue;
            int bad = 0;
            foreach (var v in values[i..]) if (!float.IsFinite(v)) bad++;
            throw new ModelFormatException(path,
                $"tensor '{name}' {Shapes.Format(tensor.dims)} holds {values[i].ToString(CultureInfo.InvariantCulture)} at index {i} " +
                $"({bad} of its {values.Length} values are not finite); weights must be finite numbers. The file is damaged, " +
                "or training had diverged when it was saved: train again, with a smaller learning rate if it diverged.");
        }
    }
}
