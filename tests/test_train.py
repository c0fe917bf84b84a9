"""One cell end to end, without Snakemake: metrics.json contents and the fallback paths."""

import copy

import numpy as np
import pytest
from conftest import ROOT

from gridflow.analysis.scores import score_cells
from gridflow.data.load import load_dataset
from gridflow.data.split import make_split, save_split
from gridflow.results.history import read_cell
from gridflow.results.record import arrays_path, read_record
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


def scores(tmp_path, split_path):
    """Every model's scores, as the summary computes them from the cell's files."""
    return score_cells([str(tmp_path / "metrics.json")], split_path)[0].scores


def curves(tmp_path, key):
    """Every model's per-epoch ``key`` from the cell's models.npz."""
    record, arrays = read_cell(tmp_path / "metrics.json")
    return [arrays.curve(i, key, m.epochs_run) for i, m in enumerate(record.models)]


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
    full_scores = scores(tmp_path, split_path)[2]
    assert 0.5 < full_scores["accuracy"] <= 1 and 0 < full_scores["roc_auc"] <= 1
    assert len(curves(tmp_path, "val_loss")[2]) == 3
    assert record.versions["keras"].startswith("3.")
    assert (full.seeds.weights, full.seeds.shuffle) == model_seeds(5, 0, "full")


def test_more_repetitions_leave_the_first_ones_unchanged(split_path, tmp_path):
    one = run(split_path, tmp_path / "a", repetitions=1)
    three = run(split_path, tmp_path / "b", repetitions=3)
    for a, b, a_scores, b_scores in zip(one.models, three.models[:3], scores(tmp_path / "a", split_path),
                                        scores(tmp_path / "b", split_path)):  # fmt: skip
        assert (a.repetition, a.fold) == (b.repetition, b.fold)
        for metric, value in a_scores.items():
            assert b_scores[metric] == pytest.approx(value, abs=1e-5)


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
    assert all(m.status == "diverged" for m in record.models)
    assert scores(tmp_path, split_path) == [None] * len(record.models)


def test_builder_that_raises_makes_a_failed_cell(split_path, tmp_path):
    record = run(split_path, tmp_path, values={"units": 500}, builder="mymodels:picky")
    assert record.status == "failed"
    assert record.error == "ValueError: units=500 is more than this model supports"
    assert record.models == []
    assert "units=500" in (tmp_path / "cell.log").read_text()


def test_forced_model_fit_path(split_path, tmp_path):
    record = run(split_path, tmp_path, trainer="fit")
    assert record.trainer == "fit" and record.status == "ok"
    assert [len(c) for c in curves(tmp_path, "loss")] == [3] * len(record.models)


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
    assert np.mean([s["accuracy"] for s in scores(tmp_path, split_path)]) > 0.6


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


def test_a_cell_that_crashes_leaves_no_models_file_of_an_earlier_training(split_path, tmp_path, monkeypatch):
    """Snakemake removes a rerun job's metrics.json (declared) before it runs; models.npz beside it (undeclared)
    goes too, so that no stale one outlives a crash."""
    from gridflow.train import cell

    run(split_path, tmp_path)
    out = tmp_path / "metrics.json"
    assert arrays_path(out).exists()
    out.unlink()

    def crash(**_):
        raise MemoryError("killed")

    monkeypatch.setattr(cell, "_train", crash)
    with pytest.raises(MemoryError):
        train_cell_in_process(split_path, VALUES, SETTINGS, metrics=str(out), log=str(tmp_path / "cell.log"))
    assert not out.exists() and not arrays_path(out).exists()


def test_a_cell_without_its_models_file_is_refused_by_name(split_path, tmp_path):
    run(split_path, tmp_path)
    arrays_path(tmp_path / "metrics.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"models.npz is missing; delete .*metrics.json to retrain the cell"):
        scores(tmp_path, split_path)


def test_a_cell_of_a_local_run_keeps_no_copy(split_path, tmp_path, monkeypatch):
    """A local run retries only the cell that failed, so it has nothing to restore: no copy is written."""
    from gridflow.train import kept

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "metrics.json"
    train_cell_in_process(split_path, VALUES, SETTINGS, metrics=str(out), log=str(tmp_path / "cell.log"),
                          keep_copy=False)  # fmt: skip
    assert out.exists() and not kept.KEPT_ROOT.exists()


@pytest.mark.parametrize("source", ["breast_cancer", "diabetes"])
def test_scores_from_stored_predictions_equal_scores_computed_while_training(source, tmp_path, monkeypatch):
    """The summary scores each model from models.npz and the rows the split gives it; that equals scoring what
    training held in memory (probabilities, or predictions put back in the label's units), to 1e-7."""
    from gridflow.results.scoring import score_outputs
    from gridflow.train import cell

    task = "classification" if source == "breast_cancer" else "regression"
    split_path = str(tmp_path / "split.npz")
    save_split(make_split(load_dataset(source, None, task), test_size=0.2, cv_folds=3, validation_size=0.2, seed=1),
               split_path)  # fmt: skip
    held = []
    real = cell._arrays
    monkeypatch.setattr(
        cell, "_arrays", lambda plan, results, **kw: held.append((plan, results)) or real(plan, results, **kw)
    )
    run(split_path, tmp_path, values={"hidden_units": 8, "learning_rate": 0.05}, repetitions=2, cv_folds=3)
    (plan, results), stored = held[0], scores(tmp_path, split_path)
    assert len(stored) == len(results) == 2 * (3 + 1)
    for model, result, got in zip(plan.models, results, stored):
        data = model.task
        truth = data.y_eval * np.float64(data.label_scale) + data.label_center
        outputs = result.eval_outputs.astype(np.float64) * data.label_scale + data.label_center
        expected = score_outputs(task, truth if task == "regression" else data.y_eval, outputs)
        assert got.keys() == expected.keys()
        for metric, value in expected.items():
            assert got[metric] == pytest.approx(value, rel=1e-7, abs=1e-7), metric
