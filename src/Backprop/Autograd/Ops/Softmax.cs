using System.Numerics.Tensors;

namespace Backprop;

// Softmax and log-softmax along an axis, computed stably (subtracting the maximum first).
public sealed partial class Tensor
{
    /// <summary>
    /// softmax(x)ᵢ = eˣⁱ / Σⱼ eˣʲ along <paramref name="axis"/>.
    /// Backward: ∂L/∂x = y ⊙ (g − Σ(g ⊙ y)) along the axis.
    /// </summary>
    public Tensor Softmax(int axis = -1)
    {
        var (outer, n, inner, _) = AxisView(axis, "Softmax");
        var r = Empty(dims);
        ForEachLine(outer, n, inner, static (src, dst, _) =>
        {
            float max = TensorPrimitives.Max(src);
            TensorPrimitives.Subtract(src, max, dst);
            TensorPrimitives.Exp(dst, dst);
            TensorPrimitives.Divide(dst, TensorPrimitives.Sum(dst), dst);
        }, data, r.data, data);
        if (r.Record("softmax", SoftmaxBackward, this, saves: Saves.Output) is { } node) (node.I0, node.I1, node.I2) = (outer, n, inner);
        return r;
    }

    // ∂x = y ⊙ (g − Σ(g ⊙ y)) along each line of the [outer, n, inner] view; y is the output.
    private static readonly GradNode.StaticBackward SoftmaxBackward = static (node, g) =>
    {
        var input = node.Inputs[0];
        var dx = Empty(input.dims);
        ForEachLine(node.I0, node.I1, node.I2, static (gy, dst, y) =>
        {
            float dot = TensorPrimitives.Dot(gy, y);
            TensorPrimitives.Subtract(gy, dot, dst);
            TensorPrimitives.Multiply(dst, y, dst);
        }, g.data, dx.data, node.Output!.data);
        input.AccumulateOwnedGrad(dx);
    };

    /// <summary>
    /// log softmax(x) = x − max − ln Σ e^(x − max) along <paramref name="axis"/>.
    /// Backward: ∂L/∂x = g − softmax(x) · Σ g along the axis.
    /// </summary>
    public Tensor LogSoftmax(int axis = -1)
    {
        var (outer, n, inner, _) = AxisView(axis, "LogSoftmax");
        var r = Empty(dims);
        ForEachLine(outer, n, inner, static (src, dst, _) =>
        {
            float max = TensorPrimitives.Max(src);
            TensorPrimitives.Subtract(src, max, dst);
            float sumExp = 0f;
            foreach (var v in dst) sumExp += MathF.Exp(v);
            TensorPrimitives.Subtract(dst, MathF.Log(sumExp), dst);
        }, data, r.data, data);
        if (r.Record("log_softmax", LogSoftmaxBackward, this, saves: Saves.Output) is { } node) (node.I0, node.I1, node.I2) = (outer, n, inner);
        return r;
    }

    // ∂x = g − softmax(x) · Σ g along each line; softmax(x) = e^y with y the output.
    private static readonly GradNode.StaticBackward LogSoftmaxBackward = static (node, g) =>
    {
        var input = node.Inputs[0];
        var dx = Empty(input.dims);
        ForEachLine(node.I0, node.I1, node.I2, static (gy, dst, y) =>
        {
            float sum = TensorPrimitives.Sum(gy);
            for (int j = 0; j < dst.Length; j++) dst[j] = gy[j] - MathF.Exp(y[j]) * sum;
        }, g.data, dx.data, node.Output!.data);
        input.AccumulateOwnedGrad(dx);
    };

    /// <summary>
    /// Calls <paramref name="body"/> for every line along the axis of an [outer, n, inner] view of src, dst and aux,
    /// with contiguous copies when inner &gt; 1 (so the body always sees unit-stride spans).
    /// </summary>
    private static void ForEachLine(int outer, int n, int inner, LineFn3 body, float[] src, float[] dst, float[] aux)
    {
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
                body(src.AsSpan(o * n, n), dst.AsSpan(o * n, n), aux.AsSpan(o * n, n));
            return;
        }
        float[] s = TensorArena.Floats(n), d = TensorArena.Floats(n), a = TensorArena.Floats(n);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                for (int j = 0; j < n; j++) { int at = (o * n + j) * inner + i; s[j] = src[at]; a[j] = aux[at]; }
                body(s, d, a);
                for (int j = 0; j < n; j++) dst[(o * n + j) * inner + i] = d[j];
            }
    }

    private delegate void LineFn3(ReadOnlySpan<float> src, Span<float> dst, ReadOnlySpan<float> aux);
}
