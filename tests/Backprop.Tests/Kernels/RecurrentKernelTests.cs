using Backprop.Kernels;

namespace Backprop.Tests.Kernels;

/// <summary>
/// The float tanh the recurrent cells use (<see cref="FloatTanh"/>) against double <see cref="Math.Tanh"/>, and every
/// cell's step and backward at every width against the same formulas evaluated in double from the same float inputs.
/// <see cref="KernelTwinTests"/> checks the widths against the scalar twin bit for bit (the <c>recurrent.*</c> and
/// <c>op.tanh</c> cases); the PyTorch reference tests in <c>SequenceLayerTests</c> check the layers built on them.
/// </summary>
public sealed class RecurrentKernelTests
{
    public static TheoryData<SimdWidth> Widths() => [.. Simd.AllWidths];

    // |got − ref| in units of the last place of the float nearest ref.
    private static double Ulps(float got, double reference)
    {
        float r = (float)reference;
        double ulp = r == 0 ? float.Epsilon : MathF.BitIncrement(MathF.Abs(r)) - MathF.Abs(r);
        return Math.Abs(got - reference) / ulp;
    }

    [Fact]
    public void TanhIsWithinAFewUlpsOfTheDoubleTanh()
    {
        // −12..12 in steps of 2⁻¹², and every power of two from 2⁻¹⁴⁹ (the smallest subnormal) to 2⁶ times 1 + m/8.
        // Every non-negative float below 9.2 (above it tanh rounds to 1) was measured once with the same loop: the worst
        // is 1.33 ulp, at x = 0.62830955, just past where the polynomial hands over to 1 − 2/(e^(2x) + 1).
        var xs = Enumerable.Range(-12 * 4096, 24 * 4096 + 1).Select(k => k / 4096f)
            .Concat(Enumerable.Range(-149, 156).SelectMany(e => Enumerable.Range(0, 8).Select(m => MathF.ScaleB(1f + m / 8f, e))));
        double worst = 0;
        float at = 0;
        foreach (float x in xs)
        {
            foreach (float v in new[] { x, -x })
            {
                double e = Ulps(FloatTanh.Invoke(v), Math.Tanh(v));
                if (e > worst) (worst, at) = (e, v);
            }
        }
        Assert.True(worst <= 1.5, $"worst error {worst:F2} ulp at x = {at:R}");
    }

