using Backprop.Data;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// A max pool that tiles the image, right after an activated convolution, applies the convolution's activation
/// backward to its own pooled gradient, and the convolution skips its pass. Each input wins at most one window, so the
/// gradients must be the very bits of the unfused step: the same layers with a Dropout(0) between the activation and
/// the pool (the identity, which keeps the two stages apart) give them.
/// </summary>
public sealed class PoolActivationFusionTests
{
    [Theory]
    [InlineData("conv(4,3,pad=1)-relu-maxpool(2)-conv(6,3,pad=1)-relu-maxpool(2)-flatten-dense(3)")]
    [InlineData("conv(4,3,pad=1)-sigmoid-maxpool(2)-conv(6,3)-tanh-maxpool(3)-flatten-dense(3)")]
    [InlineData("conv(4,3,pad=1)-leaky_relu(0.1)-maxpool(2)-flatten-dense(3)")]
    public void TheFusedStepGivesTheUnfusedBits(string spec)
    {
        var fused = ModelLanguage.Build(spec, [1, 12, 12], new Rng(3));
        // The same layer objects, with an identity stage after every activation that a pool follows.
        var layers = new List<Module>();
        foreach (var layer in fused.Layers)
        {
            if (layer is MaxPool2d && layers[^1] is Activation) layers.Add(new Dropout(0f));
            layers.Add(layer);
        }
        var unfused = new Sequential([.. layers]);
        Assert.True(unfused.Layers.Count > fused.Layers.Count);

        var rng = new Rng(5);
        var data = new Dataset(Tensor.RandomNormal([10, 144], rng), Tensor.FromArray([.. Enumerable.Range(0, 10).Select(i => (float)(i % 3))]), name: "images")
            .WithSampleShape(1, 12, 12);
        int[] rows = [.. Enumerable.Range(0, 10)];
        (double Loss, float[][] Grads) Step(Module model)
        {
            var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, data, 10, out var reason);
            Assert.True(plan is not null, reason);
            var (loss, _) = plan.Step(data, rows);
            return (loss, [.. model.Parameters().Select(p => p.Grad!.ToArray())]);
        }

        var a = Step(fused);
        var b = Step(unfused);
        Assert.Equal(b.Loss, a.Loss);
        Assert.Equal(b.Grads.Length, a.Grads.Length);
        for (int p = 0; p < a.Grads.Length; p++) Assert.Equal(b.Grads[p], a.Grads[p]);
        Assert.Contains(a.Grads[0], v => v != 0f);
    }
}
