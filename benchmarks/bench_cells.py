"""Benchmark the fast cell trainer and the whole default grid; prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_cells.py            # everything (~6 min on 2 cores)
    .venv/bin/python benchmarks/bench_cells.py --only grid  # or cell, compare: one part

Figures are measured side by side in one run, so the ratios hold even on a
noisy machine; absolute seconds depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from gridflow.backend import keras_runtime  # noqa: E402

keras_runtime(1)

from gridflow import fused, model  # noqa: E402
from gridflow.data import load_dataset, make_split  # noqa: E402
from gridflow.train import class_weights, fit_one, plan_models  # noqa: E402

DEFAULT_CELL = {"hidden_units": 32, "activation": "relu", "dropout": 0.3}


def plans_and_states(axes, repetitions=3, folds=5):
    split = make_split(load_dataset("breast_cancer", None), 0.2, folds, 0.2, 42)
    plans = plan_models(split, repetitions, 42, "standard")
    template, states = model.seeded_states("mlp", axes, 30, 2, [p.weight_seed for p in plans])
    return split, plans, template, states


def fresh_caches():
    fused._loops.clear()
    model._states.clear()


def one_cell(batch_size: int, fit_models: int) -> None:
    """The default cell's 18 models: fused (cold and warm) against sequential model.fit."""
    settings = fused.FitSettings(epochs=20, batch_size=batch_size, learning_rate=0.01)
    # Pay TensorFlow's and XLA's one-time start-up on another architecture first:
    # a process pays it once, not per cell (see the whole-grid figures).
    t0 = time.perf_counter()
    _, plans, template, states = plans_and_states({"hidden_units": 2, "activation": "tanh", "dropout": 0.0})
    fused.fused_fit(template, states, [p.task for p in plans], fused.FitSettings(1, 64, 0.01))
    start_up = time.perf_counter() - t0
    fresh_caches()
    t0 = time.perf_counter()
    split, plans, template, states = plans_and_states(DEFAULT_CELL)
    results = fused.fused_fit(template, states, [p.task for p in plans], settings)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    fused.fused_fit(template, states, [p.task for p in plans], settings)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    fitted = []
    for plan in plans[:fit_models]:
        m = model.build_seeded(model.mlp, DEFAULT_CELL, 30, 2, plan.weight_seed)
        fitted.append(fit_one(m, plan.task, settings))
    per_fit = (time.perf_counter() - t0) / fit_models
    sequential = per_fit * len(plans)
    print(f"\n## One default cell: {len(plans)} models, batch size {batch_size}, 20 epochs")
    print(f"sequential model.fit: {per_fit:.2f} s per model -> {sequential:.1f} s for {len(plans)}"
          f" (timed {fit_models}, scaled)")  # fmt: skip
    print(f"first fused call in a process (TensorFlow/XLA start-up, another architecture): {start_up:.2f} s")
    print(f"fused, cold (builds weights, traces and compiles): {cold:.2f} s  -> {sequential / cold:.0f}x faster")
    print(f"fused, warm (compiled loop reused, as for cells differing only in learning rate): {warm:.2f} s"
          f"  -> {sequential / warm:.0f}x faster")  # fmt: skip
    same = [abs(r.history["val_accuracy"][-1] - f.history["val_accuracy"][-1]) for r, f in zip(results, fitted)]
    print(f"validation accuracy, fused vs fit, same models: mean |difference| {np.mean(same):.3f}")


