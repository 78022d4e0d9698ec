using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

/// <summary>
/// Runs an element-wise operator struct (<see cref="IUnaryOperator"/> and its siblings) over spans at a given
/// <see cref="SimdWidth"/>: whole vectors of that width, then the tail in narrower vectors (8, then 4 floats) and
/// finally one float at a time. Since every lane computes what the scalar operator computes, the result is the same
/// bits at every width. A new element-wise kernel is one operator struct and one call here.
/// </summary>
/// <remarks>
/// Spans are <c>d</c> (the output) first, then the inputs, all of one length; <c>d</c> may be one of the inputs
/// (in place) but must not overlap one partially. Callers pass <see cref="Simd.Width"/> in production and every
/// width in tests; a width wider than the hardware runs in software (correct, slow).
/// </remarks>
internal static partial class SimdDriver
{
    /// <summary>d[i] = TOp(x[i]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TOp>(Span<float> d, ReadOnlySpan<float> x, SimdWidth width) where TOp : struct, IUnaryOperator
    {
        SameLength(d, x.Length, nameof(x));
        if (d.Length >= ParallelMinLength && TrySplit<TOp>(d, x, width)) return;
        Core<TOp>(ref MemoryMarshal.GetReference(d), ref MemoryMarshal.GetReference(x), (nuint)d.Length, width);
    }

