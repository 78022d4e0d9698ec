using Backprop.Data;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// A max pool that tiles the image, right after a convolution (and its activation), fuses into the convolution's
/// stage: each chunk pools its activations while they are in cache, and backward applies the activation's derivative
/// to the pooled gradient before routing it to the winners. Each input wins at most one window, so the loss and the
/// gradients must be the very bits of the unfused step: the same layers with a Dropout(0) before the pool (the
/// identity, which keeps the two stages apart) give them.
/// </summary>
public sealed class PoolActivationFusionTests
{
    [Theory]
    [InlineData("conv(4,3,pad=1)-relu-maxpool(2)-conv(6,3,pad=1)-relu-maxpool(2)-flatten-dense(3)")]
    [InlineData("conv(4,3,pad=1)-sigmoid-maxpool(2)-conv(6,3)-tanh-maxpool(3)-flatten-dense(3)")]
    [InlineData("conv(4,3,pad=1)-leaky_relu(0.1)-maxpool(2)-flatten-dense(3)")]
    [InlineData("conv(4,3,pad=1)-maxpool(2)-relu-conv(5,3)-maxpool(3)-flatten-dense(3)")]   // no activation before the pools; one after
    [InlineData("conv(4,3)-relu-maxpool(3)-conv(6,2)-relu-maxpool(2,stride=1)-flatten-dense(3)")]   // 10 → 3 windows cover 9; an overlapping pool stays apart
    public void TheFusedStepGivesTheUnfusedBits(string spec)
    {
        var fused = ModelLanguage.Build(spec, [1, 12, 12], new Rng(3));
        // The same layer objects, with an identity stage before every pool.
        var layers = new List<Module>();
        foreach (var layer in fused.Layers)
        {
            if (layer is MaxPool2d) layers.Add(new Dropout(0f));
            layers.Add(layer);
        }
        var unfused = new Sequential([.. layers]);
        Assert.True(unfused.Layers.Count > fused.Layers.Count);

        var rng = new Rng(5);
        var data = new Dataset(Tensor.RandomNormal([10, 144], rng), Tensor.FromArray([.. Enumerable.Range(0, 10).Select(i => (float)(i % 3))]), name: "images")
            .WithSampleShape(1, 12, 12);
        int[] rows = [.. Enumerable.Range(0, 10)];
        int tiling = fused.Layers.Count(l => l is MaxPool2d { Stride: var s, KernelSize: var k } && s == k);
        (double Loss, float[][] Grads) Step(Module model)
        {
            var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, data, 10, out var reason);
            Assert.True(plan is not null, reason);
            // Every pool that tiles its image is inside a convolution's stage in the fused model, none in the other.
            Assert.Equal(model == fused ? tiling : 0, plan.StageKinds.Count(k => k == "ConvStage+pool"));
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
