using System.Globalization;
using System.Text;
using Backprop.Nn;

namespace Backprop.Text;

/// <summary>
/// A language model's parts as a table for one window of <see cref="LanguageModel.Context"/> tokens: each part's
/// output shape, parameters and FLOPs (matrix products: 2 per multiply-add; attention's full T×T scores, as the kernel
/// computes them), what <c>backprop summary</c> prints for the <c>gpt:</c> and <c>lstm:</c> presets.
/// </summary>
public static class LanguageModelSummary
{
    /// <summary>The table, with the preset on top and the totals below.</summary>
    public static string Of(LanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var rows = new List<(string Name, string Layer, string Output, long Params, long Flops)>();
        long t = model.Context, v = model.VocabSize;
        string preset;
        switch (model)
        {
            case Gpt g:
                long d = g.Dim;
                preset = g.Preset;
                rows.Add(("wte", g.Wte.ToString(), $"[N, {t}, {d}]", g.Wte.ParameterCount(), 0));
                rows.Add(("wpe", g.Wpe.ToString(), $"[{t}, {d}]", g.Wpe.ParameterCount(), 0));
                for (int i = 0; i < g.Layers; i++)
                    // q|k|v 2·T·D·3D, out 2·T·D·D, MLP 2·T·D·4D twice; scores Q·Kᵀ and P·V 2·T·T·D each.
                    rows.Add(($"h.{i}", g.Blocks[i].ToString(), $"[N, {t}, {d}]", g.Blocks[i].ParameterCount(), 24 * t * d * d + 4 * t * t * d));
                rows.Add(("ln_f", g.LnF.ToString(), $"[N, {t}, {d}]", g.LnF.ParameterCount(), 0));
                rows.Add(("lm_head", g.Head.ToString(), $"[N, {t}, {v}]", g.Head.ParameterCount(), 2 * t * d * v));
                break;
            case LstmLanguageModel l:
                long h = l.Rnn.HiddenSize, e = l.Wte.Dim;
                preset = l.Preset;
                rows.Add(("wte", l.Wte.ToString(), $"[N, {t}, {e}]", l.Wte.ParameterCount(), 0));
                long lstmFlops = 0;
                for (int i = 0; i < l.Rnn.NumLayers; i++) lstmFlops += 2 * t * 4 * h * ((i == 0 ? e : h) + h);
                rows.Add(("lstm", l.Rnn.ToString(), $"[N, {t}, {h}]", l.Rnn.ParameterCount(), lstmFlops));
                rows.Add(("lm_head", l.Head.ToString(), $"[N, {t}, {v}]", l.Head.ParameterCount(), 2 * t * h * v));
                break;
            default:
                throw new ArgumentException($"{model} is neither a GPT nor an LSTM language model.");
        }
        static string N(long x) => x.ToString("N0", CultureInfo.InvariantCulture);
        int wName = rows.Max(r => r.Name.Length), wLayer = Math.Max(5, rows.Max(r => r.Layer.Length)), wOut = Math.Max(6, rows.Max(r => r.Output.Length));
        long total = model.ParameterCount(), flops = rows.Sum(r => r.Flops);
        int wP = Math.Max(6, N(total).Length), wF = Math.Max(5, N(flops).Length);
        var sb = new StringBuilder();
        sb.Append("model  ").Append(preset).Append(", vocabulary ").Append(v).Append('\n');
        sb.Append("input  token ids [N, ").Append(t).Append("]\n\n");
        sb.Append($" {"".PadRight(wName)}  {"layer".PadRight(wLayer)}  {"output".PadRight(wOut)}  {"params".PadLeft(wP)}  {"FLOPs".PadLeft(wF)}\n");
        foreach (var r in rows)
            sb.Append($" {r.Name.PadRight(wName)}  {r.Layer.PadRight(wLayer)}  {r.Output.PadRight(wOut)}  {N(r.Params).PadLeft(wP)}  {(r.Flops == 0 ? "-" : N(r.Flops)).PadLeft(wF)}\n");
        sb.Append($" {"".PadRight(wName)}  {"total".PadRight(wLayer)}  {"".PadRight(wOut)}  {N(total).PadLeft(wP)}  {N(flops).PadLeft(wF)}\n\n");
        sb.Append($"{N(total)} parameters; {(flops / 1e6).ToString("0.##", CultureInfo.InvariantCulture)} MFLOPs per window of {t} tokens forward (matrix products)\n");
        return sb.ToString();
    }
}
