"""Large grids on stand-ins: cells per cluster job, their layout, and what a parse of the workflow costs."""

import re
from collections import Counter

import pytest
from conftest import ROOT, snakemake, write_config

from gridflow.spec.resources import MAX_CELL_JOBS, cell_mem_mb, cells_per_cluster_job


def test_a_cluster_job_takes_the_cells_asked_for_or_enough_to_stay_within_a_few_hundred_jobs():
    assert MAX_CELL_JOBS == 200
    assert cells_per_cluster_job(8, 216) == 8  # the default grid: 27 jobs of 8
    assert cells_per_cluster_job(8, 10_000) == 50  # 200 jobs
    assert cells_per_cluster_job(1, 100_000) == 500
    assert cells_per_cluster_job(64, 10_000) == 64


def test_slurm_profile_puts_a_2000_cell_grid_into_200_jobs_of_10_cells(tmp_path):
    """The group grows past the profile's 8 cells a job once the grid would take more than 200 jobs."""
    grid = {
        "learning_rate": [round(0.001 * (i + 1), 3) for i in range(20)],
        "dropout": [round(0.01 * i, 2) for i in range(20)],
        "batch_size": [8, 16, 24, 32, 40],
    }
    write_config(tmp_path, {"training": {"repetitions": 1, "cv_folds": 2}, "grid": grid})
    proc = snakemake(tmp_path, "--dry-run", "--workflow-profile", str(ROOT / "profiles/slurm"))
    console = proc.stdout + proc.stderr
    # Each group job is listed with its cells, up to the next job.
    jobs = [block.split("\n\n[", 1)[0] for block in console.split("Group job cells (jobs in lexicogr. order):")[1:]]
    assert Counter(block.count("rule train_cell:") for block in jobs) == {10: 200}
    assert console.count("rule train_cell:") == 2000
    # Each cell's share: a process spread over the 8 that train at once (the profile's cores), and its own.
    shares = set(re.findall(r"rule train_cell:(?:.|\n)*?resources: .*?mem_mb=(\d+)", console))
    assert shares == {str(cell_mem_mb(8))}


def test_a_local_run_asks_no_runtime_or_memory_of_a_cell_unless_something_reads_them(tmp_path):
    """Nothing else reads them in a local run, and Snakemake evaluates every resource of every job; a cluster's
    dry run keeps them (above, and with --executor here), as do default resources or --resources given. The
    attempt goes too where cells train as threads of the run (profiles/default): they keep no copy to restore."""
    grid = {"dropout": [0.0, 0.1]}
    halving = {"strategy": "halving", "factor": 2, "min_epochs": 1, "max_epochs": 2}

    def cell_requests(*args, search=None):
        """The names of each cell job's resources in a dry run."""
        config = {"training": {"repetitions": 1, "cv_folds": 2}, "grid": grid, **({"search": search} if search else {})}
        write_config(tmp_path, config)
        console = snakemake(tmp_path, "--dry-run", "--workflow-profile", "none", *args).stdout
        requests = re.findall(r"rule train_cell:(?:.|\n)*?resources: (.*)", console)
        return [re.findall(r"(\w+)=", line) for line in requests]

    assert cell_requests("--cores", "2") == [["tmpdir", "attempt"]] * 2
    assert cell_requests("--cores", "2", "--force-use-threads") == [["tmpdir"]] * 2
    assert cell_requests("--cores", "2", "--force-use-threads", search=halving) == [["tmpdir"]] * 2  # round 0's
    read = [["--cores", "2", "--resources", "mem_mb=8000"], ["--cores", "2", "--default-resources", "mem_mb=500"]]
    for args in [*read, ["--executor", "slurm", "--jobs", "2"]]:
        requests = cell_requests(*args)
        assert len(requests) == 2 and all({"runtime", "mem_mb", "attempt"} <= set(names) for names in requests)


def test_the_data_check_is_remembered_per_file_and_settings_and_a_failure_never_is(tmp_path, monkeypatch):
    """Every Snakemake process parses the workflow; only the first for a data file and its settings loads it."""
    from gridflow.data import check_cache
    from gridflow.data.feasible import DataSize
    from gridflow.errors import ConfigError

    data = tmp_path / "data.csv"
    data.write_text("x,y\n1,a\n2,b\n")
    config = {"dataset": {"source": str(data), "target": "y", "task": "classification"},
              "preprocessing": {"transformer": None}, "split": {"test_size": 0.2, "validation_size": 0.2},
              "training": {"cv_folds": 2}}  # fmt: skip
    checked = []

    def check(config):
        checked.append(config["split"]["test_size"])
        if config["split"]["test_size"] > 0.5:
            raise ConfigError("config key 'split.test_size' has value 0.9; ...")
        return DataSize(rows=2, features=1)

    monkeypatch.setattr(check_cache, "check_data", check)
    cache = tmp_path / "cache.json"
    assert check_cache.cached_check_data(config, cache) == DataSize(rows=2, features=1)
    assert check_cache.cached_check_data(config, cache) == DataSize(rows=2, features=1)
    assert checked == [0.2]  # the second parse read the answer
    data.write_text("x,y\n1,a\n2,b\n3,a\n")  # an edited file is checked again
    check_cache.cached_check_data(config, cache)
    assert checked == [0.2, 0.2]
    bad = {**config, "split": {"test_size": 0.9, "validation_size": 0.2}}
    for _ in range(2):
        with pytest.raises(ConfigError):
            check_cache.cached_check_data(bad, cache)
    assert checked == [0.2, 0.2, 0.9, 0.9]
    cache.write_text("{not json")  # a damaged cache is checked anew, never trusted
    assert check_cache.cached_check_data(config, cache) == DataSize(rows=2, features=1)
    assert checked[-1] == 0.2 and len(checked) == 5


def test_per_job_functions_hand_snakemake_their_parameters_once():
    """Snakemake reads them through this hook, not with inspect.signature on every job (gridflow/per_job.py)."""
    from snakemake.common import get_function_params

    from gridflow.per_job import per_job

    @per_job
    def resource(wildcards, attempt):
        return attempt

    parameters = get_function_params(resource)
    assert list(parameters) == ["wildcards", "attempt"] and get_function_params(resource) is parameters
