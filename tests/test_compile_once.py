"""Each training loop is built once and kept: dropout as an input, fingerprints, the on-disk cache."""

import copy
import shutil

import keras
import numpy as np
import pytest
from conftest import TINY_CONFIG, snakemake, write_config

from gridflow.train.backend import keras_runtime

keras_runtime(1)

from gridflow.results.history import read_cell  # noqa: E402
from gridflow.results.record import read_record  # noqa: E402
from gridflow.train.builders import mlp  # noqa: E402
from gridflow.train.fingerprint import architecture_fingerprint  # noqa: E402
from gridflow.train.fitting import FitSettings, ModelTask  # noqa: E402
from gridflow.train.fused import clear_loop_cache, fused_fit, loop_mode  # noqa: E402
from gridflow.train.seeding import build_seeded, clear_model_caches, seeded_models  # noqa: E402


@pytest.fixture(scope="module")
def tasks():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 5)).astype(np.float32)
    y = (x[:, 0] - x[:, 2] > 0).astype(np.int32)
    return [ModelTask(21, x[:90], y[:90], x[90:], y[90:]), ModelTask(22, x[30:], y[30:], x[:30], y[:30])]


def train(dropout, tasks, epochs=10):  # batches of 4: 23 steps an epoch, enough for XLA
    built = seeded_models(
        "mlp", {"hidden_units": 6, "activation": "relu", "dropout": dropout}, n_features=5, n_classes=2, seeds=[7, 8]
    )
    settings = FitSettings(epochs=epochs, batch_size=4, learning_rate=0.1)
    return fused_fit(built.template, built.states, tasks, settings, architecture=built.fingerprint)


def test_dropout_rates_share_one_loop_and_weights_but_still_drop(tasks):
    clear_loop_cache()
    clear_model_caches()
    first = train(0.0, tasks)
    reused = train(0.5, tasks)
    assert first.loop_source in ("compiled", "disk") and reused.loop_source == "memory"
    assert first.loop_mode == reused.loop_mode == "xla"
    clear_loop_cache()
    alone = train(0.5, tasks)  # the same cell with a loop of its own
    assert alone.loop_source in ("compiled", "disk")
    for a, b in zip(reused.models, alone.models):
        np.testing.assert_array_equal(a.eval_outputs, b.eval_outputs)
        assert a.history == b.history
    assert not np.allclose(first.models[0].eval_outputs, reused.models[0].eval_outputs)


def test_fingerprint_ignores_names_and_dropout_rates_only():
    def fingerprint(**axes):
        values = {"hidden_units": 6, "activation": "relu", "dropout": 0.3, **axes}
        return architecture_fingerprint(build_seeded(mlp, values, n_features=5, n_classes=2, seed=1))

    assert fingerprint() == fingerprint() == fingerprint(dropout=0.0) == fingerprint(dropout=0.6)
    assert len({fingerprint(), fingerprint(hidden_units=7), fingerprint(activation="tanh")}) == 3


def test_layers_named_after_their_settings_keep_them_apart():
    def named_after_activation(n_features, n_classes, activation):
        inputs = keras.Input((n_features,))
        hidden = keras.layers.Activation(activation, name=activation)(keras.layers.Dense(3)(inputs))
        return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(hidden))

    relu, tanh = (
        architecture_fingerprint(
            build_seeded(named_after_activation, {"activation": a}, n_features=5, n_classes=2, seed=1)
        )
        for a in ("relu", "tanh")
    )
    assert relu != tanh


def test_custom_functions_leave_a_model_without_fingerprint():
    def leaky(slope):
        def activation(x):
            return keras.ops.maximum(x, slope * x)

        return activation

    def builder(n_features, n_classes, slope):
        inputs = keras.Input((n_features,))
        hidden = keras.layers.Dense(3, activation=leaky(slope))(inputs)
        return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(hidden))

    model = build_seeded(builder, {"slope": 0.1}, n_features=5, n_classes=2, seed=1)
    assert architecture_fingerprint(model) is None  # its config names the function, not the slope


def test_models_whose_config_may_not_say_everything_have_no_fingerprint():
    class Scaled(keras.Model):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor
            self.dense = keras.layers.Dense(2, activation="softmax")

        def call(self, x):
            return self.dense(x * self.factor)

    subclassed = build_seeded(lambda n_features, n_classes: Scaled(3.0), {}, n_features=5, n_classes=2, seed=1)
    inputs = keras.Input((5,))
    scaled = keras.layers.Lambda(lambda x: x * 3.0)(inputs)
    with_lambda = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(scaled))
    assert architecture_fingerprint(subclassed) is None and architecture_fingerprint(with_lambda) is None


def test_short_epochs_run_as_a_graph_long_ones_compile_whatever_the_epochs():
    assert loop_mode(steps_per_epoch=14) == "graph"
    assert loop_mode(steps_per_epoch=15) == "xla"


# Batch size 4: 3 epochs x up to 114 batches, long enough for XLA; 2 loops (hidden_units 4, 8).
XLA_CONFIG = {**TINY_CONFIG, "grid": {**TINY_CONFIG["grid"], "batch_size": [4]}}


