"""More epochs go on from a cell's kept state, and give what training from epoch 0 gives."""

from dataclasses import replace

import numpy as np
import pytest

from gridflow.train.backend import keras_runtime

keras_runtime(1)

from gridflow.train import caches  # noqa: E402
from gridflow.train.builders import mlp  # noqa: E402
from gridflow.train.fitting import FitSettings, ModelTask  # noqa: E402
from gridflow.train.fused import fused_fit  # noqa: E402
from gridflow.train.keras_fit import fit_models  # noqa: E402
from gridflow.train.seeding import build_seeded, seeded_models  # noqa: E402

TASKS = {"classification": 2, "regression": 1}


def tasks_for(task: str):
    """Two models of other sizes (so padding and partial batches play), on a learnable label."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(190, 5)).astype(np.float32)
    signal = x[:, 0] + 0.5 * x[:, 1] - 0.3 * x[:, 3]
    y = (signal > 0).astype(np.int32) if task == "classification" else signal.astype(np.float32)
    return [ModelTask(11, x[:150], y[:150], x[150:], y[150:]), ModelTask(12, x[20:110], y[20:110], x[150:], y[150:])]


AXES = {"hidden_units": 8, "activation": "relu", "dropout": 0.3}


def fused(settings, task, start=None, mode=None):
    built = seeded_models("mlp", AXES, n_features=5, n_classes=TASKS[task], seeds=[1, 2], task=task)
    return fused_fit(built.template, built.states, tasks_for(task), settings, architecture=built.fingerprint,
                     start=start, start_mode=mode)  # fmt: skip


def fitted(settings, task, start=None):
    models = [build_seeded(mlp, AXES, n_features=5, n_classes=TASKS[task], seed=s, task=task) for s in (1, 2)]
    return fit_models(models, tasks_for(task), settings, start=start)


def assert_same_training(a, b):
    """Metrics (the outputs they come from) and every epoch's curves equal, to 1e-6."""
    for one, other in zip(a.models, b.models):
        np.testing.assert_allclose(one.eval_outputs, other.eval_outputs, rtol=1e-6, atol=1e-6)
        assert one.history.keys() == other.history.keys() and one.epochs_run == other.epochs_run
        for key in one.history:
            np.testing.assert_allclose(one.history[key], other.history[key], rtol=1e-6, atol=1e-6)


OPTIMIZERS = [("sgd", 0.9, 8), ("adam", 0.0, 16)]  # batch 8: XLA (19 steps an epoch); 16: a plain graph


@pytest.mark.parametrize("task", sorted(TASKS))
@pytest.mark.parametrize(("optimizer", "momentum", "batch"), OPTIMIZERS, ids=["sgd-momentum", "adam"])
def test_the_fused_loop_goes_on_as_if_it_never_stopped(task, optimizer, momentum, batch):
    six = FitSettings(epochs=6, batch_size=batch, learning_rate=0.02, optimizer=optimizer, momentum=momentum,
                      task=task)  # fmt: skip
    scratch = fused(six, task)
    two = fused(replace(six, epochs=2), task)
    built_before = caches.loops_built()
    on = fused(six, task, start=two.state, mode=two.loop_mode)
    assert on.trained_from == 2 and scratch.trained_from == 0
    assert on.loop_source == "memory" and caches.loops_built() == built_before  # the epochs are an input: no new loop
    assert_same_training(on, scratch)
    np.testing.assert_array_equal(on.state.history, scratch.state.history)


@pytest.mark.parametrize("task", sorted(TASKS))
@pytest.mark.parametrize(("optimizer", "momentum", "batch"), OPTIMIZERS, ids=["sgd-momentum", "adam"])
def test_model_fit_goes_on_as_if_it_never_stopped(task, optimizer, momentum, batch):
    four = FitSettings(epochs=4, batch_size=batch, learning_rate=0.02, optimizer=optimizer, momentum=momentum,
                       task=task)  # fmt: skip
    scratch = fitted(four, task)
    on = fitted(four, task, start=fitted(replace(four, epochs=1), task).state)
    assert on.trained_from == 1
    assert_same_training(on, scratch)


