"""Very large grids: what gridflow adds to Snakemake's own cost per job, measured side by side in one run.

    .venv/bin/python benchmarks/bench_scale.py                 # plan 10,000 and 100,000 cells, ~25 minutes
    .venv/bin/python benchmarks/bench_scale.py --cells 10000   # one size, ~2 minutes
    .venv/bin/python benchmarks/bench_scale.py --run 10000     # train 10,000 tiny cells, and the floors' runs
    .venv/bin/python benchmarks/bench_scale.py --profile 10000 # where each dry run's time goes (cProfile)

Three workflows with one job per cell, the same cell ids and the same Snakemake flags as profiles/default
(threads, keep-going, rerun-incomplete, one retry, the rich console, the greedy scheduler choosing among 100
ready jobs, no limit of 100 job starts a second), each in a fresh folder:

- gridflow: the grid of a tiny model (one hidden layer of 4, 1 epoch, 2 folds);
- floor: a trivial one-rule workflow, each job writing its cell's metrics file, and a target gathering them;
- floor, gridflow's files: the same with the files a gridflow cell job declares (the split as input, its
  metrics file and a log) and a gathering rule in place of the target: Snakemake's cost for those files.

Plan: a dry run (`snakemake -n`) in a fresh folder, and then in the same folder a real run stopped when the
first cell job starts (its folder appears):
wall seconds and peak memory (the process's maximum resident set); then both for gridflow's first batch of
the batch recipe (`--batch summarize=1/10`, docs/scale.md). Run: the whole workflow, and the time per
cell outside training: the run's wall time less its cells' training time (each cell's total_seconds in its
record, divided by the cells trained at once), per cell; beside it each floor's wall time per job. Profile:
each workflow's dry run under cProfile, the seconds of Snakemake's stages and of gridflow's own code.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from gridflow.spec.grid import cells_by_id  # noqa: E402

# profiles/default, given to every workflow alike and read by Snakemake itself (--cores is the benchmark's).
FLAGS = ["--workflow-profile", str(ROOT / "profiles/default")]

FLOOR = """
CELLS = {cells!r}

rule all:
    input: expand("results/cells/{{cell}}/metrics.json", cell=CELLS)

rule train_cell:
    output: "results/cells/{{cell}}/metrics.json"
    run:
        open(output[0], "w").write("{{}}")
"""

FLOOR_FILES = """
CELLS = {cells!r}

rule all:
    input: "results/summary.csv"

rule split_data:
    output: "results/data/split.npz"
    run:
        open(output[0], "w").write("")

rule train_cell:
    input: "results/data/split.npz"
    output: "results/cells/{{cell}}/metrics.json"
    log: "results/logs/train_cell/{{cell}}.log"
    run:
        for path in [*output, *log]:
            open(path, "w").write("{{}}")

rule summarize:
    input: expand("results/cells/{{cell}}/metrics.json", cell=CELLS)
    output: "results/summary.csv"
    run:
        open(output[0], "w").write("")
"""


def grid(cells: int) -> dict[str, list]:
    """A grid of ``cells`` cells over axes that share one compiled loop per batch size."""
    rates = [round(0.002 * (i + 1), 3) for i in range(50)]
    dropouts = [round(0.01 * i, 2) for i in range(50)]
    axes = {"learning_rate": rates, "dropout": dropouts, "batch_size": [16, 32, 48, 64], "hidden_units": [4]}
    if cells == 100_000:
        axes["momentum"] = [round(0.09 * i, 2) for i in range(10)]
    elif cells != 10_000:
        raise SystemExit("--cells: 10000 or 100000")
    return axes


def experiment(cells: int) -> dict:
    return {
        "training": {"epochs": 1, "repetitions": 1, "cv_folds": 2, "batch_size": 32},
        "grid": grid(cells),
        "export": {"tensorboard": False},
    }


def folder(root: Path, name: str, cells: int, suffix: str = "") -> tuple[Path, list[str]]:
    """A fresh folder with ``name``'s workflow for ``cells`` cells; the command that runs it."""
    path = root / f"{name}-{cells}{suffix}"
    path.mkdir(parents=True)
    if name == "gridflow":
        (path / "config.yaml").write_text(yaml.safe_dump(experiment(cells), sort_keys=False))
        return path, ["--snakefile", str(ROOT / "Snakefile"), "--configfile", str(path / "config.yaml")]
    ids = list(cells_by_id(grid(cells)))
    (path / "Snakefile").write_text({"floor": FLOOR, "files": FLOOR_FILES}[name].format(cells=ids))
    return path, []


def measure(
    path: Path, args: list[str], *, stop_at_first_cell: bool = False, profile: Path | None = None
) -> tuple[float, float]:
    """Run snakemake in ``path``: wall seconds and peak memory in MB (of the Snakemake process); under cProfile
    writing to ``profile``, if given."""
    profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
    cmd = [sys.executable, *profiler, "-m", "snakemake", "--cores", "2", *FLAGS, *args]
    with open(path / "console.txt", "w") as console:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=path, stdout=console, stderr=subprocess.STDOUT, start_new_session=True)
        if stop_at_first_cell:
            while proc.poll() is None and not (path / "results/cells").exists():
                time.sleep(0.02)
            wall = time.perf_counter() - started
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = wall if stop_at_first_cell else time.perf_counter() - started
    if not stop_at_first_cell and status:
        raise SystemExit(f"{cmd} failed in {path}: see {path / 'console.txt'}")
    return wall, usage.ru_maxrss / 1024


WORKFLOWS = {"gridflow": "gridflow", "floor": "floor", "files": "floor with gridflow's files"}
# The batch recipe's batches: each plans and trains a tenth of the grid.
BATCHES = 10


