"""The same workflow through a real single-node Slurm cluster (scripts/local-slurm).

Needs root and Debian's slurm-wlm and munge, which .ci/run installs; elsewhere
these tests are skipped with that reason (pytest -ra lists it).
"""

import os
import shutil
import subprocess

import pandas as pd
import pytest
from conftest import ROOT, comparable_summary, snakemake, write_config

from gridflow.results.record import read_record

SCRIPTS = ROOT / "scripts/local-slurm"
# One architecture (so a job's second cell can reuse its first's loop), long
# enough for XLA (so a later job can load the loop from the shared disk cache);
# the builder kills its process the first time it builds units=8, once.
CONFIG = {
    "training": {"epochs": 3, "repetitions": 1, "cv_folds": 2, "batch_size": 4},
    "model": {"builder": "mymodels:flaky"},
    "grid": {"units": [8], "learning_rate": [0.05, 0.1, 0.2, 0.5]},
}
# The profile as a user runs it, plus what a one-node test cluster needs:
# its partition, its 2 CPUs, 2 cells per job, and fast status polling.
SLURM_ARGS = [
    "--workflow-profile", str(ROOT / "profiles/slurm"),
    "--default-resources", "slurm_partition=debug",
    "--cores", "2",
    "--group-components", "cells=2",
    "--slurm-init-seconds-before-status-checks", "1",
    "--seconds-between-status-checks", "1",
]  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0 or not shutil.which("slurmctld") or not shutil.which("munged"):
        pytest.skip("needs root and slurm-wlm + munge (apt-get install slurm-wlm munge; .ci/run does)")
    subprocess.run([SCRIPTS / "start.sh"], check=True, timeout=120)
    yield
    subprocess.run([SCRIPTS / "stop.sh"], check=True, timeout=120)
    # stop.sh removes the config start.sh wrote: a stale one makes every later snakemake start wait ~9 s.
    assert (
        not shutil.which("scontrol") or subprocess.run(["scontrol", "ping"], capture_output=True, timeout=5).returncode
    )


def prepare(workdir):
    write_config(workdir, CONFIG)
    shutil.copy(ROOT / "tests/data/mymodels.py", workdir)


def test_grid_on_slurm_matches_local_run(cluster, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "slurm"
    for workdir in (local, remote):
        workdir.mkdir()
        prepare(workdir)
    (local / "flaky-crashed-once").touch()  # the local reference run does not crash
    snakemake(local, "--cores", "2")
    proc = snakemake(remote, *SLURM_ARGS, timeout=280)

    records = [read_record(p) for p in (remote / "results/cells").rglob("metrics.json")]
    jobs = {}
    for record in records:
        jobs.setdefault(record.execution.slurm_job_id, []).append(record)
    assert None not in jobs  # (a) every cell ran inside a Slurm job
    assert len(records) == 4 and len(jobs) == 2  # (b) grouped cells shared Slurm jobs, 2 cells a job
    for job, cells in jobs.items():
        assert subprocess.run(["squeue", "--states=all", "-h", "-j", job], capture_output=True, text=True).stdout
        assert len({r.execution.pid for r in cells}) == 1  # (c) one process per job
        sources = sorted(r.timing.loop_source for r in cells)
        assert sources[1] == "memory", sources  # (d) its second cell reused the first's loop
    sources = sorted(r.timing.loop_source for r in records)
    assert sources == ["compiled", "disk", "memory", "memory"]  # (e) the later job loaded the loop from disk

    # (f) the job whose process died was reported and retried
    assert "Error in group cells" in proc.stderr or "Error in rule train_cell" in proc.stderr
    assert (remote / "flaky-crashed-once").exists()
    # every cell of a cluster job kept a copy of its files for such a retry; the local run's threads kept none
    assert len(list((remote / ".snakemake/gridflow/kept-cells").rglob("metrics.json"))) == 4
    assert not (local / ".snakemake/gridflow/kept-cells").exists()

    # (g) same results as the local run, timings aside
    pd.testing.assert_frame_equal(comparable_summary(local), comparable_summary(remote))
