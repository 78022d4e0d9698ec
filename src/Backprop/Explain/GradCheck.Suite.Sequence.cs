using Backprop.Kernels;

namespace Backprop.Explain;

// The sequence layers' fused ops in the standard suite: each hand-written backward against finite differences.
public static partial class GradCheck
{
    /// <summary>
    /// GELU (exact and tanh), SiLU, F.linear, conv1d, conv_transpose2d, upsampling (nearest, bilinear), the VAE's KL term, reparameterisation and summed BCE, embedding, layer and RMS norm, one recurrent layer of each cell (RNN
    /// tanh forward, LSTM reverse with its cell-state output, GRU) with respect to x, both weights, both biases and the
    /// initial states, and multi-head self-attention (plain, causal, and with a fixed dropout mask). Loose but for
    /// embedding: each perturbed value feeds many float32 outputs through saturating nonlinearities (measured worst
    /// 4.3e-3, attention [2,4,12]; the recurrent layers 1.9e-3). Embedding is linear in its weight: Tight (4e-8).
    /// </summary>
    private static void AddSequenceLayers(Action<string, double, Func<Tensor[], Tensor>, Tensor[]> addCase, int seed)
    {
        void Add(string name, double tol, Func<Tensor[], Tensor> f, params Tensor[] inputs) => addCase(name, tol, f, inputs);
        Tensor N(params int[] shape) => Tensor.RandomNormal(shape, seed++);
        Tensor S(params int[] shape) => Tensor.RandomNormal(shape, seed++, std: 0.5f);
        Add("gelu", Loose, x => x[0].Gelu(), N(3, 4));
        Add("gelu tanh", Loose, x => x[0].Gelu(tanhApproximation: true), N(3, 4));
        Add("silu", Loose, x => x[0].Silu(), N(3, 4));
        Add("linear [2,3,4]·W[5,4]ᵀ + b", Loose, x => Tensor.Linear(x[0], x[1], x[2]), N(2, 3, 4), N(5, 4), N(5));
        var ids = IntTensor.FromArray([1, 4, 1, 0, 2, 4], 2, 3);
        Add("embedding [5,3] by ids [2,3]", Tight, x => Tensor.Embedding(x[0], ids), N(5, 3));
        Add("layer_norm [3,5] + γ, β", Loose, x => Tensor.LayerNorm(x[0], 1, x[1], x[2]), N(3, 5), N(5), N(5));
        Add("layer_norm [2,3,4] over 2 axes", Loose, x => Tensor.LayerNorm(x[0], 2), N(2, 3, 4));
        Add("rms_norm [3,5] + γ", Loose, x => Tensor.RmsNorm(x[0], 1, x[1], 1e-5f), N(3, 5), N(5));
        Recurrent("rnn tanh [2,3,3]→4", RecurrentCell.RnnTanh, 1, reverse: false, withCells: false);
        Recurrent("lstm reverse with cells [2,3,3]→3", RecurrentCell.Lstm, 4, reverse: true, withCells: true);
        Recurrent("gru [2,3,3]→3", RecurrentCell.Gru, 3, reverse: false, withCells: false);
        Add("attention [2,4,3·4], 2 heads", Loose, x => Tensor.SelfAttention(x[0], 2), N(2, 4, 12));
        Add("attention causal [1,5,3·6], 3 heads", Loose, x => Tensor.SelfAttention(x[0], 3, causal: true), N(1, 5, 18));
        Add("conv1d k3 s2 pad 1 + bias", Loose, x => Tensor.Conv1d(x[0], x[1], x[2], 2, 1), N(2, 2, 7), N(3, 2, 3), N(3));
        Add("conv_transpose2d k3 s2 pad 1 outpad 1 + bias", Loose, x => Tensor.ConvTranspose2d(x[0], x[1], x[2], 2, 1, 1), N(2, 3, 3, 4), N(3, 2, 3, 3), N(2));
        Add("conv_transpose2d k2 s1, no bias", Loose, x => Tensor.ConvTranspose2d(x[0], x[1]), N(1, 2, 3, 3), N(2, 3, 2, 2));
        Add("upsample nearest ×2", Tight, x => x[0].Upsample2d(2), N(2, 2, 3, 2));
        Add("upsample bilinear ×3", Loose, x => x[0].Upsample2d(3, UpsampleMode.Bilinear), N(1, 2, 3, 4));
        Add("vae kl [3,2]", Loose, x => Generative.VaeLoss.KlDivergence(x[0], x[1]), N(3, 2), S(3, 2));
        var eps = N(3, 2);
        Add("vae reparameterize μ + exp(½·log σ²)·ε", Loose, x => Generative.VaeLoss.Reparameterize(x[0], x[1], eps), N(3, 2), S(3, 2));
        var pixels = Tensor.RandomUniform([2, 5], seed++);
        Add("vae bce summed per example of sigmoid", Loose, x => Generative.VaeLoss.BinaryCrossEntropySum(x[0].Sigmoid(), pixels), N(2, 5));
        int maskSeed = seed++;
        Add("attention dropout 0.3 (fixed mask)", Loose, x => Tensor.SelfAttention(x[0], 2, causal: true, dropout: 0.3f, rng: new Rng(maskSeed)), N(2, 4, 12));

        void Recurrent(string name, RecurrentCell cell, int gates, bool reverse, bool withCells)
        {
            int hidden = gates == 1 ? 4 : 3;
            bool lstm = cell == RecurrentCell.Lstm;
            Tensor[] inputs = [N(2, 3, 3), S(gates * hidden, 3), S(gates * hidden, hidden), S(gates * hidden), S(gates * hidden), S(2, hidden),
                .. lstm ? new[] { S(2, hidden) } : []];
            Add(name, Loose, x => Tensor.RecurrentLayer(cell, x[0], x[1], x[2], x[3], x[4], x[5], lstm ? x[6] : null, reverse, withCells), inputs);
        }
    }
}
