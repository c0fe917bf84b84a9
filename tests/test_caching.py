"""Only what changed reruns: on a finished grid, each config change plans exactly the cells it changes.

Real `snakemake --dry-run`s on a copy of the finished tiny grid (hidden_units x learning_rate x batch_size).
"""

import copy
import json

import pandas as pd
import pytest
from conftest import TINY_CONFIG, jobs_run, planned_jobs, snakemake, write_config

from gridflow.spec.key import DOES_NOT_SHAPE_TRAINING, SHAPES_TRAINING

ALL = 4  # the tiny grid's cells
# A builder of the user's with mlp's axes, so that only the builder changes.
USER_MLP = """
def net(n_features, n_classes, hidden_units=32, task="classification"):
    from gridflow.train.builders import mlp

    return mlp(n_features=n_features, n_classes=n_classes, hidden_units=hidden_units, task=task)
"""  # A transformer of the user's: a scaler of every column.
USER_TRANSFORMER = """
def scaled():
    from sklearn.preprocessing import StandardScaler

    return StandardScaler()
"""
# "section.key" -> (a new value, cells it retrains, whether the split is redone). Keys the tiny grid cannot
# change alone (a file's label column and task need a data file of their own) are covered in test_key.py.
CHANGES = {
    "dataset.source": ("data.csv", ALL, True),
    "split.test_size": (0.3, ALL, True),
    "split.validation_size": (0.3, 0, False),  # only holdout mode holds a validation part out
    "split.seed": (7, ALL, True),
    "preprocessing.scaler": ("minmax", ALL, False),
    "preprocessing.impute": ("mean", ALL, False),
    "preprocessing.fill_value": (1.5, 0, False),  # only impute constant fills with it
    "preprocessing.transformer": ("userprep:scaled", ALL, False),
    "training.epochs": (2, ALL, False),
    "training.batch_size": (16, 0, False),  # every cell has its own: the grid has the axis
    "training.learning_rate": (0.2, 0, False),  # the same
    "training.repetitions": (1, ALL, False),
    "training.cv_folds": (2, ALL, True),
    "training.seed": (7, ALL, False),
    "training.optimizer": ("adam", ALL, False),
    "training.momentum": (0.9, ALL, False),
    "training.class_weight": ("balanced", ALL, False),
    "training.trainer": ("fit", ALL, False),
    "model.builder": ("usermlp:net", ALL, False),
    "training.metric": ("f1", 0, False),
    "analysis.alpha": (0.01, 0, False),
    "figures.heatmaps": (["marginal"], 0, False),
    "figures.curves_top": (1, 0, False),
    "export.tensorboard": (False, 0, False),
    "training.keep_state": (False, 0, False),
    # Which cells train: a sample of the finished grid asks for cells it has.
    "search.strategy": ("random", 0, False),
    "search.n_cells": (2, 0, False),
    "search.seed": (3, 0, False),
    "search.factor": (2, 0, False),
    "search.min_epochs": (1, 0, False),
    "search.max_epochs": (9, 0, False),
}


def test_every_key_is_tried():
    assert set(CHANGES) == (SHAPES_TRAINING | DOES_NOT_SHAPE_TRAINING) - {"dataset.target", "dataset.task"}


def changed_config(workdir, key: str, value) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    section, name = key.split(".", 1)
    config.setdefault(section, {})[name] = value
    if key == "dataset.source":
        from sklearn.datasets import load_breast_cancer

        load_breast_cancer(as_frame=True).frame.to_csv(workdir / value, index=False)
        config["dataset"]["target"] = "target"
    if key == "model.builder":
        (workdir / "usermlp.py").write_text(USER_MLP)
    if key == "preprocessing.transformer":
        (workdir / "userprep.py").write_text(USER_TRANSFORMER)
    if key == "search.strategy":
        config["search"]["n_cells"] = 2
    return config