def cell_records(workdir):
    """Each cell's record: {cell: record}."""
    return {read_record(path).cell: read_record(path) for path in (workdir / "results/cells").rglob("metrics.json")}


def cell_results(workdir):
    """What each cell computed, bit for bit: every model's epochs, outputs and curves (not how long it took)."""
    results = {}
    for path in (workdir / "results/cells").rglob("metrics.json"):
        record, arrays = read_cell(path)
        outputs = [o.tobytes() for o in arrays.outputs]
        results[record.cell] = [m.epochs_run for m in record.models], outputs, arrays.history.tobytes()
    return results


@pytest.fixture(scope="module")
def compiled_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("compiled")
    write_config(workdir, XLA_CONFIG)
    snakemake(workdir, "--cores", "2")
    return workdir


def test_each_distinct_loop_compiles_once_in_a_run(compiled_run):
    records = cell_records(compiled_run).values()
    sources = sorted(r.timing.loop_source for r in records)
    assert sources == ["compiled", "compiled", "memory", "memory"]
    assert {r.timing.loop_mode for r in records} == {"xla"}
    assert len({r.execution.pid for r in records}) == 1  # one training process


def test_a_later_run_loads_loops_from_disk_and_computes_the_same(compiled_run, tmp_path):
    cache = compiled_run / ".snakemake/gridflow/xla-cache"
    programs = sorted(cache.rglob("*.pb"))
    write_config(tmp_path, XLA_CONFIG)
    snakemake(tmp_path, "--cores", "2", env={"GRIDFLOW_XLA_CACHE": str(cache)})
    assert sorted(cache.rglob("*.pb")) == programs  # nothing compiled anew
    after = cell_records(tmp_path)
    assert sorted(r.timing.loop_source for r in after.values()) == ["disk", "disk", "memory", "memory"]
    assert cell_results(tmp_path) == cell_results(compiled_run)


def test_a_corrupt_cache_entry_compiles_again_and_changes_nothing(compiled_run, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(compiled_run / ".snakemake/gridflow/xla-cache", cache)
    entries = list(cache.rglob("*.pb"))
    assert len(entries) == 2
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:100])  # cut short, as a crash mid-write would leave it
    write_config(tmp_path, XLA_CONFIG)
    snakemake(tmp_path, "--cores", "2", env={"GRIDFLOW_XLA_CACHE": str(cache)})
    after = cell_records(tmp_path)
    assert "disk" not in {r.timing.loop_source for r in after.values()}
    assert all(r.status == "ok" and r.timing.loop_mode == "xla" for r in after.values())
    assert cell_results(tmp_path) == cell_results(compiled_run)
    assert list(cache.glob("*.unreadable-*"))  # set aside for inspection


def test_a_cell_computes_the_same_whatever_else_the_grid_holds(compiled_run, tmp_path):
    config = copy.deepcopy(XLA_CONFIG)
    config["grid"] = {"hidden_units": [8], "learning_rate": [0.5], "batch_size": [4]}
    write_config(tmp_path, config)
    snakemake(tmp_path, "--cores", "1")
    ((cell, results),) = cell_results(tmp_path).items()
    assert results == cell_results(compiled_run)[cell]


# Two values of every axis the registry knows.
SAMPLES = {
    "batch_size": (16, 32),
    "learning_rate": (0.1, 0.3),
    "hidden_units": (4, 5),
    "dropout": (0.0, 0.4),
    "activation": ("tanh", "relu"),
    "epochs": (2, 3),
    "optimizer": ("sgd", "adam"),
    "momentum": (0.0, 0.9),
    "scaler": ("standard", "minmax"),
    "impute": ("median", "mean"),
}


@pytest.fixture(scope="module")
def split_file(tmp_path_factory):
    from gridflow.data.load import load_dataset
    from gridflow.data.split import make_split, save_split

    path = tmp_path_factory.mktemp("split") / "split.npz"
    dataset = load_dataset("breast_cancer", None)
    save_split(make_split(dataset, test_size=0.2, cv_folds=2, validation_size=0.2, seed=1), path)
    return str(path)


@pytest.mark.parametrize("axis", sorted(SAMPLES))
def test_only_loop_input_axes_share_a_loop(axis, split_file, tmp_path):
    from test_train import SETTINGS

    from gridflow.spec.axes import KNOWN_AXES
    from gridflow.train.caches import clear_all as clear_process_caches
    from gridflow.train.cell import train_cell_in_process

    assert set(SAMPLES) == set(KNOWN_AXES)  # a new axis needs its two values here
    clear_process_caches()
    sources = []
    for value in SAMPLES[axis]:
        values = {name: pair[0] for name, pair in SAMPLES.items()} | {axis: value}
        record = train_cell_in_process(
            split_file, values, SETTINGS, metrics=str(tmp_path / f"{value}.json"), log=str(tmp_path / "log")
        )
        sources.append(record.timing.loop_source)
    assert sources[1] == ("memory" if KNOWN_AXES[axis].loop_input else "compiled")
