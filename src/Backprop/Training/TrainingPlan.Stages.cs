using Backprop.Kernels;
using Backprop.Nn;

namespace Backprop.Training;

internal sealed partial class TrainingPlan
{
    /// <summary>
    /// One stage of the compiled step. Forward reads the previous stage's output x [n, InSize] and writes
    /// <see cref="Output"/> [n, OutSize]; backward reads the gradient at its output from <see cref="Delta"/> (and may
    /// overwrite it), leaves its parameters' gradients in their <see cref="Tensor.Grad"/> (through a
    /// <see cref="GradientUse"/> each, which skips frozen ones and sums a shared layer's uses), and writes the
    /// gradient at its input to dx unless dx is null (the first stage that trains: nothing needs ∂E/∂X).
    /// </summary>
    private abstract class Stage(int inSize, int outSize, int maxBatch)
    {
        public readonly int InSize = inSize, OutSize = outSize;
        public readonly float[] Output = new float[maxBatch * outSize];
        public readonly float[] Delta = new float[maxBatch * outSize];

        /// <summary>Whether this stage has a parameter to train now; stages without parameters say false.</summary>
        public virtual bool HasTrainableParameters => true;

        public abstract void Forward(float[] x, int n);

        public abstract void Backward(float[] x, float[]? dx, int n);
    }

    /// <summary>A stage whose output pass also applies an element-wise activation (identity until one is fused in).</summary>
    private abstract class ActivatedStage(int inSize, int outSize, int maxBatch) : Stage(inSize, outSize, maxBatch)
    {
        public ActivationKind Act = ActivationKind.Identity;
        public float Slope;
    }

    /// <summary>Dense → activation: A = act(X·W + b); dZ = dA ⊙ act'(A), dW = Xᵀ·dZ, db = Σ dZ, dX = dZ·Wᵀ.</summary>
    private sealed class DenseStage(Dense dense, Gradients gradients, int maxBatch) : ActivatedStage(dense.InFeatures, dense.OutFeatures, maxBatch)
    {
        private readonly GradientUse weight = gradients.For(dense.Weight);
        private readonly GradientUse? bias = dense.Bias is null ? null : gradients.For(dense.Bias);

        public override bool HasTrainableParameters => weight.Wanted || bias is { Wanted: true };

        public override void Forward(float[] x, int n) =>
            DenseKernels.Forward(Output, x, dense.Weight.AsSpan(), dense.Bias is null ? [] : dense.Bias.AsSpan(), n,
                InSize, OutSize, Act, Slope);

        public override void Backward(float[] x, float[]? dx, int n)
        {
            DenseKernels.ActivationBackward(Delta, Delta, Output, n * OutSize, Act, Slope);
            // A frozen parameter gets no gradient (an empty span skips its GEMM or sum); dX flows all the same.
            bool wantW = weight.Wanted, wantB = bias is { Wanted: true };
            DenseKernels.Backward(wantW ? weight.Span : [], wantB ? bias!.Span : [], dx, Delta, x, dense.Weight.AsSpan(),
                n, InSize, OutSize, weight.Accumulate, bias is { Accumulate: true });
            if (wantW) weight.Publish();
            if (wantB) bias!.Publish();
        }
    }

    /// <summary>
    /// Conv2d → activation on channels-last images: a convolution is a dense layer applied to every output pixel's
    /// receptive field, so with col = im2col(X) [n·OH·OW, KH·KW·C] and Wr [KH·KW·C, OC] (W [OC, C, KH, KW] permuted):
    /// A = act(col·Wr + b) is [n, OH, OW, OC]; backward is the dense backward on col (dWr = colᵀ·dZ, db = Σ dZ,
    /// dcol = dZ·Wrᵀ), then col2im for dX and the inverse permutation for dW.
    /// </summary>
    /// <remarks>
    /// The batch is cut into chunks of a few images whose col block fits in a core's L2 cache, and the two cores take
    /// alternate chunks, each with a single-threaded GEMM; col is rebuilt in backward rather than kept. Each core sums
    /// its own dWr and db, and the two sums are added at the end, so the result does not depend on timing.
    /// </remarks>
    private sealed class ConvStage : ActivatedStage
    {
        private const int Parts = 2;
        private readonly Conv2d conv;
        private readonly ConvGeometry g;   // N = images per chunk
        private readonly int chunk, oc;
        private readonly float[][] col = new float[Parts][], dcol = new float[Parts][], dwr = new float[Parts][], db = new float[Parts][];
        private readonly float[] wr;
        private readonly GradientUse weight;
        private readonly GradientUse? bias;
        private readonly Action<int> forwardPart, backwardPart;
        private float[] x = [];
        private float[]? dx;
        private int n;
        private bool wantWeight, wantBias;

