using Backprop.Kernels;
using Backprop.Nn;

namespace Backprop.Training;

internal sealed partial class TrainingPlan
{
    /// <summary>
    /// ConvTranspose2d → activation on channels-last images: the adjoint of a convolution whose input is this stage's
    /// output. With X [n·H·W, C] (the input's pixels as rows), W [C, OC, k, k] (PyTorch's layout) read as
    /// W' [C, k·k·OC] in the channels-last im2col column order (W'[c, (kh·k + kw)·OC + o] = W[c, o, kh, kw]) and the
    /// adjoint convolution's geometry g (input [n, OH, OW, OC], kernel k, the layer's stride and padding, output
    /// [n, H, W]; OH = (H − 1)·stride − 2·pad + k + outputPad, so that (OH + 2·pad − k)/stride + 1 = H):
    /// <code>
    /// forward   Z = col2im(X·W') + b  [n, OH, OW, OC],  A = act(Z)       (each input pixel scatters its k×k patch)
    /// backward  dZ = dA ⊙ act'(A);  col = im2col(dZ) [n·H·W, k·k·OC]
    ///           dX = col·W'ᵀ,  dW' = Xᵀ·col,  db = Σ_rows dZ
    /// </code>
    /// the same GEMMs as <see cref="ConvStage"/> with the roles of input and output swapped: the conv's forward
    /// product is this stage's backward for X, and the conv's dX (col2im of a product) is this stage's forward.
    /// </summary>
    /// <remarks>
    /// Chunked and split over threads as ConvStage is: chunks of a few images whose col block fits in a core's L2, at
    /// least min(batch, <see cref="ConvParallel.MaxReductionChunks"/>) of them, fixed by the layer and the batch alone;
    /// the parts (one per thread) take every parts-th chunk with a single-threaded GEMM, each chunk leaves its own dW'
    /// and db partial, and the partials are added in chunk order, so the result is the same on any number of threads.
    /// </remarks>
    private sealed class ConvTransposeStage : ActivatedStage
    {
        private readonly ConvTranspose2d layer;
        private readonly ConvGeometry g;              // the adjoint convolution over one chunk: N = images per chunk
        private readonly int chunk, chunks, c, oc;    // c = the input's channels, oc = the output's
        private float[][] dwr = [], db = [];          // one partial per chunk, made by AllocateBackward
        private float[][] col = [];                   // one scratch block per part, made on first use
        private readonly float[] wr;                  // W' [C, k·k·OC]
        private readonly GradientUse weight;
        private readonly GradientUse? bias;
        private readonly Action<int> forwardPart, backwardPart;
        private float[] x = [];
        private float[]? dx;
        private int n, parts;
        private bool wantWeight, wantBias;

        public ConvTransposeStage(ConvTranspose2d layer, Gradients gradients, int h, int w, int maxBatch)
            : base(layer.InChannels * h * w, layer.OutChannels * layer.OutputSize(h) * layer.OutputSize(w), maxBatch)
        {
            this.layer = layer;
            (c, oc) = (layer.InChannels, layer.OutChannels);
            int k = layer.KernelSize;
            var one = new ConvGeometry(1, oc, layer.OutputSize(h), layer.OutputSize(w), k, k, layer.Stride, layer.Padding);
            // Output padding is what makes the adjoint convolution land on H×W: (H − 1)·s + outputPad < H·s.
            if (one.OH != h || one.OW != w)
                throw new InvalidOperationException($"TrainingPlan: {layer} on [{c}, {h}, {w}] gives [{oc}, {one.H}, {one.W}], whose adjoint convolution gives {one.OH}×{one.OW}, not {h}×{w}.");
            chunk = ImagesPerChunk(one.P * one.K, maxBatch);
            g = one with { N = chunk };
            chunks = (maxBatch + chunk - 1) / chunk;
            wr = new float[c * g.K];
            weight = gradients.For(layer.Weight);
            bias = layer.Bias is null ? null : gradients.For(layer.Bias);
            forwardPart = ForwardPart;
            backwardPart = BackwardPart;
        }

        public override bool HasTrainableParameters => weight.Wanted || bias is { Wanted: true };

        public override void AllocateBackward()
        {
            base.AllocateBackward();
            dwr = [.. Enumerable.Range(0, chunks).Select(_ => new float[c * g.K])];
            db = [.. Enumerable.Range(0, chunks).Select(_ => new float[oc])];
        }

        /// <summary>Output height: (H − 1)·stride − 2·pad + k + outputPad.</summary>
        public int OH => g.H;

