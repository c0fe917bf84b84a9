"""The training budget as an axis: more epochs go on, an epochs axis chains its cells, successive halving, random
sampling. Real Snakemake runs on tiny grids, and the sampling and rounds as pure functions."""

import copy
import json

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CONFIG, comparable_summary, jobs_run, planned_jobs, snakemake, write_config

from gridflow.results.history import read_cell
from gridflow.spec.grid import cells_by_id
from gridflow.spec.search import halving_budgets, kept_cells, sampled_cells

# Columns that say how a cell came about, not what it computed.
HOW = ["trained_from"]


def records(workdir) -> dict:
    """{cell: (record, arrays)} of every cell a run left."""
    return {r.cell: (r, a) for r, a in (read_cell(p) for p in (workdir / "results/cells").rglob("metrics.json"))}


def test_raising_epochs_trains_only_the_added_ones_and_equals_a_fresh_run(copy_of_finished, tmp_path):
    config = copy.deepcopy(TINY_CONFIG)
    config["training"]["epochs"] = 5  # the finished grid trained 3
    write_config(copy_of_finished, config)
    assert planned_jobs(snakemake(copy_of_finished, "--dry-run"))["train_cell"] == 4
    snakemake(copy_of_finished, "--cores", "2")
    assert {r.trained_from for r, _ in records(copy_of_finished).values()} == {3}
    assert all("after 3 epochs" in r.trained_from_note for r, _ in records(copy_of_finished).values())
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    write_config(fresh, config)
    snakemake(fresh, "--cores", "2")
    assert {r.trained_from for r, _ in records(fresh).values()} == {0}
    pd.testing.assert_frame_equal(comparable_summary(copy_of_finished).drop(columns=HOW),
                                  comparable_summary(fresh).drop(columns=HOW), rtol=1e-6, atol=1e-6)  # fmt: skip
    for cell, (_, arrays) in records(fresh).items():
        np.testing.assert_allclose(records(copy_of_finished)[cell][1].history, arrays.history, rtol=1e-6, atol=1e-6)


def test_an_epochs_axis_chains_its_cells_and_adding_a_value_trains_only_what_it_must(tmp_path):
    grid = {"hidden_units": [4], "learning_rate": [0.5], "batch_size": [32]}
    config = {**TINY_CONFIG, "grid": {**grid, "epochs": [2, 6]}}
    (tmp_path / "chain").mkdir()
    write_config(tmp_path / "chain", config)
    snakemake(tmp_path / "chain", "--cores", "2")
    chain = records(tmp_path / "chain")
    by_epochs = {r.params["epochs"]: (r, a) for r, a in chain.values()}
    assert by_epochs[2][0].trained_from == 0 and by_epochs[6][0].trained_from == 2  # one 6-epoch training in all
    (tmp_path / "alone").mkdir()
    write_config(tmp_path / "alone", {**TINY_CONFIG, "grid": {**grid, "epochs": [6]}})
    snakemake(tmp_path / "alone", "--cores", "2")
    ((alone, alone_arrays),) = records(tmp_path / "alone").values()
    assert alone.trained_from == 0
    np.testing.assert_allclose(by_epochs[6][1].history, alone_arrays.history, rtol=1e-6, atol=1e-6)
    for ours, theirs in zip(by_epochs[6][1].outputs, alone_arrays.outputs):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    config["grid"]["epochs"] = [2, 4, 6, 8]  # one value between, one above
    write_config(tmp_path / "chain", config)
    proc = snakemake(tmp_path / "chain", "--cores", "2")
    assert jobs_run(proc)["train_cell"] == 3  # 4 and 8, and 6 again from 4's state (its next smaller one changed)
    after = {r.params["epochs"]: r for r, _ in records(tmp_path / "chain").values()}
    assert (after[4].trained_from, after[6].trained_from, after[8].trained_from) == (2, 4, 6)
    assert after[2].timing == by_epochs[2][0].timing  # untouched


