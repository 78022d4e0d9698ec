#!/usr/bin/env bash
# Runs `backprop bench` beside the peers of ../shared/anchors in one run on this machine (AVX2, AVX-512 or other)
# and prints every ratio of issue 8: MLP training vs TorchSharp, PyTorch and scikit-learn; the reference CNN vs
# TorchSharp and PyTorch; the CNN with BatchNorm2d vs TorchSharp; batch-1 MLP latency vs ONNX Runtime, TorchSharp and
# PyTorch; sgemm on 1 thread vs OpenBLAS and as a share of the FMA peak of the ISA Backprop uses; peak RSS vs
# TorchSharp's; bytes allocated per step. On an AVX-512 machine it runs `backprop bench` again with
# DOTNET_EnableAVX512=0 and reports those figures too, against the TorchSharp anchor both as it runs and held to AVX2
# as well (ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2: LibTorch's own kernels,
# oneDNN's convolutions and MKL's GEMM), which is what an AVX2 machine would see of both.
#
# Needs (Debian): apt-get install -y python3-torch python3-sklearn python3-numpy python3-onnx libopenblas0-pthread \
#                                    dataset-fashion-mnist gcc g++ patchelf
# (the two .NET anchors restore their NuGet packages themselves; TorchSharp-cpu is about 500 MB).
#
# Usage: tools/bench-peers.sh [--quick] [--skip LIST] [--keep DIR]
#   --quick      tiny sizes everywhere: checks that every piece runs, measures nothing worth quoting
#   --skip LIST  comma-separated pieces to leave out (also SKIP=LIST in the environment):
#                torchsharp, onnxruntime, pytorch, sklearn, openblas, python (= pytorch,sklearn,openblas),
#                train (the RSS of a `backprop train` CNN run), avx512off (the reruns without AVX-512)
#   --keep DIR   keep every peer's raw output in DIR
# Environment: ANCHORS (default ../shared/anchors), EPOCHS (PyTorch/scikit-learn MLP epochs, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '/^# Usage:/,/^# Environment:/p' "$0" | sed 's/^# \{0,1\}//'; }
anchors=${ANCHORS:-../shared/anchors}
quick=0 keep="" skip=${SKIP:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --skip) [ $# -ge 2 ] || { echo "bench-peers.sh: --skip needs a list" >&2; exit 2; }; skip="$skip,$2"; shift ;;
    --skip=*) skip="$skip,${1#--skip=}" ;;
    --keep) [ $# -ge 2 ] || { echo "bench-peers.sh: --keep needs a folder" >&2; exit 2; }; keep=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-peers.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
skipped() { [[ ",$skip," == *",$1,"* ]] || { [[ $1 =~ ^(pytorch|sklearn|openblas)$ ]] && [[ ",$skip," == *",python,"* ]]; }; }
if [ -n "$keep" ]; then mkdir -p "$keep"; out=$(cd "$keep" && pwd); else out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
[ -d "$anchors" ] || { echo "bench-peers.sh: the anchors folder $anchors is missing (set ANCHORS)" >&2; exit 1; }
anchors=$(cd "$anchors" && pwd)
epochs=${EPOCHS:-2}
cnn_model="conv(32,3,pad=1)-relu-maxpool(2)-conv(64,3,pad=1)-relu-maxpool(2)-flatten-dense(128)-relu-dropout(0.3)-dense(10)"
if [ $quick = 1 ]; then
  bench_args=(--steps 20 --cnn-steps 2 --bn-steps 2); ts_args=(1 3 64); torch_cnn_args=(1 64 3); epochs=1; train_limit=640
else
  bench_args=(--cnn-steps 150 --bn-steps 150); ts_args=(1 300 64); torch_cnn_args=(2 64 300); train_limit=6400
fi
step() { echo "== $*" >&2; }

# The machine: the widest vector ISA the CPU has (lscpu), and the FMA peak of one core for each ISA.
lscpu | sed -n 's/^Model name: *//p' | head -1 > "$out/cpu.txt" || true
{ lscpu | grep -o 'avx512f\|avx2' | sort -u || true; } > "$out/isa.txt"
step "FMA peak (gcc -O3 -march=native)"
if ! { gcc -O3 -march=native -o "$out/fma_peak" "$anchors/fma_peak.c" && "$out/fma_peak" > "$out/fma.txt"; }; then
  echo "fma_peak.c did not build or run here (it is x86 only): no share of the FMA peak" >&2
fi

step "building backprop (Release)"
dotnet build src/Backprop.Cli -c Release -v quiet -nologo >/dev/null
backprop=(dotnet src/Backprop.Cli/bin/Release/net10.0/Backprop.Cli.dll)
step "backprop bench ${bench_args[*]}"
"${backprop[@]}" bench --json "${bench_args[@]}" > "$out/backprop.json"
if grep -qx avx512f "$out/isa.txt" && ! skipped avx512off; then
  step "backprop bench again with DOTNET_EnableAVX512=0 (the AVX2 paths)"
  DOTNET_EnableAVX512=0 "${backprop[@]}" bench --json "${bench_args[@]}" > "$out/backprop_noavx512.json"
fi
if ! skipped train && [ -d /usr/share/datasets/fashion-mnist ]; then
  step "peak RSS of backprop train: reference CNN, 1 epoch on $train_limit images"
  /usr/bin/time -f "%M" -o "$out/train_rss_kb.txt" "${backprop[@]}" train --dataset fashion-mnist --limit "$train_limit" \
    --model "$cnn_model" --epochs 1 --lr 0.001 --batch 64 --no-standardize --save "$out/cnn.safetensors" > "$out/train.txt"
fi

if ! skipped torchsharp; then
  step "TorchSharp anchor ${ts_args[*]} (restores TorchSharp-cpu on first use)"
  bash "$anchors/torchsharp/run.sh" "${ts_args[@]}" > "$out/torchsharp.txt"
  if grep -qx avx512f "$out/isa.txt" && ! skipped avx512off; then
    step "TorchSharp anchor again, LibTorch held to AVX2"
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
      bash "$anchors/torchsharp/run.sh" "${ts_args[@]}" > "$out/torchsharp_avx2.txt"
  fi
fi
if ! skipped onnxruntime; then
  step "ONNX Runtime anchor"
  bash "$anchors/onnxruntime/run.sh" > "$out/onnxruntime.txt"
fi
if ! skipped openblas; then
  step "OpenBLAS sgemm through numpy, 1 thread$([ $quick = 1 ] || echo ' and all threads')"
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$anchors/sgemm_numpy.py" > "$out/blas1.txt"
  [ $quick = 1 ] || /usr/bin/python3 "$anchors/sgemm_numpy.py" > "$out/blasN.txt"
fi
if ! skipped pytorch; then
  step "PyTorch MLP ($epochs epoch(s))"
  /usr/bin/python3 "$anchors/torch_fmnist_mlp.py" "$epochs" > "$out/torch.txt"
  step "PyTorch CNN ${torch_cnn_args[*]} (epochs, batch, batches per epoch; the first epoch warms up)"
  /usr/bin/python3 tools/torch_fmnist_cnn.py "${torch_cnn_args[@]}" > "$out/torch_cnn.txt"
fi
if ! skipped sklearn; then
  step "scikit-learn MLP ($epochs epoch(s))"
  /usr/bin/python3 "$anchors/sklearn_fmnist_mlp.py" "$epochs" > "$out/sklearn.txt"
fi

/usr/bin/python3 - "$out" "$quick" <<'PY'
import json, os, re, sys
d, quick = sys.argv[1], sys.argv[2] == "1"
def read(f):
    p = os.path.join(d, f)
    return open(p).read() if os.path.exists(p) else None
def last_json(f):
    t = read(f)
    return json.loads(t.strip().splitlines()[-1]) if t else {}
def find(f, pattern, pick=max):
    t = read(f)
    found = [float(s.replace(",", "")) for s in re.findall(pattern, t)] if t else []
    return pick(found) if found else None
num = lambda v: None if v is None else float(v)

bp = json.loads(read("backprop.json"))
bp_off = json.loads(read("backprop_noavx512.json")) if read("backprop_noavx512.json") else None
ts, ort = last_json("torchsharp.txt"), last_json("onnxruntime.txt")
ts_avx2 = last_json("torchsharp_avx2.txt")
fma = {isa: float(g) for isa, g in re.findall(r"(avx512|avx2|peak):\s+([\d.]+)", read("fma.txt") or "")}
blas = lambda f: {int(n): float(g) for n, g in re.findall(r"n=(\d+) ([\d.]+) GFLOP/s", read(f) or "")}
blas1, blasN = blas("blas1.txt"), blas("blasN.txt")
torch_mlp = find("torch.txt", r"([\d,]+) samples/s")
torch_us = find("torch.txt", r"batch-1 inference: ([\d.]+) us", min)
torch_cnn = last_json("torch_cnn.txt").get("cnn_train_samples_per_s")
sk = find("sklearn.txt", r"([\d,]+) samples/s")
train_kb = read("train_rss_kb.txt")
train_rss = float(train_kb.strip().splitlines()[-1]) / 1024 if train_kb else None
hw = sorted((read("isa.txt") or "").split())
hw_isa = "avx512f" if "avx512f" in hw else "avx2" if "avx2" in hw else "neither avx2 nor avx512f"

print()
print(f"machine: {(read('cpu.txt') or '').strip() or 'unknown CPU'}; widest ISA (lscpu): {hw_isa}; "
      f"{bp['threads']} core(s) used by backprop")
print("FMA peak of one core: " + (", ".join(f"{k} {v:.1f}" for k, v in fma.items() if k != "peak") + " GFLOP/s" if fma else "not measured"))
if quick:
    print("--quick: tiny sizes; these figures check that the pieces run and mean nothing")

W = 58
def header():
    print(f"{'measure':{W}} {'backprop':>12} {'peer':>11} {'ratio':>14}  target")
def row(name, ours, peer, ratio="", target=""):
    # None: the piece was skipped or did not report it; "": nothing to show in that column.
    f = lambda v: v if isinstance(v, str) else "n/a" if v is None else f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.1f}"
    print(f"{name:{W}} {f(ours):>12} {f(peer):>11} {ratio:>14}  {target}")