@pytest.mark.parametrize("key", sorted(CHANGES))
def test_a_change_plans_exactly_the_cells_it_changes(copy_of_finished, key):
    value, cells, split = CHANGES[key]
    write_config(copy_of_finished, changed_config(copy_of_finished, key, value))
    planned = planned_jobs(snakemake(copy_of_finished, "--dry-run"))
    assert planned.get("train_cell", 0) == cells
    assert planned.get("split_data", 0) == int(split)


def test_a_new_ranking_metric_retrains_nothing_and_the_results_follow_it(copy_of_finished):
    write_config(copy_of_finished, changed_config(copy_of_finished, "training.metric", "f1"))
    proc = snakemake(copy_of_finished, "--cores", "2")
    assert "train_cell" not in jobs_run(proc) and jobs_run(proc)["summarize"] == 1
    table = pd.read_csv(copy_of_finished / "results/summary.csv")
    assert table["rank_test_f1"].is_monotonic_increasing and table["rank_test_f1"].iloc[0] == 1
    best = json.loads((copy_of_finished / "results/best.json").read_text())
    assert best["metric"] == "f1" and best["cell"] == table["cell"].iloc[0]
    assert best["cv"]["f1"]["mean"] == table["mean_test_f1"].max()
    heatmap = (copy_of_finished / "results/figures/heatmaps/slice/batch_size__hidden_units.svg").read_text()
    assert "mean CV macro F1" in heatmap


def run_block(rule: str) -> str:
    """The text of a rule's run: block, as Snakemake keeps it for its code rerun trigger."""
    import re

    from conftest import ROOT

    for path in (ROOT / "workflow/rules").glob("*.smk"):
        text = path.read_text()
        if found := re.search(rf"^(?:rule|checkpoint) {rule}:\n(?:.*\n)*?    run:\n((?:        .*\n|\n)+)", text, re.M):
            return found.group(1).rstrip()
    raise AssertionError(f"no rule {rule}")


def test_every_profile_leaves_out_the_code_trigger():
    import yaml
    from conftest import ROOT

    for profile in ("default", "slurm"):
        settings = yaml.safe_load((ROOT / "profiles" / profile / "config.yaml").read_text())
        assert settings["rerun-triggers"] == ["mtime", "params", "input", "software-env"], profile


def test_an_edited_cell_rule_retrains_no_cell_with_the_profile_and_every_cell_without(copy_of_finished, tmp_path):
    """Only the key and the inputs decide what retrains: gridflow's profiles leave out Snakemake's code trigger.
    A copy of the workflow whose cell rule's run: block reads differently plans no cell with its profile, and
    every cell without it (which shows that the edit is one Snakemake's code trigger sees)."""
    import shutil

    from conftest import ROOT

    edited = tmp_path / "edited"
    edited.mkdir()
    shutil.copy(ROOT / "Snakefile", edited)
    for folder in ("workflow", "config", "profiles"):
        shutil.copytree(ROOT / folder, edited / folder, ignore=shutil.ignore_patterns("__pycache__"))
    rules = edited / "workflow/rules/train.smk"
    last = "        show_progress(record)\n"
    rules.write_text(rules.read_text().replace(last, last + "        del record\n"))
    assert "del record" in rules.read_text()
    snakefile = ["--snakefile", str(edited / "Snakefile"), "--dry-run"]  # the last --snakefile given wins
    assert "train_cell" not in planned_jobs(snakemake(copy_of_finished, *snakefile))
    assert planned_jobs(snakemake(copy_of_finished, *snakefile, "--workflow-profile", "none"))["train_cell"] == ALL


def test_the_cell_and_split_jobs_bodies_are_pinned():
    """Without gridflow's profiles Snakemake reruns a job whose run: block changed (its default "code" trigger),
    key or no key: an edit here retrains every cell of such a run's folder. Keep the bodies one call each and
    change them on purpose only."""
    assert run_block("split_data") == "        write_split(settings=params.settings, path=output[0], log_path=log[0])"
    assert (
        run_block("train_cell")
        == """        record = train_cell(
            split=input.split,
            values=params.values,
            settings=params.settings,
            metrics=output.metrics,
            log=log[0],
            **cell_job(input, threads, resources),
        )
        show_progress(record)"""
    )
