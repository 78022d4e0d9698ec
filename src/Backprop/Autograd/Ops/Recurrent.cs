using System.Numerics.Tensors;
using Backprop.Kernels;

namespace Backprop;

// One recurrent layer in one direction as a single fused op: the input projection of every time step is one GEMM,
// each step is one small GEMM (h·W_hhᵀ) plus the cell's gate math, and the backward through time runs the steps in
// reverse with the saved gates, then forms ∂W_ih and ∂W_hh with one GEMM each. The graph gets one node per layer and
// direction instead of a dozen per time step.
public sealed partial class Tensor
{
    /// <summary>
    /// Runs a recurrent cell over x [B, T, I] (batch first) in one direction and returns every step's hidden state,
    /// [B, T, H], or [B, T, 2H] with the cell state c after h at each position when <paramref name="withCells"/>
    /// (LSTM). Weights in PyTorch's layout: W_ih [G·H, I], W_hh [G·H, H], biases [G·H], G gate blocks (1; LSTM 4:
    /// i, f, g, o; GRU 3: r, z, n). <paramref name="reverse"/> walks t = T−1 … 0, writing each state at its own
    /// position. h0 and c0 are [B, H], or null for zeros.
    /// </summary>
    internal static Tensor RecurrentLayer(RecurrentCell cell, Tensor x, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh,
        Tensor? h0, Tensor? c0, bool reverse, bool withCells)
    {
        int b = x.dims[0], steps = x.dims[1], inF = x.dims[2], hidden = wHh.dims[1];
        int gh = RecurrentKernels.Gates(cell) * hidden, bh = b * hidden;
        bool lstm = cell == RecurrentCell.Lstm, gru = cell == RecurrentCell.Gru;
        int width = withCells ? 2 * hidden : hidden;

        // Saved for the backward (rented for the step inside Fit): input-side pre-activations are consumed here, the
        // states h, c (time-major, [T+1, B, H], index 0 the initial state), the activated gates and GRU's W_hn h + b_hn.
        var xp = TensorArena.Floats(b * steps * gh);
        LinearForward(xp, x.data, wIh.data, bIh is null ? [] : bIh.data, b * steps, inF, gh);
        var hs = TensorArena.Floats((steps + 1) * bh);
        var cs = lstm ? TensorArena.Floats((steps + 1) * bh) : [];
        var acts = lstm || gru ? TensorArena.Floats(steps * b * gh) : [];
        var hpn = gru ? TensorArena.Floats(steps * bh) : [];
        var hp = TensorArena.Floats(b * gh);
        // W_hhᵀ [H, G·H], once per call: each step's product then reads B row by row instead of transposed. Tiled: a
        // plain double loop writes with a stride of G·H floats (4 KB for an LSTM of 256), a new page at every write.
        var wHhT = TensorArena.Floats(hidden * gh);
        ChannelsLast.TransposeEach(wHhT, wHh.data, 1, gh, hidden);
        h0?.data.AsSpan(0, bh).CopyTo(hs);
        if (lstm && c0 is not null) c0.data.AsSpan(0, bh).CopyTo(cs);

        var y = Uninitialized(Shapes.Interned([b, steps, width]));
        for (int s = 0; s < steps; s++)
        {
            int t = reverse ? steps - 1 - s : s;
            // hp[B, G·H] = h_{s}·W_hhᵀ + b_hh
            if (bHh is not null) for (int r = 0; r < b; r++) bHh.data.CopyTo(hp.AsSpan(r * gh, gh));
            Gemm.Multiply(hp, hs.AsSpan(s * bh, bh), wHhT, b, gh, hidden, accumulate: bHh is not null);
            for (int r = 0; r < b; r++)
            {
                int cur = (s + 1) * bh + r * hidden, prev = s * bh + r * hidden;
                RecurrentKernels.Step(cell, hs.AsSpan(cur, hidden), Part(cs, cur, hidden), Part(acts, (s * b + r) * gh, gh),
                    Part(hpn, (s * b + r) * hidden, hidden), xp.AsSpan((r * steps + t) * gh, gh), hp.AsSpan(r * gh, gh),
                    hs.AsSpan(prev, hidden), Part(cs, prev, hidden), hidden);
                hs.AsSpan(cur, hidden).CopyTo(y.data.AsSpan((r * steps + t) * width, hidden));
                if (withCells) cs.AsSpan(cur, hidden).CopyTo(y.data.AsSpan((r * steps + t) * width + hidden, hidden));
            }
        }

        string op = cell switch { RecurrentCell.Lstm => "lstm", RecurrentCell.Gru => "gru", _ => "rnn" };
        if (y.Record(op, RecurrentBackward, [x, wIh, wHh, bIh, bHh, h0, c0], Saves.Input0 | Saves.Input1 | Saves.Input2) is { } node)
        {
            node.I0 = (int)cell | (reverse ? Reversed : 0) | (withCells ? WithCells : 0);
            node.I1 = (bIh is null ? 0 : 1) | (bHh is null ? 0 : 2) | (h0 is null ? 0 : 4) | (c0 is null ? 0 : 8);
            (node.Buffer0, node.Buffer1, node.Buffer2, node.Buffer3) = (hs, cs, acts, hpn);
        }
        return y;
    }

    private const int Reversed = 1 << 8, WithCells = 1 << 9;