def plan(sizes: list[int], root: Path) -> None:
    print("| cells | workflow | dry run s | peak MB | to the first cell job s | peak MB |")
    print("|---|---|---|---|---|---|")
    for cells in sizes:
        rows = {}
        for name, title in WORKFLOWS.items():
            path, args = folder(root, name, cells)
            rows[name] = (*measure(path, [*args, "--dry-run"]), *measure(path, args, stop_at_first_cell=True))
            print(f"| {cells:,} | {title} | " + " | ".join(f"{v:.1f}" for v in rows[name]) + " |", flush=True)
        for name in ("floor", "files"):
            ratios = " | ".join(f"{g / f:.2f}×" for g, f in zip(rows["gridflow"], rows[name]))
            print(f"| {cells:,} | gridflow / {WORKFLOWS[name]} | {ratios} |", flush=True)
        # The recipe for huge grids (docs/scale.md): one batch of the summary's inputs at a time.
        path, args = folder(root, "gridflow", cells, suffix="-batch")
        batch = [*args, "--batch", f"summarize=1/{BATCHES}"]
        row = (*measure(path, [*batch, "--dry-run"]), *measure(path, batch, stop_at_first_cell=True))
        print(f"| {cells:,} | gridflow, --batch summarize=1/{BATCHES} | " + " | ".join(f"{v:.1f}" for v in row) + " |")


def run(cells: int, root: Path) -> None:
    gridflow, args = folder(root, "gridflow", cells)
    wall, peak = measure(gridflow, args)
    records = [json.loads(p.read_text()) for p in (gridflow / "results/cells").rglob("metrics.json")]
    training = sum(r["timing"]["total_seconds"] for r in records) / 2  # two cells train at once
    lines = (gridflow / "console.txt").read_text().count("\n")
    outside = (wall - training) / cells * 1000
    print(
        f"| {cells:,} cells | wall s | peak MB of Snakemake | training s (cells' seconds / 2) | "
        "outside training, ms a cell | console lines |"
    )
    print("|---|---|---|---|---|---|")
    print(f"| gridflow | {wall:.0f} | {peak:.0f} | {training:.0f} | {outside:.1f} | {lines} |", flush=True)
    for name in ("floor", "files"):
        floor, floor_args = folder(root, name, cells)
        floor_wall, floor_peak = measure(floor, floor_args)
        print(f"| {WORKFLOWS[name]} | {floor_wall:.0f} | {floor_peak:.0f} | — | {floor_wall / cells * 1000:.1f} | — |")
        print(f"gridflow's excess over the {WORKFLOWS[name]}: {outside - floor_wall / cells * 1000:.1f} ms a cell")


# Stages of a dry run: (module, function) whose cumulative time is the stage's.
STAGES = {
    "finding and creating each file's job": ("snakemake/dag.py", "file2jobs"),
    "of which creating the jobs (their files, params)": ("snakemake/jobs.py", "__init__"),
    "evaluating the jobs' resources": ("snakemake/rules.py", "expand_resources"),
    "logging each job (dry run; the console draws it in a thread of its own)": ("snakemake/jobs.py", "log_info"),
    "checking every job's outputs": ("snakemake/dag.py", "update_needrun"),
    "gridflow's data check, once (fresh folder)": ("gridflow/data/check_cache.py", "cached_check_data"),
}


def profile(cells: int, root: Path) -> None:
    """Each workflow's dry run under cProfile: the seconds (profiled, so slower than unprofiled) of Snakemake's
    stages and of gridflow's own code (its functions' own time, in workflow/ and the Snakefile). cProfile sees
    the main thread only; a coroutine's time (file2jobs, update_needrun) is summed over its resumptions."""
    import pstats

    totals = {}
    for name in WORKFLOWS:
        path, args = folder(root, name, cells)
        measure(path, [*args, "--dry-run"], profile=path / "dry-run.prof")
        # (file, line, function) -> (calls, primitive calls, own seconds, cumulative seconds, callers)
        stats = pstats.Stats(str(path / "dry-run.prof")).stats
        stages = [max((v[3] for (f, _, fn), v in stats.items() if f.endswith(m) and fn == func), default=0.0)
                  for m, func in STAGES.values()]  # fmt: skip
        gridflow = (str(ROOT / "workflow"), str(ROOT / "Snakefile"))
        own = sum(v[2] for (f, _, _), v in stats.items() if f.startswith(gridflow))
        totals[name] = [sum(v[2] for v in stats.values()), *stages, own]
    print(f"| {cells:,} cells, dry run under cProfile, s | " + " | ".join(WORKFLOWS.values()) + " |")
    print("|---|" + "---|" * len(WORKFLOWS))
    for i, stage in enumerate(["all (the main thread)", *STAGES, "gridflow's own code (its functions' own time)"]):
        print(f"| {stage} | " + " | ".join(f"{totals[name][i]:.2f}" for name in WORKFLOWS) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, action="append", help="10000 or 100000 (default: both)")
    parser.add_argument("--run", type=int, metavar="CELLS", help="train a grid of this many cells (10000)")
    parser.add_argument("--profile", type=int, metavar="CELLS", help="profile the dry runs of this many cells")
    args = parser.parse_args()
    import snakemake

    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"Snakemake {snakemake.__version__}, --cores 2")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        if args.run:
            run(args.run, Path(tmp))
        elif args.profile:
            profile(args.profile, Path(tmp))
        else:
            plan(args.cells or [10_000, 100_000], Path(tmp))


if __name__ == "__main__":
    main()
