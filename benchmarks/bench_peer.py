"""gridflow against its peer, side by side in one run: a small grid, whole runs, wall seconds.

    .venv/bin/pip install --no-deps -r benchmarks/requirements.txt   # scikeras, for the peer
    .venv/bin/python benchmarks/bench_peer.py             # about 3 minutes on 2 cores

The small grid is the one a new user tries first: 32 cells (hidden units,
activation, dropout, batch size, learning rate: 2 values each), 3 folds, 1
repetition, 10 epochs, on the built-in breast-cancer data. gridflow's time is
`snakemake --cores N` from start to the last figure, in a fresh folder with an
empty loop cache; the peer's is scikit-learn's GridSearchCV over a scikeras
KerasClassifier with n_jobs=N, from start to its best score. Both import
TensorFlow in their time. Then gridflow runs the same grid again in another
fresh folder that shares the first run's loop cache (what a second
experiment, or a cluster job, finds on a shared file system).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workflow_runs import ROOT, describe, run_workflow

GRID = {
    "hidden_units": [8, 32],
    "activation": ["relu", "tanh"],
    "dropout": [0.0, 0.3],
    "batch_size": [16, 32],
    "learning_rate": [0.01, 0.1],
}
FOLDS, EPOCHS = 3, 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--baseline", type=Path, help="a checkout of an older gridflow to run too, e.g. a git worktree")
    args = parser.parse_args()
    print(f"# gridflow vs GridSearchCV + scikeras: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; {len_grid()} cells, {FOLDS} folds, 1 repetition, {EPOCHS} epochs, "
          f"--cores / n_jobs {args.cores}")  # fmt: skip
    config = {"training": {"epochs": EPOCHS, "repetitions": 1, "cv_folds": FOLDS}, "grid": GRID}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "xla-cache"
        env = {**os.environ, "GRIDFLOW_XLA_CACHE": str(cache), "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("TF_XLA_FLAGS", None)
        first = run_workflow(Path(tmp) / "first", config, args.cores, env)
        peer = run_peer(args.cores)
        again = run_workflow(Path(tmp) / "again", config, args.cores, env)
        if args.baseline:
            baseline = run_workflow(Path(tmp) / "baseline", config, args.cores, env, args.baseline / "Snakefile")
            print(f"gridflow at {args.baseline}: {describe(baseline)}; {peer / baseline.wall:.1f}x the peer")
    print(f"gridflow, empty loop cache: {describe(first)}")
    print(f"GridSearchCV + scikeras (n_jobs={args.cores}): {peer:.1f} s")
    print(f"gridflow, loop cache of the first run: {describe(again)}")
    print(f"speed-up over the peer: {peer / first.wall:.1f}x (empty cache), {peer / again.wall:.1f}x (warm cache)")


def len_grid() -> int:
    count = 1
    for values in GRID.values():
        count *= len(values)
    return count


def run_peer(cores: int) -> float:
    cmd = [sys.executable, str(ROOT / "benchmarks/peer_gridsearchcv.py"), json.dumps(GRID),
           "--folds", str(FOLDS), "--epochs", str(EPOCHS), "--jobs", str(cores)]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    seconds = time.perf_counter() - started
    if proc.returncode:
        print(proc.stderr[-3000:])
        raise SystemExit("the peer failed (pip install -r benchmarks/requirements.txt?)")
    return seconds


if __name__ == "__main__":
    main()