def test_dropout_draws_differ_from_epoch_to_epoch_and_are_part_of_the_state():
    """Were the random streams not kept, going on would replay epoch 0's dropout masks: outputs would differ."""
    six = FitSettings(epochs=6, batch_size=8, learning_rate=0.02, optimizer="sgd", momentum=0.9)
    two = fused(replace(six, epochs=2), "classification")
    seed_states = [a for a in two.state.non_trainable if a.dtype.kind in "iu"]
    assert seed_states and not any((a == 0).all() for a in seed_states)  # Keras' seed state moved on
    restarted = replace(two.state, non_trainable=tuple(
        a if a.dtype.kind not in "iu" else fused(replace(six, epochs=1), "classification").state.non_trainable[i]
        for i, a in enumerate(two.state.non_trainable)))  # fmt: skip
    wrong = fused(six, "classification", start=restarted, mode=two.loop_mode)
    right = fused(six, "classification", start=two.state, mode=two.loop_mode)
    assert not np.allclose(wrong.models[0].eval_outputs, right.models[0].eval_outputs, atol=1e-6)


def test_a_state_of_another_loop_mode_is_passed_over_with_a_note():
    six = FitSettings(epochs=6, batch_size=8, learning_rate=0.02)  # an XLA cell
    two = fused(replace(six, epochs=2), "classification")
    on = fused(six, "classification", start=two.state, mode="graph")
    assert on.trained_from == 0 and on.start_note == "the kept state ran the loop as graph, this cell runs it as xla"
    assert_same_training(on, fused(six, "classification"))


@pytest.fixture(scope="module")
def split_path(tmp_path_factory):
    from gridflow.data.load import load_dataset
    from gridflow.data.split import make_split, save_split

    path = tmp_path_factory.mktemp("split") / "split.npz"
    save_split(make_split(load_dataset("breast_cancer", None), test_size=0.2, cv_folds=2, validation_size=0.2, seed=1),
               path)  # fmt: skip
    return str(path)


def train(split_path, folder, epochs, **options):
    """One cell trained in ``folder`` for ``epochs`` epochs, as a job would: (record, its state file)."""
    from test_train import SETTINGS

    from gridflow.train.cell import train_cell_in_process
    from gridflow.train.state import state_path

    settings = {**SETTINGS, "training": {**SETTINGS["training"], "epochs": epochs}}
    metrics = folder / "metrics.json"
    record = train_cell_in_process(split_path, {"hidden_units": 4, "learning_rate": 0.1, "dropout": 0.3}, settings,
                                   metrics=str(metrics), log=str(folder / "cell.log"), **options)  # fmt: skip
    return record, state_path(metrics)


def test_a_cell_goes_on_from_its_own_kept_state(split_path, tmp_path):
    first, state = train(split_path, tmp_path, 2)
    assert first.trained_from == 0 and first.trained_from_note is None and state.is_file()
    on, _ = train(split_path, tmp_path, 4)
    assert on.trained_from == 2 and on.trained_from_note == "went on from its kept state after 2 epochs"


def test_an_unreadable_state_is_passed_over_and_the_cell_trains_from_epoch_0(split_path, tmp_path):
    _, state = train(split_path, tmp_path, 2)
    state.write_bytes(state.read_bytes()[:200])  # damaged (a full disk, a copy cut short)
    on, _ = train(split_path, tmp_path, 4)
    assert on.trained_from == 0 and "is unreadable" in on.trained_from_note and on.status == "ok"


def test_a_state_of_another_version_is_passed_over_with_the_reason(split_path, tmp_path):
    import json

    _, state = train(split_path, tmp_path, 2)
    with np.load(state) as npz:
        arrays = dict(npz)
    about = json.loads(str(arrays["about"]))
    arrays["about"] = np.array(json.dumps({**about, "keras": "3.0.0"}))
    np.savez(state, **arrays)
    on, _ = train(split_path, tmp_path, 4)
    assert on.trained_from == 0 and "keras 3.0.0" in on.trained_from_note


