using System.Text.Json;
using Backprop.Nn;
using Backprop.Tests.Golden;

namespace Backprop.Tests.Nn;

/// <summary>
/// L1, smooth L1, Huber, NLL, KL divergence and cross-entropy with class weights, label smoothing, ignore_index and
/// every reduction against PyTorch (<c>Golden/torch_losses.json</c>, written by <c>tools/make_loss_reference.py</c>):
/// the value, and ∂L/∂prediction (and ∂L/∂target where the file has it) for L = loss·R with a random scalar R.
/// </summary>
/// <remarks>
/// Same tolerance rule as <see cref="Autograd.TorchLossReferenceTests"/>: |actual − expected| ≤ max(rtol·|expected|,
/// atol), values rtol 1e-5 / atol 1e-6, gradients rtol 1e-4 / atol 1e-6.
/// </remarks>
public sealed class LossReferenceTests
{
    private const double ValueRtol = 1e-5, ValueAtol = 1e-6, GradRtol = 1e-4, GradAtol = 1e-6;

    private static readonly Lazy<JsonElement> Reference = new(() => GoldenFile.Load("torch_losses.json"));

    private static IEnumerable<JsonElement> Cases => Reference.Value.GetProperty("losses").EnumerateArray();

    public static TheoryData<string> Names => [.. Cases.Select(c => c.GetProperty("name").GetString()!)];

    [Fact]
    public void ReferenceFileCoversEveryNewLossAndEveryReduction()
    {
        Assert.Equal(["CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss", "NllLoss", "SmoothL1Loss"],
            Cases.Select(c => c.GetProperty("loss").GetString()!).Distinct().Order());
        foreach (var loss in new[] { "L1Loss", "SmoothL1Loss", "HuberLoss", "NllLoss", "KLDivLoss", "CrossEntropyLoss" })
            Assert.Equal(["BatchMean", "Mean", "Sum"], Cases.Where(c => c.GetProperty("loss").GetString() == loss)
                .Select(c => c.GetProperty("args").GetProperty("reduction").GetString()!).Distinct().Order());
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ValueAndGradientsMatchPyTorch(string name)
    {
        var c = Cases.Single(e => e.GetProperty("name").GetString() == name);
        var inputs = c.GetProperty("inputs").EnumerateArray().ToArray();
        var prediction = Input(inputs[0]);
        var target = Input(inputs[1]);
        var loss = Make(c.GetProperty("loss").GetString()!, c.GetProperty("args")).Compute(prediction, target);

        GoldenAssert.Close(Expected(c.GetProperty("output")), loss, ValueRtol, ValueAtol, $"{name} value");
        loss.Backward(Tensor.Scalar(c.GetProperty("r").GetProperty("data")[0].GetSingle()));
        var grads = c.GetProperty("grads").EnumerateArray().ToArray();
        GoldenAssert.Close(Expected(grads[0]), prediction.Grad!, GradRtol, GradAtol, $"{name} dL/dprediction");
        if (grads[1].ValueKind == JsonValueKind.Null) Assert.Null(target.Grad);
        else GoldenAssert.Close(Expected(grads[1]), target.Grad!, GradRtol, GradAtol, $"{name} dL/dtarget");
    }

    /// <summary>The loss a case names, built from its constructor arguments.</summary>
    internal static ILoss Make(string loss, JsonElement args)
    {
        var reduction = Enum.Parse<LossReduction>(args.GetProperty("reduction").GetString()!);
        float? Float(string key) => args.TryGetProperty(key, out var v) ? v.GetSingle() : null;
        float[]? weight = args.TryGetProperty("weight", out var w) ? w.Floats() : null;
        int? ignore = args.TryGetProperty("ignore_index", out var i) ? i.GetInt32() : null;
        return loss switch
        {
            "L1Loss" => new L1Loss(reduction),
            "SmoothL1Loss" => new SmoothL1Loss(Float("beta")!.Value, reduction),
            "HuberLoss" => new HuberLoss(Float("delta")!.Value, reduction),
            "NllLoss" => new NllLoss(weight, ignore, reduction),
            "KLDivLoss" => new KLDivLoss(reduction),
            "CrossEntropyLoss" => new CrossEntropyLoss(weight, Float("label_smoothing") ?? 0f, ignore, reduction),
            _ => throw new NotSupportedException($"torch_losses.json names an unknown loss '{loss}'."),
        };
    }

    private static Tensor Input(JsonElement e)
    {
        var t = Tensor.FromArray(e.GetProperty("data").Floats(), [.. e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32())]);
        return e.GetProperty("grad").GetBoolean() ? t.RequireGrad() : t;
    }

    private static GoldenTensor Expected(JsonElement e) =>
        new([.. e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32())],
            [.. e.GetProperty("data").EnumerateArray().Select(d => d.GetDouble())]);
}
