"""What a halving round's checkpoint costs Snakemake at 10,000 cells: the DAG update after it.

    .venv/bin/python benchmarks/bench_checkpoint.py                # 10,000 cells, about 10 minutes on 2 cores
    .venv/bin/python benchmarks/bench_checkpoint.py --cells 1000   # a smaller stand-in

The structure of gridflow's halving search (rules/search.smk, round_cells in
rules/common.smk), with each cell's training replaced by writing a file: round
0 has a job per cell, the checkpoint `select_round` reads their files and
keeps a third, round 1's jobs follow from its file through an input function,
and one job gathers round 1. Snakemake's own cost is what remains: it plans
the jobs, runs them, and after the checkpoint re-evaluates the DAG. Prints
the wall time of each phase read from Snakemake's log (whole seconds), and,
for scale, the time a run of the same jobs without the checkpoint takes.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HALVING = """
import json
N = {cells}

rule all:
    input: "round-1.done"

rule train_cell:
    output: "cells/{{i}}/round-{{r}}.txt"
    run:
        with open(output[0], "w") as f: f.write(wildcards.i)

checkpoint select_round:
    input: expand("cells/{{i}}/round-0.txt", i=range(N))
    output: "round-0.json"
    run:
        with open(output[0], "w") as f: json.dump(list(range(0, N, 3)), f)

def round_1(wildcards):
    kept = json.load(open(checkpoints.select_round.get().output[0]))
    return [f"cells/{{i}}/round-1.txt" for i in kept]

rule gather:
    input: round_1
    output: "round-1.done"
    run:
        open(output[0], "w").close()
"""

PLAIN = """
N = {cells}

rule all:
    input:
        expand("cells/{{i}}/round-0.txt", i=range(N)),
        expand("cells/{{i}}/round-1.txt", i=range(0, N, 3)),

rule train_cell:
    output: "cells/{{i}}/round-{{r}}.txt"
    run:
        with open(output[0], "w") as f: f.write(wildcards.i)
"""


def run(folder: Path, snakefile: str, cores: int) -> tuple[float, str]:
    folder.mkdir(parents=True)
    (folder / "Snakefile").write_text(snakefile)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), "--quiet", "rules"],
                          cwd=folder, capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    log = sorted((folder / ".snakemake/log").glob("*.log"))[-1].read_text()
    return wall, log


def phases(log: str, wall: float) -> dict[str, float]:
    """Seconds from the run's first stamp to each phase's end, from Snakemake's log."""
    stamp, first, finished = None, None, []
    for line in log.splitlines():
        if match := re.match(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$", line):
            stamp = datetime.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")
            first = first or stamp
        elif (match := re.match(r"Finished jobid: \d+ \(Rule: (\w+)\)", line)) and stamp:
            finished.append(((stamp - first).total_seconds(), match.group(1)))
    select = next((t for t, rule in finished if rule == "select_round"), None)
    after = [t for t, rule in finished if rule == "train_cell" and select is not None and t >= select]
    return {
        "to the first job": wall - (finished[-1][0] if finished else 0),
        "round 0 ends": max(
            (t for t, rule in finished if rule == "train_cell" and (select is None or t <= select)), default=0
        ),  # fmt: skip
        "checkpoint ends": select or 0,
        "first round-1 job ends": min(after, default=0),
        "last job ends": finished[-1][0] if finished else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    args = parser.parse_args()
    import snakemake

    print(f"# a halving round's checkpoint, {args.cells} cells: {platform.machine()}, {os.cpu_count()} cores, "
          f"Snakemake {snakemake.__version__}, --cores {args.cores}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        halving_wall, log = run(Path(tmp) / "halving", HALVING.format(cells=args.cells), args.cores)
        plain_wall, _ = run(Path(tmp) / "plain", PLAIN.format(cells=args.cells), args.cores)
    times = phases(log, halving_wall)
    update = times["first round-1 job ends"] - times["checkpoint ends"]
    print(
        f"with the checkpoint: {halving_wall:.1f} s; phases (s from the first job): "
        + ", ".join(f"{name} {t:.0f}" for name, t in times.items() if name != "to the first job")
    )
    print(f"from the checkpoint's end to the first round-1 job's end (the DAG update, and one job): {update:.0f} s")
    print(
        f"the same {args.cells + len(range(0, args.cells, 3))} jobs without a checkpoint: {plain_wall:.1f} s; "
        f"the checkpoint adds {halving_wall - plain_wall:.1f} s ({halving_wall / plain_wall:.2f}x)"
    )


if __name__ == "__main__":
    main()