def test_a_state_of_other_settings_or_more_epochs_is_not_this_cells(split_path, tmp_path):
    train(split_path, tmp_path, 4)
    fewer, _ = train(split_path, tmp_path, 2)  # the kept state is ahead of it: start again
    assert fewer.trained_from == 0 and fewer.trained_from_note is None


def test_without_keep_state_no_state_is_kept_and_an_old_one_goes(split_path, tmp_path):
    _, state = train(split_path, tmp_path, 2)
    record, _ = train(split_path, tmp_path, 3, keep_state=False)
    assert record.trained_from == 2 and not state.exists()  # it used the one there was, and kept none
    record, _ = train(split_path, tmp_path, 4, keep_state=False)
    assert record.trained_from == 0 and not state.exists()


def test_a_state_of_other_data_is_not_this_cells(split_path, tmp_path):
    """The data changed (the split was redone): a kept state of the old data must not be gone on from."""
    from gridflow.data.load import load_dataset
    from gridflow.data.split import make_split, save_split

    train(split_path, tmp_path, 2)
    other = tmp_path / "other-split.npz"
    save_split(make_split(load_dataset("breast_cancer", None), test_size=0.25, cv_folds=2, validation_size=0.2,
                          seed=1), other)  # fmt: skip
    on, _ = train(str(other), tmp_path, 4)
    assert on.trained_from == 0 and on.trained_from_note is None


def test_a_state_of_other_models_is_passed_over_by_either_trainer():
    six = FitSettings(epochs=6, batch_size=8, learning_rate=0.02)
    other = FitSettings(epochs=2, batch_size=8, learning_rate=0.02)
    built = seeded_models("mlp", {**AXES, "hidden_units": 5}, n_features=5, n_classes=2, seeds=[1, 2])
    foreign = fused_fit(built.template, built.states, tasks_for("classification"), other,
                        architecture=built.fingerprint).state  # fmt: skip
    on = fused(six, "classification", start=foreign, mode="xla")
    assert on.trained_from == 0 and on.start_note == "the kept state does not hold this cell's models"
    on = fitted(replace(six, epochs=3), "classification", start=fitted(replace(other, epochs=1), "classification",
                start=None).state)  # fmt: skip
    assert on.trained_from == 1  # its own: goes on
    on = fitted(replace(six, epochs=3), "classification", start=foreign)
    assert on.trained_from == 0 and on.start_note == "the kept state does not hold this cell's models"


def test_a_model_xla_cannot_compile_goes_on_as_a_graph_in_a_new_process(split_path, tmp_path, monkeypatch):
    """Its state ran the loop as a graph; a new process first tries XLA, fails, and must still go on from it."""
    from conftest import ROOT
    from test_train import SETTINGS

    from gridflow.train.cell import train_cell_in_process
    from gridflow.train.workers import WorkerPool

    monkeypatch.syspath_prepend(str(ROOT / "tests/data"))
    values = {"units": 4, "batch_size": 4}  # 57 steps an epoch: XLA is tried
    files = {"metrics": str(tmp_path / "metrics.json"), "log": str(tmp_path / "cell.log")}

    def settings(epochs):
        return {**SETTINGS, "training": {**SETTINGS["training"], "epochs": epochs},
                "model": {"builder": "mymodels:numpy_layer"}}  # fmt: skip

    first = train_cell_in_process(split_path, values, settings(2), **files)
    assert first.timing.loop_mode == "graph" and first.trainer_note.startswith("XLA could not compile")
    fresh = WorkerPool(1)  # a process of its own, that knows of no XLA failure
    on = fresh.run(train_cell_in_process, split_path, values, settings(4), **files)
    fresh.current.stop()
    assert on.timing.loop_mode == "graph" and on.trained_from == 2, on.trained_from_note
