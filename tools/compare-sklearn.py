#!/usr/bin/python3
"""Backprop's `train` defaults against scikit-learn's MLP defaults on the same train/test rows.

For wine, breast cancer and digits (classification: test accuracy) and diabetes (regression: test R²), for each seed
the data is split 80/20 (stratified for classes) with sklearn's train_test_split; both halves are written as CSV
files, and

  * Backprop runs `backprop train --data train.csv --test-data test.csv --target y --seed S --json` (nothing else);
  * scikit-learn fits MLPClassifier / MLPRegressor(random_state=S) with its defaults on the raw features, and again
    behind a StandardScaler (its defaults are weak on unscaled data, so both are shown).

It prints a markdown table: mean ± standard deviation over the seeds, and the mean fit time of one run (Backprop's
`train_seconds`, the training loop alone; sklearn's `fit`, which includes the scaler). Needs Debian's python3-sklearn
and a Release build of the CLI (`dotnet build -c Release`).

  /usr/bin/python3 tools/compare-sklearn.py [--seeds 1,2,3,4,5] [--backprop "dotnet path/to/Backprop.Cli.dll"]
"""
import argparse
import csv
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CLI = "dotnet " + os.path.join(ROOT, "src", "Backprop.Cli", "bin", "Release", "net10.0", "Backprop.Cli.dll")

SETS = [
    ("wine", datasets.load_wine, True),
    ("breast cancer", datasets.load_breast_cancer, True),
    ("digits", datasets.load_digits, True),
    ("diabetes", datasets.load_diabetes, False),
]


def write_csv(path, x, y):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([f"f{j}" for j in range(x.shape[1])] + ["y"])
        for row, target in zip(x, y):
            w.writerow([repr(float(v)) for v in row] + [int(target) if isinstance(target, (int,)) or float(target).is_integer() else repr(float(target))])


def run_backprop(cli, folder, seed, classify):
    args = shlex.split(cli) + ["train", "--data", os.path.join(folder, "train.csv"), "--test-data", os.path.join(folder, "test.csv"),
                               "--target", "y", "--task", "classify" if classify else "regress", "--seed", str(seed), "--json",
                               "--save", os.path.join(folder, "model.safetensors")]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"backprop failed (exit {done.returncode}): {' '.join(args)}\n{done.stderr}")
    result = json.loads(done.stdout)
    return result["test_accuracy"] if classify else result["test_r2"], result["train_seconds"], result["epochs"]


def run_sklearn(model, xtr, ytr, xte, yte):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(xtr, ytr)
    seconds = time.perf_counter() - start
    return model.score(xte, yte), seconds   # accuracy for classifiers, R² for regressors


def summary(values):
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.4f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--backprop", default=DEFAULT_CLI, help="command that runs the CLI (default: the Release build)")
    opts = parser.parse_args()
    seeds = [int(s) for s in opts.seeds.split(",")]

    rows = []
    for name, load, classify in SETS:
        x, y = load(return_X_y=True)
        scores = {"backprop": [], "sklearn": [], "scaled": []}
        times = {"backprop": [], "sklearn": [], "scaled": []}
        epochs = []
        for seed in seeds:
            xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y if classify else None)
            with tempfile.TemporaryDirectory(prefix="compare-sklearn-") as folder:
                write_csv(os.path.join(folder, "train.csv"), xtr, ytr)
                write_csv(os.path.join(folder, "test.csv"), xte, yte)
                score, seconds, n = run_backprop(opts.backprop, folder, seed, classify)
            scores["backprop"].append(score)
            times["backprop"].append(seconds)
            epochs.append(n)
            mlp = MLPClassifier if classify else MLPRegressor
            for key, model in (("sklearn", mlp(random_state=seed)), ("scaled", make_pipeline(StandardScaler(), mlp(random_state=seed)))):
                score, seconds = run_sklearn(model, xtr, ytr, xte, yte)
                scores[key].append(score)
                times[key].append(seconds)
            print(f"{name} seed {seed}: backprop {scores['backprop'][-1]:.4f} ({epochs[-1]} epochs), "
                  f"sklearn {scores['sklearn'][-1]:.4f}, scaler+sklearn {scores['scaled'][-1]:.4f}", file=sys.stderr)
        rows.append((name, x.shape, "accuracy" if classify else "R²", scores, times, epochs))

    print(f"| dataset (rows×features) | metric | Backprop defaults | sklearn MLP defaults | sklearn StandardScaler + MLP | "
          f"fit time: Backprop / sklearn / scaled | Backprop epochs |")
    print("|---|---|---|---|---|---|---|")
    for name, shape, metric, scores, times, epochs in rows:
        t = " / ".join(f"{statistics.mean(times[k]):.2f} s" for k in ("backprop", "sklearn", "scaled"))
        print(f"| {name} ({shape[0]}×{shape[1]}) | {metric} | {summary(scores['backprop'])} | {summary(scores['sklearn'])} | "
              f"{summary(scores['scaled'])} | {t} | {min(epochs)}–{max(epochs)} |")
    print(f"\n{len(seeds)} seeds ({opts.seeds}), 80/20 split per seed (stratified for classes), the same rows for every model.")


if __name__ == "__main__":
    main()
