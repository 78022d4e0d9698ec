using System.Collections;
using System.Globalization;

namespace Backprop.Data;

/// <summary>
/// The class names <c>"0"</c>..<c>"C−1"</c> of a dataset created without names, made when read: labels that are large
/// ids (an <see cref="IntTensor"/> target of 2²⁴ and more) then cost no C-sized array.
/// </summary>
internal sealed class NumberedClassNames(int count) : IReadOnlyList<string>
{
    public int Count { get; } = count;

    public string this[int index] => (uint)index < (uint)Count
        ? index.ToString(CultureInfo.InvariantCulture)
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"class {index} is not one of the {Count} classes 0..{Count - 1}.");

    public IEnumerator<string> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
