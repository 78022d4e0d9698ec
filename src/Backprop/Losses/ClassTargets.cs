namespace Backprop.Nn;

/// <summary>
/// What <see cref="CrossEntropyLoss"/> and <see cref="NllLoss"/> share: class weights, an ignored class index, and
/// reading class-index targets (stored as floats) against them.
/// </summary>
internal static class ClassTargets
{
    /// <summary>A private copy of the class weights, each finite and ≥ 0, or null for none.</summary>
    public static float[]? CopyWeights(IReadOnlyList<float>? weight, string loss)
    {
        if (weight is null) return null;
        if (weight.Count == 0) throw new ArgumentException($"{loss}: the class weights must have one value per class but are empty.", nameof(weight));
        var copy = weight.ToArray();
        for (int c = 0; c < copy.Length; c++)
            if (!(copy[c] >= 0f) || float.IsPositiveInfinity(copy[c]))
                throw new ArgumentOutOfRangeException(nameof(weight), copy[c], $"{loss}: class weight {c} must be a finite number ≥ 0 but is {copy[c]}.");
        return copy;
    }

    /// <summary>Throws unless the weights, if any, number <paramref name="classes"/>.</summary>
    public static void RequireWeightsFor(float[]? weight, int classes, string loss)
    {
        if (weight is not null && weight.Length != classes)
            throw new ShapeMismatchException($"{loss}: {weight.Length} class weights were given but the input has {classes} classes.");
    }

    /// <summary>
    /// The class of target row <paramref name="i"/>, or −1 when it equals <paramref name="ignoreIndex"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The label is not a whole number in 0..classes−1 (nor the ignored index).</exception>
    public static int ClassOf(Tensor target, int i, int classes, int? ignoreIndex, string loss)
    {
        float label = target.data[i];
        if (ignoreIndex is { } ignored && label == ignored) return -1;
        int k = (int)label;
        if (k != label || k < 0 || k >= classes) throw NotAClass(i, $"{label}", classes, ignoreIndex, loss);
        return k;
    }

    /// <summary>The class of integer target row <paramref name="i"/>, or −1 when it equals <paramref name="ignoreIndex"/>.</summary>
    /// <exception cref="ArgumentException">The label is not in 0..classes−1 (nor the ignored index).</exception>
    public static int ClassOf(IntTensor target, int i, int classes, int? ignoreIndex, string loss)
    {
        int label = target.data[i];
        if (ignoreIndex is { } ignored && label == ignored) return -1;
        if (label < 0 || label >= classes) throw NotAClass(i, $"{label}", classes, ignoreIndex, loss);
        return label;
    }

    private static ArgumentException NotAClass(int i, string label, int classes, int? ignoreIndex, string loss) =>
        new($"{loss}: target {i} is {label}, but class indices must be whole numbers in 0..{classes - 1}" +
            (ignoreIndex is { } ig ? $" (or the ignored index {ig})." : "."));
}
