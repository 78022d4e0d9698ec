using System.Text.Json;
using System.Text.Json.Serialization;

namespace Backprop.Tests.Golden;

/// <summary>An expected tensor in the reference file: shape and row-major values (float64 results, 9 digits).</summary>
public sealed record GoldenTensor(int[] Shape, double[] Data);

/// <summary>
/// A float32 tensor of the reference file (an input or R): 9 significant digits read back as float32 give the exact
/// value the reference was computed from. <see cref="Grad"/> says whether the file holds its gradient.
/// </summary>
public sealed record GoldenInput(int[] Shape, float[] Data, bool Grad)
{
    // FromArray with an empty shape makes a rank-1 tensor, so a rank-0 value needs Scalar.
    public Tensor ToTensor() => Shape.Length == 0 ? Tensor.Scalar(Data[0]) : Tensor.FromArray(Data, Shape);
}

/// <summary>
/// One case of <c>torch_ops.json</c>, written by <c>tools/make_torch_reference.py</c>: an op applied to float32
/// inputs, its output, and dL/dinput for L = Σ output ⊙ R, all computed by PyTorch in float64.
/// </summary>
public sealed record GoldenCase(
    string Name,
    string Op,
    Dictionary<string, JsonElement> Args,
    GoldenInput[] Inputs,
    GoldenInput R,
    GoldenTensor Output,
    GoldenTensor?[] Grads,
    string? Note)
{
    public float Float(string arg) => Args[arg].GetSingle();
    public int Int(string arg) => Args[arg].GetInt32();
    public bool Bool(string arg) => Args[arg].GetBoolean();
    public int[] Ints(string arg) => [.. Args[arg].EnumerateArray().Select(e => e.GetInt32())];

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// Reads <c>Golden/torch_ops.json</c> (tools/make_torch_reference.py) and <c>Golden/torch_tensor_api.json</c>
/// (tools/make_tensor_api_reference.py), copied next to the test assembly, once each.
/// </summary>
public static class TorchReference
{
    private sealed record Document(string Generator, string Torch, string Loss, GoldenCase[] Cases, GoldenCase[] Losses);

    private static readonly Lazy<Document> File = new(() => Read("torch_ops.json"));

    private static readonly Lazy<Document> TensorApiFile = new(() => Read("torch_tensor_api.json"));

    private static readonly Lazy<Document> VaeFile = new(() => Read("torch_vae.json"));

    private static Document Read(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Golden", name);
        var options = new JsonSerializerOptions
        {
            PropertyNameCaseInsensitive = true,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        };
        using var stream = System.IO.File.OpenRead(path);
        return JsonSerializer.Deserialize<Document>(stream, options)
            ?? throw new InvalidDataException($"{path} holds no reference document.");
    }

    /// <summary>The op cases, in file order.</summary>
    public static IReadOnlyList<GoldenCase> Ops => File.Value.Cases;

    /// <summary>The cases of the wider tensor API (torch_tensor_api.json), in file order.</summary>
    public static IReadOnlyList<GoldenCase> TensorApi => TensorApiFile.Value.Cases;

    /// <summary>The VAE's KL term, reparameterisation, summed BCE and negative ELBO (torch_vae.json), in file order.</summary>
    public static IReadOnlyList<GoldenCase> Vae => VaeFile.Value.Cases;

    /// <summary>The loss cases (Backprop.Nn.Losses), in file order.</summary>
    public static IReadOnlyList<GoldenCase> Losses => File.Value.Losses;

    /// <summary>The PyTorch version that produced the file.</summary>
    public static string TorchVersion => File.Value.Torch;
}