        public ConvStage(Conv2d conv, Gradients gradients, int h, int w, int maxBatch)
            : base(conv.InChannels * h * w, Out(conv, h, w), maxBatch)
        {
            this.conv = conv;
            oc = conv.OutChannels;
            var one = new ConvGeometry(1, conv.InChannels, h, w, conv.KernelSize, conv.KernelSize, conv.Stride, conv.Padding);
            // Images per chunk: a col block of at most about 384 KB, well inside the 1 MB L2 beside the packed
            // panels, and an even number of chunks per full batch so the two cores get the same work.
            int most = Math.Clamp(384 * 1024 / (one.P * one.K * sizeof(float)), 1, maxBatch);
            int chunks = (maxBatch + most - 1) / most;
            chunks += chunks % Parts == 0 ? 0 : Parts - chunks % Parts;
            chunk = Math.Max(1, (maxBatch + chunks - 1) / chunks);
            g = one with { N = chunk };
            for (int t = 0; t < Parts; t++)
            {
                col[t] = new float[chunk * g.P * g.K];
                dcol[t] = new float[chunk * g.P * g.K];
                dwr[t] = new float[g.K * oc];
                db[t] = new float[oc];
            }
            wr = new float[g.K * oc];
            weight = gradients.For(conv.Weight);
            bias = conv.Bias is null ? null : gradients.For(conv.Bias);
            forwardPart = ForwardPart;
            backwardPart = BackwardPart;
        }

        public override bool HasTrainableParameters => weight.Wanted || bias is { Wanted: true };

        public int OH => g.OH;

        public int OW => g.OW;

        private static int Out(Conv2d c, int h, int w) =>
            c.OutChannels * ((h + 2 * c.Padding - c.KernelSize) / c.Stride + 1) * ((w + 2 * c.Padding - c.KernelSize) / c.Stride + 1);

        public override void Forward(float[] x, int n)
        {
            // Wr[(kh·KW + kw)·C + c, o] = W[o, c, kh, kw]
            var wt = conv.Weight.AsSpan();
            int taps = g.KH * g.KW;
            for (int o = 0; o < oc; o++)
                for (int ch = 0; ch < g.C; ch++)
                    for (int t = 0; t < taps; t++)
                        wr[(t * g.C + ch) * oc + o] = wt[(o * g.C + ch) * taps + t];
            (this.x, this.n) = (x, n);
            RunParts(forwardPart);
        }

        public override void Backward(float[] x, float[]? dx, int n)
        {
            (this.x, this.dx, this.n) = (x, dx, n);
            (wantWeight, wantBias) = (weight.Wanted, bias is { Wanted: true });
            RunParts(backwardPart);
            // dW[o, c, kh, kw] = Σ_parts dWr[(kh·KW + kw)·C + c, o]; db = Σ_parts db
            if (wantWeight) WeightGradient();
            if (wantBias)
            {
                var dbias = bias!.Span;
                if (bias.Accumulate) System.Numerics.Tensors.TensorPrimitives.Add(dbias, db[0], dbias);
                else db[0].CopyTo(dbias);
                System.Numerics.Tensors.TensorPrimitives.Add(dbias, db[1], dbias);
                bias.Publish();
            }
        }

        // dW (+)= the parts' dWr sums, permuted back to W's layout.
        private void WeightGradient()
        {
            var dw = weight.Span;
            bool accumulate = weight.Accumulate;
            int taps = g.KH * g.KW;
            for (int o = 0; o < oc; o++)
                for (int ch = 0; ch < g.C; ch++)
                    for (int t = 0; t < taps; t++)
                    {
                        int r = (t * g.C + ch) * oc + o;
                        int at = (o * g.C + ch) * taps + t;
                        dw[at] = (accumulate ? dw[at] : 0f) + dwr[0][r] + dwr[1][r];
                    }
            weight.Publish();
        }

        // Both parts on the two cores when the workers are free, else one after the other on this thread.
        private static void RunParts(Action<int> part)
        {
            if (Gemm.MaxThreads > 1 && GemmWorkers.TryRun(Parts, part)) return;
            for (int t = 0; t < Parts; t++) part(t);
        }

        // Chunks part, part + Parts, ...: A = act(im2col(X)·Wr + b) for their images.
        private void ForwardPart(int part)
        {
            var c = col[part];
            for (int first = part * chunk; first < n; first += Parts * chunk)
            {
                int images = Math.Min(chunk, n - first), rows = images * g.P;
                ChannelsLast.Im2Col(c, x.AsSpan(first * InSize, images * InSize), g with { N = images });
                var y = Output.AsSpan(first * OutSize, images * OutSize);
                Gemm.Multiply(Gemm.Variant, 1, y, c, wr, rows, oc, g.K, false, false, false);
                DenseKernels.BiasActivateRows(y, conv.Bias is null ? [] : conv.Bias.AsSpan(), rows, oc, Act, Slope);
            }
        }

