#!/usr/bin/env bash
# Runs `backprop bench` and the peers of ../shared/anchors in one run on this machine, then prints each ratio.
#
# Needs (Debian): apt-get install -y python3-torch python3-sklearn python3-numpy libopenblas0-pthread \
#                                    dataset-fashion-mnist gcc
# Usage: tools/bench-peers.sh [epochs-for-peers]   (default 1; peers report samples/s per epoch)
set -euo pipefail
cd "$(dirname "$0")/.."
anchors=${ANCHORS:-../shared/anchors}
epochs=${1:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== building backprop (Release)" >&2
dotnet build src/Backprop.Cli -c Release -v quiet -nologo >/dev/null
echo "== backprop bench" >&2
dotnet src/Backprop.Cli/bin/Release/net10.0/Backprop.Cli.dll bench --json --cnn-steps 150 > "$out/backprop.json"

echo "== FMA peak (gcc -O3 -march=native)" >&2
gcc -O3 -march=native -o "$out/fma_peak" "$anchors/fma_peak.c"
"$out/fma_peak" > "$out/fma.txt"

echo "== OpenBLAS sgemm through numpy, 1 thread and all threads" >&2
OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$anchors/sgemm_numpy.py" > "$out/blas1.txt"
/usr/bin/python3 "$anchors/sgemm_numpy.py" > "$out/blasN.txt"

echo "== PyTorch MLP ($epochs epoch(s))" >&2
/usr/bin/python3 "$anchors/torch_fmnist_mlp.py" "$epochs" > "$out/torch.txt"
echo "== PyTorch CNN (2 epochs of 300 batches; the first warms up)" >&2
/usr/bin/python3 tools/torch_fmnist_cnn.py 2 64 300 > "$out/torch_cnn.txt"
echo "== scikit-learn MLP ($epochs epoch(s))" >&2
/usr/bin/python3 "$anchors/sklearn_fmnist_mlp.py" "$epochs" > "$out/sklearn.txt"

/usr/bin/python3 - "$out" <<'PY'
import json, re, sys, os
d = sys.argv[1]
read = lambda f: open(os.path.join(d, f)).read()
bp = json.loads(read("backprop.json"))
fma = float(re.search(r"avx512: ([\d.]+)", read("fma.txt")).group(1))
blas = lambda f: {int(n): float(g) for n, g in re.findall(r"n=(\d+) ([\d.]+) GFLOP/s", read(f))}
blas1, blasN = blas("blas1.txt"), blas("blasN.txt")
torch_sps = max(float(s.replace(",", "")) for s in re.findall(r"([\d,]+) samples/s", read("torch.txt")))
torch_us = float(re.search(r"batch-1 inference: ([\d.]+) us", read("torch.txt")).group(1))
sk_sps = float(re.search(r"([\d,]+) samples/s", read("sklearn.txt")).group(1).replace(",", ""))
torch_cnn = max(float(s.replace(",", "")) for s in re.findall(r"([\d,]+) samples/s", read("torch_cnn.txt")))
print(f"{'measure':44} {'backprop':>10} {'peer':>10} {'ratio':>7}")
row = lambda name, ours, peer: print(f"{name:44} {ours:10.1f} {peer:10.1f} {ours / peer:6.2f}x")
for n in (256, 512, 1024, 2048):
    g = bp["gemm_gflops"][str(n)]
    row(f"sgemm n={n}, 1 thread vs OpenBLAS (GFLOP/s)", g["1_thread"], blas1[n])
    row(f"sgemm n={n}, all threads vs OpenBLAS", g["all_threads"], blasN[n])
    print(f"{'':44} {'':10} {'':10} {g['1_thread'] / fma * 100:5.0f}% of FMA peak ({fma:.0f}); 2 threads {g['all_threads'] / g['1_thread']:.2f}x 1 thread")
row(f"MLP training vs PyTorch (samples/s, {bp['mlp_data'][:13]})", bp["mlp_train_samples_per_s"], torch_sps)
row("MLP training vs scikit-learn (samples/s)", bp["mlp_train_samples_per_s"], sk_sps)
print(f"{'MLP batch-1 inference (us; lower is better)':44} {bp['mlp_infer_batch1_us']:10.2f} {torch_us:10.1f} {torch_us / bp['mlp_infer_batch1_us']:6.2f}x faster")
row("CNN training vs PyTorch (samples/s)", bp["cnn_train_samples_per_s"], torch_cnn)
print(f"{'allocated bytes per MLP training step':44} {bp['alloc_bytes_per_train_step']:10d}")
print(f"{'allocated bytes per CNN training step':44} {bp['cnn_alloc_bytes_per_train_step']:10d}")
PY
