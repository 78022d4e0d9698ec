using Backprop.Data;

namespace Backprop.Tests.Data;

public sealed class ToyDatasetTests
{
    [Fact]
    public void BooleanTablesHoldTheFourRows()
    {
        float[] inputs = [0, 0, 0, 1, 1, 0, 1, 1];
        Assert.Equal(inputs, Datasets.Xor().Features.ToArray());
        Assert.Equal([0f, 1f, 1f, 0f], Datasets.Xor().Targets.ToArray());
        Assert.Equal([0f, 0f, 0f, 1f], Datasets.And().Targets.ToArray());
        Assert.Equal([0f, 1f, 1f, 1f], Datasets.Or().Targets.ToArray());
        Assert.Equal(inputs, Datasets.Or().Features.ToArray());
        Assert.Equal(2, Datasets.And().NumClasses);
    }

    [Fact]
    public void SpiralsHaveShapeLabelsAndRadii()
    {
        var d = Datasets.Spirals(samplesPerClass: 50, classes: 3, noise: 0f, seed: 1);
        Assert.Equal([150, 2], d.Features.Shape);
        Assert.Equal(3, d.NumClasses);
        for (int i = 0; i < 150; i++)
        {
            Assert.Equal(i / 50, d.Targets[i]);
            // Without noise the radius of the i-th point of each arm is i/(n−1).
            double r = Math.Sqrt(d.Features[i, 0] * d.Features[i, 0] + d.Features[i, 1] * d.Features[i, 1]);
            Assert.Equal((i % 50) / 49.0, r, 5);
        }
        // Arm 1's last point: r = 1, θ = 8 → (sin 8, cos 8).
        Assert.Equal((float)Math.Sin(8), d.Features[99, 0], 5);
        Assert.Equal((float)Math.Cos(8), d.Features[99, 1], 5);
    }

    [Fact]
    public void CirclesLieOnTwoRadii()
    {
        var d = Datasets.Circles(samples: 9, noise: 0f, factor: 0.3f);
        Assert.Equal([9, 2], d.Features.Shape);
        Assert.Equal([0f, 0f, 0f, 0f, 1f, 1f, 1f, 1f, 1f], d.Targets.ToArray());
        for (int i = 0; i < 9; i++)
        {
            double r = Math.Sqrt(d.Features[i, 0] * d.Features[i, 0] + d.Features[i, 1] * d.Features[i, 1]);
            Assert.Equal(i < 4 ? 1.0 : 0.3, r, 5);
        }
        // Four outer points at 0, π/2, π, 3π/2.
        Assert.Equal(0f, d.Features[1, 0], 6);
        Assert.Equal(1f, d.Features[1, 1], 6);
    }

    [Fact]
    public void MoonsFollowTheHalfCircles()
    {
        var d = Datasets.Moons(samples: 6, noise: 0f);
        Assert.Equal([0f, 0f, 0f, 1f, 1f, 1f], d.Targets.ToArray());
        // Upper moon t = 0, π/2, π: (1,0), (0,1), (−1,0); lower moon (1 − cos t, 0.5 − sin t): (0,0.5), (1,−0.5), (2,0.5).
        float[] expected = [1, 0, 0, 1, -1, 0, 0, 0.5f, 1, -0.5f, 2, 0.5f];
        var actual = d.Features.ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 6);
    }

    [Fact]
    public void NoiseIsSeeded()
    {
        Assert.Equal(Datasets.Moons(seed: 4).Features.ToArray(), Datasets.Moons(seed: 4).Features.ToArray());
        Assert.NotEqual(Datasets.Moons(seed: 4).Features.ToArray(), Datasets.Moons(seed: 5).Features.ToArray());
        Assert.Equal(Datasets.Spirals(seed: 2).Features.ToArray(), Datasets.Spirals(seed: 2).Features.ToArray());
        Assert.NotEqual(Datasets.Circles(seed: 2).Features.ToArray(), Datasets.Circles(seed: 3).Features.ToArray());
        Assert.Equal([200, 2], Datasets.Circles().Features.Shape);
        Assert.Equal([200, 2], Datasets.Spirals().Features.Shape);
    }

    [Fact]
    public void NoisyMoonsScatterAroundTheCurve()
    {
        // With noise σ = 0.1 the offsets from the noiseless points have standard deviation close to 0.1.
        var clean = Datasets.Moons(samples: 2000, noise: 0f).Features.ToArray();
        var noisy = Datasets.Moons(samples: 2000, noise: 0.1f, seed: 11).Features.ToArray();
        double sq = 0;
        for (int i = 0; i < clean.Length; i++) sq += (noisy[i] - clean[i]) * (noisy[i] - clean[i]);
        Assert.Equal(0.1, Math.Sqrt(sq / clean.Length), 2);
    }

    [Theory]
    [InlineData("iris", 150)]
    [InlineData("XOR", 4)]
    [InlineData("and", 4)]
    [InlineData("or", 4)]
    [InlineData("spirals", 200)]
    [InlineData("circles", 200)]
    [InlineData("moons", 200)]
    public void ByNameFindsEachSet(string name, int count)
    {
        var d = Datasets.ByName(name, seed: 1);
        Assert.Equal(count, d.Count);
        Assert.Equal(name.ToLowerInvariant(), d.Name);
        Assert.Contains(d.Name, Datasets.Names);
    }

    [Fact]
    public void ByNameListsValidNamesForUnknownOne()
    {
        var ex = Assert.Throws<ArgumentException>(() => Datasets.ByName("mnist"));
        Assert.StartsWith("Unknown dataset 'mnist'; expected one of: iris, xor, and, or, spirals, circles, moons.", ex.Message);
    }

    [Fact]
    public void GeneratorsRejectBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.Spirals(classes: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.Circles(factor: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.Moons(noise: -0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.Moons(samples: 1));
    }
}
