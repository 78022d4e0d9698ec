namespace Backprop.Explain;

/// <summary>Settings of a gradient check.</summary>
public sealed record GradCheckOptions
{
    /// <summary>The defaults: step 1e-2, floor 1e-2, seed 1234.</summary>
    public static GradCheckOptions Default { get; } = new();

    /// <summary>
    /// The finite-difference step h. Central differences err by about h²·|f‴|/6 (truncation) plus ε·|L|/h (float32
    /// rounding of L, ε ≈ 6e-8); the sum is smallest near h = (3ε|L|/|f‴|)^⅓ ≈ 5e-3 for L and f‴ of order 1, so
    /// 1e-2 is the float32 choice (float64 code would use ~1e-6). Inputs must lie further than h from kinks.
    /// </summary>
    public double Step { get; init; } = 1e-2;

    /// <summary>
    /// The smallest denominator of the relative error |a − n| / max(|a|, |n|, floor): with h = 1e-2 the numeric
    /// gradient carries an absolute error of about 1e-5..1e-4, so gradients below the floor are compared absolutely.
    /// </summary>
    public double Floor { get; init; } = 1e-2;

    /// <summary>Seed of the random weights R in L = Σ f(x) ⊙ R.</summary>
    public int Seed { get; init; } = 1234;
}

/// <summary>
/// The outcome of one gradient check: the worst relative error |a − n| / max(|a|, |n|, floor) between the
/// autograd gradient a and the central difference n over every element of every input, and where it occurred.
/// </summary>
/// <param name="WorstRelativeError">The largest relative error found (0 when no input has elements).</param>
/// <param name="InputIndex">Which input held the worst element.</param>
/// <param name="Index">The worst element's full index in that input.</param>
/// <param name="Analytic">The autograd gradient at the worst element.</param>
/// <param name="Numeric">The central-difference gradient at the worst element.</param>
/// <param name="ElementsChecked">How many input elements were perturbed.</param>
public sealed record GradCheckResult(
    double WorstRelativeError, int InputIndex, int[] Index, double Analytic, double Numeric, int ElementsChecked)
{
    /// <summary>Where the worst error occurred, e.g. <c>input 1 [2,0]</c>.</summary>
    public string Location => $"input {InputIndex} [{string.Join(",", Index)}]";

    /// <inheritdoc/>
    public override string ToString() =>
        $"worst relative error {WorstRelativeError:E2} at {Location}: autograd {Analytic:G6}, numeric {Numeric:G6}";
}

/// <summary>A named gradient check with its tolerance, as listed by <see cref="GradCheck.StandardSuite"/>.</summary>
/// <param name="Name">The op or model checked, e.g. <c>matmul 3-D·2-D</c>.</param>
/// <param name="Tolerance">The largest acceptable worst relative error.</param>
/// <param name="Function">The function checked; its result is reduced to L = Σ f(x) ⊙ R.</param>
/// <param name="Inputs">The leaf tensors perturbed (their values are restored afterwards).</param>
public sealed record GradCheckCase(string Name, double Tolerance, Func<Tensor[], Tensor> Function, Tensor[] Inputs)
{
    /// <summary>Runs the check.</summary>
    public GradCheckOutcome Run(GradCheckOptions? options = null)
    {
        var result = GradCheck.Check(Function, options ?? GradCheckOptions.Default, Inputs);
        return new GradCheckOutcome(Name, result, Tolerance);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>The result of one suite case against its tolerance.</summary>
/// <param name="Name">The case name.</param>
/// <param name="Result">The measured errors.</param>
/// <param name="Tolerance">The case's tolerance.</param>
public sealed record GradCheckOutcome(string Name, GradCheckResult Result, double Tolerance)
{
    /// <summary>True when the worst relative error is within the tolerance.</summary>
    public bool Passed => Result.WorstRelativeError <= Tolerance;
}
