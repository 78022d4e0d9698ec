using Backprop.Data;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Training;

/// <summary>
/// The compiled CNN step splits its convolutions, pooling, layout changes and batch norm over as many threads as it is
/// given (<c>TrainingPlan.Threads</c>), and gives the same loss and
/// the same gradients, bit for bit, on one thread and on several: the chunks and the order in which their partial
/// sums are added are fixed by the layer and the batch, never by the machine.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class PlanThreadCountTests
{
    [Theory]
    [InlineData("conv(8,3,pad=1)-relu-maxpool(2)-conv(16,3,pad=1)-relu-maxpool(2)-flatten-dense(32)-relu-dropout(0.3)-dense(10)", 64)]
    [InlineData("conv(8,3,pad=1)-relu-maxpool(2)-conv(16,3,pad=1)-relu-maxpool(2)-flatten-dense(32)-relu-dropout(0.3)-dense(10)", 70)]
    // Batch norm's blocks, average pooling and dropout on images take the plan's thread count too.
    [InlineData("conv(8,3,pad=1)-batchnorm-relu-avgpool(2)-dropout(0.2)-conv(16,3,pad=1)-batchnorm-relu-maxpool(2)-flatten-dense(10)", 64)]
    public void TheCnnStepGivesTheSameBitsOnOneThreadAndOnSeveral(string spec, int batch)
    {
        var rng = new Rng(3);
        var data = new Dataset(Tensor.RandomUniform([batch, 784], rng),
            Tensor.FromArray([.. Enumerable.Range(0, batch).Select(i => (float)(i % 10))]), name: "random").WithSampleShape(1, 28, 28);
        int[] rows = [.. Enumerable.Range(0, batch)];
        int[] partial = [.. Enumerable.Range(0, batch - 7)];

        (double Loss, float[][] Grads)[] Run(int threads)
        {
            var model = ModelLanguage.Build(spec, [1, 28, 28], new Rng(4));
            var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, data, batch, out var reason);
            Assert.True(plan is not null, reason);
            plan.Threads = threads;
            var full = plan.Step(data, rows);
            var fullGrads = model.Parameters().Select(p => p.Grad!.ToArray()).ToArray();
            var part = plan.Step(data, partial);   // a smaller last batch uses fewer chunks
            return [(full.LossSum, fullGrads), (part.LossSum, [.. model.Parameters().Select(p => p.Grad!.ToArray())])];
        }

        var one = Run(1);
        Assert.Contains(one[0].Grads[0], v => v != 0f);
        foreach (int threads in new[] { 2, 3, 8 })
        {
            var many = Run(threads);
            for (int s = 0; s < one.Length; s++)
            {
                Assert.Equal(one[s].Loss, many[s].Loss);
                Assert.Equal(one[s].Grads.Length, many[s].Grads.Length);
                for (int p = 0; p < one[s].Grads.Length; p++) Assert.Equal(one[s].Grads[p], many[s].Grads[p]);
            }
        }
    }

    [Fact]
    public void ASteadyStateCnnStepOnSeveralThreadsAllocatesNothing()
    {
        var rng = new Rng(5);
        var data = new Dataset(Tensor.RandomUniform([32, 784], rng),
            Tensor.FromArray([.. Enumerable.Range(0, 32).Select(i => (float)(i % 10))]), name: "random").WithSampleShape(1, 28, 28);
        var model = ModelLanguage.Build("conv(8,3,pad=1)-relu-maxpool(2)-conv(16,3,pad=1)-relu-maxpool(2)-flatten-dense(10)", [1, 28, 28], new Rng(4));
        var plan = TrainingPlan.TryCreate(model, Losses.CrossEntropy, data, 32, out var reason);
        Assert.True(plan is not null, reason);
        plan.Threads = 4;
        int[] rows = [.. Enumerable.Range(0, 32)];
        for (int i = 0; i < 3; i++) plan.Step(data, rows);
        // Every part of every parallel region, on this thread and on the workers, allocates nothing.
        Action step = () => plan.Step(data, rows);
        for (int i = 0; i < 30; i++) Assert.Equal(0, AllocationCount.Of(step));
    }
}
