using Backprop.Data;
using Backprop.Nn;

namespace Backprop.Tests.Nn;

public sealed class PerceptronTests
{
    [Theory]
    [InlineData("and")]
    [InlineData("or")]
    public void LearnsLinearlySeparableGates(string gate)
    {
        var data = Datasets.ByName(gate);
        var p = new Perceptron(2);
        var result = p.Train(data.Features, data.Targets, learningRate: 1f, maxEpochs: 50);
        Assert.True(result.Converged, result.ToString());
        for (int i = 0; i < 4; i++)
            Assert.Equal((int)data.Targets[i], p.Predict(data.Features.AsSpan().Slice(i * 2, 2)));
    }

    [Fact]
    public void SaysHonestlyThatItCannotLearnXor()
    {
        var data = Datasets.Xor();
        var result = new Perceptron(2).Train(data.Features, data.Targets, maxEpochs: 100);
        Assert.False(result.Converged);
        Assert.True(result.ErrorsInLastEpoch > 0);
        Assert.Contains("did not converge", result.ToString());
    }

    [Fact]
    public void RuleMatchesAHandComputedFirstEpoch()
    {
        // AND, w = 0, b = 0, η = 1: row (1,1) is predicted 0 but is 1 → w = (1,1), b = 1; then (0,0)→1 wrong → b = 0;
        // (0,1): 1·0+1·1+0 = 1 > 0 → 1, wrong → w = (1,0), b = −1; (1,0): 1−1 = 0 → 0, right.
        var p = new Perceptron(2);
        p.Train(Tensor.FromArray([1f, 1f, 0f, 0f, 0f, 1f, 1f, 0f], 4, 2), Tensor.FromArray([1f, 0f, 0f, 0f]), maxEpochs: 1);
        Assert.Equal([1f, 0f], p.Weights);
        Assert.Equal(-1f, p.Bias);
    }
}
