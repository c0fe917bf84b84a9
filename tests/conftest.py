"""Shared helpers: run the real workflow as a subprocess in a temporary folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
# Compiled loops of the tests' own process go to a folder of this session, not the repository's .snakemake.
os.environ["GRIDFLOW_XLA_CACHE"] = tempfile.mkdtemp(prefix="gridflow-test-xla-")

# Small enough for seconds per run, big enough to exercise folds, repetitions and heatmaps.
TINY_CONFIG = {
    "training": {"epochs": 3, "repetitions": 2, "cv_folds": 3},
    "grid": {"hidden_units": [4, 8], "learning_rate": [0.05, 0.5], "batch_size": [32]},
}


# Summary columns that measure how a run went (time, compile cache), not what it computed.
MEASURED_COLUMNS = ["mean_fit_time", "fit_seconds", "loop_source"]


def comparable_summary(workdir: Path):
    """The summary of a run without its measured columns: equal across runs that computed the same."""
    import pandas as pd

    return pd.read_csv(workdir / "results/summary.csv").drop(columns=MEASURED_COLUMNS)


def write_config(workdir: Path, config: dict) -> Path:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(
    workdir: Path, *args: str, check: bool = True, timeout: float = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m snakemake`` on this project's Snakefile inside ``workdir``.

    Each run keeps compiled loops in its own folder's cache unless ``env`` names another.
    """
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--configfile", str(workdir / "config.yaml"), *args]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=workflow_env(env))
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def workflow_env(extra: dict | None = None) -> dict:
    """The environment of a workflow run: this one's, but its own folder's loop cache (not this process's,
    whose TensorFlow set TF_XLA_FLAGS to it), quiet TensorFlow, and ``extra``."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("GRIDFLOW_XLA_CACHE", "TF_XLA_FLAGS")}
    return {**inherited, "TF_CPP_MIN_LOG_LEVEL": "2", **(extra or {})}


def run_log(proc: subprocess.CompletedProcess) -> str:
    """The complete log of a run, as Snakemake wrote it to .snakemake/log/ ("" if it wrote none)."""
    found = re.search(r"^Complete [Ll]og(?:\(s\))?: (\S+)$", proc.stderr, flags=re.M)
    return Path(found.group(1)).read_text() if found else ""


def jobs_run(proc: subprocess.CompletedProcess) -> Counter:
    """How many jobs of each rule finished in that run, read from its complete log (the console shows cells)."""
    return Counter(re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", run_log(proc)))


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> jobs from the job stats table of a (dry) run's console ("train cell    4" or "train_cell  4")."""
    rows = re.findall(r"^\s*([a-z][a-z_ ]*?)\s+(\d+)\s*$", proc.stdout + proc.stderr, flags=re.M)
    return {rule.replace(" ", "_"): int(count) for rule, count in rows if rule != "total"}


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    """One complete run of the tiny grid, shared read-only by the tests: (folder, the run's process)."""
    workdir = tmp_path_factory.mktemp("finished")
    write_config(workdir, TINY_CONFIG)
    proc = snakemake(workdir, "--cores", "2")
    return workdir, proc


@pytest.fixture
def copy_of_finished(finished, tmp_path):
    """A private copy of the finished run (outputs, logs and Snakemake's records)."""
    import shutil

    workdir = tmp_path / "run"
    shutil.copytree(finished[0], workdir, symlinks=True)
    return workdir


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A temporary work folder holding the tiny config."""
    write_config(tmp_path, TINY_CONFIG)
    return tmp_path


# What runs the real workflow: fixtures and helpers. Their tests are marked slow (make test-quick leaves them out).
WORKFLOW_FIXTURES = {"finished", "copy_of_finished", "compiled_run", "linear_run", "halved"}
WORKFLOW_CALLS = ("snakemake(", "planned_cells(", "run_readme_experiment(", "run_check(")


def pytest_collection_modifyitems(items):
    import inspect

    for item in items:
        source = inspect.getsource(item.function)
        if WORKFLOW_FIXTURES & set(item.fixturenames) or any(call in source for call in WORKFLOW_CALLS):
            item.add_marker(pytest.mark.slow)
