using System.Runtime.InteropServices;
using Backprop.Nn;

namespace Backprop.Distributed;

/// <summary>
/// 64-bit FNV-1a hashes of a model, the same in every process (unlike <see cref="HashCode"/>, which is seeded per
/// process): of its structure (what it prints as, each parameter's and buffer's name and shape) and of its values.
/// </summary>
internal static class ModelFingerprint
{
    private const ulong Offset = 14695981039346656037UL, Prime = 1099511628211UL;

    public static ulong Structure(Module model)
    {
        ulong h = Add(Offset, model.ToString());
        foreach (var (name, t) in model.StateDict())
        {
            h = Add(h, name);
            foreach (int d in t.Shape) h = Add(h, BitConverter.GetBytes(d));
        }
        return h;
    }

    public static ulong Values(Module model) => Values(model.StateDict().Select(s => s.Tensor));

    public static ulong Values(IEnumerable<Tensor> tensors)
    {
        ulong h = Offset;
        foreach (var t in tensors) h = Add(h, MemoryMarshal.AsBytes(t.AsSpan()));
        return h;
    }

    private static ulong Add(ulong h, string text) => Add(h, System.Text.Encoding.UTF8.GetBytes(text + "\0"));

    private static ulong Add(ulong h, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) h = (h ^ b) * Prime;
        return h;
    }

    /// <summary>A 64-bit value as two doubles (each half exact), to compare across ranks through a double allreduce.</summary>
    public static (double Low, double High) Split(ulong h) => ((uint)h, (uint)(h >> 32));
}