    /// <summary>d[i] = TOp(x[i], y[i]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TOp>(Span<float> d, ReadOnlySpan<float> x, ReadOnlySpan<float> y, SimdWidth width) where TOp : struct, IBinaryOperator
    {
        SameLength(d, x.Length, nameof(x));
        SameLength(d, y.Length, nameof(y));
        if (d.Length >= ParallelMinLength && TrySplit<TOp>(d, x, y, width)) return;
        Core<TOp>(ref MemoryMarshal.GetReference(d), ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y), (nuint)d.Length, width);
    }

    /// <summary>d[i] = TOp(x[i], y): <paramref name="y"/> is the same for every element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TOp>(Span<float> d, ReadOnlySpan<float> x, float y, SimdWidth width) where TOp : struct, IBinaryOperator
    {
        SameLength(d, x.Length, nameof(x));
        Core<TOp>(ref MemoryMarshal.GetReference(d), ref MemoryMarshal.GetReference(x), y, (nuint)d.Length, width);
    }

    /// <summary>d[i] = TOp(x[i], y[i], z[i]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TOp>(Span<float> d, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z, SimdWidth width) where TOp : struct, ITernaryOperator
    {
        SameLength(d, x.Length, nameof(x));
        SameLength(d, y.Length, nameof(y));
        SameLength(d, z.Length, nameof(z));
        Core<TOp>(ref MemoryMarshal.GetReference(d), ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y), ref MemoryMarshal.GetReference(z), (nuint)d.Length, width);
    }

    /// <summary>d[i] = TOp(x[i], y[i], z).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TOp>(Span<float> d, ReadOnlySpan<float> x, ReadOnlySpan<float> y, float z, SimdWidth width) where TOp : struct, ITernaryOperator
    {
        SameLength(d, x.Length, nameof(x));
        SameLength(d, y.Length, nameof(y));
        Core<TOp>(ref MemoryMarshal.GetReference(d), ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y), z, (nuint)d.Length, width);
    }

    /// <summary>d[i] = TOp(x[i], y, z).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TOp>(Span<float> d, ReadOnlySpan<float> x, float y, float z, SimdWidth width) where TOp : struct, ITernaryOperator
    {
        SameLength(d, x.Length, nameof(x));
        Core<TOp>(ref MemoryMarshal.GetReference(d), ref MemoryMarshal.GetReference(x), y, z, (nuint)d.Length, width);
    }

    /// <summary>d[i] = TOp(x[i], y[i], z, w).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TOp>(Span<float> d, ReadOnlySpan<float> x, ReadOnlySpan<float> y, float z, float w, SimdWidth width) where TOp : struct, IQuaternaryOperator
    {
        SameLength(d, x.Length, nameof(x));
        SameLength(d, y.Length, nameof(y));
        Core<TOp>(ref MemoryMarshal.GetReference(d), ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y), z, w, (nuint)d.Length, width);
    }

    /// <summary>d[r, :] = TOp(x[r, :], row) for every row of d [·, cols]: <paramref name="row"/> [cols] is added to (or combined with) each row, as a bias is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MapRows<TOp>(Span<float> d, ReadOnlySpan<float> x, ReadOnlySpan<float> row, int cols, SimdWidth width) where TOp : struct, IBinaryOperator
    {
        SameLength(d, x.Length, nameof(x));
        CheckRows(d.Length, row.Length, cols);
        ref float dr = ref MemoryMarshal.GetReference(d);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float rr = ref MemoryMarshal.GetReference(row);
        for (int start = 0; start < d.Length; start += cols)
            Core<TOp>(ref Unsafe.Add(ref dr, start), ref Unsafe.Add(ref xr, start), ref rr, (nuint)cols, width);
    }

    /// <summary>d[r, :] = TOp(x[r, :], row, z) for every row of d [·, cols].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MapRows<TOp>(Span<float> d, ReadOnlySpan<float> x, ReadOnlySpan<float> row, float z, int cols, SimdWidth width) where TOp : struct, ITernaryOperator
    {
        SameLength(d, x.Length, nameof(x));
        CheckRows(d.Length, row.Length, cols);
        ref float dr = ref MemoryMarshal.GetReference(d);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float rr = ref MemoryMarshal.GetReference(row);
        for (int start = 0; start < d.Length; start += cols)
            Core<TOp>(ref Unsafe.Add(ref dr, start), ref Unsafe.Add(ref xr, start), ref rr, z, (nuint)cols, width);
    }

    /// <summary>d[r, :] = TOp(x[r, :], row1, row2) for every row of d [·, cols]: two per-column operands, as a scale and a shift.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MapRows<TOp>(Span<float> d, ReadOnlySpan<float> x, ReadOnlySpan<float> row1, ReadOnlySpan<float> row2, int cols, SimdWidth width) where TOp : struct, ITernaryOperator
    {
        SameLength(d, x.Length, nameof(x));
        CheckRows(d.Length, Math.Min(row1.Length, row2.Length), cols);
        ref float dr = ref MemoryMarshal.GetReference(d);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float ar = ref MemoryMarshal.GetReference(row1);
        ref float br = ref MemoryMarshal.GetReference(row2);
        for (int start = 0; start < d.Length; start += cols)
            Core<TOp>(ref Unsafe.Add(ref dr, start), ref Unsafe.Add(ref xr, start), ref ar, ref br, (nuint)cols, width);
    }

    /// <summary>d[r, :] = TOp(x[r, :], row1, row2, w) for every row of d [·, cols].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MapRows<TOp>(Span<float> d, ReadOnlySpan<float> x, ReadOnlySpan<float> row1, ReadOnlySpan<float> row2, float w, int cols, SimdWidth width) where TOp : struct, IQuaternaryOperator
    {
        SameLength(d, x.Length, nameof(x));
        CheckRows(d.Length, Math.Min(row1.Length, row2.Length), cols);
        ref float dr = ref MemoryMarshal.GetReference(d);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float ar = ref MemoryMarshal.GetReference(row1);
        ref float br = ref MemoryMarshal.GetReference(row2);
        for (int start = 0; start < d.Length; start += cols)
            Core<TOp>(ref Unsafe.Add(ref dr, start), ref Unsafe.Add(ref xr, start), ref ar, ref br, w, (nuint)cols, width);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Core<TOp>(ref float d, ref float x, nuint n, SimdWidth width) where TOp : struct, IUnaryOperator
    {
        nuint i = 0;
        if (width >= SimdWidth.Vector512)
        {
            for (; i + 16 <= n; i += 16) TOp.Invoke(Vector512.LoadUnsafe(ref x, i)).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector256)
        {
            for (; i + 8 <= n; i += 8) TOp.Invoke(Vector256.LoadUnsafe(ref x, i)).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector128)
        {
            for (; i + 4 <= n; i += 4) TOp.Invoke(Vector128.LoadUnsafe(ref x, i)).StoreUnsafe(ref d, i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = TOp.Invoke(Unsafe.Add(ref x, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Core<TOp>(ref float d, ref float x, ref float y, nuint n, SimdWidth width) where TOp : struct, IBinaryOperator
    {
        nuint i = 0;
        if (width >= SimdWidth.Vector512)
        {
            for (; i + 16 <= n; i += 16) TOp.Invoke(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i)).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector256)
        {
            for (; i + 8 <= n; i += 8) TOp.Invoke(Vector256.LoadUnsafe(ref x, i), Vector256.LoadUnsafe(ref y, i)).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector128)
        {
            for (; i + 4 <= n; i += 4) TOp.Invoke(Vector128.LoadUnsafe(ref x, i), Vector128.LoadUnsafe(ref y, i)).StoreUnsafe(ref d, i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = TOp.Invoke(Unsafe.Add(ref x, i), Unsafe.Add(ref y, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Core<TOp>(ref float d, ref float x, float y, nuint n, SimdWidth width) where TOp : struct, IBinaryOperator
    {
        nuint i = 0;
        if (width >= SimdWidth.Vector512)
        {
            var y512 = Vector512.Create(y);
            for (; i + 16 <= n; i += 16) TOp.Invoke(Vector512.LoadUnsafe(ref x, i), y512).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector256)
        {
            var y256 = Vector256.Create(y);
            for (; i + 8 <= n; i += 8) TOp.Invoke(Vector256.LoadUnsafe(ref x, i), y256).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector128)
        {
            var y128 = Vector128.Create(y);
            for (; i + 4 <= n; i += 4) TOp.Invoke(Vector128.LoadUnsafe(ref x, i), y128).StoreUnsafe(ref d, i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = TOp.Invoke(Unsafe.Add(ref x, i), y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Core<TOp>(ref float d, ref float x, ref float y, ref float z, nuint n, SimdWidth width) where TOp : struct, ITernaryOperator
    {
        nuint i = 0;
        if (width >= SimdWidth.Vector512)
        {
            for (; i + 16 <= n; i += 16) TOp.Invoke(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i), Vector512.LoadUnsafe(ref z, i)).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector256)
        {
            for (; i + 8 <= n; i += 8) TOp.Invoke(Vector256.LoadUnsafe(ref x, i), Vector256.LoadUnsafe(ref y, i), Vector256.LoadUnsafe(ref z, i)).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector128)
        {
            for (; i + 4 <= n; i += 4) TOp.Invoke(Vector128.LoadUnsafe(ref x, i), Vector128.LoadUnsafe(ref y, i), Vector128.LoadUnsafe(ref z, i)).StoreUnsafe(ref d, i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = TOp.Invoke(Unsafe.Add(ref x, i), Unsafe.Add(ref y, i), Unsafe.Add(ref z, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Core<TOp>(ref float d, ref float x, ref float y, float z, nuint n, SimdWidth width) where TOp : struct, ITernaryOperator
    {
        nuint i = 0;
        if (width >= SimdWidth.Vector512)
        {
            var z512 = Vector512.Create(z);
            for (; i + 16 <= n; i += 16) TOp.Invoke(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i), z512).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector256)
        {
            var z256 = Vector256.Create(z);
            for (; i + 8 <= n; i += 8) TOp.Invoke(Vector256.LoadUnsafe(ref x, i), Vector256.LoadUnsafe(ref y, i), z256).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector128)
        {
            var z128 = Vector128.Create(z);
            for (; i + 4 <= n; i += 4) TOp.Invoke(Vector128.LoadUnsafe(ref x, i), Vector128.LoadUnsafe(ref y, i), z128).StoreUnsafe(ref d, i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = TOp.Invoke(Unsafe.Add(ref x, i), Unsafe.Add(ref y, i), z);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Core<TOp>(ref float d, ref float x, float y, float z, nuint n, SimdWidth width) where TOp : struct, ITernaryOperator
    {
        nuint i = 0;
        if (width >= SimdWidth.Vector512)
        {
            var y512 = Vector512.Create(y);
            var z512 = Vector512.Create(z);
            for (; i + 16 <= n; i += 16) TOp.Invoke(Vector512.LoadUnsafe(ref x, i), y512, z512).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector256)
        {
            var y256 = Vector256.Create(y);
            var z256 = Vector256.Create(z);
            for (; i + 8 <= n; i += 8) TOp.Invoke(Vector256.LoadUnsafe(ref x, i), y256, z256).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector128)
        {
            var y128 = Vector128.Create(y);
            var z128 = Vector128.Create(z);
            for (; i + 4 <= n; i += 4) TOp.Invoke(Vector128.LoadUnsafe(ref x, i), y128, z128).StoreUnsafe(ref d, i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = TOp.Invoke(Unsafe.Add(ref x, i), y, z);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Core<TOp>(ref float d, ref float x, ref float y, float z, float w, nuint n, SimdWidth width) where TOp : struct, IQuaternaryOperator
    {
        nuint i = 0;
        if (width >= SimdWidth.Vector512)
        {
            var z512 = Vector512.Create(z);
            var w512 = Vector512.Create(w);
            for (; i + 16 <= n; i += 16) TOp.Invoke(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i), z512, w512).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector256)
        {
            var z256 = Vector256.Create(z);
            var w256 = Vector256.Create(w);
            for (; i + 8 <= n; i += 8) TOp.Invoke(Vector256.LoadUnsafe(ref x, i), Vector256.LoadUnsafe(ref y, i), z256, w256).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector128)
        {
            var z128 = Vector128.Create(z);
            var w128 = Vector128.Create(w);
            for (; i + 4 <= n; i += 4) TOp.Invoke(Vector128.LoadUnsafe(ref x, i), Vector128.LoadUnsafe(ref y, i), z128, w128).StoreUnsafe(ref d, i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = TOp.Invoke(Unsafe.Add(ref x, i), Unsafe.Add(ref y, i), z, w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Core<TOp>(ref float d, ref float x, ref float y, ref float z, float w, nuint n, SimdWidth width) where TOp : struct, IQuaternaryOperator
    {
        nuint i = 0;
        if (width >= SimdWidth.Vector512)
        {
            var w512 = Vector512.Create(w);
            for (; i + 16 <= n; i += 16) TOp.Invoke(Vector512.LoadUnsafe(ref x, i), Vector512.LoadUnsafe(ref y, i), Vector512.LoadUnsafe(ref z, i), w512).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector256)
        {
            var w256 = Vector256.Create(w);
            for (; i + 8 <= n; i += 8) TOp.Invoke(Vector256.LoadUnsafe(ref x, i), Vector256.LoadUnsafe(ref y, i), Vector256.LoadUnsafe(ref z, i), w256).StoreUnsafe(ref d, i);
        }
        if (width >= SimdWidth.Vector128)
        {
            var w128 = Vector128.Create(w);
            for (; i + 4 <= n; i += 4) TOp.Invoke(Vector128.LoadUnsafe(ref x, i), Vector128.LoadUnsafe(ref y, i), Vector128.LoadUnsafe(ref z, i), w128).StoreUnsafe(ref d, i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = TOp.Invoke(Unsafe.Add(ref x, i), Unsafe.Add(ref y, i), Unsafe.Add(ref z, i), w);
    }

    private static void SameLength(Span<float> d, int length, string name)
    {
        if (length != d.Length)
            throw new ArgumentException($"SimdDriver: expected {name} to have the destination's {d.Length} values but it has {length}.", name);
    }

    private static void CheckRows(int length, int row, int cols)
    {
        if (cols <= 0 ? length != 0 : length % cols != 0 || row < cols)
            throw new ArgumentException($"SimdDriver: expected rows of {cols} values and a row operand of at least {cols}, but got {length} values and a row operand of {row}.");
    }
}
