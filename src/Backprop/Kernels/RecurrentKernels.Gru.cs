using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Backprop.Kernels;

// The GRU cell, forward and backward, at every width (see RecurrentKernels): gate blocks r, z, n of H each.

internal static partial class RecurrentKernels
{
    /// <summary>r, z = σ(xp + hp), n = tanh(xp_n + r·hp_n), h = (1 − z)·n + z·h₋; acts = [r, z, n], hpn = hp_n.</summary>
    private readonly struct GruStep : ICellStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke1(in StepRow r, nuint j)
        {
            nuint n = r.N;
            float rg = FloatSigmoidPair.Sigmoid(Unsafe.Add(ref r.Xp, j) + Unsafe.Add(ref r.Hp, j));
            float z = FloatSigmoidPair.Sigmoid(Unsafe.Add(ref r.Xp, n + j) + Unsafe.Add(ref r.Hp, n + j));
            float hn = Unsafe.Add(ref r.Hp, 2 * n + j);
            float nn = FloatTanh.Invoke(Unsafe.Add(ref r.Xp, 2 * n + j) + rg * hn);
            Unsafe.Add(ref r.Acts, j) = rg;
            Unsafe.Add(ref r.Acts, n + j) = z;
            Unsafe.Add(ref r.Acts, 2 * n + j) = nn;
            Unsafe.Add(ref r.Hpn, j) = hn;
            Unsafe.Add(ref r.H, j) = (1f - z) * nn + z * Unsafe.Add(ref r.HPrev, j);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke4(in StepRow r, nuint j)
        {
            nuint n = r.N;
            var rg = FloatSigmoidPair.Sigmoid(Vector128.LoadUnsafe(ref r.Xp, j) + Vector128.LoadUnsafe(ref r.Hp, j));
            var z = FloatSigmoidPair.Sigmoid(Vector128.LoadUnsafe(ref r.Xp, n + j) + Vector128.LoadUnsafe(ref r.Hp, n + j));
            var hn = Vector128.LoadUnsafe(ref r.Hp, 2 * n + j);
            var nn = FloatTanh.Invoke(Vector128.LoadUnsafe(ref r.Xp, 2 * n + j) + rg * hn);
            rg.StoreUnsafe(ref r.Acts, j);
            z.StoreUnsafe(ref r.Acts, n + j);
            nn.StoreUnsafe(ref r.Acts, 2 * n + j);
            hn.StoreUnsafe(ref r.Hpn, j);
            ((Vector128<float>.One - z) * nn + z * Vector128.LoadUnsafe(ref r.HPrev, j)).StoreUnsafe(ref r.H, j);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke8(in StepRow r, nuint j)
        {
            nuint n = r.N;
            var rg = FloatSigmoidPair.Sigmoid(Vector256.LoadUnsafe(ref r.Xp, j) + Vector256.LoadUnsafe(ref r.Hp, j));
            var z = FloatSigmoidPair.Sigmoid(Vector256.LoadUnsafe(ref r.Xp, n + j) + Vector256.LoadUnsafe(ref r.Hp, n + j));
            var hn = Vector256.LoadUnsafe(ref r.Hp, 2 * n + j);
            var nn = FloatTanh.Invoke(Vector256.LoadUnsafe(ref r.Xp, 2 * n + j) + rg * hn);
            rg.StoreUnsafe(ref r.Acts, j);
            z.StoreUnsafe(ref r.Acts, n + j);
            nn.StoreUnsafe(ref r.Acts, 2 * n + j);
            hn.StoreUnsafe(ref r.Hpn, j);
            ((Vector256<float>.One - z) * nn + z * Vector256.LoadUnsafe(ref r.HPrev, j)).StoreUnsafe(ref r.H, j);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke16(in StepRow r, nuint j)
        {
            nuint n = r.N;
            var rg = FloatSigmoidPair.Sigmoid(Vector512.LoadUnsafe(ref r.Xp, j) + Vector512.LoadUnsafe(ref r.Hp, j));
            var z = FloatSigmoidPair.Sigmoid(Vector512.LoadUnsafe(ref r.Xp, n + j) + Vector512.LoadUnsafe(ref r.Hp, n + j));
            var hn = Vector512.LoadUnsafe(ref r.Hp, 2 * n + j);
            var nn = FloatTanh.Invoke(Vector512.LoadUnsafe(ref r.Xp, 2 * n + j) + rg * hn);
            rg.StoreUnsafe(ref r.Acts, j);
            z.StoreUnsafe(ref r.Acts, n + j);
            nn.StoreUnsafe(ref r.Acts, 2 * n + j);
            hn.StoreUnsafe(ref r.Hpn, j);
            ((Vector512<float>.One - z) * nn + z * Vector512.LoadUnsafe(ref r.HPrev, j)).StoreUnsafe(ref r.H, j);
        }
    }

    /// <summary>
    /// ∂n = dh·(1 − z)·(1 − n²) (to dxp_n; dhp_n = ∂n·r), ∂r = ∂n·hp_n·r(1 − r), ∂z = dh·(h₋ − n)·z(1 − z), each to
    /// dxp and dhp; the direct part of ∂L/∂h₋ is dh·z.
    /// </summary>
    private readonly struct GruStepBackward : ICellStepBackward
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke1(in GradRow r, nuint j)
        {
            nuint n = r.N;
            float rg = Unsafe.Add(ref r.Acts, j), z = Unsafe.Add(ref r.Acts, n + j), nn = Unsafe.Add(ref r.Acts, 2 * n + j);
            float dh = Unsafe.Add(ref r.Dh, j);
            float dnp = dh * (1f - z) * (1f - nn * nn);
            Both(r, j, dnp * Unsafe.Add(ref r.Hpn, j) * rg * (1f - rg));
            Both(r, n + j, dh * (Unsafe.Add(ref r.HPrev, j) - nn) * z * (1f - z));
            Unsafe.Add(ref r.Dxp, 2 * n + j) = dnp;
            Unsafe.Add(ref r.Dhp, 2 * n + j) = dnp * rg;
            Unsafe.Add(ref r.DhPrevDirect, j) = dh * z;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke4(in GradRow r, nuint j)
        {
            nuint n = r.N;
            var rg = Vector128.LoadUnsafe(ref r.Acts, j);
            var z = Vector128.LoadUnsafe(ref r.Acts, n + j);
            var nn = Vector128.LoadUnsafe(ref r.Acts, 2 * n + j);
            var dh = Vector128.LoadUnsafe(ref r.Dh, j);
            var dnp = dh * (Vector128<float>.One - z) * (Vector128<float>.One - nn * nn);
            Both(r, j, dnp * Vector128.LoadUnsafe(ref r.Hpn, j) * rg * (Vector128<float>.One - rg));
            Both(r, n + j, dh * (Vector128.LoadUnsafe(ref r.HPrev, j) - nn) * z * (Vector128<float>.One - z));
            dnp.StoreUnsafe(ref r.Dxp, 2 * n + j);
            (dnp * rg).StoreUnsafe(ref r.Dhp, 2 * n + j);
            (dh * z).StoreUnsafe(ref r.DhPrevDirect, j);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke8(in GradRow r, nuint j)
        {
            nuint n = r.N;
            var rg = Vector256.LoadUnsafe(ref r.Acts, j);
            var z = Vector256.LoadUnsafe(ref r.Acts, n + j);
            var nn = Vector256.LoadUnsafe(ref r.Acts, 2 * n + j);
            var dh = Vector256.LoadUnsafe(ref r.Dh, j);
            var dnp = dh * (Vector256<float>.One - z) * (Vector256<float>.One - nn * nn);
            Both(r, j, dnp * Vector256.LoadUnsafe(ref r.Hpn, j) * rg * (Vector256<float>.One - rg));
            Both(r, n + j, dh * (Vector256.LoadUnsafe(ref r.HPrev, j) - nn) * z * (Vector256<float>.One - z));
            dnp.StoreUnsafe(ref r.Dxp, 2 * n + j);
            (dnp * rg).StoreUnsafe(ref r.Dhp, 2 * n + j);
            (dh * z).StoreUnsafe(ref r.DhPrevDirect, j);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Invoke16(in GradRow r, nuint j)
        {
            nuint n = r.N;
            var rg = Vector512.LoadUnsafe(ref r.Acts, j);
            var z = Vector512.LoadUnsafe(ref r.Acts, n + j);
            var nn = Vector512.LoadUnsafe(ref r.Acts, 2 * n + j);
            var dh = Vector512.LoadUnsafe(ref r.Dh, j);
            var dnp = dh * (Vector512<float>.One - z) * (Vector512<float>.One - nn * nn);
            Both(r, j, dnp * Vector512.LoadUnsafe(ref r.Hpn, j) * rg * (Vector512<float>.One - rg));
            Both(r, n + j, dh * (Vector512.LoadUnsafe(ref r.HPrev, j) - nn) * z * (Vector512<float>.One - z));
            dnp.StoreUnsafe(ref r.Dxp, 2 * n + j);
            (dnp * rg).StoreUnsafe(ref r.Dhp, 2 * n + j);
            (dh * z).StoreUnsafe(ref r.DhPrevDirect, j);
        }
    }
}
