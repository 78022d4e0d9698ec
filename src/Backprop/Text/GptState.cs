using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop.Text;

/// <summary>
/// A <see cref="Gpt"/>'s key/value cache for generating one sequence: each block keeps the keys and values of every
/// position seen, so a new token needs only its own row through the blocks and one attention row against the cache,
/// O(context·D) rather than a forward over the whole window.
/// </summary>
/// <remarks>
/// <para>
/// A step is an inference path of its own over the kernels of <see cref="Gpt.Forward"/> (LayerNorm, exact GELU) and
/// the GEMV for its one row (<see cref="RowLinear"/>, weights transposed once when the state is made): no graph is
/// recorded and every buffer is made once, here, so a step in steady state allocates nothing. Its logits equal the
/// full forward's on the same prefix to float rounding (sums run in another order); the state uses the weights as
/// they are when it is made.
/// </para>
/// <para>
/// Positions are absolute (a learned table), so a full cache cannot slide by one: when it holds
/// <see cref="LanguageModel.Context"/> tokens, the last half are fed again from position 0 (one short refill per
/// context/2 tokens, which keeps the cost per token O(context)).
/// </para>
/// </remarks>
internal sealed class GptState : LanguageModelState
{
    private readonly Gpt model;
    private readonly float[][] keys;     // per block [context, D]
    private readonly float[][] values;   // per block [context, D]
    private readonly int[] history;      // [context]: the tokens whose keys and values the cache holds
    private readonly float[] logits;     // [V]
    private readonly float[] scores;     // [context]: one head's attention row
    private readonly float[] x;          // [D]: the residual stream
    private readonly float[] normed;     // [D]: ln_1(x), ln_2(x) or ln_f(x)
    private readonly float[] qkv;        // [3D]
    private readonly float[] heads;      // [D]: the heads' outputs side by side
    private readonly float[] branch;     // [D]: out_proj(heads) or c_proj(GELU(c_fc(·)))
    private readonly float[] hidden;     // [4D]: the MLP's wide layer
    private readonly float[] mean = new float[1], rstd = new float[1];
    private readonly RowLinear[] inProj, outProj, fc, proj;   // per block
    private readonly RowLinear head;

    public GptState(Gpt model)
    {
        this.model = model;
        int d = model.Dim;
        keys = [.. model.Blocks.Select(_ => new float[model.Context * d])];
        values = [.. model.Blocks.Select(_ => new float[model.Context * d])];
        history = new int[model.Context];
        logits = new float[model.VocabSize];
        scores = new float[model.Context];
        x = new float[d];
        normed = new float[d];
        qkv = new float[3 * d];
        heads = new float[d];
        branch = new float[d];
        hidden = new float[4 * d];
        inProj = [.. model.Blocks.Select(b => new RowLinear(b.Attn.InProjWeight, b.Attn.InProjBias))];
        outProj = [.. model.Blocks.Select(b => new RowLinear(b.Attn.OutProj.Weight, b.Attn.OutProj.Bias))];
        fc = [.. model.Blocks.Select(b => new RowLinear(b.Fc.Weight, b.Fc.Bias))];
        proj = [.. model.Blocks.Select(b => new RowLinear(b.Proj.Weight, b.Proj.Bias))];
        head = new RowLinear(model.Head.Weight, model.Head.Bias);
    }

    public override ReadOnlySpan<float> Next(int token)
    {
        if ((uint)token >= (uint)model.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(token), token, $"token {token} is outside the vocabulary [0, {model.VocabSize}).");
        if (Length == model.Context)
        {
            // Refill: the last context/2 tokens again from position 0; history[i] is read before Step(i) overwrites it.
            int keep = model.Context / 2, from = model.Context - keep;
            Length = 0;
            for (int i = 0; i < keep; i++) Step(history[from + i]);
        }
        Step(token);
        return logits;
    }

    // One position: x = wte[token] + wpe[pos]; per block x += out_proj(attn(ln_1 x)) with this position's k, v
    // appended to the cache, x += c_proj(GELU(c_fc(ln_2 x))); logits = lm_head(ln_f x).
    private void Step(int token)
    {
        int d = model.Dim, pos = Length;
        TensorPrimitives.Add(model.Wte.Weight.AsSpan().Slice(token * d, d), model.Wpe.Weight.AsSpan().Slice(pos * d, d), x);
        for (int l = 0; l < model.Blocks.Count; l++)
        {
            var block = model.Blocks[l];
            Norm(block.Ln1);
            inProj[l].Apply(qkv, normed);
            qkv.AsSpan(d, d).CopyTo(keys[l].AsSpan(pos * d, d));
            qkv.AsSpan(2 * d, d).CopyTo(values[l].AsSpan(pos * d, d));
            Attend(heads, qkv.AsSpan(0, d), keys[l], values[l], pos + 1, block.Attn.Heads, d);
            outProj[l].Apply(branch, heads);
            TensorPrimitives.Add(x, branch, x);
            Norm(block.Ln2);
            fc[l].Apply(hidden, normed);
            Tensor.GeluForward(hidden, hidden);
            proj[l].Apply(branch, hidden);
            TensorPrimitives.Add(x, branch, x);
        }
        Norm(model.LnF);
        head.Apply(logits, normed);
        history[pos] = token;
        Length++;
    }

    // normed = LayerNorm(x) with the norm's γ, β and ε: the kernel the LayerNorm op runs.
    private void Norm(Nn.LayerNorm norm) =>
        LayerNormKernels.Forward(normed, mean, rstd, x, norm.Weight is null ? [] : norm.Weight.AsSpan(),
            norm.Bias is null ? [] : norm.Bias.AsSpan(), 1, x.Length, norm.Eps);

    // Per head h (columns h·dh … (h+1)·dh − 1): p = softmax(q_h·K_hᵀ/√dh) over the n cached positions, out_h = p·V_h.
    private void Attend(Span<float> output, ReadOnlySpan<float> q, float[] k, float[] v, int n, int headCount, int d)
    {
        int dh = d / headCount;
        float scale = 1f / MathF.Sqrt(dh);
        var p = scores.AsSpan(0, n);
        for (int h = 0; h < headCount; h++)
        {
            var qh = q.Slice(h * dh, dh);
            for (int j = 0; j < n; j++) p[j] = TensorPrimitives.Dot(qh, k.AsSpan(j * d + h * dh, dh));
            TensorPrimitives.Multiply(p, scale, p);
            float max = TensorPrimitives.Max(p);
            TensorPrimitives.Subtract(p, max, p);
            TensorPrimitives.Exp(p, p);
            TensorPrimitives.Multiply(p, 1f / TensorPrimitives.Sum(p), p);
            var oh = output.Slice(h * dh, dh);
            oh.Clear();
            for (int j = 0; j < n; j++) TensorPrimitives.MultiplyAdd(v.AsSpan(j * d + h * dh, dh), p[j], oh, oh);
        }
    }
}
