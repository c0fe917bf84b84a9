"""The fused trainer: each model as if trained alone, and like model.fit."""

import numpy as np
import pytest

from gridflow.train.backend import keras_runtime

keras_runtime(1)

from gridflow.train.fitting import (  # noqa: E402
    FitSettings,
    ModelTask,
    batch_schedule,  # noqa: E402
)
from gridflow.train.fused import fused_fit  # noqa: E402
from gridflow.train.keras_fit import fit_one  # noqa: E402
from gridflow.train.seeding import seeded_models  # noqa: E402


@pytest.fixture(scope="module")
def tasks():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int32)
    # Models with different amounts of data, so their step counts differ.
    return [
        ModelTask(11, x[:150], y[:150], x[150:], y[150:]),
        ModelTask(12, x[20:120], y[20:120], x[150:], y[150:]),
        ModelTask(13, x[:90], y[:90], x[100:150], y[100:150]),
    ]


def states(n, axes=None, spec="mlp"):
    axes = axes or {"hidden_units": 8, "activation": "relu", "dropout": 0.3}
    built = seeded_models(spec, axes, n_features=5, n_classes=2, seeds=[100 + i for i in range(n)])
    return built.template, built.states


def fit(template, states, tasks, settings):
    """The models' results, the loop keyed by the template's fingerprint as a cell's would be."""
    from gridflow.train.fingerprint import architecture_fingerprint

    return fused_fit(template, states, tasks, settings, architecture=architecture_fingerprint(template)).models


def test_batch_schedule_permutes_every_epoch_with_a_partial_last_batch():
    order, mask = batch_schedule(10, epochs=2, batch_size=4, steps=4, seed=1)
    assert order.shape == (2, 4, 4)
    for epoch in range(2):
        assert sorted(order[epoch].reshape(-1)[:10]) == list(range(10))
    assert mask.sum(axis=(1, 2)).tolist() == [10, 10]
    assert mask[0, 3].sum() == 0 and mask[0, 2].sum() == 2
    assert not np.array_equal(order[0], order[1])


def test_a_model_trains_the_same_alone_or_with_others(tasks):
    settings = FitSettings(epochs=4, batch_size=16, learning_rate=0.1)
    template, all_states = states(3)
    together = fit(template, all_states, tasks, settings)
    alone = fit(template, all_states[1:2], tasks[1:2], settings)
    np.testing.assert_allclose(alone[0].eval_outputs, together[1].eval_outputs, atol=1e-5)
    np.testing.assert_allclose(alone[0].history["loss"], together[1].history["loss"], atol=1e-5)


def test_models_differ_by_seed_and_learn(tasks):
    settings = FitSettings(epochs=15, batch_size=16, learning_rate=0.1)
    template, all_states = states(3)
    results = fit(template, all_states, tasks, settings)
    assert not np.allclose(results[0].eval_outputs, results[1].eval_outputs)
    for result in results:
        assert result.epochs_run == 15 and not result.diverged
        assert result.history["loss"][-1] < result.history["loss"][0]
        assert result.history["val_accuracy"][-1] > 0.8


def test_divergence_is_recorded_and_stops_updates(tasks):
    settings = FitSettings(epochs=5, batch_size=16, learning_rate=1e30)
    template, all_states = states(2, {"hidden_units": 8, "activation": "linear", "dropout": 0.0})
    results = fit(template, all_states, tasks[:2], settings)
    for result in results:
        assert result.diverged
        assert result.epochs_run < 5
        assert len(result.history["loss"]) == result.epochs_run


@pytest.mark.parametrize(("optimizer", "momentum"), [("sgd", 0.9), ("adam", 0.0)])
def test_other_optimizers_train(tasks, optimizer, momentum):
    settings = FitSettings(epochs=10, batch_size=16, learning_rate=0.01, optimizer=optimizer, momentum=momentum)
    template, all_states = states(2)
    results = fit(template, all_states, tasks[:2], settings)
    assert all(r.history["val_accuracy"][-1] > 0.8 for r in results)


def test_fused_scores_like_model_fit(tasks):
    """Same data and seeds, different random streams: close on average, not equal."""
    import keras

    settings = FitSettings(epochs=20, batch_size=16, learning_rate=0.1)
    axes = {"hidden_units": 8, "activation": "relu", "dropout": 0.0}
    template, all_states = states(3, axes)
    fused = fit(template, all_states, tasks, settings)
    fitted = []
    for state, task in zip(all_states, tasks):
        model = keras.models.clone_model(template)
        model.set_weights(list(state.trainable))
        fitted.append(fit_one(model, task, settings)[0])
    acc = [r.history["val_accuracy"][-1] for r in fused]
    ref = [r.history["val_accuracy"][-1] for r in fitted]
    assert abs(np.mean(acc) - np.mean(ref)) < 0.05
    assert abs(np.mean([r.history["loss"][-1] for r in fused]) - np.mean([r.history["loss"][-1] for r in fitted])) < 0.1