    [Fact]
    public void TanhKeepsSignsSaturatesAndPassesNaN()
    {
        Assert.Equal(0, BitConverter.SingleToInt32Bits(FloatTanh.Invoke(0f)));
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), BitConverter.SingleToInt32Bits(FloatTanh.Invoke(-0f)));
        Assert.Equal(1e-30f, FloatTanh.Invoke(1e-30f));             // tanh x = x below 2⁻¹², to the last bit
        Assert.Equal(-float.Epsilon, FloatTanh.Invoke(-float.Epsilon));
        foreach (float big in new[] { 9.2f, 20f, 44.2f, 88.4f, 1e30f, float.MaxValue, float.PositiveInfinity })
        {
            Assert.Equal(1f, FloatTanh.Invoke(big));
            Assert.Equal(-1f, FloatTanh.Invoke(-big));
        }
        Assert.True(float.IsNaN(FloatTanh.Invoke(float.NaN)));
        Assert.True(float.IsNaN(FloatTanh.Invoke(-float.NaN)));
        for (float x = 0.01f; x < 10f; x *= 1.37f) Assert.Equal(-FloatTanh.Invoke(x), FloatTanh.Invoke(-x));
    }

    [Fact]
    public void SigmoidAloneIsTheSigmoidOfThePair()
    {
        foreach (float x in Enumerable.Range(-100 * 64, 200 * 64 + 1).Select(k => k / 64f).Concat([-0f, 1e-30f, -1e-30f, float.NaN, float.PositiveInfinity, float.NegativeInfinity]))
            Assert.Equal(BitConverter.SingleToInt32Bits(FloatSigmoidPair.Invoke(x).S), BitConverter.SingleToInt32Bits(FloatSigmoidPair.Sigmoid(x)));
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    // Pre-activations in (−6, 6) with ±0 among them, states in (−2, 2): hidden size 37 reaches every tail of every width.
    private const int Hidden = 37;

    private static float[] Values(int seed, int n, float scale)
    {
        var v = KernelCases.Data(seed, n);
        for (int i = 0; i < n; i++) v[i] *= scale;
        return v;
    }

    // The worst |got − ref| / (1 + |ref|) over a pair of arrays.
    private static double Worst(float[] got, double[] reference)
    {
        double worst = 0;
        for (int i = 0; i < got.Length; i++)
            worst = Math.Max(worst, Math.Abs(got[i] - reference[i]) / (1 + Math.Abs(reference[i])));
        return worst;
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void LstmStepAndBackwardMatchTheFormulasInDouble(SimdWidth width)
    {
        const int n = Hidden;
        float[] xp = Values(1, 4 * n, 3f), hp = Values(2, 4 * n, 3f), cPrev = Values(3, n, 1f), hPrev = Values(4, n, 1f);
        float[] h = new float[n], c = new float[n], acts = new float[4 * n];
        RecurrentKernels.Step(RecurrentCell.Lstm, h, c, acts, [], xp, hp, hPrev, cPrev, n, width);
        float[] dh = Values(5, n, 1f), dc = Values(6, n, 1f);
        float[] dxp = new float[4 * n], dhp = new float[4 * n], direct = Values(7, n, 1f), dcPrev = new float[n];
        RecurrentKernels.StepBackward(RecurrentCell.Lstm, dxp, dhp, direct, dcPrev, dh, dc, h, c, cPrev, hPrev, acts, [], n, width);

        double[] hRef = new double[n], cRef = new double[n], actsRef = new double[4 * n], dRef = new double[4 * n], dcPrevRef = new double[n];
        for (int j = 0; j < n; j++)
        {
            double i = Sigmoid(xp[j] + (double)hp[j]), f = Sigmoid(xp[n + j] + (double)hp[n + j]);
            double g = Math.Tanh(xp[2 * n + j] + (double)hp[2 * n + j]), o = Sigmoid(xp[3 * n + j] + (double)hp[3 * n + j]);
            (actsRef[j], actsRef[n + j], actsRef[2 * n + j], actsRef[3 * n + j]) = (i, f, g, o);
            cRef[j] = f * cPrev[j] + i * g;
            hRef[j] = o * Math.Tanh(cRef[j]);
            // The backward from the kernel's own saved float acts and c, as the op feeds it.
            double fi = acts[j], ff = acts[n + j], fg = acts[2 * n + j], fo = acts[3 * n + j], tc = Math.Tanh(c[j]);
            double dcj = dc[j] + dh[j] * fo * (1 - tc * tc);
            dRef[j] = dcj * fg * fi * (1 - fi);
            dRef[n + j] = dcj * cPrev[j] * ff * (1 - ff);
            dRef[2 * n + j] = dcj * fi * (1 - fg * fg);
            dRef[3 * n + j] = dh[j] * tc * fo * (1 - fo);
            dcPrevRef[j] = dcj * ff;
        }
        Assert.True(Worst(acts, actsRef) < 1e-6, $"gates: {Worst(acts, actsRef):E2}");
        Assert.True(Worst(c, cRef) < 1e-6, $"c: {Worst(c, cRef):E2}");
        Assert.True(Worst(h, hRef) < 1e-6, $"h: {Worst(h, hRef):E2}");
        Assert.True(Worst(dxp, dRef) < 1e-6, $"dxp: {Worst(dxp, dRef):E2}");
        Assert.Equal(dxp, dhp);
        Assert.True(Worst(dcPrev, dcPrevRef) < 1e-6, $"dc₋: {Worst(dcPrev, dcPrevRef):E2}");
        Assert.All(direct, v => Assert.Equal(0f, v));
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void GruStepAndBackwardMatchTheFormulasInDouble(SimdWidth width)
    {
        const int n = Hidden;
        float[] xp = Values(1, 3 * n, 3f), hp = Values(2, 3 * n, 3f), hPrev = Values(4, n, 1f);
        float[] h = new float[n], acts = new float[3 * n], hpn = new float[n];
        RecurrentKernels.Step(RecurrentCell.Gru, h, [], acts, hpn, xp, hp, hPrev, [], n, width);
        float[] dh = Values(5, n, 1f);
        float[] dxp = new float[3 * n], dhp = new float[3 * n], direct = new float[n];
        RecurrentKernels.StepBackward(RecurrentCell.Gru, dxp, dhp, direct, [], dh, [], h, [], [], hPrev, acts, hpn, n, width);

        double[] hRef = new double[n], actsRef = new double[3 * n], dxpRef = new double[3 * n], dhpRef = new double[3 * n], directRef = new double[n];
        for (int j = 0; j < n; j++)
        {
            double r = Sigmoid(xp[j] + (double)hp[j]), z = Sigmoid(xp[n + j] + (double)hp[n + j]);
            double nn = Math.Tanh(xp[2 * n + j] + r * hp[2 * n + j]);
            (actsRef[j], actsRef[n + j], actsRef[2 * n + j]) = (r, z, nn);
            hRef[j] = (1 - z) * nn + z * hPrev[j];
            double fr = acts[j], fz = acts[n + j], fn = acts[2 * n + j];
            double dnp = dh[j] * (1 - fz) * (1 - fn * fn);
            dxpRef[j] = dhpRef[j] = dnp * hpn[j] * fr * (1 - fr);
            dxpRef[n + j] = dhpRef[n + j] = dh[j] * (hPrev[j] - fn) * fz * (1 - fz);
            dxpRef[2 * n + j] = dnp;
            dhpRef[2 * n + j] = dnp * fr;
            directRef[j] = dh[j] * fz;
        }
        Assert.Equal(hp.AsSpan(2 * n, n).ToArray(), hpn);
        Assert.True(Worst(acts, actsRef) < 1e-6, $"gates: {Worst(acts, actsRef):E2}");
        Assert.True(Worst(h, hRef) < 1e-6, $"h: {Worst(h, hRef):E2}");
        Assert.True(Worst(dxp, dxpRef) < 1e-6, $"dxp: {Worst(dxp, dxpRef):E2}");
        Assert.True(Worst(dhp, dhpRef) < 1e-6, $"dhp: {Worst(dhp, dhpRef):E2}");
        Assert.True(Worst(direct, directRef) < 1e-6, $"direct: {Worst(direct, directRef):E2}");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void RnnStepsAndBackwardsMatchTheFormulasInDouble(SimdWidth width)
    {
        const int n = Hidden;
        float[] xp = Values(1, n, 3f), hp = Values(2, n, 3f), dh = Values(5, n, 1f);
        foreach (var cell in new[] { RecurrentCell.RnnTanh, RecurrentCell.RnnRelu })
        {
            var h = new float[n];
            RecurrentKernels.Step(cell, h, [], [], [], xp, hp, [], [], n, width);
            float[] dxp = new float[n], dhp = new float[n], direct = Values(7, n, 1f);
            RecurrentKernels.StepBackward(cell, dxp, dhp, direct, [], dh, [], h, [], [], [], [], [], n, width);
            double[] hRef = new double[n], dRef = new double[n];
            for (int j = 0; j < n; j++)
            {
                double s = xp[j] + (double)hp[j];
                hRef[j] = cell == RecurrentCell.RnnTanh ? Math.Tanh(s) : Math.Max(0, s);
                dRef[j] = cell == RecurrentCell.RnnTanh ? dh[j] * (1 - (double)h[j] * h[j]) : h[j] > 0 ? dh[j] : 0;
            }
            Assert.True(Worst(h, hRef) < 1e-6, $"{cell} h: {Worst(h, hRef):E2}");
            Assert.True(Worst(dxp, dRef) < 1e-6, $"{cell} dxp: {Worst(dxp, dRef):E2}");
            Assert.Equal(dxp, dhp);
            Assert.All(direct, v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void AShortSpanIsNamed()
    {
        var ex = Assert.Throws<ArgumentException>(() => RecurrentKernels.Step(RecurrentCell.Lstm, new float[8], new float[8],
            new float[32], [], new float[32], new float[32], new float[8], new float[7], 8, SimdWidth.Scalar));
        Assert.Contains("cPrev", ex.Message);
        Assert.Contains("8 floats", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => RecurrentKernels.StepBackward(RecurrentCell.Gru, new float[24], new float[24],
            new float[8], [], new float[8], [], new float[8], [], [], new float[8], new float[24], new float[7], 8, SimdWidth.Vector256));
        Assert.Contains("hpn", ex.Message);
    }
}
