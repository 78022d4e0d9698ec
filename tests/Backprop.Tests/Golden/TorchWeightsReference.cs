using System.Text.Json;

namespace Backprop.Tests.Golden;

/// <summary>One PyTorch model of <c>Golden/torch_weights.json</c> (tools/make_torch_weights_reference.py).</summary>
/// <param name="Name">mlp, cnn or bn.</param>
/// <param name="File">Its state dict, relative to Golden/.</param>
/// <param name="Dtype">The dtype its weights are stored in.</param>
/// <param name="Spec">The Backprop model-language spec of the same layers.</param>
/// <param name="Input">One example's shape.</param>
/// <param name="X">Inputs as rows [N, F].</param>
/// <param name="Y">PyTorch's outputs in float64 from the stored weights.</param>
/// <param name="Export">What PyTorch made of Backprop's export of the imported model.</param>
public sealed record TorchWeightsModel(string Name, string File, string Dtype, string Spec, int[] Input, GoldenTensor X, GoldenTensor Y, TorchWeightsExport Export)
{
    public string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "Golden", file);

    public Tensor Inputs => Tensor.FromArray([.. X.Data.Select(v => (float)v)], X.Shape);

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>Backprop's export, committed, and whether PyTorch's load_state_dict(strict=True) took it and matched.</summary>
public sealed record TorchWeightsExport(string File, string Pytorch, bool LoadedStrict, double MaxAbsDiff, bool Matched);

/// <summary>One tensor of dtypes.safetensors: its dtype, shape and values (as float64).</summary>
public sealed record TorchDtypeTensor(string Dtype, int[] Shape, double[] Values);

/// <summary>Reads <c>Golden/torch_weights.json</c> once.</summary>
public static class TorchWeightsReference
{
    private sealed record DtypeFile(string File, Dictionary<string, TorchDtypeTensor> Tensors);

    private sealed record Document(string Generator, string Torch, TorchWeightsModel[] Models, DtypeFile Dtypes);

    private static readonly Lazy<Document> Doc = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Golden", "torch_weights.json");
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, PropertyNameCaseInsensitive = true };
        return JsonSerializer.Deserialize<Document>(System.IO.File.ReadAllText(path), options)
            ?? throw new InvalidDataException($"{path} holds no reference document.");
    });

    public static IReadOnlyList<TorchWeightsModel> Models => Doc.Value.Models;

    public static TorchWeightsModel Model(string name) => Models.Single(m => m.Name == name);

    public static string DtypesFile => Path.Combine(AppContext.BaseDirectory, "Golden", Doc.Value.Dtypes.File);

    public static IReadOnlyDictionary<string, TorchDtypeTensor> DtypeTensors => Doc.Value.Dtypes.Tensors;
}
