using Backprop.Data;

namespace Backprop.Tests.Data;

public sealed class PreprocessingTests
{
    [Fact]
    public void ImagesGetOneMeanAndStdOverEveryPixel()
    {
        // Two 1×2×2 images; pixel 0 is 0 in both (a border pixel), which per-pixel standardization would blow up.
        float[] x = [0f, 0.5f, 1f, 0.25f, 0f, 0.75f, 0.5f, 0.25f];
        var images = new Dataset(Tensor.FromArray(x, 2, 4), Tensor.FromArray([0f, 1f])).WithSampleShape(1, 2, 2);
        Assert.True(Preprocessing.IsImage(images));
        var scaler = Preprocessing.FitInputs(images);
        double mean = x.Average(v => (double)v), std = Math.Sqrt(x.Average(v => (v - mean) * (v - mean)));
        Assert.All(scaler.Mean, m => Assert.Equal(mean, m, 6));
        Assert.All(scaler.Std, s => Assert.Equal(std, s, 6));
        Assert.Equal((0f - mean) / std, scaler.Transform(images.Features).ToArray()[0], 5);
    }

    [Fact]
    public void TablesKeepOneMeanAndStdPerColumn()
    {
        var table = new Dataset(Tensor.FromArray([1f, 10f, 3f, 30f], 2, 2), Tensor.FromArray([0f, 1f]));
        Assert.False(Preprocessing.IsImage(table));
        var scaler = Preprocessing.FitInputs(table);
        Assert.Equal([2f, 20f], scaler.Mean);
        Assert.Equal([1f, 10f], scaler.Std);
    }

    [Fact]
    public void StandardizedTargetsMapBackToTheirOwnUnits()
    {
        float[] y = [100f, 1f, 200f, 2f, 300f, 3f, 400f, 4f];
        var data = new Dataset(Tensor.FromArray([1f, 2f, 3f, 4f], 4, 1), Tensor.FromArray(y, 4, 2));
        var targets = Preprocessing.FitTargets(data);
        Assert.Equal([250f, 2.5f], targets.Mean);
        Assert.Equal(111.80340f, targets.Std[0], 3);   // population σ of 100..400
        var scaled = Preprocessing.StandardizeTargets(data, targets);
        Assert.Equal((100f - 250f) / targets.Std[0], scaled.Targets.ToArray()[0], 5);
        Assert.Same(data.Features, scaled.Features);
        var back = Preprocessing.Unstandardize(scaled.Targets, targets.Mean, targets.Std).ToArray();
        for (int i = 0; i < y.Length; i++) Assert.Equal(y[i], back[i], 3);
    }

    [Fact]
    public void ClassLabelsAreNotStandardizedAndShapesAreChecked()
    {
        var classes = new Dataset(Tensor.FromArray([1f, 2f], 2, 1), Tensor.FromArray([0f, 1f]), name: "labels");
        Assert.Equal("Preprocessing: dataset 'labels' holds class labels; only regression targets are standardized. (Parameter 'train')",
            Assert.Throws<ArgumentException>(() => Preprocessing.FitTargets(classes)).Message);
        Assert.Equal("Preprocessing: expected outputs [N, 1] to map back with 1 means and 1 standard deviations but got [2,2].",
            Assert.Throws<ShapeMismatchException>(() => Preprocessing.Unstandardize(Tensor.Zeros(2, 2), [0f], [1f])).Message);
    }
}
