namespace Backprop.Training;

/// <summary>
/// Data-parallel ranks that form a dense layer's weight gradient together from the factors of its product, for the
/// compiled step (<see cref="FitOptions.Parallel"/> may implement it; Backprop.Distributed's DataParallel does).
/// </summary>
/// <remarks>
/// Over the global batch, a dense layer's weight gradient is dW = Σ_r X_rᵀ·dZ_r: it is fixed by every rank's layer
/// inputs X_r [n, in] and output gradients dZ_r [n, out]. When those factors, N·n·(in + out) values, are fewer than
/// dW's in·out, the ranks can gather the factors instead of reducing dW, and each rank forms only the part of dW whose
/// mean it needs (the part it steps, with a sharded optimizer) from all N·n rows: the same products, at no more
/// arithmetic than forming all of dW from its own n rows (Poseidon's "sufficient factor broadcasting").
/// </remarks>
internal interface IFactorSharing
{
    /// <summary>
    /// Whether the ranks form <paramref name="weight"/>'s gradient from shared factors, for a dense layer
    /// [<paramref name="inFeatures"/>, <paramref name="outFeatures"/>] that sees at most <paramref name="maxRows"/> rows a
    /// step on each rank; asked when the compiled step is built, and answered alike on every rank.
    /// </summary>
    bool SharesFactors(Tensor weight, int inFeatures, int outFeatures, int maxRows);

    /// <summary>
    /// Collective, in backward, in place of dW = xᵀ·dz on this rank's rows: gathers every rank's x [rows, in] and
    /// dz [rows, out] (the same row count on every rank) and writes into <paramref name="gradient"/> (flattened
    /// [in, out]) the mean over the ranks of dW for the values this rank needs; its other values are unspecified.
    /// </summary>
    void FormWeightGradient(Tensor weight, ReadOnlySpan<float> x, ReadOnlySpan<float> dz, int rows, int inFeatures, int outFeatures,
        Span<float> gradient);
}
