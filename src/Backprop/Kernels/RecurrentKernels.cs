namespace Backprop.Kernels;

/// <summary>The recurrent cells' nonlinear step (after the two matrix products), forward and backward side by side.</summary>
internal enum RecurrentCell
{
    /// <summary>Elman RNN with tanh: h' = tanh(W_ih x + b_ih + W_hh h + b_hh); one gate block.</summary>
    RnnTanh,
    /// <summary>Elman RNN with ReLU; one gate block.</summary>
    RnnRelu,
    /// <summary>LSTM, gate blocks i, f, g, o (PyTorch's order).</summary>
    Lstm,
    /// <summary>GRU, gate blocks r, z, n (PyTorch's order).</summary>
    Gru,
}

/// <summary>
/// Per-row gate math of one time step, B = batch rows, H = hidden size. Pre-activations arrive as xp (input side,
/// W_ih x + b_ih) and hp (hidden side, W_hh h + b_hh), each [B, G·H] with G gate blocks of H. No allocation.
/// </summary>
internal static class RecurrentKernels
{
    /// <summary>Gate blocks of a cell: 1, 4 (i, f, g, o) or 3 (r, z, n).</summary>
    public static int Gates(RecurrentCell cell) => cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>
    /// One step for one row. RNN: h = act(xp + hp). LSTM: i, f, o = σ(·), g = tanh(·) of xp + hp; c = f·c₋ + i·g;
    /// h = o·tanh(c); acts = [i, f, g, o]. GRU: r, z = σ(xp + hp), n = tanh(xp_n + r·hp_n), h = (1 − z)·n + z·h₋;
    /// acts = [r, z, n] and hpn = hp_n (the backward needs it).
    /// </summary>
    public static void Step(RecurrentCell cell, Span<float> h, Span<float> c, Span<float> acts, Span<float> hpn,
        ReadOnlySpan<float> xp, ReadOnlySpan<float> hp, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, int hidden)
    {
        int n = hidden;
        switch (cell)
        {
            case RecurrentCell.RnnTanh:
                for (int j = 0; j < n; j++) h[j] = MathF.Tanh(xp[j] + hp[j]);
                break;
            case RecurrentCell.RnnRelu:
                for (int j = 0; j < n; j++) h[j] = MathF.Max(0f, xp[j] + hp[j]);
                break;
            case RecurrentCell.Lstm:
                for (int j = 0; j < n; j++)
                {
                    float i = Sigmoid(xp[j] + hp[j]), f = Sigmoid(xp[n + j] + hp[n + j]);
                    float g = MathF.Tanh(xp[2 * n + j] + hp[2 * n + j]), o = Sigmoid(xp[3 * n + j] + hp[3 * n + j]);
                    float cj = f * cPrev[j] + i * g;
                    acts[j] = i; acts[n + j] = f; acts[2 * n + j] = g; acts[3 * n + j] = o;
                    c[j] = cj;
                    h[j] = o * MathF.Tanh(cj);
                }
                break;
            default:
                for (int j = 0; j < n; j++)
                {
                    float r = Sigmoid(xp[j] + hp[j]), z = Sigmoid(xp[n + j] + hp[n + j]);
                    float nn = MathF.Tanh(xp[2 * n + j] + r * hp[2 * n + j]);
                    acts[j] = r; acts[n + j] = z; acts[2 * n + j] = nn;
                    hpn[j] = hp[2 * n + j];
                    h[j] = (1f - z) * nn + z * hPrev[j];
                }
                break;
        }
    }

    /// <summary>
    /// The backward of <see cref="Step"/> for one row. In: dh = ∂L/∂h (this step's output and the next step's
    /// recurrence), dc = ∂L/∂c (LSTM), the saved h, c, c₋, h₋, acts, hpn. Out: dxp and dhp, ∂L/∂ of the two
    /// pre-activations (equal except for GRU's n block, where dhp_n = dxp_n·r), and the direct parts of ∂L/∂h₋
    /// (GRU: dh·z; the W_hh path is added by the caller) and ∂L/∂c₋ (LSTM: dc·f).
    /// </summary>
    public static void StepBackward(RecurrentCell cell, Span<float> dxp, Span<float> dhp, Span<float> dhPrevDirect, Span<float> dcPrev,
        ReadOnlySpan<float> dh, ReadOnlySpan<float> dc, ReadOnlySpan<float> h, ReadOnlySpan<float> c, ReadOnlySpan<float> cPrev,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> acts, ReadOnlySpan<float> hpn, int hidden)
    {
        int n = hidden;
        switch (cell)
        {
            case RecurrentCell.RnnTanh:
                for (int j = 0; j < n; j++) dxp[j] = dhp[j] = dh[j] * (1f - h[j] * h[j]);
                dhPrevDirect.Clear();
                break;
            case RecurrentCell.RnnRelu:
                for (int j = 0; j < n; j++) dxp[j] = dhp[j] = h[j] > 0f ? dh[j] : 0f;
                dhPrevDirect.Clear();
                break;
            case RecurrentCell.Lstm:
                for (int j = 0; j < n; j++)
                {
                    float i = acts[j], f = acts[n + j], g = acts[2 * n + j], o = acts[3 * n + j];
                    float tc = MathF.Tanh(c[j]);
                    float dcj = dc[j] + dh[j] * o * (1f - tc * tc);
                    dxp[j] = dhp[j] = dcj * g * i * (1f - i);
                    dxp[n + j] = dhp[n + j] = dcj * cPrev[j] * f * (1f - f);
                    dxp[2 * n + j] = dhp[2 * n + j] = dcj * i * (1f - g * g);
                    dxp[3 * n + j] = dhp[3 * n + j] = dh[j] * tc * o * (1f - o);
                    dcPrev[j] = dcj * f;
                }
                dhPrevDirect.Clear();
                break;
            default:
                for (int j = 0; j < n; j++)
                {
                    float r = acts[j], z = acts[n + j], nn = acts[2 * n + j];
                    float dnp = dh[j] * (1f - z) * (1f - nn * nn);
                    float drp = dnp * hpn[j] * r * (1f - r);
                    float dzp = dh[j] * (hPrev[j] - nn) * z * (1f - z);
                    dxp[j] = dhp[j] = drp;
                    dxp[n + j] = dhp[n + j] = dzp;
                    dxp[2 * n + j] = dnp;
                    dhp[2 * n + j] = dnp * r;
                    dhPrevDirect[j] = dh[j] * z;
                }
                break;
        }
    }
}
