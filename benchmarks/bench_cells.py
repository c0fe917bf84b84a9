"""Benchmark the fast cell trainer and the whole default grid; prints figures, asserts nothing.

    .venv/bin/python benchmarks/bench_cells.py            # everything (~6 min on 2 cores)
    .venv/bin/python benchmarks/bench_cells.py --only grid  # or cell, compare: one part

Figures are measured side by side in one run, so the ratios hold even on a
noisy machine; absolute seconds depend on it.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from gridflow.train.backend import keras_runtime  # noqa: E402

keras_runtime(1)

from workflow_runs import describe, run_workflow  # noqa: E402

from gridflow.data.load import load_dataset  # noqa: E402
from gridflow.data.prepare import Preparation  # noqa: E402
from gridflow.data.split import make_split  # noqa: E402
from gridflow.train import fused, seeding  # noqa: E402
from gridflow.train.builders import mlp  # noqa: E402
from gridflow.train.caches import clear_all as clear_process_caches  # noqa: E402
from gridflow.train.fitting import FitSettings  # noqa: E402
from gridflow.train.keras_fit import fit_one  # noqa: E402
from gridflow.train.plan import class_weights, plan_models  # noqa: E402

DEFAULT_CELL = {"hidden_units": 32, "activation": "relu", "dropout": 0.3}


def plans_and_models(axes, repetitions=3, folds=5):
    split = make_split(load_dataset("breast_cancer", None), test_size=0.2, cv_folds=folds, validation_size=0.2, seed=42)
    plans, _ = plan_models(split, repetitions, 42, Preparation())
    built = seeding.seeded_models("mlp", axes, n_features=30, n_classes=2, seeds=[p.weight_seed for p in plans])
    return split, plans, built


def fused_fit(built, plans, settings):
    tasks = [p.task for p in plans]
    return fused.fused_fit(built.template, built.states[: len(tasks)], tasks, settings, architecture=built.fingerprint)


def one_cell(batch_size: int, fit_models: int) -> None:
    """The default cell's 18 models: fused (cold and warm) against sequential model.fit."""
    settings = FitSettings(epochs=20, batch_size=batch_size, learning_rate=0.01)
    # Pay TensorFlow's and XLA's one-time start-up on another architecture first:
    # a process pays it once, not per cell (see the whole-grid figures).
    t0 = time.perf_counter()
    _, plans, built = plans_and_models({"hidden_units": 2, "activation": "tanh", "dropout": 0.0})
    fused_fit(built, plans, FitSettings(1, 64, 0.01))
    start_up = time.perf_counter() - t0
    clear_process_caches()
    t0 = time.perf_counter()
    split, plans, built = plans_and_models(DEFAULT_CELL)
    results = fused_fit(built, plans, settings).models
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    fused_fit(built, plans, settings)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    fitted = []
    for plan in plans[:fit_models]:
        m = seeding.build_seeded(mlp, DEFAULT_CELL, n_features=30, n_classes=2, seed=plan.weight_seed)
        fitted.append(fit_one(m, plan.task, settings)[0])
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
                split, plans, built = plans_and_models(axes, repetitions=1)
                cv = [p for p in plans if p.role == "cv"]
                settings = FitSettings(
                    epochs=20, batch_size=32, learning_rate=lr, class_weight=class_weights(split.y_train, 2, "none")
                )
                ours = fused_fit(built, cv, settings).models
                ref = [
                    fit_one(
                        seeding.build_seeded(mlp, axes, n_features=30, n_classes=2, seed=p.weight_seed),
                        p.task,
                        settings,
                    )[0]
                    for p in cv
                ]
                a = np.mean([_accuracy(r, p) for r, p in zip(ours, cv)])
                b = np.mean([_accuracy(r, p) for r, p in zip(ref, cv)])
                diffs.append(abs(a - b))
                print(f"units={units:>2} {activation:<6} lr={lr:<4}: fused {a:.3f}  fit {b:.3f}")
    print(f"mean |difference| over {len(diffs)} cells: {100 * np.mean(diffs):.2f} points of accuracy")


def _accuracy(result, plan) -> float:
    return float((result.eval_outputs.argmax(1) == plan.task.y_eval).mean())


def whole_grid(cores: int) -> None:
    """The default 216-cell config in a fresh folder (memory sampled as cells finish), then grown by a learning rate."""
    import psutil

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        samples: list[tuple[int, float, float]] = []  # (cells done, all processes' RSS, largest process RSS)
        done = threading.Event()

        def sample():
            me = psutil.Process()
            while not done.is_set():
                try:
                    tree = [p for p in me.children(recursive=True) if "snakemake" in " ".join(p.cmdline()[:3])]
                    processes = [q for p in tree for q in [p, *p.children(recursive=True)]]
                    rss = [q.memory_info().rss / 2**20 for q in processes]
                except psutil.Error:
                    continue
                if rss:
                    cells = sum(1 for _ in (workdir / "results/cells").rglob("metrics.json"))
                    samples.append((cells, sum(rss), max(rss)))
                time.sleep(0.5)

        sampler = threading.Thread(target=sample)
        sampler.start()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        for name in ("GRIDFLOW_XLA_CACHE", "TF_XLA_FLAGS"):  # the folder's own cache, empty at first
            env.pop(name, None)
        first = run_workflow(workdir, config, cores, env)
        done.set()
        sampler.join()
        grown = copy.deepcopy(config)
        grown["grid"]["learning_rate"] = sorted([*config["grid"]["learning_rate"], 0.05])
        again = run_workflow(workdir, grown, cores, env)
    records = first.records
    n = len(records)
    at = {k: max((big for c, _, big in samples if c <= k), default=float("nan")) for k in (20, n)}
    print(f"\n## Whole default grid: {n} cells, snakemake --cores {cores}")
    print(f"fresh folder: {describe(first)}")
    print(f"peak memory, all processes together (Snakemake + training process): "
          f"{max(t for _, t, _ in samples):.0f} MiB")  # fmt: skip
    print(f"largest process after 20 cells: {at[20]:.0f} MiB, after {n}: {at[n]:.0f} MiB (ratio {at[n] / at[20]:.2f})")
    for source in ("compiled", "disk", "memory"):
        fits = [r["timing"]["fit_seconds"] for r in records if r["timing"]["loop_source"] == source]
        if fits:
            print(f"fit seconds per cell, loop {source}: median {statistics.median(fits):.2f} ({len(fits)} cells)")
    in_job = [r["timing"]["total_seconds"] - r["timing"]["build_seconds"] - r["timing"]["fit_seconds"] for r in records]
    print(f"overhead per cell inside its job (plan, score, write): median {statistics.median(in_job):.3f} s")
    print(f"grown by learning rate 0.05 ({len(again.records)} new cells): {describe(again)}")


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
