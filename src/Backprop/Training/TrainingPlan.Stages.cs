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
        private readonly int maxRows = maxBatch;

        /// <summary>∂E/∂Output [n, OutSize]; empty in a forward-only plan, which never runs backward.</summary>
        public float[] Delta { get; private set; } = [];

        /// <summary>
        /// Most threads this stage's own parallel parts use (convolution chunks, per-image pooling and layout work,
        /// batch-norm blocks); the plan sets it for every stage (<see cref="TrainingPlan.Threads"/>), and results do
        /// not depend on it. Dense layers' products split as <see cref="Gemm.MaxThreads"/> says.
        /// </summary>
        public int Threads = Gemm.MaxThreads;

        /// <summary>Whether this stage has a parameter to train now; stages without parameters say false.</summary>
        public virtual bool HasTrainableParameters => true;

        /// <summary>Allocates what backward needs (a training plan calls it once, when it is built).</summary>
        public virtual void AllocateBackward() => Delta = new float[maxRows * OutSize];

        public abstract void Forward(float[] x, int n);

        public abstract void Backward(float[] x, float[]? dx, int n);
    }

    /// <summary>A stage whose output pass also applies an element-wise activation (identity until one is fused in).</summary>
    private abstract class ActivatedStage(int inSize, int outSize, int maxBatch) : Stage(inSize, outSize, maxBatch)
    {
        public ActivationKind Act = ActivationKind.Identity;
        public float Slope;

        /// <summary>Whether an activation after this stage fuses into it: only while it has none.</summary>
        public virtual bool TakesActivation => Act == ActivationKind.Identity;
    }

    /// <summary>
    /// Dense → activation: A = act(X·W + b); dZ = dA ⊙ act'(A), dW = Xᵀ·dZ, db = Σ dZ, dX = dZ·Wᵀ. With
    /// <see cref="Sharing"/> set, data-parallel ranks form dW together from their X and dZ rather than each from its own.
    /// </summary>
    private sealed class DenseStage(Dense dense, Gradients gradients, int maxBatch) : ActivatedStage(dense.InFeatures, dense.OutFeatures, maxBatch)
    {
        private readonly GradientUse weight = gradients.For(dense.Weight);
        private readonly GradientUse? bias = dense.Bias is null ? null : gradients.For(dense.Bias);

        public override bool HasTrainableParameters => weight.Wanted || bias is { Wanted: true };

        /// <summary>The ranks that form dW from shared factors, or null (see <see cref="ShareFactors"/>).</summary>
        public IFactorSharing? Sharing { get; private set; }

        /// <summary>Hands dW to <paramref name="sharing"/> when the ranks take it and this stage is the weight's only use.</summary>
        public void ShareFactors(IFactorSharing sharing, int maxRows)
        {
            if (weight.Only && sharing.SharesFactors(dense.Weight, InSize, OutSize, maxRows)) Sharing = sharing;
        }

        public override void Forward(float[] x, int n) =>
            DenseKernels.Forward(Output, x, dense.Weight.AsSpan(), dense.Bias is null ? [] : dense.Bias.AsSpan(), n,
                InSize, OutSize, Act, Slope);

        public override void Backward(float[] x, float[]? dx, int n)
        {
            DenseKernels.ActivationBackward(Delta, Delta, Output, n * OutSize, Act, Slope);
            // A frozen parameter gets no gradient (an empty span skips its GEMM or sum); dX flows all the same.
            bool wantW = weight.Wanted, wantB = bias is { Wanted: true }, shared = wantW && Sharing is not null;
            DenseKernels.Backward(wantW && !shared ? weight.Span : [], wantB ? bias!.Span : [], dx, Delta, x, dense.Weight.AsSpan(),
                n, InSize, OutSize, weight.Accumulate, bias is { Accumulate: true });
            if (shared) Sharing!.FormWeightGradient(dense.Weight, x.AsSpan(0, n * InSize), Delta.AsSpan(0, n * OutSize), n, InSize, OutSize, weight.Span);
            if (wantW) weight.Publish();
            if (wantB) bias!.Publish();
        }
    }

    /// <summary>
    /// Conv2d → activation (→ max pool) on channels-last images: a convolution is a dense layer applied to every output
    /// pixel's receptive field, so with col = im2col(X) [n·OH·OW, KH·KW·C] and Wr [KH·KW·C, OC] (W [OC, C, KH, KW]
    /// permuted): A = act(col·Wr + b) is [n, OH, OW, OC]; backward is the dense backward on col (dWr = colᵀ·dZ,
    /// db = Σ dZ, dcol = dZ·Wrᵀ), then col2im for dX and the inverse permutation for dW.
    /// </summary>
    /// <remarks>
    /// <para>The batch is cut into chunks of a few images whose dcol block (backward's dZ·Wrᵀ) fits in a core's L2
    /// cache, and at least min(batch, <see cref="MinConvChunks"/>) chunks so that many cores find work. The chunks are fixed
    /// by the layer and the batch size alone; the parts (one per thread, <see cref="Threads"/>) take every
    /// Threads-th chunk, each with a single-threaded GEMM whose A strips are packed straight from the images (col is
    /// never written out: <see cref="Im2ColA"/> forward, <see cref="Im2ColTransposedA"/> for dWr), or for a small fan-in
    /// (a first layer on grey or colour images) with the direct kernel <see cref="SmallConv"/>. Each chunk leaves its
    /// own dWr and db partial, and the partials are added in chunk order, so the result is the same on any number of
    /// threads and whatever the timing.</para>
    /// <para>A max pool whose windows tile the image (stride = window) fuses in (<see cref="WithPool"/>): each chunk
    /// pools its activations while they are still in cache, into <see cref="Stage.Output"/> [n, POH, POW, OC], and the
    /// full-size A is never written out. Backward, each input wins at most one window and a winner's A is the pool's
    /// output y, so dZ = act'(A) ⊙ (dy routed to the winners) is formed as (dy ⊙ act'(y)) routed to the winners, over a
    /// quarter of the values (2×2 windows): the very products, so the same bits as the layers apart.</para>
    /// </remarks>
    private sealed class ConvStage : ActivatedStage
    {
        private readonly Conv2d conv;
        private readonly ConvGeometry g;   // N = images per chunk
        private readonly int chunk, chunks, oc;
        private readonly int pool;         // the fused max pool's window and stride; 0 without one
        private readonly bool small;       // a fan-in small enough for the direct kernel (SmallConv) rather than a GEMM
        private readonly int[] winners;    // the fused pool's winning taps [n, POH, POW, OC]
        private float[][] dwr = [], db = [];                 // one partial per chunk, made by AllocateBackward
        private float[][] dcol = [];                         // one scratch block per part, made on first use
        private float[][] a = [], da = [];                   // with a pool: each part's A and dZ for one chunk
        private readonly float[] wr;
        private readonly GradientUse weight;
        private readonly GradientUse? bias;
        private readonly Action<int> forwardPart, backwardPart;
        private float[] x = [];
        private float[]? dx;
        private int n, parts;
        private bool wantWeight, wantBias;

        public ConvStage(Conv2d conv, Gradients gradients, int h, int w, int maxBatch)
            : this(conv, gradients.For(conv.Weight), conv.Bias is null ? null : gradients.For(conv.Bias), h, w, 0, maxBatch)
        {
        }

        private ConvStage(Conv2d conv, GradientUse weight, GradientUse? bias, int h, int w, int pool, int maxBatch)
            : base(conv.InChannels * h * w, Out(conv, h, w, pool), maxBatch)
        {
            this.conv = conv;
            this.pool = pool;
            oc = conv.OutChannels;
            var one = new ConvGeometry(1, conv.InChannels, h, w, conv.KernelSize, conv.KernelSize, conv.Stride, conv.Padding);
            chunk = ImagesPerChunk(one.P * one.K, maxBatch, ConvBlockBytes, MinConvChunks);
            g = one with { N = chunk };
            chunks = (maxBatch + chunk - 1) / chunk;
            wr = new float[g.K * oc];
            small = SmallConv.Fits(g);
            winners = pool > 0 ? new int[maxBatch * OutSize] : [];
            this.weight = weight;
            this.bias = bias;
            forwardPart = ForwardPart;
            backwardPart = BackwardPart;
        }

        /// <summary>
        /// This convolution with a max pool of window and stride <paramref name="window"/> fused in (the same
        /// parameters and gradient uses, the same activation); an activation after the pool is a stage of its own.
        /// </summary>
        public ConvStage WithPool(int window, int maxBatch) =>
            new(conv, weight, bias, g.H, g.W, window, maxBatch) { Act = Act, Slope = Slope, Threads = Threads };

        public override bool HasTrainableParameters => weight.Wanted || bias is { Wanted: true };

        /// <summary>Whether an activation may still fuse in: not one already, and not after a fused pool.</summary>
        public override bool TakesActivation => base.TakesActivation && pool == 0;

        public bool HasPool => pool > 0;

        public override void AllocateBackward()
        {
            base.AllocateBackward();
            dwr = [.. Enumerable.Range(0, chunks).Select(_ => new float[g.K * oc])];
            db = [.. Enumerable.Range(0, chunks).Select(_ => new float[oc])];
        }

        /// <summary>The output image's height and width (after the fused pool, if any).</summary>
        public int OH => pool > 0 ? (g.OH - pool) / pool + 1 : g.OH;

        public int OW => pool > 0 ? (g.OW - pool) / pool + 1 : g.OW;

        private static int Out(Conv2d c, int h, int w, int pool)
        {
            int oh = (h + 2 * c.Padding - c.KernelSize) / c.Stride + 1, ow = (w + 2 * c.Padding - c.KernelSize) / c.Stride + 1;
            if (pool > 0) (oh, ow) = ((oh - pool) / pool + 1, (ow - pool) / pool + 1);
            return c.OutChannels * oh * ow;
        }

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
            (wantWeight, wantBias) = (weight.Wanted, bias is { Wanted: true });
            RunParts(backwardPart, backward: true);
            // dWr = Σ_chunks dWr_chunk, db = Σ_chunks db_chunk, in chunk order (a frozen parameter's are not computed);
            // then dW[o, c, kh, kw] (+)= dWr[(kh·KW + kw)·C + c, o], adding when a later use of a shared layer wrote it.
            int chunks = (n + chunk - 1) / chunk;
            if (wantWeight) WeightGradient(chunks);
            if (wantBias) PublishBiasGradient(bias!, db, chunks);
        }

        private void WeightGradient(int chunks)
        {
            var sum = SumChunks(dwr, chunks);
            var dw = weight.Span;
            bool accumulate = weight.Accumulate;
            int taps = g.KH * g.KW;
            for (int o = 0; o < oc; o++)
                for (int ch = 0; ch < g.C; ch++)
                    for (int t = 0; t < taps; t++)
                    {
                        int at = (o * g.C + ch) * taps + t;
                        dw[at] = (accumulate ? dw[at] : 0f) + sum[(t * g.C + ch) * oc + o];
                    }
            weight.Publish();
        }

        // One part per thread, at most one per chunk, on the workers when they are free, else one after another here.
        private void RunParts(Action<int> part, bool backward)
        {
            parts = Math.Clamp(Math.Min(Threads, (n + chunk - 1) / chunk), 1, chunks);
            if (pool > 0) EnsureBlocks(ref a, parts, chunk * g.P * oc);
            if (backward && dx is not null) EnsureBlocks(ref dcol, parts, chunk * g.P * g.K);   // the first layer needs no dX
            if (backward && pool > 0) EnsureBlocks(ref da, parts, chunk * g.P * oc);
            GemmWorkers.Run(parts, part);
        }

        // Chunks part, part + parts, ...: A = act(im2col(X)·Wr + b) for their images (then pooled, with a pool), col's
        // strips packed straight from the images.
        private void ForwardPart(int part)
        {
            for (int first = part * chunk; first < n; first += parts * chunk)
            {
                int images = Math.Min(chunk, n - first), rows = images * g.P;
                var output = Output.AsSpan(first * OutSize, images * OutSize);
                var y = pool > 0 ? a[part].AsSpan(0, rows * oc) : output;
                var chunkImages = x.AsSpan(first * InSize, images * InSize);
                if (small) SmallConv.Forward(y, chunkImages, g with { N = images }, wr, oc, Simd.Width);
                else Gemm.MultiplyIm2Col(Gemm.Variant, y, chunkImages, g with { N = images }, wr, oc, accumulate: false);
                DenseKernels.BiasActivateRows(y, conv.Bias is null ? [] : conv.Bias.AsSpan(), rows, oc, Act, Slope);
                if (pool > 0)
                    ChannelsLast.MaxPool(output, winners.AsSpan(first * OutSize, images * OutSize), y, images, g.OH, g.OW, oc, pool, pool);
            }
        }

        // The same chunks backward: dZ = dA ⊙ act'(A) (with a pool, routed from the pooled gradient, see the remarks);
        // the chunk's dWr = colᵀ·dZ, db = Σ dZ; dX = col2im(dZ·Wrᵀ).
        private void BackwardPart(int part)
        {
            for (int first = part * chunk; first < n; first += parts * chunk)
            {
                int images = Math.Min(chunk, n - first), rows = images * g.P, index = first / chunk;
                var gc = g with { N = images };
                var dy = Delta.AsSpan(first * OutSize, images * OutSize);
                DenseKernels.ActivationBackward(dy, dy, Output.AsSpan(first * OutSize, images * OutSize), images * OutSize, Act, Slope);
                var dz = dy;
                if (pool > 0)
                {
                    dz = da[part].AsSpan(0, rows * oc);
                    ChannelsLast.MaxPoolBackward(dz, dy, winners.AsSpan(first * OutSize, images * OutSize), images, g.OH, g.OW, oc, pool, pool);
                }
                if (wantWeight && small) SmallConv.WeightGradient(dwr[index], x.AsSpan(first * InSize, images * InSize), gc, dz, oc, Simd.Width);
                else if (wantWeight)   // dWr = colᵀ·dZ, col's strips packed straight from the images
                    Gemm.MultiplyIm2ColTransposed(Gemm.Variant, dwr[index], x.AsSpan(first * InSize, images * InSize), gc, dz, oc, accumulate: false);
                if (wantBias) DenseKernels.BiasGradient(db[index], dz, rows, oc);
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

        private ImageSplit? forward, backward;
        private float[] x = [];
        private float[]? dx;

        public override void Forward(float[] x, int n)
        {
            this.x = x;
            (forward ??= new ImageSplit(ForwardImages)).Run(n, Threads);
        }

        public override void Backward(float[] x, float[]? dx, int n)
        {
            if (dx is null) return;
            this.dx = dx;
            (backward ??= new ImageSplit(BackwardImages)).Run(n, Threads);
        }

        private void ForwardImages(int i0, int count) =>
            ChannelsLast.MaxPool(Output.AsSpan(i0 * OutSize, count * OutSize), arg.AsSpan(i0 * OutSize, count * OutSize),
                x.AsSpan(i0 * InSize, count * InSize), count, h, w, c, k, s);

        private void BackwardImages(int i0, int count) =>
            ChannelsLast.MaxPoolBackward(dx.AsSpan(i0 * InSize, count * InSize), Delta.AsSpan(i0 * OutSize, count * OutSize),
                arg.AsSpan(i0 * OutSize, count * OutSize), count, h, w, c, k, s);
    }

    /// <summary>
    /// A change of layout with the same values, each example's [rows, cols] transposed: NCHW rows → channels-last
    /// images ([C, H·W] → [H·W, C], the input of the first convolution), or back (Flatten, so the dense layers see
    /// features in the order the model defines). Backward is the opposite transpose.
    /// </summary>
    private sealed class LayoutStage(int rows, int cols, int maxBatch) : Stage(rows * cols, rows * cols, maxBatch)
    {
        public override bool HasTrainableParameters => false;

        private ImageSplit? forward, backward;
        private float[] x = [];
        private float[]? dx;

        public override void Forward(float[] x, int n)
        {
            this.x = x;
            (forward ??= new ImageSplit(ForwardImages)).Run(n, Threads);
        }

        public override void Backward(float[] x, float[]? dx, int n)
        {
            if (dx is null) return;
            this.dx = dx;
            (backward ??= new ImageSplit(BackwardImages)).Run(n, Threads);
        }

        private void ForwardImages(int i0, int count) =>
            ChannelsLast.TransposeEach(Output.AsSpan(i0 * InSize, count * InSize), x.AsSpan(i0 * InSize, count * InSize), count, rows, cols);

        private void BackwardImages(int i0, int count) =>
            ChannelsLast.TransposeEach(dx.AsSpan(i0 * InSize, count * InSize), Delta.AsSpan(i0 * InSize, count * InSize), count, cols, rows);
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
