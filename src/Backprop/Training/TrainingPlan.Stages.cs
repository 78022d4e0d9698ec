using Backprop.Kernels;
using Backprop.Nn;

namespace Backprop.Training;

internal sealed partial class TrainingPlan
{
    /// <summary>
    /// One stage of the compiled step. Forward reads the previous stage's output x [n, InSize] and writes
    /// <see cref="Output"/> [n, OutSize]; backward reads the gradient at its output from <see cref="Delta"/> (and may
    /// overwrite it), leaves its parameters' gradients in their <see cref="Tensor.Grad"/>, and writes the gradient at
    /// its input to dx unless dx is null (the first stage: nothing needs ∂E/∂X).
    /// </summary>
    private abstract class Stage(int inSize, int outSize, int maxBatch)
    {
        public readonly int InSize = inSize, OutSize = outSize;
        public readonly float[] Output = new float[maxBatch * outSize];
        public readonly float[] Delta = new float[maxBatch * outSize];

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
    private sealed class DenseStage(Dense dense, int maxBatch) : ActivatedStage(dense.InFeatures, dense.OutFeatures, maxBatch)
    {
        private readonly Tensor weightGrad = Tensor.Zeros(dense.InFeatures, dense.OutFeatures);
        private readonly Tensor? biasGrad = dense.Bias is null ? null : Tensor.Zeros(dense.OutFeatures);

        public override void Forward(float[] x, int n) =>
            DenseKernels.Forward(Output, x, dense.Weight.AsSpan(), dense.Bias is null ? [] : dense.Bias.AsSpan(), n,
                InSize, OutSize, Act, Slope);

        public override void Backward(float[] x, float[]? dx, int n)
        {
            DenseKernels.ActivationBackward(Delta, Delta, Output, n * OutSize, Act, Slope);
            DenseKernels.Backward(weightGrad.AsSpan(), biasGrad is null ? [] : biasGrad.AsSpan(), dx, Delta, x,
                dense.Weight.AsSpan(), n, InSize, OutSize);
            dense.Weight.Grad = weightGrad;
            if (dense.Bias is not null) dense.Bias.Grad = biasGrad;
        }
    }

    /// <summary>
    /// Conv2d → activation on channels-last images: a convolution is a dense layer applied to every output pixel's
    /// receptive field, so with col = im2col(X) [n·OH·OW, KH·KW·C] and Wr [KH·KW·C, OC] (W [OC, C, KH, KW] permuted):
    /// A = act(col·Wr + b) is [n, OH, OW, OC]; backward is the dense backward on col (dWr = colᵀ·dZ, db = Σ dZ,
    /// dcol = dZ·Wrᵀ), then col2im for dX and the inverse permutation for dW.
    /// </summary>
    /// <remarks>
    /// The batch is cut into chunks of a few images whose col block fits in a core's L2 cache, and at least
    /// min(batch, <see cref="ConvParallel.MaxReductionChunks"/>) chunks so that many cores find work. The chunks are fixed
    /// by the layer and the batch size alone; the parts (one per thread, <see cref="Threads"/>) take every
    /// Threads-th chunk, each with a single-threaded GEMM; col is rebuilt in backward rather than kept. Each chunk
    /// leaves its own dWr and db partial, and the partials are added in chunk order, so the result is the same on any
    /// number of threads and whatever the timing.
    /// </remarks>
    private sealed class ConvStage : ActivatedStage
    {
        // Bytes of one chunk's col block: well inside a 1 MB L2 beside the GEMM's packed panels.
        private const int ColBlockBytes = 384 * 1024;
        private readonly Conv2d conv;
        private readonly ConvGeometry g;   // N = images per chunk
        private readonly int chunk, oc;
        private readonly float[][] dwr, db;                  // one partial per chunk
        private float[][] col = [], dcol = [];               // one scratch block per part, made on first use
        private readonly float[] wr;
        private readonly Tensor weightGrad;
        private readonly Tensor? biasGrad;
        private readonly Action<int> forwardPart, backwardPart;
        private float[] x = [];
        private float[]? dx;
        private int n, parts;

