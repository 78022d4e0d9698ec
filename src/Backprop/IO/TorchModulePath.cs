using System.Numerics;

namespace Backprop.IO;

/// <summary>
/// The order in which PyTorch module paths (<c>features.0</c>, <c>classifier.10</c>, <c>fc2</c>) are matched to a
/// model's layers when the file gives no other: segment by segment, numbers by value (<c>2</c> before <c>10</c>, as
/// nn.Sequential numbers its modules), names in natural order (<c>fc2</c> before <c>fc10</c>), a number before a
/// name, and a module before the modules inside it. safetensors keeps no definition order, so this is the order of
/// an nn.Sequential (nested or not) but of named submodules only when their names sort as they are defined.
/// </summary>
internal sealed class TorchModulePath : IComparer<string>
{
    public static readonly TorchModulePath Order = new();

    public int Compare(string? x, string? y)
    {
        var a = Segments(x ?? "");
        var b = Segments(y ?? "");
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            int c = CompareSegment(a[i], b[i]);
            if (c != 0) return c;
        }
        return a.Length.CompareTo(b.Length);
    }

    private static string[] Segments(string path) => path.Length == 0 ? [] : path.Split('.');

    private static int CompareSegment(string a, string b)
    {
        bool na = IsNumber(a), nb = IsNumber(b);
        if (na && nb) return Compare(BigInteger.Parse(a), BigInteger.Parse(b), a, b);
        if (na != nb) return na ? -1 : 1;
        return Natural(a, b);
    }

    // Runs of digits compare by value, the rest ordinally: layer2 < layer10, fc1 < fc1a.
    private static int Natural(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            if (char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
            {
                int si = i, sj = j;
                while (i < a.Length && char.IsAsciiDigit(a[i])) i++;
                while (j < b.Length && char.IsAsciiDigit(b[j])) j++;
                string da = a[si..i], db = b[sj..j];
                int c = Compare(BigInteger.Parse(da), BigInteger.Parse(db), da, db);
                if (c != 0) return c;
                continue;
            }
            if (a[i] != b[j]) return a[i].CompareTo(b[j]);
            i++;
            j++;
        }
        return (a.Length - i).CompareTo(b.Length - j);
    }

    // Equal values written differently (01 and 1) still get an order, so the sort is total.
    private static int Compare(BigInteger x, BigInteger y, string a, string b)
    {
        int c = x.CompareTo(y);
        return c != 0 ? c : string.CompareOrdinal(a, b);
    }

    private static bool IsNumber(string s) => s.Length > 0 && s.All(char.IsAsciiDigit);
}