@pytest.mark.parametrize(("name", "momentum"), [("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0)])
def test_hand_written_updates_equal_keras_optimizers(name, momentum):
    """Three steps of the loop's optimizer on one model equal Keras' own, weight for weight."""
    import keras
    import tensorflow as tf

    from gridflow.train.optimizer import Optimizer as _Optimizer

    rng = np.random.default_rng(3)
    start = [rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(3,)).astype(np.float32)]
    steps = [[rng.normal(size=w.shape).astype(np.float32) for w in start] for _ in range(3)]
    ours = _Optimizer(name, momentum > 0)
    weights = [tf.constant(w[None]) for w in start]  # stacked: one model
    slots = ours.init_slots(weights)
    data = {"learning_rate": tf.constant(0.05), "momentum": tf.constant(momentum, tf.float32)}
    reference = [keras.Variable(w) for w in start]
    optimizer = keras.optimizers.Adam(0.05) if name == "adam" else keras.optimizers.SGD(0.05, momentum=momentum)
    for grads in steps:
        weights, slots = ours.apply(weights, [tf.constant(g[None]) for g in grads], slots, data)
        optimizer.apply_gradients(zip([tf.constant(g) for g in grads], reference))
    for mine, theirs in zip(weights, reference):
        np.testing.assert_allclose(mine.numpy()[0], theirs.numpy(), rtol=1e-6, atol=1e-6)


def test_a_regression_model_trains_like_model_fit_with_mean_squared_error():
    """One linear unit, squared error, the same start and batches: the fused loop follows model.fit."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 5)).astype(np.float32)
    y = (x @ np.array([1.0, -0.5, 0.3, 0.0, 0.8]) + 0.1 * rng.normal(size=120)).astype(np.float32)
    task = ModelTask(21, x[:90], y[:90], x[90:], y[90:])
    settings = FitSettings(epochs=6, batch_size=90, learning_rate=0.05, task="regression")  # one batch: no order
    built = seeded_models("mlp", {"hidden_units": 8, "activation": "linear", "dropout": 0.0}, n_features=5,
                          n_classes=1, seeds=[7], task="regression")  # fmt: skip
    assert built.template.output_shape == (None, 1)
    (fused,) = fit(built.template, built.states, [task], settings)
    from gridflow.train.builders import mlp
    from gridflow.train.seeding import build_seeded

    model = build_seeded(
        mlp,
        {"hidden_units": 8, "activation": "linear", "dropout": 0.0},
        n_features=5,
        n_classes=1,
        seed=7,
        task="regression",
    )  # a model of its own: fit trains it
    reference = fit_one(model, task, settings)[0]
    assert set(fused.history) == set(reference.history) == {"loss", "mae", "val_loss", "val_mae"}
    np.testing.assert_allclose(fused.history["loss"], reference.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(fused.history["val_mae"], reference.history["val_mae"], rtol=1e-4)
    np.testing.assert_allclose(fused.eval_outputs, reference.eval_outputs, rtol=1e-4, atol=1e-5)
    assert fused.history["val_loss"][-1] < fused.history["val_loss"][0]


def test_a_regression_model_trains_the_same_alone_or_with_others_of_other_sizes():
    """Padding (models with fewer samples, a partial last batch) must not leak into the squared error."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(160, 5)).astype(np.float32)
    y = (x[:, 0] - 0.5 * x[:, 2] + 0.1 * rng.normal(size=160)).astype(np.float32)
    tasks = [
        ModelTask(31, x[:130], y[:130], x[130:], y[130:]),
        ModelTask(32, x[10:70], y[10:70], x[130:150], y[130:150]),
    ]
    settings = FitSettings(epochs=3, batch_size=16, learning_rate=0.05, task="regression")
    axes = {"hidden_units": 8, "activation": "relu", "dropout": 0.2}
    built = seeded_models("mlp", axes, n_features=5, n_classes=1, seeds=[41, 42], task="regression")
    together = fit(built.template, built.states, tasks, settings)
    alone = fit(built.template, built.states[1:], tasks[1:], settings)
    assert together[1].eval_outputs.shape == (20, 1)
    np.testing.assert_allclose(alone[0].eval_outputs, together[1].eval_outputs, atol=1e-5)
    np.testing.assert_allclose(alone[0].history["val_mae"], together[1].history["val_mae"], atol=1e-5)
