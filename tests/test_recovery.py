"""Nothing lost, nothing stale: kills, failing and diverging cells, concurrent runs."""

import contextlib
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, TINY_CONFIG, comparable_summary, jobs_run, snakemake, workflow_env, write_config

from gridflow.io import atomic_path, write_json

# More cells than the tiny grid, each long enough (a second or so) that a run can be interrupted half-way.
EIGHT_CELLS = {**TINY_CONFIG, "grid": {**TINY_CONFIG["grid"], "dropout": [0, 0.3]}}
EIGHT_CELLS["grid"]["hidden_units"] = [4, 8]
EIGHT_CELLS["training"] = {**TINY_CONFIG["training"], "epochs": 40}


def start(workdir: Path, *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args]  # fmt: skip
    env = workflow_env()
    return subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def cells_done(workdir: Path) -> int:
    return sum(1 for _ in (workdir / "results/cells").rglob("metrics.json")) if (workdir / "results").exists() else 0


def wait_for(condition, timeout=300.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run of the eight-cell grid."""
    workdir = tmp_path_factory.mktemp("reference")
    write_config(workdir, EIGHT_CELLS)
    snakemake(workdir, "--cores", "2")
    return comparable_summary(workdir)


def test_kill_9_of_snakemake_then_resume(tmp_path, reference):
    write_config(tmp_path, EIGHT_CELLS)
    proc = start(tmp_path)
    wait_for(lambda: cells_done(tmp_path) >= 2)
    proc.kill()
    proc.communicate()
    done = cells_done(tmp_path)
    assert done < 8
    time.sleep(1)  # the kernel ends the workers with their parent
    assert not list((tmp_path / "results/cells").rglob(".*.tmp"))  # no half-written file
    locked = snakemake(tmp_path, "--cores", "2", check=False)  # a hard kill leaves Snakemake's lock behind
    assert locked.returncode != 0 and "--unlock" in locked.stderr
    snakemake(tmp_path, "--unlock")
    resumed = snakemake(tmp_path, "--cores", "2")
    trained = jobs_run(resumed)["train_cell"]
    assert trained <= 8 - done + 2  # only unfinished cells (at most the 2 in flight redone)
    pd.testing.assert_frame_equal(comparable_summary(tmp_path), reference)


def test_kill_9_of_the_training_process_is_retried_in_the_same_run(tmp_path, reference):
    import psutil

    write_config(tmp_path, EIGHT_CELLS)
    proc = start(tmp_path)
    parent = psutil.Process(proc.pid)

    def training_processes():
        found = []
        for child in parent.children():
            with contextlib.suppress(psutil.Error):  # a child that just ended
                if "spawn_main" in " ".join(child.cmdline()):
                    found.append(child)
        return found

    wait_for(lambda: cells_done(tmp_path) >= 1 and len(training_processes()) == 1)
    training_processes()[0].send_signal(signal.SIGKILL)  # both slots are training: cells keep it busy
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert "WorkerDied" in err  # the lost cells were reported, then retried
    # The console shows the failed job with the full path of its cell's log (cleared if its retry already began).
    full_path = r"^log of job \d+: results/logs/train_cell/\S+/learning_rate~[\d.]+\.log"
    assert re.search(full_path, err, flags=re.M), err[-3000:]
    assert "Logging error" not in err and "Traceback" not in err.split("WorkerDied", 1)[1], err[-3000:]
    pd.testing.assert_frame_equal(comparable_summary(tmp_path), reference)


def test_failed_and_diverged_cells_are_listed_and_the_run_completes(tmp_path):
    config = {
        "training": {"epochs": 2, "repetitions": 1, "cv_folds": 2},
        "model": {"builder": "mymodels:picky"},
        "grid": {"units": [4, 500], "learning_rate": [0.1, 1e30]},
    }
    write_config(tmp_path, config)
    (tmp_path / "mymodels.py").write_text((ROOT / "tests/data/mymodels.py").read_text())
    snakemake(tmp_path, "--cores", "2")
    table = pd.read_csv(tmp_path / "results/summary.csv").set_index("cell")
    assert table.loc["learning_rate~0.1/units~4", "status"] == "ok"
    assert table.loc["learning_rate~0.1/units~4", "rank_test_accuracy"] == 1
    assert table.loc["learning_rate~1e+30/units~4", "status"] == "diverged"
    for cell in ["learning_rate~0.1/units~500", "learning_rate~1e+30/units~500"]:
        assert table.loc[cell, "status"] == "failed"
        assert table.loc[cell, "error"] == "ValueError: units=500 is more than this model supports"
    assert (table.drop(index="learning_rate~0.1/units~4")["rank_test_accuracy"] == 2).all()
    best = json.loads((tmp_path / "results/best.json").read_text())
    assert best["cell"] == "learning_rate~0.1/units~4"
    assert (tmp_path / "results/figures/heatmaps/slice/learning_rate__units.png").stat().st_size > 10_000


def test_second_run_on_the_same_folder_is_refused_and_the_first_finishes(tmp_path):
    slow = {**EIGHT_CELLS, "training": {**EIGHT_CELLS["training"], "epochs": 40}}  # outlasts the second's start-up
    write_config(tmp_path, slow)
    first = start(tmp_path)
    locks = tmp_path / ".snakemake/locks"
    wait_for(lambda: locks.exists() and any(locks.iterdir()))
    second = snakemake(tmp_path, "--cores", "2", check=False)
    assert second.returncode != 0
    assert "cannot be locked" in second.stderr
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-3000:]
    table = pd.read_csv(tmp_path / "results/summary.csv")
    assert len(table) == 8 and (table["status"] == "ok").all()


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "summary.json"
    write_json({"version": 1}, target)
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        Path(tmp).write_text('{"version": 2, "half')
        raise RuntimeError("killed mid-write")
    assert json.loads(target.read_text()) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_non_finite_numbers_are_written_as_null(tmp_path):
    write_json({"a": float("nan"), "b": [float("inf"), 1.0]}, tmp_path / "x.json")
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": None, "b": [None, 1.0]}
