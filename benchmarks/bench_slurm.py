"""Cells grouped into Slurm jobs on the local one-node cluster: seconds per cell inside a job.

    .venv/bin/python benchmarks/bench_slurm.py                      # about 1 minute; root, slurm-wlm and munge
    .venv/bin/python benchmarks/bench_slurm.py --baseline /tmp/before  # also an older checkout, side by side

16 small cells of one architecture (CONFIG: 1 repetition, 2 folds, 3 epochs) in groups of 8
through profiles/slurm on scripts/local-slurm's cluster: per Slurm job, how
many processes trained its cells, where their loops came from, and each
cell's seconds inside the job (metrics.json timing.total_seconds).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from workflow_runs import ROOT, run_workflow

CONFIG = {
    "training": {"epochs": 3, "repetitions": 1, "cv_folds": 2, "batch_size": 4},
    "grid": {
        "hidden_units": [8],
        "learning_rate": [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7],
        "dropout": [0, 0.3],
    },
}
SLURM = ["--default-resources", "slurm_partition=debug", "--group-components", "cells=8",
         "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1"]  # fmt: skip


def report(name: str, checkout: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GRIDFLOW_XLA_CACHE", "TF_XLA_FLAGS")}
    with tempfile.TemporaryDirectory() as tmp:
        profile = ["--workflow-profile", str(checkout / "profiles/slurm"), *SLURM]
        run = run_workflow(Path(tmp), CONFIG, 2, env, checkout / "Snakefile", *profile)
    print(f"\n## {name}: {len(run.records)} cells, whole run {run.wall:.0f} s")
    jobs: dict[str, list[dict]] = {}
    for record in run.records:
        jobs.setdefault(record["execution"]["slurm_job_id"], []).append(record)
    for job, cells in sorted(jobs.items()):
        seconds = sorted((r["timing"]["total_seconds"] for r in cells), reverse=True)
        pids = {r["execution"].get("pid") for r in cells}
        processes = "?" if None in pids else len(pids)  # older gridflow recorded no pid
        sources = sorted(str(r["timing"].get("loop_source")) for r in cells)
        print(f"Slurm job {job}: {len(cells)} cells in {processes} process(es), loops {sources}; "
              f"seconds per cell {', '.join(f'{s:.2f}' for s in seconds)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, help="a checkout of an older gridflow to run too")
    args = parser.parse_args()
    scripts = ROOT / "scripts/local-slurm"
    subprocess.run([scripts / "start.sh"], check=True, capture_output=True)
    try:
        report("gridflow", ROOT)
        if args.baseline:
            report(f"gridflow at {args.baseline}", args.baseline)
    finally:
        subprocess.run([scripts / "stop.sh"], check=True, capture_output=True)


if __name__ == "__main__":
    main()
