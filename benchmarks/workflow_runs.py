"""Run the workflow as a user would and read where its time went: shared by the benchmark scripts."""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    """One `snakemake` run: wall seconds, its console, and the cells it trained."""

    wall: float
    stderr: str
    records: list[dict]

    def sources(self) -> dict[str, int]:
        """How many of the run's cells got their loop from where (compiled, disk, memory)."""
        return dict(collections.Counter(str(r["timing"].get("loop_source")) for r in self.records))

    def phases(self) -> dict[str, float]:
        """Seconds from the run's start to the end of each stage, read from Snakemake's job timestamps."""
        return phases(self.stderr, self.wall)


def run_workflow(
    workdir: Path, config: dict, cores: int, env: dict | None = None, snakefile: Path | None = None, *extra: str
) -> Run:
    """`python -m snakemake --cores N` on ``config`` in ``workdir``; the cells it trained (new metrics files).

    ``snakefile``: another checkout's Snakefile (an older gridflow, to compare with); this one's by default.
    ``extra``: more Snakemake arguments (a profile, say).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    before = {p: p.stat().st_mtime_ns for p in (workdir / "results/cells").rglob("metrics.json")}
    snakefile = snakefile or ROOT / "Snakefile"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(workdir),
           "--configfile", str(workdir / "config.yaml"), "--cores", str(cores), *extra]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode:
        print(proc.stderr[-3000:])
        raise SystemExit("the workflow failed")
    new = [p for p in (workdir / "results/cells").rglob("metrics.json") if before.get(p) != p.stat().st_mtime_ns]
    return Run(wall, proc.stderr, [json.loads(p.read_text()) for p in new])


def phases(stderr: str, wall: float) -> dict[str, float]:
    """Seconds of each stage: start-up, split and training, summary, figures and tables.

    Read from Snakemake's timestamps (whole seconds): start-up is the wall time
    before the first job started.
    """
    stamp, stamps, finished = None, [], []
    for line in stderr.splitlines():
        if match := re.match(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$", line):
            stamp = datetime.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")
            stamps.append(stamp)
        elif (match := re.match(r"Finished jobid: \d+ \(Rule: (\w+)\)", line)) and stamp:
            finished.append((stamp, match.group(1)))
    if not finished:
        return {}
    first = min(stamps)
    ends = {rule: (s - first).total_seconds() for s, rule in finished}
    end = max(ends.values())
    trained = ends.get("train_cell", ends.get("split_data", 0.0))
    summarized = ends.get("summarize", trained)
    return {
        "start-up": wall - end,
        "split and training": trained,
        "summary": summarized - trained,
        "figures and tables": end - summarized,
    }


def describe(run: Run) -> str:
    """One line: wall time, stages and loop sources."""
    stages = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in run.phases().items())
    stages = f" ({stages})" if stages else ""  # no stages when the console shows no job timestamps
    return f"{run.wall:.1f} s{stages}; {len(run.records)} cells trained, loops: {run.sources()}"