def faster(ours, peer):   # throughput: ours / peer, higher is better
    return "" if ours is None or peer is None or peer == 0 else f"{ours / peer:.2f}x"
def slower(ours, peer):   # latency or memory: ours / peer, lower is better
    return "" if ours is None or peer is None or peer == 0 else f"{ours / peer:.2f}x theirs"


def table(b, title, ts2=None):
    simd, isa = b.get("simd", "?"), b.get("isa", "?")
    peak_key = {"v512": "avx512", "v256": "avx2"}.get(simd, "peak")
    peak = fma.get(peak_key, fma.get("peak"))
    print()
    print(f"{title}: backprop isa {isa}, SIMD width in use {simd}, GEMM kernel {b.get('gemm_kernel')}")
    header()
    g = b.get("gemm_gflops", {})
    for n in (512, 1024, 2048):
        one = num(g.get(str(n), {}).get("1_thread"))
        row(f"sgemm n={n}, 1 thread (GFLOP/s) vs OpenBLAS", one, blas1.get(n), faster(one, blas1.get(n)))
        share = None if one is None or not peak else one / peak * 100
        row(f"  share of the {peak_key} FMA peak ({peak:.1f} GFLOP/s)" if peak else "  share of the FMA peak", "", "",
            "n/a" if share is None else f"{share:.0f}%", ">= 90%")
    n_all = num(g.get("2048", {}).get("all_threads"))
    row(f"sgemm n=2048, {b['threads']} threads vs OpenBLAS, all threads", n_all, blasN.get(2048), faster(n_all, blasN.get(2048)))
    mlp = num(b.get("mlp_train_samples_per_s"))
    def held(key, value, ratio=faster):   # the same measure against TorchSharp held to AVX2, where it ran
        if ts2:
            row("  vs TorchSharp held to AVX2", value, num(ts2.get(key)), ratio(value, num(ts2.get(key))))
    row("MLP training, samples/s, vs TorchSharp", mlp, num(ts.get("mlp_train_samples_per_s")), faster(mlp, num(ts.get("mlp_train_samples_per_s"))), ">= 3x")
    held("mlp_train_samples_per_s", mlp)
    row("  vs PyTorch 1.13", mlp, torch_mlp, faster(mlp, torch_mlp))
    row("  vs scikit-learn MLPClassifier", mlp, sk, faster(mlp, sk))
    cnn = num(b.get("cnn_train_samples_per_s"))
    row("reference CNN training, samples/s, vs TorchSharp", cnn, num(ts.get("cnn_train_samples_per_s")), faster(cnn, num(ts.get("cnn_train_samples_per_s"))), ">= 2x")
    held("cnn_train_samples_per_s", cnn)
    row("  vs PyTorch 1.13", cnn, num(torch_cnn), faster(cnn, num(torch_cnn)))
    bn = num(b.get("cnn_bn_train_samples_per_s"))
    row("CNN+BatchNorm2d training, samples/s, vs TorchSharp", bn, num(ts.get("cnn_bn_train_samples_per_s")), faster(bn, num(ts.get("cnn_bn_train_samples_per_s"))), ">= 2x")
    held("cnn_bn_train_samples_per_s", bn)
    us = num(b.get("mlp_infer_batch1_us"))
    row("MLP batch-1 inference, us, vs ONNX Runtime", us, num(ort.get("mlp_infer_batch1_us")), slower(us, num(ort.get("mlp_infer_batch1_us"))), "<= 0.5x theirs")
    row("  vs TorchSharp", us, num(ts.get("mlp_infer_batch1_us")), slower(us, num(ts.get("mlp_infer_batch1_us"))))
    held("mlp_infer_batch1_us", us, slower)
    row("  vs PyTorch 1.13", us, torch_us, slower(us, torch_us))
    rss = num(b.get("peak_rss_mb"))
    row("peak RSS of the whole bench run, MB, vs TorchSharp's", rss, num(ts.get("peak_rss_mb")), slower(rss, num(ts.get("peak_rss_mb"))), "<= 1x theirs")
    for key, name in (("alloc_bytes_per_train_step", "MLP training step"), ("cnn_alloc_bytes_per_train_step", "CNN training step"),
                      ("cnn_bn_alloc_bytes_per_train_step", "CNN+BatchNorm2d training step"), ("mlp_infer_batch1_alloc_bytes", "batch-1 inference call")):
        v = b.get(key)
        row(f"bytes allocated per {name}, all threads", "n/a" if v is None else f"{v:,}", "", "", "0")

table(bp, "Backprop as the runtime finds this CPU")
if train_rss is not None:
    print()
    header()
    row("peak RSS of `backprop train` CNN, 1 epoch, MB, vs TorchSharp", train_rss, num(ts.get("peak_rss_mb")), slower(train_rss, num(ts.get("peak_rss_mb"))), "<= 1x theirs")
if bp_off is not None:
    table(bp_off, "The same with DOTNET_EnableAVX512=0 (the AVX2 paths)", ts_avx2)
elif "avx512f" in hw:
    print("\nAVX-512 machine, rerun without AVX-512 skipped (--skip avx512off)")
else:
    print("\nno AVX-512 on this machine: the figures above are the AVX2 (or narrower) paths, nothing to add")
missing = [n for n, v in (("TorchSharp", ts), ("ONNX Runtime", ort)) if not v]
missing += [n for n, v in (("PyTorch", torch_mlp), ("scikit-learn", sk), ("OpenBLAS", blas1 or None)) if v is None]
if missing:
    print("not run (skipped): " + ", ".join(missing))
PY
