using Backprop.Kernels;

namespace Backprop.Training;

internal sealed partial class TrainingPlan
{
    /// <summary>
    /// Runs a stage's per-image work over the cores: part p of P takes images [n·p/P, n·(p+1)/P). Only for work in
    /// which every image is computed on its own (pooling, layout changes), so the split cannot change a result. The
    /// delegates are made once per stage, so a step allocates nothing.
    /// </summary>
    private sealed class ImageSplit
    {
        private readonly Action<int, int> body;   // (first image, image count)
        private readonly Action<int> part;
        private int n, parts;

        public ImageSplit(Action<int, int> body)
        {
            this.body = body;
            part = Part;
        }

        public void Run(int n, int threads)
        {
            this.n = n;
            parts = Math.Clamp(threads, 1, Math.Max(1, n));
            if (parts == 1) body(0, n);
            else GemmWorkers.Run(parts, part);
        }

        private void Part(int p)
        {
            var (i0, i1) = PartRange.Of(n, parts, p);
            if (i1 > i0) body(i0, i1 - i0);
        }
    }
}