def fused_vs_fit_grid() -> None:
    """CV accuracy per cell, fused against model.fit, on a small grid."""
    diffs = []
    print("\n## CV accuracy, fused vs model.fit (1 repetition x 5 folds, batch 32, 20 epochs)")
    for units in (8, 32):
        for activation in ("linear", "relu"):
            for lr in (0.01, 0.1, 0.5):
                axes = {"hidden_units": units, "activation": activation, "dropout": 0.3}
                split, plans, template, states = plans_and_states(axes, repetitions=1)
                cv = [p for p in plans if p.role == "cv"]
                settings = fused.FitSettings(
                    epochs=20, batch_size=32, learning_rate=lr, class_weight=class_weights(split.y_train, 2, "none")
                )
                ours = fused.fused_fit(template, states[: len(cv)], [p.task for p in cv], settings)
                ref = [fit_one(model.build_seeded(model.mlp, axes, 30, 2, p.weight_seed), p.task, settings) for p in cv]
                a = np.mean([_accuracy(r, p) for r, p in zip(ours, cv)])
                b = np.mean([_accuracy(r, p) for r, p in zip(ref, cv)])
                diffs.append(abs(a - b))
                print(f"units={units:>2} {activation:<6} lr={lr:<4}: fused {a:.3f}  fit {b:.3f}")
    print(f"mean |difference| over {len(diffs)} cells: {100 * np.mean(diffs):.2f} points of accuracy")


def _accuracy(result, plan) -> float:
    return float((result.eval_probabilities.argmax(1) == plan.task.y_eval).mean())


def whole_grid(cores: int) -> None:
    """`snakemake --cores N` on the default 216-cell config, with memory sampled as cells finish."""
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", tmp,
               "--configfile", str(ROOT / "config/config.yaml"), "--cores", str(cores), "--quiet"]  # fmt: skip
        samples: list[tuple[int, float, float]] = []  # (cells done, tree RSS, largest process RSS)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        done = threading.Event()

        def sample():
            parent = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    rss = [p.memory_info().rss / 2**20 for p in [parent, *parent.children(recursive=True)]]
                except psutil.Error:
                    break
                cells = sum(1 for _ in (workdir / "results/cells").rglob("metrics.json"))
                samples.append((cells, sum(rss), max(rss)))
                time.sleep(0.5)

        sampler = threading.Thread(target=sample)
        sampler.start()
        _, err = proc.communicate()
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
        if proc.returncode:
            print(err[-3000:])
            raise SystemExit("the workflow failed")
        records = [json.loads(p.read_text()) for p in (workdir / "results/cells").rglob("metrics.json")]
    n = len(records)
    train = [r["timing"]["build_seconds"] + r["timing"]["fit_seconds"] for r in records]
    in_job = [r["timing"]["total_seconds"] - t for r, t in zip(records, train)]
    outside = (wall * cores - sum(r["timing"]["total_seconds"] for r in records)) / n
    at = {k: max((big for c, _, big in samples if c <= k), default=float("nan")) for k in (20, n)}
    print(f"\n## Whole default grid: {n} cells, snakemake --cores {cores}")
    print(f"wall time: {wall:.0f} s ({wall / 60:.1f} min)")
    print(f"peak memory, all processes together (Snakemake + workers): {max(t for _, t, _ in samples):.0f} MiB")
    print(f"largest process after 20 cells: {at[20]:.0f} MiB, after {n}: {at[n]:.0f} MiB (ratio {at[n] / at[20]:.2f})")
    print(f"training per cell (weights + compiled loop): median {statistics.median(train):.2f} s")
    print(f"overhead per cell inside its job (load, plan, score, write): median {statistics.median(in_job):.3f} s")
    print(f"overhead per cell outside its job (scheduling, start-up, summary, figures; core-seconds): {outside:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["cell", "compare", "grid"], help="run one part only")
    parser.add_argument("--fit-models", type=int, default=6, help="model.fit runs to time (scaled to 18)")
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    args = parser.parse_args()
    import tensorflow as tf

    print(f"# gridflow benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, TensorFlow {tf.__version__}")  # fmt: skip
    if args.only in (None, "cell"):
        one_cell(batch_size=4, fit_models=args.fit_models)
    if args.only in (None, "compare"):
        fused_vs_fit_grid()
    if args.only in (None, "grid"):
        whole_grid(args.cores)


if __name__ == "__main__":
    main()
