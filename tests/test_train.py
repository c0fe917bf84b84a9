"""One cell end to end, without Snakemake: metrics.json contents and the fallback paths."""

import copy

import numpy as np
import pytest
from conftest import ROOT

from gridflow.data.load import load_dataset
from gridflow.data.split import make_split, save_split
from gridflow.results.record import read_record
from gridflow.train.cell import train_cell_in_process
from gridflow.train.plan import model_seeds

SETTINGS = {
    "dataset": {"source": "breast_cancer", "target": None},
    "split": {"test_size": 0.2, "validation_size": 0.2, "seed": 1},
    "preprocessing": {"scaler": "standard"},
    "training": {
        "epochs": 3,
        "batch_size": 32,
        "learning_rate": 0.1,
        "repetitions": 1,
        "cv_folds": 2,
        "seed": 5,
        "optimizer": "sgd",
        "momentum": 0.0,
        "class_weight": "none",
        "metric": "accuracy",
        "trainer": "auto",
    },  # fmt: skip
    "model": {"builder": "mlp"},
}
VALUES = {"hidden_units": 4, "learning_rate": 0.1, "dropout": 0.3}


@pytest.fixture(scope="module")
def split_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("split") / "split.npz"
    save_split(
        make_split(load_dataset("breast_cancer", None), test_size=0.2, cv_folds=2, validation_size=0.2, seed=1), path
    )
    return str(path)


@pytest.fixture(autouse=True)
def user_builders(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests/data"))


def run(split_path, tmp_path, values=VALUES, **training):
    settings = copy.deepcopy(SETTINGS)
    settings["training"].update(training)
    builder = training.pop("builder", None)
    settings["training"].pop("builder", None)
    if builder:
        settings["model"]["builder"] = builder
    out = tmp_path / "metrics.json"
    record = train_cell_in_process(split_path, values, settings, metrics=str(out), log=str(tmp_path / "cell.log"))
    assert read_record(out) == record
    return record


def test_metrics_file_describes_the_cell(split_path, tmp_path):
    record = run(split_path, tmp_path, repetitions=2)
    assert record.cell == "dropout~0.3/hidden_units~4/learning_rate~0.1"
    assert record.status == "ok" and record.trainer == "fused"
    assert record.n_params == 30 * 4 + 4 + 4 * 2 + 2
    assert len(record.models) == 2 * (2 + 1)
    assert [(m.repetition, m.fold, m.role) for m in record.models[:3]] == [
        (0, 0, "cv"), (0, 1, "cv"), (0, "full", "test")
    ]  # fmt: skip
    full = record.models[2]
    assert full.n_train == 455 and full.n_eval == 114
    assert 0.5 < full.metrics["accuracy"] <= 1 and 0 < full.metrics["roc_auc"] <= 1
    assert len(full.history["val_loss"]) == 3
    assert record.versions["keras"].startswith("3.")
    assert (full.seeds.weights, full.seeds.shuffle) == model_seeds(5, 0, "full")


def test_more_repetitions_leave_the_first_ones_unchanged(split_path, tmp_path):
    one = run(split_path, tmp_path / "a", repetitions=1)
    three = run(split_path, tmp_path / "b", repetitions=3)
    for a, b in zip(one.models, three.models[:3]):
        assert (a.repetition, a.fold) == (b.repetition, b.fold)
        for metric, value in a.metrics.items():
            assert b.metrics[metric] == pytest.approx(value, abs=1e-5)


def test_seeds_depend_only_on_root_repetition_and_fold():
    # Pinned: a change here would silently change every cell's results across versions.
    assert model_seeds(1, 0, 0) == (1501029259, 415423813)
    assert model_seeds(42, 2, "full") == (955475868, 604958138)
    assert len({model_seeds(1, r, f) for r in range(3) for f in (0, 1, "full")}) == 9
    assert model_seeds(1, 0, 0) != model_seeds(2, 0, 0)


def test_diverging_cell_is_recorded_not_crashed(split_path, tmp_path):
    values = {"hidden_units": 4, "learning_rate": 1e30, "dropout": 0.0}
    record = run(split_path, tmp_path, values=values)
    assert record.status == "diverged"
    assert all(m.status == "diverged" and m.metrics is None for m in record.models)


def test_builder_that_raises_makes_a_failed_cell(split_path, tmp_path):
    record = run(split_path, tmp_path, values={"units": 500}, builder="mymodels:picky")
    assert record.status == "failed"
    assert record.error == "ValueError: units=500 is more than this model supports"
    assert record.models == []
    assert "units=500" in (tmp_path / "cell.log").read_text()


def test_forced_model_fit_path(split_path, tmp_path):
    record = run(split_path, tmp_path, trainer="fit")
    assert record.trainer == "fit" and record.status == "ok"
    assert all(len(m.history["loss"]) == 3 for m in record.models)


def test_model_xla_cannot_compile_runs_as_a_graph_and_says_why(split_path, tmp_path):
    values = {"units": 4, "batch_size": 4}  # 3 epochs x 57 batches: long enough for XLA
    record = run(split_path, tmp_path, values=values, builder="mymodels:numpy_layer")
    assert record.trainer == "fused" and record.status == "ok"
    assert record.timing.loop_mode == "graph"
    assert record.trainer_note.startswith("XLA could not compile the loop")
    assert "XLA could not compile the loop" in (tmp_path / "cell.log").read_text()


def test_unsupported_model_falls_back_to_model_fit_and_says_why(split_path, tmp_path):
    record = run(split_path, tmp_path, values={"units": 4}, builder="mymodels:stateful_layer")
    assert record.trainer == "fit" and record.status == "ok"
    assert record.trainer_note.startswith("fell back to model.fit")
    assert "fell back to model.fit" in (tmp_path / "cell.log").read_text()
    assert np.mean([m.metrics["accuracy"] for m in record.models]) > 0.6


def test_a_retry_restores_what_an_earlier_attempt_finished_and_trains_the_rest(split_path, tmp_path, monkeypatch):
    from gridflow.train import cell

    monkeypatch.chdir(tmp_path)  # kept records live under the working directory
    first = run(split_path, tmp_path)
    out = tmp_path / "metrics.json"
    out.unlink()  # Snakemake removes every output of a failed group job
    trained = []
    real_train = cell._train
    monkeypatch.setattr(cell, "_train", lambda **kw: trained.append(kw) or real_train(**kw))
    log = str(tmp_path / "cell.log")
    again = train_cell_in_process(split_path, VALUES, SETTINGS, metrics=str(out), log=log, attempt=2)
    assert again == first == read_record(out) and not trained
    assert "kept from an earlier attempt" in (tmp_path / "cell.log").read_text()
    other = {**VALUES, "learning_rate": 0.2}  # never finished: a retry trains it
    train_cell_in_process(split_path, other, SETTINGS, metrics=str(out), log=log, attempt=2)
    assert len(trained) == 1
    train_cell_in_process(split_path, VALUES, SETTINGS, metrics=str(out), log=log, attempt=1)
    assert len(trained) == 2  # a first attempt always trains
