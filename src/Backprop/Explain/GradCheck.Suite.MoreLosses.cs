using Backprop.Nn;

namespace Backprop.Explain;

public static partial class GradCheck
{
    /// <summary>
    /// The PyTorch-style losses and options: L1, smooth L1 and Huber (each reduction once, with respect to the
    /// prediction and the target, every |p − t| at least 0.2 from the kinks at 0, β and δ), NLL with class weights
    /// and an ignored row, KL divergence (input and target), and cross-entropy with weights, label smoothing and an
    /// ignored row on class indices and on probability rows. All Loose, as the other losses (a float32 mean).
    /// </summary>
    private static void AddMoreLosses(Action<string, double, Func<Tensor[], Tensor>, Tensor[]> add, int seed)
    {
        // Differences d = p − t with |d| in [0.2, 0.3] ∪ [0.75, 1.25] ∪ [1.75, 2.2]: at least 0.2 from 0, 0.5 and 1.5,
        // the kinks of the three cases below, with both signs.
        var rng = new Rng(seed);
        Tensor Differences(int rows, int cols)
        {
            var d = new float[rows * cols];
            for (int i = 0; i < d.Length; i++)
            {
                float magnitude = (i % 3) switch { 0 => 0.2f + 0.1f * rng.NextFloat(), 1 => 0.75f + 0.5f * rng.NextFloat(), _ => 1.75f + 0.45f * rng.NextFloat() };
                d[i] = rng.NextFloat() < 0.5f ? -magnitude : magnitude;
            }
            return Tensor.FromArray(d, rows, cols);
        }
        (Tensor P, Tensor T) Pair(int rows, int cols)
        {
            var p = Tensor.RandomNormal([rows, cols], seed++);
            return (p, Tensor.FromArray((p - Differences(rows, cols)).ToArray(), rows, cols));
        }
        Tensor Rows(int rows, int cols, float low)
        {
            var r = Tensor.RandomUniform([rows, cols], seed++, low, 1f);
            return Tensor.FromArray((r / r.Sum(1, keepDim: true)).ToArray(), rows, cols);   // probability rows
        }

        var (p1, t1) = Pair(3, 4);
        add("loss l1 ∂/∂prediction, ∂/∂target", Loose, x => Losses.L1.Compute(x[0], x[1]), [p1, t1]);
        var (p2, t2) = Pair(3, 4);
        add("loss smooth_l1 β=0.5 (sum)", Loose, x => new SmoothL1Loss(0.5f, LossReduction.Sum).Compute(x[0], x[1]), [p2, t2]);
        var (p3, t3) = Pair(4, 3);
        add("loss huber δ=1.5 (batchmean)", Loose, x => new HuberLoss(1.5f, LossReduction.BatchMean).Compute(x[0], x[1]), [p3, t3]);

        var labels = Tensor.FromArray([2f, -1f, 0f, 3f], 4);   // row 1 ignored
        float[] weights = [0.5f, 1.5f, 2f, 1f];
        add("loss nll (class weights, ignore_index)", Loose, x => new NllLoss(weights, ignoreIndex: -1).Compute(x[0].LogSoftmax(1), labels),
            [Tensor.RandomNormal([4, 4], seed++, std: 2f)]);
        add("loss kl_div (batchmean) ∂/∂input, ∂/∂target", Loose, x => Losses.KLDiv.Compute(x[0].LogSoftmax(1), x[1]),
            [Tensor.RandomNormal([3, 4], seed++, std: 2f), Rows(3, 4, 0.5f)]);
        add("loss cross_entropy (class weights, label smoothing 0.1, ignore_index)", Loose,
            x => new CrossEntropyLoss(weights, 0.1f, ignoreIndex: -1).Compute(x[0], labels), [Tensor.RandomNormal([4, 4], seed++, std: 2f)]);
        add("loss cross_entropy ∂/∂probability rows (class weights, label smoothing 0.2, sum)", Loose,
            x => new CrossEntropyLoss(weights, 0.2f, reduction: LossReduction.Sum).Compute(x[0], x[1]),
            [Tensor.RandomNormal([3, 4], seed++, std: 2f), Rows(3, 4, 0.1f)]);
    }
}