        // The same chunks backward: dZ = dA ⊙ act'(A); this part's dWr += colᵀ·dZ, db += Σ dZ; dX = col2im(dZ·Wrᵀ).
        private void BackwardPart(int part)
        {
            var c = col[part];
            var dw = dwr[part];
            var dbp = db[part];
            dw.AsSpan().Clear();
            dbp.AsSpan().Clear();
            bool started = false;
            for (int first = part * chunk; first < n; first += Parts * chunk)
            {
                int images = Math.Min(chunk, n - first), rows = images * g.P;
                var gc = g with { N = images };
                var dz = Delta.AsSpan(first * OutSize, images * OutSize);
                DenseKernels.ActivationBackward(dz, dz, Output.AsSpan(first * OutSize, images * OutSize), rows * oc, Act, Slope);
                if (wantWeight)
                {
                    ChannelsLast.Im2Col(c, x.AsSpan(first * InSize, images * InSize), gc);
                    Gemm.Multiply(Gemm.Variant, 1, dw, c, dz, g.K, oc, rows, true, false, started);
                    started = true;
                }
                if (wantBias) DenseKernels.BiasGradient(dbp, dz, rows, oc, accumulate: true);
                if (dx is null) continue;
                Gemm.Multiply(Gemm.Variant, 1, dcol[part], dz, wr, rows, g.K, oc, false, true, false);
                ChannelsLast.Col2Im(dx.AsSpan(first * InSize, images * InSize), dcol[part], gc);
            }
        }
    }

    /// <summary>Max pooling on channels-last images; backward routes each gradient to its window's winner (the max gate).</summary>
    private sealed class MaxPoolStage(int c, int h, int w, int k, int s, int maxBatch)
        : Stage(c * h * w, c * ((h - k) / s + 1) * ((w - k) / s + 1), maxBatch)
    {
        private readonly int[] arg = new int[maxBatch * c * ((h - k) / s + 1) * ((w - k) / s + 1)];

        public override bool HasTrainableParameters => false;

        public int OH => (h - k) / s + 1;

        public int OW => (w - k) / s + 1;

        public override void Forward(float[] x, int n) => ChannelsLast.MaxPool(Output, arg, x, n, h, w, c, k, s);

        public override void Backward(float[] x, float[]? dx, int n)
        {
            if (dx is not null) ChannelsLast.MaxPoolBackward(dx, Delta, arg, n, h, w, c, k, s);
        }
    }

    /// <summary>
    /// A change of layout with the same values, each example's [rows, cols] transposed: NCHW rows → channels-last
    /// images ([C, H·W] → [H·W, C], the input of the first convolution), or back (Flatten, so the dense layers see
    /// features in the order the model defines). Backward is the opposite transpose.
    /// </summary>
    private sealed class LayoutStage(int rows, int cols, int maxBatch) : Stage(rows * cols, rows * cols, maxBatch)
    {
        public override bool HasTrainableParameters => false;

        public override void Forward(float[] x, int n) => ChannelsLast.TransposeEach(Output, x, n, rows, cols);

        public override void Backward(float[] x, float[]? dx, int n)
        {
            if (dx is not null) ChannelsLast.TransposeEach(dx, Delta, n, cols, rows);
        }
    }

    /// <summary>
    /// Inverted dropout on flat rows, its mask drawn by the autograd op's own <see cref="Tensor.DrawDropoutMask"/>
    /// from the layer's generator, so both paths drop the same units.
    /// </summary>
    private sealed class DropoutStage(Dropout dropout, int size, int maxBatch) : Stage(size, size, maxBatch)
    {
        private readonly float[] mask = new float[maxBatch * size];

        public override bool HasTrainableParameters => false;

        public override void Forward(float[] x, int n)
        {
            int count = n * InSize;
            var m = mask.AsSpan(0, count);
            Tensor.DrawDropoutMask(m, dropout.P, dropout.Generator);
            System.Numerics.Tensors.TensorPrimitives.Multiply(x.AsSpan(0, count), m, Output.AsSpan(0, count));
        }

        public override void Backward(float[] x, float[]? dx, int n)
        {
            int count = n * InSize;
            if (dx is not null) System.Numerics.Tensors.TensorPrimitives.Multiply(Delta.AsSpan(0, count), mask.AsSpan(0, count), dx.AsSpan(0, count));
        }
    }
}
