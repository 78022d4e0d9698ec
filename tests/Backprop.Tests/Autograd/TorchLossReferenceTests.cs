using Backprop.Nn;
using Backprop.Tests.Golden;

namespace Backprop.Tests.Autograd;

/// <summary>
/// The "losses" section of <c>Golden/torch_ops.json</c>: each loss of <see cref="Losses"/> against PyTorch's
/// (F.mse_loss, the seeds' half-MSE, F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.cross_entropy
/// with class indices, one-hot and probability targets), value and ∂loss/∂prediction (the reference uses
/// L = loss·R with a random scalar R).
/// </summary>
/// <remarks>
/// Same tolerance rule as <see cref="TorchReferenceTests"/>: |actual − expected| ≤ max(rtol·|expected|, atol), values
/// rtol 1e-5 / atol 1e-6, gradients rtol 1e-4 / atol 1e-6. The losses are means of at most 20 terms and the fused
/// ones (BCE with logits, cross-entropy) accumulate in double, so no case needs more.
/// </remarks>
public sealed class TorchLossReferenceTests
{
    private const double ValueRtol = 1e-5, ValueAtol = 1e-6, GradRtol = 1e-4, GradAtol = 1e-6;

    public static TheoryData<string> Cases => [.. TorchReference.Losses.Select(c => c.Name)];

    [Fact]
    public void ReferenceFileCoversEveryLoss()
    {
        var ops = TorchReference.Losses.Select(c => c.Op).ToHashSet();
        Assert.Equal(["BinaryCrossEntropy", "BinaryCrossEntropyWithLogits", "CrossEntropy", "HalfMSE", "MSE"], ops.Order());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossValueAndGradientMatchPyTorch(string name)
    {
        var c = TorchReference.Losses.Single(x => x.Name == name);
        var prediction = c.Inputs[0].ToTensor().RequireGrad();
        var target = c.Inputs[1].ToTensor();
        var loss = LossFor(c.Op).Compute(prediction, target);

        GoldenAssert.Close(c.Output, loss, ValueRtol, ValueAtol, $"{name} value");
        loss.Backward(c.R.ToTensor());
        GoldenAssert.Close(c.Grads[0]!, prediction.Grad!, GradRtol, GradAtol, $"{name} dL/dprediction");
        Assert.Null(target.Grad);
    }

    private static ILoss LossFor(string op) => op switch
    {
        "MSE" => Losses.MSE,
        "HalfMSE" => Losses.HalfMSE,
        "BinaryCrossEntropy" => Losses.BinaryCrossEntropy,
        "BinaryCrossEntropyWithLogits" => Losses.BinaryCrossEntropyWithLogits,
        "CrossEntropy" => Losses.CrossEntropy,
        _ => throw new NotSupportedException($"torch_ops.json names an unknown loss '{op}'."),
    };
}