        public ConvStage(Conv2d conv, int h, int w, int maxBatch)
            : base(conv.InChannels * h * w, Out(conv, h, w), maxBatch)
        {
            this.conv = conv;
            oc = conv.OutChannels;
            var one = new ConvGeometry(1, conv.InChannels, h, w, conv.KernelSize, conv.KernelSize, conv.Stride, conv.Padding);
            int most = Math.Clamp(ColBlockBytes / (one.P * one.K * sizeof(float)), 1, maxBatch);
            chunk = Math.Min(most, (maxBatch + ConvParallel.MaxReductionChunks - 1) / ConvParallel.MaxReductionChunks);
            g = one with { N = chunk };
            int chunks = (maxBatch + chunk - 1) / chunk;
            dwr = new float[chunks][];
            db = new float[chunks][];
            for (int c = 0; c < chunks; c++)
            {
                dwr[c] = new float[g.K * oc];
                db[c] = new float[oc];
            }
            wr = new float[g.K * oc];
            weightGrad = Tensor.Zeros(conv.Weight.Shape.ToArray());
            biasGrad = conv.Bias is null ? null : Tensor.Zeros(oc);
            forwardPart = ForwardPart;
            backwardPart = BackwardPart;
        }

        /// <summary>Most threads a step of this layer uses; results do not depend on it.</summary>
        public int Threads = Gemm.MaxThreads;

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
            RunParts(forwardPart, backward: false);
        }

        public override void Backward(float[] x, float[]? dx, int n)
        {
            (this.x, this.dx, this.n) = (x, dx, n);
            RunParts(backwardPart, backward: true);
            // dWr = Σ_chunks dWr_chunk, db = Σ_chunks db_chunk, in chunk order; then dW[o, c, kh, kw] = dWr[(kh·KW + kw)·C + c, o].
            int chunks = (n + chunk - 1) / chunk;
            var sum = dwr[0];
            for (int c = 1; c < chunks; c++) System.Numerics.Tensors.TensorPrimitives.Add(sum, dwr[c], sum);
            var dw = weightGrad.AsSpan();
            int taps = g.KH * g.KW;
            for (int o = 0; o < oc; o++)
                for (int ch = 0; ch < g.C; ch++)
                    for (int t = 0; t < taps; t++)
                        dw[(o * g.C + ch) * taps + t] = sum[(t * g.C + ch) * oc + o];
            conv.Weight.Grad = weightGrad;
            if (biasGrad is not null)
            {
                var dbSum = biasGrad.AsSpan();
                db[0].CopyTo(dbSum);
                for (int c = 1; c < chunks; c++) System.Numerics.Tensors.TensorPrimitives.Add(dbSum, db[c], dbSum);
                conv.Bias!.Grad = biasGrad;
            }
        }

        // One part per thread, at most one per chunk, on the workers when they are free, else one after another here.
        private void RunParts(Action<int> part, bool backward)
        {
            parts = Math.Clamp(Math.Min(Threads, (n + chunk - 1) / chunk), 1, dwr.Length);
            if (col.Length < parts)
            {
                col = [.. col, .. Enumerable.Range(0, parts - col.Length).Select(_ => new float[chunk * g.P * g.K])];
                dcol = [.. dcol, .. Enumerable.Range(0, parts - dcol.Length).Select(_ => new float[chunk * g.P * g.K])];
            }
            GemmWorkers.Run(parts, part);
        }

        // Chunks part, part + parts, ...: A = act(im2col(X)·Wr + b) for their images.
        private void ForwardPart(int part)
        {
            var c = col[part];
            for (int first = part * chunk; first < n; first += parts * chunk)
            {
                int images = Math.Min(chunk, n - first), rows = images * g.P;
                ChannelsLast.Im2Col(c, x.AsSpan(first * InSize, images * InSize), g with { N = images });
                var y = Output.AsSpan(first * OutSize, images * OutSize);
                Gemm.Multiply(Gemm.Variant, 1, y, c, wr, rows, oc, g.K, false, false, false);
                DenseKernels.BiasActivateRows(y, conv.Bias is null ? [] : conv.Bias.AsSpan(), rows, oc, Act, Slope);
            }
        }

        // The same chunks backward: dZ = dA ⊙ act'(A); the chunk's dWr = colᵀ·dZ, db = Σ dZ; dX = col2im(dZ·Wrᵀ).
        private void BackwardPart(int part)
        {
            var c = col[part];
            for (int first = part * chunk; first < n; first += parts * chunk)
            {
                int images = Math.Min(chunk, n - first), rows = images * g.P, index = first / chunk;
                var gc = g with { N = images };
                var dz = Delta.AsSpan(first * OutSize, images * OutSize);
                DenseKernels.ActivationBackward(dz, dz, Output.AsSpan(first * OutSize, images * OutSize), rows * oc, Act, Slope);
                ChannelsLast.Im2Col(c, x.AsSpan(first * InSize, images * InSize), gc);
                Gemm.Multiply(Gemm.Variant, 1, dwr[index], c, dz, g.K, oc, rows, true, false, false);
                DenseKernels.BiasGradient(db[index], dz, rows, oc);
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