        /// <summary>Output width, likewise.</summary>
        public int OW => g.W;

        public override void Forward(float[] x, int n)
        {
            // W'[c, (kh·k + kw)·OC + o] = W[c, o, kh, kw]
            var wt = layer.Weight.AsSpan();
            int taps = g.KH * g.KW;
            for (int ch = 0; ch < c; ch++)
                for (int o = 0; o < oc; o++)
                    for (int t = 0; t < taps; t++)
                        wr[ch * g.K + t * oc + o] = wt[(ch * oc + o) * taps + t];
            (this.x, this.n) = (x, n);
            RunParts(forwardPart);
        }

        public override void Backward(float[] x, float[]? dx, int n)
        {
            (this.x, this.dx, this.n) = (x, dx, n);
            (wantWeight, wantBias) = (weight.Wanted, bias is { Wanted: true });
            RunParts(backwardPart);
            // dW' = Σ_chunks dW'_chunk, db = Σ_chunks db_chunk, in chunk order (a frozen parameter's are not computed);
            // then dW[c, o, kh, kw] (+)= dW'[c, (kh·k + kw)·OC + o], adding when a later use of a shared layer wrote it.
            int used = (n + chunk - 1) / chunk;
            if (wantWeight) WeightGradient(used);
            if (wantBias) PublishBiasGradient(bias!, db, used);
        }

        private void WeightGradient(int used)
        {
            var sum = SumChunks(dwr, used);
            var dw = weight.Span;
            bool accumulate = weight.Accumulate;
            int taps = g.KH * g.KW;
            for (int ch = 0; ch < c; ch++)
                for (int o = 0; o < oc; o++)
                    for (int t = 0; t < taps; t++)
                    {
                        int at = (ch * oc + o) * taps + t;
                        dw[at] = (accumulate ? dw[at] : 0f) + sum[ch * g.K + t * oc + o];
                    }
            weight.Publish();
        }

        // One part per thread, at most one per chunk, on the workers when they are free, else one after another here.
        private void RunParts(Action<int> part)
        {
            parts = Math.Clamp(Math.Min(Threads, (n + chunk - 1) / chunk), 1, chunks);
            EnsureBlocks(ref col, parts, chunk * g.P * g.K);
            GemmWorkers.Run(parts, part);
        }

        // Chunks part, part + parts, ...: col = X·W' [images·H·W, k·k·OC], Z = col2im(col) + b, A = act(Z).
        private void ForwardPart(int part)
        {
            var cb = col[part];
            for (int first = part * chunk; first < n; first += parts * chunk)
            {
                int images = Math.Min(chunk, n - first), rows = images * g.P;
                Gemm.Multiply(Gemm.Variant, 1, cb, x.AsSpan(first * InSize, images * InSize), wr, rows, g.K, c, false, false, false);
                var y = Output.AsSpan(first * OutSize, images * OutSize);
                ChannelsLast.Col2Im(y, cb, g with { N = images });
                DenseKernels.BiasActivateRows(y, layer.Bias is null ? [] : layer.Bias.AsSpan(), images * g.H * g.W, oc, Act, Slope);
            }
        }

        // The same chunks backward: dZ = dA ⊙ act'(A); col = im2col(dZ); the chunk's dW' = Xᵀ·col, db = Σ dZ; dX = col·W'ᵀ.
        private void BackwardPart(int part)
        {
            var cb = col[part];
            for (int first = part * chunk; first < n; first += parts * chunk)
            {
                int images = Math.Min(chunk, n - first), rows = images * g.P, pixels = images * g.H * g.W, index = first / chunk;
                var dz = Delta.AsSpan(first * OutSize, images * OutSize);
                DenseKernels.ActivationBackward(dz, dz, Output.AsSpan(first * OutSize, images * OutSize), pixels * oc, Act, Slope);
                if (wantBias) DenseKernels.BiasGradient(db[index], dz, pixels, oc);
                if (!wantWeight && dx is null) continue;
                ChannelsLast.Im2Col(cb, dz, g with { N = images });
                if (wantWeight)
                    Gemm.Multiply(Gemm.Variant, 1, dwr[index], x.AsSpan(first * InSize, images * InSize), cb, c, g.K, rows, true, false, false);
                if (dx is not null)
                    Gemm.Multiply(Gemm.Variant, 1, dx.AsSpan(first * InSize, images * InSize), cb, wr, rows, c, g.K, false, true, false);
            }
        }
    }
}
