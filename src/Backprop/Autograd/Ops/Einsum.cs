namespace Backprop;

// Einstein summation over any number of operands, evaluated by visiting every combination of the subscripts' values
// once (a plain loop nest: clear and exact, not fast; for large products use MatMul, which einsum's matrix cases are).
// The backward of operand t is the same sum with t left out: ∂L/∂A_t[idx_t] = Σ g[out] · Π_{u≠t} A_u[idx_u].
public sealed partial class Tensor
{
    /// <summary>
    /// Einstein summation, as <c>torch.einsum</c>: e.g. <c>"ij,jk->ik"</c> (matrix product), <c>"bij,bjk->bik"</c>
    /// (batched), <c>"ij->ji"</c>, <c>"ii->"</c> is refused (a subscript repeated within one operand), <c>"i,i->"</c>
    /// (dot product). Without <c>-&gt;</c> the output holds the subscripts used once, in alphabetical order. Subscripts
    /// are letters; <c>...</c> is not supported.
    /// </summary>
    public static Tensor Einsum(string equation, params Tensor[] operands)
    {
        ArgumentNullException.ThrowIfNull(equation);
        ArgumentNullException.ThrowIfNull(operands);
        var spec = EinsumSpec.Parse(equation.Replace(" ", "", StringComparison.Ordinal), operands);
        var r = Empty(spec.OutputDims);
        spec.Visit(operands, (offsets, outAt) =>
        {
            float product = 1f;
            for (int u = 0; u < operands.Length; u++) product *= operands[u].data[offsets[u]];
            r.data[outAt] += product;
        });
        var inputs = (Tensor[])operands.Clone();
        return r.Record("einsum", inputs, g =>
        {
            for (int t = 0; t < inputs.Length; t++)
            {
                if (!inputs[t].RequiresGrad) continue;
                var dt = Empty(inputs[t].dims);
                int target = t;
                spec.Visit(inputs, (offsets, outAt) =>
                {
                    float product = g.data[outAt];
                    for (int u = 0; u < inputs.Length; u++) if (u != target) product *= inputs[u].data[offsets[u]];
                    dt.data[offsets[target]] += product;
                });
                inputs[t].AccumulateOwnedGrad(dt);
            }
        }, saved: inputs);
    }

    /// <summary>A parsed einsum equation: every subscript's size, and each operand's and the output's stride per subscript.</summary>
    private sealed class EinsumSpec
    {
        private readonly int[] sizes;          // per subscript
        private readonly int[][] strides;      // [operand][subscript], 0 where the operand lacks it
        private readonly int[] outStrides;     // per subscript, 0 where the output lacks it

        private EinsumSpec(int[] sizes, int[][] strides, int[] outStrides, int[] outputDims)
        {
            this.sizes = sizes;
            this.strides = strides;
            this.outStrides = outStrides;
            OutputDims = outputDims;
        }

        public int[] OutputDims { get; }

        public static EinsumSpec Parse(string equation, Tensor[] operands)
        {
            string Fail(string why) => throw new ArgumentException($"Einsum \"{equation}\": {why}");
            if (equation.Contains("...", StringComparison.Ordinal)) Fail("'...' (ellipsis) is not supported; name every dimension with a letter.");
            var sides = equation.Split("->");
            if (sides.Length > 2) Fail("more than one '->'.");
            var inputs = sides[0].Split(',');
            if (inputs.Length != operands.Length) Fail($"{inputs.Length} operand subscript(s) but {operands.Length} tensor(s).");
            var letters = new List<char>();
            var size = new Dictionary<char, int>();
            for (int u = 0; u < inputs.Length; u++)
            {
                ArgumentNullException.ThrowIfNull(operands[u], nameof(operands));
                var subs = inputs[u];
                if (subs.Any(c => !char.IsAsciiLetter(c))) Fail($"operand {u}'s subscripts '{subs}' must be letters.");
                if (subs.Length != operands[u].Rank) Fail($"operand {u} has {subs.Length} subscript(s) '{subs}' but shape {Shapes.Format(operands[u].dims)}.");
                if (subs.Distinct().Count() != subs.Length) Fail($"operand {u} repeats a subscript in '{subs}' (diagonals are not supported).");
                for (int d = 0; d < subs.Length; d++)
                {
                    char c = subs[d];
                    if (!size.TryGetValue(c, out int known)) { size[c] = operands[u].dims[d]; letters.Add(c); }
                    else if (known != operands[u].dims[d]) Fail($"subscript '{c}' is {known} long in one operand but {operands[u].dims[d]} in operand {u}.");
                }
            }
            string output = sides.Length == 2 ? sides[1]
                : new string([.. letters.Where(c => inputs.Sum(s => s.Count(x => x == c)) == 1).Order()]);
            if (output.Distinct().Count() != output.Length) Fail($"the output '{output}' repeats a subscript.");
            foreach (char c in output) if (!size.ContainsKey(c)) Fail($"the output subscript '{c}' appears in no operand.");

            // Output subscripts first, so that consecutive visits write neighbouring output elements.
            var order = output.Concat(letters.Where(c => !output.Contains(c))).ToArray();
            var sizes = order.Select(c => size[c]).ToArray();
            var strides = new int[operands.Length][];
            for (int u = 0; u < operands.Length; u++)
            {
                var s = Shapes.Strides(operands[u].dims);
                strides[u] = [.. order.Select(c => inputs[u].IndexOf(c) is var d and >= 0 ? s[d] : 0)];
            }
            var outputDims = output.Select(c => size[c]).ToArray();
            var os = Shapes.Strides(outputDims);
            return new EinsumSpec(sizes, strides, [.. order.Select(c => output.IndexOf(c) is var d and >= 0 ? os[d] : 0)], outputDims);
        }

        /// <summary>Calls <paramref name="visit"/> with every operand's offset and the output's, for every combination of subscript values.</summary>
        public void Visit(Tensor[] operands, Action<int[], int> visit)
        {
            if (sizes.Any(s => s == 0)) return;
            var counter = new int[sizes.Length];
            var offsets = new int[operands.Length];
            int outAt = 0;
            while (true)
            {
                visit(offsets, outAt);
                int d = sizes.Length - 1;
                for (; d >= 0; d--)
                {
                    counter[d]++;
                    for (int u = 0; u < offsets.Length; u++) offsets[u] += strides[u][d];
                    outAt += outStrides[d];
                    if (counter[d] < sizes[d]) break;
                    for (int u = 0; u < offsets.Length; u++) offsets[u] -= strides[u][d] * sizes[d];
                    outAt -= outStrides[d] * sizes[d];
                    counter[d] = 0;
                }
                if (d < 0) return;
            }
        }
    }
}
