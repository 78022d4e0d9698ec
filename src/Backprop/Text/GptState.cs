using Backprop.Nn;

namespace Backprop.Text;

/// <summary>
/// A <see cref="Gpt"/>'s key/value cache for generating one sequence: each block keeps the keys and values of every
/// position seen, so a new token needs only its own row through the blocks and one attention row against the cache,
/// O(context·D) rather than a forward over the whole window.
/// </summary>
/// <remarks>
/// Positions are absolute (a learned table), so a full cache cannot slide by one: when it holds
/// <see cref="LanguageModel.Context"/> tokens, the last half are fed again from position 0 (one short forward per
/// context/2 tokens, which keeps the cost per token O(context)). Until the cache first fills, the logits equal those of
/// <see cref="Gpt.Forward"/> on the same prefix.
/// </remarks>
internal sealed class GptState : LanguageModelState
{
    private readonly Gpt model;
    private readonly float[][] keys;     // per block [context, D]
    private readonly float[][] values;   // per block [context, D]
    private readonly List<int> history = [];
    private readonly float[] logits;
    private readonly float[] scores;

    public GptState(Gpt model)
    {
        this.model = model;
        keys = [.. model.Blocks.Select(_ => new float[model.Context * model.Dim])];
        values = [.. model.Blocks.Select(_ => new float[model.Context * model.Dim])];
        logits = new float[model.VocabSize];
        scores = new float[model.Context];
    }

    public override ReadOnlySpan<float> Next(int token)
    {
        if ((uint)token >= (uint)model.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(token), token, $"token {token} is outside the vocabulary [0, {model.VocabSize}).");
        if (Length == model.Context)
        {
            var keep = history[^(model.Context / 2)..];
            history.Clear();
            Length = 0;
            foreach (int t in keep) Step(t);
        }
        Step(token);
        return logits;
    }

    // One position: x = wte[token] + wpe[pos]; per block x += attn(ln_1 x) with this position's k, v appended to the
    // cache, x += mlp(ln_2 x); logits = lm_head(ln_f x).
    private void Step(int token)
    {
        using var inference = InferenceMode.Enter();
        using var noGrad = GradMode.NoGrad();
        int d = model.Dim, pos = Length;
        var row = new float[d];
        var wte = model.Wte.Weight.AsSpan().Slice(token * d, d);
        var wpe = model.Wpe.Weight.AsSpan().Slice(pos * d, d);
        for (int i = 0; i < d; i++) row[i] = wte[i] + wpe[i];
        var x = Tensor.FromArray(row, 1, d);
        for (int l = 0; l < model.Blocks.Count; l++)
        {
            var block = model.Blocks[l];
            var qkv = Tensor.Linear(block.Ln1.Forward(x), block.Attn.InProjWeight, block.Attn.InProjBias).AsSpan();   // [3D]
            qkv.Slice(d, d).CopyTo(keys[l].AsSpan(pos * d, d));
            qkv.Slice(2 * d, d).CopyTo(values[l].AsSpan(pos * d, d));
            var heads = new float[d];
            Attend(heads, qkv[..d], keys[l], values[l], pos + 1, block.Attn.Heads, d);
            x = x + block.Attn.OutProj.Forward(Tensor.FromArray(heads, 1, d));
            x = x + block.Mlp(block.Ln2.Forward(x));
        }
        model.Head.Forward(model.LnF.Forward(x)).AsSpan().CopyTo(logits);
        history.Add(token);
        Length++;
    }

    // Per head h (columns h·dh … (h+1)·dh − 1): p = softmax(q_h·K_hᵀ/√dh) over the n cached positions, out_h = p·V_h.
    private void Attend(Span<float> output, ReadOnlySpan<float> q, float[] k, float[] v, int n, int heads, int d)
    {
        int dh = d / heads;
        float scale = 1f / MathF.Sqrt(dh);
        var p = scores.AsSpan(0, n);
        for (int h = 0; h < heads; h++)
        {
            var qh = q.Slice(h * dh, dh);
            for (int j = 0; j < n; j++)
                p[j] = System.Numerics.Tensors.TensorPrimitives.Dot(qh, k.AsSpan(j * d + h * dh, dh));
            System.Numerics.Tensors.TensorPrimitives.Multiply(p, scale, p);
            float max = System.Numerics.Tensors.TensorPrimitives.Max(p);
            System.Numerics.Tensors.TensorPrimitives.Subtract(p, max, p);
            System.Numerics.Tensors.TensorPrimitives.Exp(p, p);
            System.Numerics.Tensors.TensorPrimitives.Multiply(p, 1f / System.Numerics.Tensors.TensorPrimitives.Sum(p), p);
            var oh = output.Slice(h * dh, dh);
            oh.Clear();
            for (int j = 0; j < n; j++)
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(v.AsSpan(j * d + h * dh, dh), p[j], oh, oh);
        }
    }
}
