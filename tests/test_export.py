"""The cells of a run as TensorBoard runs: names, scores and statuses (gridflow.report.tensorboard)."""

import math

import numpy as np
import pandas as pd
import pytest
from records import cell_record, model_record

from gridflow.report.tensorboard import MAX_NAME_BYTES, cell_run, run_name
from gridflow.results.arrays import cell_arrays


def test_run_names_are_one_folder_each_and_never_too_long():
    assert run_name("a~1/b~relu") == "a~1,b~relu"
    long_a = "/".join(f"axis_with_a_long_name_{i}~{i}" for i in range(12))
    long_b = long_a.replace("~11", "~12")
    names = {run_name(long_a), run_name(long_b)}
    assert len(names) == 2 and all(len(n.encode()) <= MAX_NAME_BYTES and "/" not in n for n in names)


def row(accuracy):
    values = {f"mean_{part}_{m}": accuracy for part in ("test", "holdout")
              for m in ("accuracy", "loss", "roc_auc", "f1", "precision", "recall")}  # fmt: skip
    return pd.Series(values)


def record(status):
    """A cell of one CV model, and its arrays: two epochs of history."""
    history = {"loss": [0.7, 0.5], "val_loss": [0.8, float("nan")]}
    arrays = cell_arrays([np.zeros((4, 2))], [history], history_keys=("loss", "val_loss"))
    return cell_record({"lr": 1, "units": 8}, [model_record("cv", epochs_run=2)], status=status), arrays


def test_an_ok_cell_has_its_scores_and_curves():
    run = cell_run(row(0.9), *record("ok"), "accuracy")
    assert run.cell == "lr~1,units~8" and run.params == {"lr": 1, "units": 8} and run.succeeded
    assert run.scalars["cv/accuracy"] == 0.9 and run.scalars["holdout/loss"] == 0.9 and len(run.scalars) == 12
    assert run.curves["epoch/loss"] == pytest.approx([0.7, 0.5]) and run.curves["epoch/val_loss"][0] == pytest.approx(
        0.8
    )
    assert math.isnan(run.curves["epoch/val_loss"][1])


def test_a_diverged_cell_is_a_failed_run_without_scores():
    run = cell_run(row(0.99), *record("diverged"), "accuracy")  # its surviving models' mean is no result of the cell
    assert not run.succeeded and run.scalars == {} and run.curves["epoch/loss"] == pytest.approx([0.7, 0.5])
