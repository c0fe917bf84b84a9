"""What a halving round's checkpoint costs Snakemake at 1,000 and 10,000 cells: the DAG update after it.

    .venv/bin/python benchmarks/bench_checkpoint.py     # about 3 minutes on 2 cores

The structure of gridflow's halving search (rules/search.smk, round_cells in
rules/common.smk) with each cell's training replaced by writing a file: a job
per cell of round 0, the checkpoint `select_round` that reads their files and
keeps a third, round 1's jobs following from its file through an input
function, and one job that gathers them. Round 0's files are there before
the run (as after a round of training), so what is measured is Snakemake's
own cost: planning the 10,000 finished cells, running the checkpoint, and
re-evaluating the DAG after it (Snakemake has open reports of that update
slowing down with many jobs). Phases are read from Snakemake's log (whole
seconds) and printed side by side for both sizes.
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

SNAKEFILE = """
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


def run(folder: Path, cells: int, cores: int) -> dict[str, float]:
    """One run with round 0 finished: seconds of each phase."""
    folder.mkdir(parents=True)
    (folder / "Snakefile").write_text(SNAKEFILE.format(cells=cells))
    for i in range(cells):  # round 0, as after its training
        (folder / "cells" / str(i)).mkdir(parents=True)
        (folder / "cells" / str(i) / "round-0.txt").write_text(str(i))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), "--force-use-threads"],
                          cwd=folder, capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    log = sorted((folder / ".snakemake/log").glob("*.log"))[-1].read_text()
    return {"wall": wall, **_phases(log, wall)}


def _phases(log: str, wall: float) -> dict[str, float]:
    stamp, first, finished = None, None, []
    for line in log.splitlines():
        if match := re.match(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$", line):
            stamp = datetime.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")
            first = first or stamp
        elif (match := re.match(r"Finished jobid: \d+ \(Rule: (\w+)\)", line)) and stamp:
            finished.append(((stamp - first).total_seconds(), match.group(1)))
    checkpoint = next(t for t, rule in finished if rule == "select_round")
    round_1 = [t for t, rule in finished if rule == "train_cell"]
    end = finished[-1][0]
    return {
        "start-up and planning (before the first job)": wall - end,
        "DAG update (checkpoint's end to the first round-1 job's end)": min(round_1) - checkpoint,
        "round 1's jobs": max(round_1) - min(round_1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    args = parser.parse_args()
    import snakemake

    print(f"# a halving round's checkpoint: {platform.machine()}, {os.cpu_count()} cores, Snakemake "
          f"{snakemake.__version__}, --cores {args.cores}, round 0 finished, a third of it in round 1")  # fmt: skip
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for cells in (1_000, 10_000):
            results[cells] = run(Path(tmp) / str(cells), cells, args.cores)
    print("| seconds | " + " | ".join(f"{c:,} cells" for c in results) + " |")
    print("|---|" + "---|" * len(results))
    for phase in results[1_000]:
        print(f"| {phase} | " + " | ".join(f"{r[phase]:.0f}" for r in results.values()) + " |")


if __name__ == "__main__":
    main()