HALVING = {
    "training": {"repetitions": 1, "cv_folds": 3},
    "search": {"strategy": "halving", "factor": 3, "min_epochs": 1, "max_epochs": 9},
    "grid": {"hidden_units": [4, 8, 16], "learning_rate": [0.01, 0.1, 0.5]},
}


@pytest.fixture(scope="module")
def halved(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("halving")
    write_config(workdir, HALVING)
    return workdir, snakemake(workdir, "--cores", "2")


def test_halving_trains_rounds_of_fewer_cells_for_longer_going_on_each_time(halved):
    workdir, proc = halved
    assert jobs_run(proc)["train_cell"] == 9 + 3 + 1 and jobs_run(proc)["select_round"] == 2
    table = pd.read_csv(workdir / "results/summary.csv")
    assert table.groupby("iter")["n_resources"].agg(["max", "size"]).values.tolist() == [[1, 9], [3, 3], [9, 1]]
    assert (table.loc[table["iter"] > 0, "trained_from"] == table.loc[table["iter"] > 0, "n_resources"] // 3).all()
    round_0 = json.loads((workdir / "results/halving/round-0.json").read_text())
    assert len(round_0["survivors"]) == 3 and round_0["keep"] == 3
    ranked0 = table[table["iter"] == 0].sort_values("rank_test_accuracy")
    assert sorted(round_0["survivors"]) == sorted(c.replace("epochs~1/", "") for c in ranked0["cell"].head(3))
    best = json.loads((workdir / "results/best.json").read_text())
    assert best["cell"] == table["cell"].iloc[0] and best["params"]["epochs"] == 9  # the best of the last round
    assert best["search"]["cell_epochs_trained"] == 9 * 1 + 3 * 2 + 1 * 6
    assert best["search"]["cell_epochs_exhaustive"] == 9 * 9
    rounds = (workdir / "results/figures/rounds.svg").read_text()
    assert "trained 21 cell-epochs, 26% of the 81" in rounds
    page = (workdir / "results/tables/best_cell.html").read_text()
    assert (
        "The best cell of the last round of a successive halving (factor 3): 9 cells for 1 epoch, 3 for 3, 1 for 9;"
        in page
    )
    assert (workdir / "results/figures/importance.svg").is_file()  # over round 0, the complete grid


def test_halving_again_with_nothing_changed_trains_nothing(halved, tmp_path):
    import shutil

    shutil.copytree(halved[0], tmp_path / "again", symlinks=True)
    proc = snakemake(tmp_path / "again", "--cores", "2")
    assert "train_cell" not in jobs_run(proc) and "select_round" not in jobs_run(proc)


def test_halving_a_grown_grid_trains_the_new_cells_and_only_what_the_new_choice_needs(halved, tmp_path):
    import shutil

    workdir = tmp_path / "grown"
    shutil.copytree(halved[0], workdir, symlinks=True)
    before = [set(survivors(workdir, r)) for r in (0, 1)]
    config = copy.deepcopy(HALVING)
    config["grid"]["hidden_units"].append(32)  # 12 cells: still 3 rounds, 4 go on, then 2
    write_config(workdir, config)
    proc = snakemake(workdir, "--cores", "2")
    new = [set(survivors(workdir, r)) - before[r] for r in (0, 1)]  # the rounds' new choices: all that trains again
    assert jobs_run(proc)["train_cell"] == 3 + len(new[0]) + len(new[1])
    table = pd.read_csv(workdir / "results/summary.csv")
    assert table.groupby("iter").size().tolist() == [12, 4, 2]


def survivors(workdir, round_: int) -> list[str]:
    return json.loads((workdir / f"results/halving/round-{round_}.json").read_text())["survivors"]


def test_halving_rounds_follow_scikit_learn():
    """HalvingGridSearchCV's n_iterations = min(1 + log_f(max // min), 1 + log_f(n_candidates)), in whole numbers."""
    assert halving_budgets(64, factor=3, min_epochs=3, max_epochs=27) == [3, 9, 27]
    assert halving_budgets(8, factor=3, min_epochs=3, max_epochs=243) == [3, 9]  # 8 cells: two rounds (8, 3)
    assert halving_budgets(1000, factor=3, min_epochs=1, max_epochs=243) == [1, 3, 9, 27, 81, 243]  # 243 = 3**5
    assert halving_budgets(5, factor=2, min_epochs=4, max_epochs=7) == [4]
    assert [kept_cells(n, 3) for n in (64, 22, 8, 1)] == [22, 8, 3, 1]


def test_a_random_sample_nests_and_keeps_its_cells_when_the_grid_grows():
    grid = {"a": [1, 2, 3, 4], "b": ["x", "y", "z"]}
    cells = cells_by_id(grid)
    small, large = sampled_cells(cells, 3, seed=1), sampled_cells(cells, 7, seed=1)
    assert len(small) == 3 and set(small) <= set(large) and list(large) == [c for c in cells if c in large]
    assert sampled_cells(cells, 3, seed=1) == small and sampled_cells(cells, 3, seed=2) != small
    grown = sampled_cells(cells_by_id({**grid, "a": [1, 2, 3, 4, 5]}), 3, seed=1)
    kept = set(small) & set(grown)
    assert all(cell in small for cell in grown if not cell.startswith("a~5"))  # an old cell in it was in it before
    assert len(kept) + sum(cell.startswith("a~5") for cell in grown) == 3
    assert sampled_cells(cells, 100, seed=1) == cells


def test_a_random_search_plans_its_sample_and_a_larger_one_only_the_new_cells(tmp_path):
    config = {**TINY_CONFIG, "grid": {"hidden_units": [2, 4, 8, 16], "learning_rate": [0.05, 0.5], "batch_size": [32]},
              "search": {"strategy": "random", "n_cells": 3, "seed": 5}}  # fmt: skip
    write_config(tmp_path, config)
    snakemake(tmp_path, "--cores", "2")
    assert len(pd.read_csv(tmp_path / "results/summary.csv")) == 3
    config["search"]["n_cells"] = 5
    write_config(tmp_path, config)
    assert planned_jobs(snakemake(tmp_path, "--dry-run"))["train_cell"] == 2


def test_a_halving_search_whose_cells_all_fail_ends_with_them_listed(tmp_path):
    """No cell goes on from a round of failed cells: the search stops there, the summary lists them, no best."""
    import shutil

    from conftest import ROOT

    shutil.copy(ROOT / "tests/data/mymodels.py", tmp_path / "mymodels.py")
    config = {
        "training": {"repetitions": 1, "cv_folds": 2},
        "model": {"builder": "mymodels:picky"},
        "search": {"strategy": "halving", "factor": 2, "min_epochs": 1, "max_epochs": 4},
        "grid": {"units": [200, 300, 400]},
    }  # fmt: skip  (picky refuses more than 100 units)
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "--cores", "2")
    assert jobs_run(proc)["train_cell"] == 3 and jobs_run(proc)["select_round"] == 1
    table = pd.read_csv(tmp_path / "results/summary.csv")
    assert len(table) == 3 and (table["status"] == "failed").all() and (table["iter"] == 0).all()
    assert json.loads((tmp_path / "results/halving/round-0.json").read_text())["survivors"] == []
    assert json.loads((tmp_path / "results/best.json").read_text())["cell"] is None


def test_a_halving_search_refuses_batches_in_one_line_before_any_job(tmp_path):
    """Each round chooses from the whole round before it: a --batch slice of the cells cannot."""
    config = {
        "training": {"repetitions": 1, "cv_folds": 2},
        "search": {"strategy": "halving", "factor": 2, "min_epochs": 1, "max_epochs": 2},
        "grid": {"dropout": [0.0, 0.1]},
    }
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "--cores", "2", "--batch", "summarize=1/2", check=False)
    assert proc.returncode != 0 and not (tmp_path / "results").exists()
    assert proc.stderr.strip().splitlines()[-1] == (
        "gridflow: config error: search.strategy: 'halving' cannot run in --batch slices (each round chooses from "
        "the whole round before it); run it without --batch, or use strategy 'grid' or 'random'"
    )
