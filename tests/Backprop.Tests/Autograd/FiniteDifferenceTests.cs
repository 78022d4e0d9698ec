using Backprop.Explain;

namespace Backprop.Tests.Autograd;

/// <summary>
/// Every case of <see cref="GradCheck.StandardSuite"/>: the autograd gradient of L = Σ f(x) ⊙ R against central
/// differences with h = 1e-2, within the case's tolerance on |a − n| / max(|a|, |n|, 1e-2).
/// </summary>
public sealed class FiniteDifferenceTests
{
    public static TheoryData<string> Cases => [.. GradCheck.StandardSuite().Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void AutogradMatchesCentralDifferences(string name)
    {
        var outcome = GradCheck.StandardSuite().Single(c => c.Name == name).Run();
        Assert.True(outcome.Result.ElementsChecked > 0);
        Assert.True(outcome.Passed, $"{name}: {outcome.Result} exceeds tolerance {outcome.Tolerance:E1}");
    }
}
