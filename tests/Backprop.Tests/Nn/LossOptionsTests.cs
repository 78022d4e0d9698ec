using Backprop.IO;
using Backprop.Nn;
using Backprop.Training;

namespace Backprop.Tests.Nn;

/// <summary>
/// The new losses' defined edge cases (every row ignored, p = t), their errors, their names, and
/// the log_softmax layer; values against PyTorch are in <see cref="LossReferenceTests"/>.
/// </summary>
public sealed class LossOptionsTests
{
    private static readonly Tensor Logits = Tensor.FromArray([2f, -1f, 0.5f, 0.3f, 1.2f, -0.7f, -2f, 0.1f, 0.9f], 3, 3);

    [Fact]
    public void EveryRowIgnoredGivesZeroAndAZeroGradient()
    {
        // PyTorch's mean over no rows is 0/0 = NaN; here it is defined as 0 so such a batch is a no-op step.
        var z = Logits.Clone().RequireGrad();
        var loss = new CrossEntropyLoss(labelSmoothing: 0.1f, ignoreIndex: -1).Compute(z, Tensor.FromArray([-1f, -1f, -1f], 3));
        Assert.Equal(0f, loss.Item());
        loss.Backward();
        Assert.All(z.Grad!.ToArray(), g => Assert.Equal(0f, g));

        var logP = Logits.LogSoftmax(1).Detach().RequireGrad();
        var nll = new NllLoss(weight: [1f, 2f, 3f], ignoreIndex: 5).Compute(logP, Tensor.FromArray([5f, 5f, 5f], 3));
        Assert.Equal(0f, nll.Item());
        nll.Backward();
        Assert.All(logP.Grad!.ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void IgnoredRowsCountForNothingInTheValueOrTheMean()
    {
        var labels = Tensor.FromArray([2f, -1f, 0f], 3);
        var all = new CrossEntropyLoss(ignoreIndex: -1).Compute(Logits, labels).Item();
        var kept = Losses.CrossEntropy.Compute(Logits.Rows([0, 2]), Tensor.FromArray([2f, 0f], 2)).Item();
        Assert.Equal(kept, all, 6);
    }

    [Fact]
    public void UnitWeightsAndTheDefaultsGiveThePlainLossBitForBit()
    {
        var labels = Tensor.FromArray([2f, 0f, 1f], 3);
        var plain = Losses.CrossEntropy.Compute(Logits, labels).Item();
        Assert.Equal(plain, new CrossEntropyLoss().Compute(Logits, labels).Item());
        Assert.Equal(plain, new CrossEntropyLoss(weight: [1f, 1f, 1f]).Compute(Logits, labels).Item());
        Assert.True(((CrossEntropyLoss)Losses.CrossEntropy).IsPlain);
        Assert.False(new CrossEntropyLoss(weight: [1f, 1f, 1f]).IsPlain);
    }

    [Fact]
    public void NllAfterLogSoftmaxIsCrossEntropyWithTheSameOptions()
    {
        var labels = Tensor.FromArray([2f, 7f, 1f], 3);
        float[] w = [0.5f, 2f, 1.5f];
        var z1 = Logits.Clone().RequireGrad();
        var z2 = Logits.Clone().RequireGrad();
        var ce = new CrossEntropyLoss(w, ignoreIndex: 7).Compute(z1, labels);
        var nll = new NllLoss(w, ignoreIndex: 7).Compute(z2.LogSoftmax(1), labels);
        Assert.Equal(ce.Item(), nll.Item(), 6);
        ce.Backward();
        nll.Backward();
        var a = z1.Grad!.ToArray();
        var b = z2.Grad!.ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 6);
    }

    [Fact]
    public void SmoothL1IsHuberOverDeltaAndBothMeetL1FarOut()
    {
        var p = Tensor.FromArray([0.1f, -0.4f, 3f, -5f], 4);
        var t = Tensor.FromArray([0f, 0f, 0f, 0f], 4);
        float huber = new HuberLoss(0.5f, LossReduction.Sum).Compute(p, t).Item();
        float smooth = new SmoothL1Loss(0.5f, LossReduction.Sum).Compute(p, t).Item();
        Assert.Equal(huber / 0.5f, smooth, 5);
        // ½·0.1²/0.5 + ½·0.4²/0.5 + (3 − 0.25) + (5 − 0.25)
        Assert.Equal(0.01f + 0.16f + 2.75f + 4.75f, smooth, 5);
    }

    [Fact]
    public void KlDivergenceOfADistributionFromItselfIsZero()
    {
        var p = Logits.Softmax(1);
        Assert.Equal(0f, Losses.KLDiv.Compute(p.Log(), p).Item(), 6);
    }

    [Theory]
    [InlineData("l1", typeof(L1Loss))]
    [InlineData("smooth_l1", typeof(SmoothL1Loss))]
    [InlineData("huber", typeof(HuberLoss))]
    [InlineData("nll", typeof(NllLoss))]
    [InlineData("kl_div", typeof(KLDivLoss))]
    [InlineData("cross_entropy", typeof(CrossEntropyLoss))]
    public void EveryLossIsFoundByItsName(string name, Type type)
    {
        var loss = Losses.ByName(name);
        Assert.IsType(type, loss);
        Assert.Equal(name, loss.Name);
    }

    [Fact]
    public void AnUnknownNameListsTheNewLosses()
    {
        var e = Assert.Throws<ArgumentException>(() => Losses.ByName("hinge"));
        Assert.Equal("unknown loss 'hinge'; expected one of: mse, half_mse, bce, bce_logits, cross_entropy, l1, smooth_l1, huber, nll, kl_div.", e.Message);
    }

    [Fact]
    public void MistakesSayWhatWasExpectedAndWhatArrived()
    {
        var labels = Tensor.FromArray([2f, 0f, 1f], 3);
        Assert.Equal("cross_entropy: 2 class weights were given but the input has 3 classes.",
            Assert.Throws<ShapeMismatchException>(() => new CrossEntropyLoss(weight: [1f, 2f]).Compute(Logits, labels)).Message);
        Assert.Equal("cross_entropy: target 1 is -2, but class indices must be whole numbers in 0..2 (or the ignored index -1).",
            Assert.Throws<ArgumentException>(() => new CrossEntropyLoss(ignoreIndex: -1).Compute(Logits, Tensor.FromArray([0f, -2f, 1f], 3))).Message);
        Assert.Equal("cross_entropy: ignore_index -1 applies to class-index targets [3], but the targets are probability rows [3,3].",
            Assert.Throws<ArgumentException>(() => new CrossEntropyLoss(ignoreIndex: -1).Compute(Logits, Logits.Softmax(1))).Message);
        Assert.StartsWith("cross_entropy: label smoothing must be a number in [0, 1] but is 1.5.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss(labelSmoothing: 1.5f)).Message);
        Assert.StartsWith("nll: class weight 1 must be a finite number ≥ 0 but is -1.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new NllLoss(weight: [1f, -1f])).Message);
        Assert.Equal("nll: log-probabilities [3,3] need class indices [3] but got [3,3].",
            Assert.Throws<ShapeMismatchException>(() => Losses.Nll.Compute(Logits, Logits)).Message);
        Assert.Equal("nll: target 0 is 3, but class indices must be whole numbers in 0..2.",
            Assert.Throws<ArgumentException>(() => Losses.Nll.Compute(Logits, Tensor.FromArray([3f, 0f, 1f], 3))).Message);
        Assert.StartsWith("huber: delta must be a finite number > 0 but is 0.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new HuberLoss(0f)).Message);
        Assert.StartsWith("smooth_l1: beta must be a finite number ≥ 0 but is -1.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new SmoothL1Loss(-1f)).Message);
        Assert.Equal("kl_div: target element 1 is -0.5, but the target must hold probabilities ≥ 0.",
            Assert.Throws<ArgumentException>(() => Losses.KLDiv.Compute(Tensor.FromArray([-1f, -1f], 2), Tensor.FromArray([1.5f, -0.5f], 2))).Message);
        Assert.Equal("l1: prediction [3,3] and target [3] must have the same shape.",
            Assert.Throws<ShapeMismatchException>(() => Losses.L1.Compute(Logits, labels)).Message);
    }

    [Fact]
    public void ALogSoftmaxLayerIsInTheModelLanguageAndSurvivesSaveAndLoad()
    {
        var model = ModelLanguage.Build("dense(3)-log_softmax", [4], new Rng(1));
        Assert.Equal("LogSoftmax", model.Layers[^1].ToString());
        var x = Tensor.RandomNormal([5, 4], seed: 2);
        var expected = model.Layers[0].Forward(x).LogSoftmax(1).ToArray();
        Assert.Equal(expected, model.Forward(x).ToArray());
        var path = Path.Combine(Path.GetTempPath(), $"backprop-logsoftmax-{Guid.NewGuid():N}.safetensors");
        try
        {
            model.Save(path, new ModelInfo { Loss = "nll" });
            var (loaded, info) = ModelFile.Load(path);
            Assert.Equal("nll", info.Loss);
            Assert.Equal("dense(3)-log_softmax", ModelLanguage.Describe(loaded));
            var predicted = loaded.Predict(x).ToArray();
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], predicted[i], 5);
        }
        finally { File.Delete(path); }
    }
}
