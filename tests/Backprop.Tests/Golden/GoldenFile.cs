using System.Text.Json;

namespace Backprop.Tests.Golden;

/// <summary>Reads committed reference files from the test output's Golden folder.</summary>
internal static class GoldenFile
{
    public static JsonElement Load(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Golden", name);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }

    public static float[] Floats(this JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetSingle())];
}
