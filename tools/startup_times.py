#!/usr/bin/env python3
"""Start-up times of the backprop command, native AOT against JIT: the median wall time of N runs each of
`backprop --help` and of a batch-1 `backprop predict` (one Iris row, a model trained here first), for every build
given, interleaved so that load on the machine falls on all of them alike.

usage: /usr/bin/python3 tools/startup_times.py [-n RUNS] NAME=COMMAND ...
  e.g. aot=/tmp/aot/Backprop.Cli "jit=dotnet src/Backprop.Cli/bin/Release/net10.0/Backprop.Cli.dll"
"""
import os, shlex, statistics, subprocess, sys, tempfile, time

def main(argv):
    runs = 11
    if len(argv) >= 2 and argv[0] == "-n":
        runs, argv = int(argv[1]), argv[2:]
    builds = [(a.split("=", 1)[0], shlex.split(a.split("=", 1)[1])) for a in argv]
    if not builds:
        sys.exit(__doc__)
    work = tempfile.mkdtemp(prefix="backprop-startup-")
    model, row = os.path.join(work, "iris.safetensors"), os.path.join(work, "one.csv")
    subprocess.run(builds[0][1] + ["train", "--epochs", "5", "--save", model], check=True, stdout=subprocess.DEVNULL)
    with open(row, "w") as f:
        f.write("sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n")
    cases = {"--help": ["--help"], "predict (batch 1)": ["predict", "--model", model, "--data", row]}
    times = {(b, c): [] for b, _ in builds for c in cases}
    for _ in range(runs):
        for b, cmd in builds:
            for c, args in cases.items():
                start = time.perf_counter()
                subprocess.run(cmd + args, check=True, stdout=subprocess.DEVNULL)
                times[(b, c)].append((time.perf_counter() - start) * 1000)
    for (b, c), ms in times.items():
        print(f"{b:>12}  {c:<18}  median {statistics.median(ms):7.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f}, {runs} runs)")

if __name__ == "__main__":
    main(sys.argv[1:])