    // Inputs x, W_ih, W_hh, then whichever of b_ih, b_hh, h0, c0 were given (bits 1, 2, 4, 8 of I1); the cell kind and
    // direction in I0; the forward's states h, c, activated gates and GRU's W_hn h + b_hn in Buffer0 … Buffer3.
    private static readonly GradNode.StaticBackward RecurrentBackward = static (node, g) =>
    {
        var (x, wIh, wHh) = (node.Inputs[0], node.Inputs[1], node.Inputs[2]);
        int next = 3, present = node.I1;
        var bIh = (present & 1) != 0 ? node.Inputs[next++] : null;
        var bHh = (present & 2) != 0 ? node.Inputs[next++] : null;
        var h0 = (present & 4) != 0 ? node.Inputs[next++] : null;
        var c0 = (present & 8) != 0 ? node.Inputs[next] : null;
        var cell = (RecurrentCell)(node.I0 & 0xFF);
        bool reverse = (node.I0 & Reversed) != 0, withCells = (node.I0 & WithCells) != 0, lstm = cell == RecurrentCell.Lstm;
        var (hs, cs, acts, hpn) = (node.Buffer0!, node.Buffer1!, node.Buffer2!, node.Buffer3!);
        int b = x.dims[0], steps = x.dims[1], inF = x.dims[2], hidden = wHh.dims[1];
        int gh = RecurrentKernels.Gates(cell) * hidden, bh = b * hidden, width = withCells ? 2 * hidden : hidden;

        // ∂L/∂ of the pre-activations: input side batch-major [B·T, G·H] (rows as x's), hidden side time-major
        // [T·B, G·H] (rows as hs's), so each weight gradient is one GEMM over all steps.
        var dxp = TensorArena.Floats(b * steps * gh);
        var dhp = TensorArena.Floats(steps * b * gh);
        var dh = TensorArena.Floats(bh);
        var dhNext = TensorArena.Floats(bh);
        var dc = lstm ? TensorArena.Floats(bh) : [];
        var dcPrev = lstm ? TensorArena.Floats(bh) : [];
        var direct = TensorArena.Floats(bh);
        for (int s = steps - 1; s >= 0; s--)
        {
            int t = reverse ? steps - 1 - s : s;
            for (int r = 0; r < b; r++)
            {
                var dhr = dh.AsSpan(r * hidden, hidden);
                TensorPrimitives.Add(dhr, g.data.AsSpan((r * steps + t) * width, hidden), dhr);
                if (withCells)
                {
                    var dcr = dc.AsSpan(r * hidden, hidden);
                    TensorPrimitives.Add(dcr, g.data.AsSpan((r * steps + t) * width + hidden, hidden), dcr);
                }
                int cur = (s + 1) * bh + r * hidden, prev = s * bh + r * hidden;
                RecurrentKernels.StepBackward(cell, dxp.AsSpan((r * steps + t) * gh, gh), dhp.AsSpan((s * b + r) * gh, gh),
                    direct.AsSpan(r * hidden, hidden), Part(dcPrev, r * hidden, hidden), dhr, Part(dc, r * hidden, hidden),
                    hs.AsSpan(cur, hidden), Part(cs, cur, hidden), Part(cs, prev, hidden), hs.AsSpan(prev, hidden),
                    Part(acts, (s * b + r) * gh, gh), Part(hpn, (s * b + r) * hidden, hidden), hidden);
            }
            // ∂L/∂h_{s} = direct + dhp_s[B, G·H]·W_hh[G·H, H]
            direct.CopyTo(dhNext, 0);
            Gemm.Multiply(dhNext, dhp.AsSpan(s * b * gh, b * gh), wHh.data, b, hidden, gh, accumulate: true);
            (dh, dhNext) = (dhNext, dh);
            if (lstm) dcPrev.CopyTo(dc, 0);
        }
        if (x.RequiresGrad)
        {
            var dx = Uninitialized(x.dims);   // dX[B·T, I] = dxp·W_ih
            Gemm.Multiply(dx.data, dxp, wIh.data, b * steps, inF, gh);
            x.AccumulateOwnedGrad(dx);
        }
        if (wIh.RequiresGrad)
        {
            var dw = Uninitialized(wIh.dims);   // dW_ih[G·H, I] = dxpᵀ·X
            Gemm.Multiply(dw.data, dxp, x.data, gh, inF, b * steps, transA: true);
            wIh.AccumulateOwnedGrad(dw);
        }
        if (wHh.RequiresGrad)
        {
            var dw = Uninitialized(wHh.dims);   // dW_hh[G·H, H] = Σ_s dhp_sᵀ·h_s
            Gemm.Multiply(dw.data, dhp, hs.AsSpan(0, steps * bh), gh, hidden, steps * b, transA: true);
            wHh.AccumulateOwnedGrad(dw);
        }
        if (bIh is { RequiresGrad: true })
        {
            var db = Empty(bIh.dims);
            SumRows(db.data, dxp, b * steps, gh);
            bIh.AccumulateOwnedGrad(db);
        }
        if (bHh is { RequiresGrad: true })
        {
            var db = Empty(bHh.dims);
            SumRows(db.data, dhp, steps * b, gh);
            bHh.AccumulateOwnedGrad(db);
        }
        if (h0 is { RequiresGrad: true }) h0.AccumulateGrad(new Tensor(h0.dims, dh));
        if (c0 is { RequiresGrad: true }) c0.AccumulateGrad(new Tensor(c0.dims, dc));
    };

    private static Span<float> Part(float[] a, int start, int length) => a.Length == 0 ? default : a.AsSpan(start, length);
}
