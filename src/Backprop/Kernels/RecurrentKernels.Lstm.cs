using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// The LSTM cell, forward and backward, at every width (see RecurrentKernels): gate blocks i, f, g, o of H each.

internal static partial class RecurrentKernels
{
    /// <summary>i, f, o = σ(xp + hp), g = tanh(xp + hp) per block; c = f·c₋ + i·g; h = o·tanh(c); acts = [i, f, g, o].</summary>
    private readonly struct LstmStep : ICellStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke1(in StepRow r, nuint j)
        {
            nuint n = r.N;
            float i = FloatSigmoidPair.Sigmoid(Unsafe.Add(ref r.Xp, j) + Unsafe.Add(ref r.Hp, j));
            float f = FloatSigmoidPair.Sigmoid(Unsafe.Add(ref r.Xp, n + j) + Unsafe.Add(ref r.Hp, n + j));
            float g = FloatTanh.Invoke(Unsafe.Add(ref r.Xp, 2 * n + j) + Unsafe.Add(ref r.Hp, 2 * n + j));
            float o = FloatSigmoidPair.Sigmoid(Unsafe.Add(ref r.Xp, 3 * n + j) + Unsafe.Add(ref r.Hp, 3 * n + j));
            float c = f * Unsafe.Add(ref r.CPrev, j) + i * g;
            Unsafe.Add(ref r.Acts, j) = i;
            Unsafe.Add(ref r.Acts, n + j) = f;
            Unsafe.Add(ref r.Acts, 2 * n + j) = g;
            Unsafe.Add(ref r.Acts, 3 * n + j) = o;
            Unsafe.Add(ref r.C, j) = c;
            Unsafe.Add(ref r.H, j) = o * FloatTanh.Invoke(c);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke4(in StepRow r, nuint j)
        {
            nuint n = r.N;
            var i = FloatSigmoidPair.Sigmoid(Vector128.LoadUnsafe(ref r.Xp, j) + Vector128.LoadUnsafe(ref r.Hp, j));
            var f = FloatSigmoidPair.Sigmoid(Vector128.LoadUnsafe(ref r.Xp, n + j) + Vector128.LoadUnsafe(ref r.Hp, n + j));
            var g = FloatTanh.Invoke(Vector128.LoadUnsafe(ref r.Xp, 2 * n + j) + Vector128.LoadUnsafe(ref r.Hp, 2 * n + j));
            var o = FloatSigmoidPair.Sigmoid(Vector128.LoadUnsafe(ref r.Xp, 3 * n + j) + Vector128.LoadUnsafe(ref r.Hp, 3 * n + j));
            var c = f * Vector128.LoadUnsafe(ref r.CPrev, j) + i * g;
            i.StoreUnsafe(ref r.Acts, j);
            f.StoreUnsafe(ref r.Acts, n + j);
            g.StoreUnsafe(ref r.Acts, 2 * n + j);
            o.StoreUnsafe(ref r.Acts, 3 * n + j);
            c.StoreUnsafe(ref r.C, j);
            (o * FloatTanh.Invoke(c)).StoreUnsafe(ref r.H, j);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke8(in StepRow r, nuint j)
        {
            nuint n = r.N;
            var i = FloatSigmoidPair.Sigmoid(Vector256.LoadUnsafe(ref r.Xp, j) + Vector256.LoadUnsafe(ref r.Hp, j));
            var f = FloatSigmoidPair.Sigmoid(Vector256.LoadUnsafe(ref r.Xp, n + j) + Vector256.LoadUnsafe(ref r.Hp, n + j));
            var g = FloatTanh.Invoke(Vector256.LoadUnsafe(ref r.Xp, 2 * n + j) + Vector256.LoadUnsafe(ref r.Hp, 2 * n + j));
            var o = FloatSigmoidPair.Sigmoid(Vector256.LoadUnsafe(ref r.Xp, 3 * n + j) + Vector256.LoadUnsafe(ref r.Hp, 3 * n + j));
            var c = f * Vector256.LoadUnsafe(ref r.CPrev, j) + i * g;
            i.StoreUnsafe(ref r.Acts, j);
            f.StoreUnsafe(ref r.Acts, n + j);
            g.StoreUnsafe(ref r.Acts, 2 * n + j);
            o.StoreUnsafe(ref r.Acts, 3 * n + j);
            c.StoreUnsafe(ref r.C, j);
            (o * FloatTanh.Invoke(c)).StoreUnsafe(ref r.H, j);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke16(in StepRow r, nuint j)
        {
            nuint n = r.N;
            var i = FloatSigmoidPair.Sigmoid(Vector512.LoadUnsafe(ref r.Xp, j) + Vector512.LoadUnsafe(ref r.Hp, j));
            var f = FloatSigmoidPair.Sigmoid(Vector512.LoadUnsafe(ref r.Xp, n + j) + Vector512.LoadUnsafe(ref r.Hp, n + j));
            var g = FloatTanh.Invoke(Vector512.LoadUnsafe(ref r.Xp, 2 * n + j) + Vector512.LoadUnsafe(ref r.Hp, 2 * n + j));
            var o = FloatSigmoidPair.Sigmoid(Vector512.LoadUnsafe(ref r.Xp, 3 * n + j) + Vector512.LoadUnsafe(ref r.Hp, 3 * n + j));
            var c = f * Vector512.LoadUnsafe(ref r.CPrev, j) + i * g;
            i.StoreUnsafe(ref r.Acts, j);
            f.StoreUnsafe(ref r.Acts, n + j);
            g.StoreUnsafe(ref r.Acts, 2 * n + j);
            o.StoreUnsafe(ref r.Acts, 3 * n + j);
            c.StoreUnsafe(ref r.C, j);
            (o * FloatTanh.Invoke(c)).StoreUnsafe(ref r.H, j);
        }
    }

    /// <summary>
    /// With tc = tanh(c) and dc' = dc + dh·o·(1 − tc²): ∂i = dc'·g·i(1 − i), ∂f = dc'·c₋·f(1 − f),
    /// ∂g = dc'·i·(1 − g²), ∂o = dh·tc·o(1 − o), each to dxp and dhp; dc₋ = dc'·f.
    /// </summary>
    private readonly struct LstmStepBackward : ICellStepBackward
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke1(in GradRow r, nuint j)
        {
            nuint n = r.N;
            float i = Unsafe.Add(ref r.Acts, j), f = Unsafe.Add(ref r.Acts, n + j), g = Unsafe.Add(ref r.Acts, 2 * n + j), o = Unsafe.Add(ref r.Acts, 3 * n + j);
            float dh = Unsafe.Add(ref r.Dh, j);
            float tc = FloatTanh.Invoke(Unsafe.Add(ref r.C, j));
            float dc = Unsafe.Add(ref r.Dc, j) + dh * o * (1f - tc * tc);
            Both(r, j, dc * g * i * (1f - i));
            Both(r, n + j, dc * Unsafe.Add(ref r.CPrev, j) * f * (1f - f));
            Both(r, 2 * n + j, dc * i * (1f - g * g));
            Both(r, 3 * n + j, dh * tc * o * (1f - o));
            Unsafe.Add(ref r.DcPrev, j) = dc * f;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke4(in GradRow r, nuint j)
        {
            nuint n = r.N;
            var i = Vector128.LoadUnsafe(ref r.Acts, j);
            var f = Vector128.LoadUnsafe(ref r.Acts, n + j);
            var g = Vector128.LoadUnsafe(ref r.Acts, 2 * n + j);
            var o = Vector128.LoadUnsafe(ref r.Acts, 3 * n + j);
            var dh = Vector128.LoadUnsafe(ref r.Dh, j);
            var tc = FloatTanh.Invoke(Vector128.LoadUnsafe(ref r.C, j));
            var dc = Vector128.LoadUnsafe(ref r.Dc, j) + dh * o * (Vector128<float>.One - tc * tc);
            Both(r, j, dc * g * i * (Vector128<float>.One - i));
            Both(r, n + j, dc * Vector128.LoadUnsafe(ref r.CPrev, j) * f * (Vector128<float>.One - f));
            Both(r, 2 * n + j, dc * i * (Vector128<float>.One - g * g));
            Both(r, 3 * n + j, dh * tc * o * (Vector128<float>.One - o));
            (dc * f).StoreUnsafe(ref r.DcPrev, j);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke8(in GradRow r, nuint j)
        {
            nuint n = r.N;
            var i = Vector256.LoadUnsafe(ref r.Acts, j);
            var f = Vector256.LoadUnsafe(ref r.Acts, n + j);
            var g = Vector256.LoadUnsafe(ref r.Acts, 2 * n + j);
            var o = Vector256.LoadUnsafe(ref r.Acts, 3 * n + j);
            var dh = Vector256.LoadUnsafe(ref r.Dh, j);
            var tc = FloatTanh.Invoke(Vector256.LoadUnsafe(ref r.C, j));
            var dc = Vector256.LoadUnsafe(ref r.Dc, j) + dh * o * (Vector256<float>.One - tc * tc);
            Both(r, j, dc * g * i * (Vector256<float>.One - i));
            Both(r, n + j, dc * Vector256.LoadUnsafe(ref r.CPrev, j) * f * (Vector256<float>.One - f));
            Both(r, 2 * n + j, dc * i * (Vector256<float>.One - g * g));
            Both(r, 3 * n + j, dh * tc * o * (Vector256<float>.One - o));
            (dc * f).StoreUnsafe(ref r.DcPrev, j);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke16(in GradRow r, nuint j)
        {
            nuint n = r.N;
            var i = Vector512.LoadUnsafe(ref r.Acts, j);
            var f = Vector512.LoadUnsafe(ref r.Acts, n + j);
            var g = Vector512.LoadUnsafe(ref r.Acts, 2 * n + j);
            var o = Vector512.LoadUnsafe(ref r.Acts, 3 * n + j);
            var dh = Vector512.LoadUnsafe(ref r.Dh, j);
            var tc = FloatTanh.Invoke(Vector512.LoadUnsafe(ref r.C, j));
            var dc = Vector512.LoadUnsafe(ref r.Dc, j) + dh * o * (Vector512<float>.One - tc * tc);
            Both(r, j, dc * g * i * (Vector512<float>.One - i));
            Both(r, n + j, dc * Vector512.LoadUnsafe(ref r.CPrev, j) * f * (Vector512<float>.One - f));
            Both(r, 2 * n + j, dc * i * (Vector512<float>.One - g * g));
            Both(r, 3 * n + j, dh * tc * o * (Vector512<float>.One - o));
            (dc * f).StoreUnsafe(ref r.DcPrev, j);
        }
    }
}
