"""Train many copies of one Keras architecture together in one compiled loop.

Each model keeps its own weights, optimizer state, dropout noise, batch order
and data. The models are stacked along a leading axis and run through the
architecture once with ``tf.vectorized_map`` over Keras' ``stateless_call``, so
the graph (and XLA's compile time) does not grow with the number of models.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class ModelTask:
    """What one model trains on and is scored on."""

    shuffle_seed: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_eval: np.ndarray
    y_eval: np.ndarray


@dataclass(frozen=True)
class FitSettings:
    """Training settings shared by all models of a cell."""

    epochs: int
    batch_size: int
    learning_rate: float
    optimizer: str = "sgd"
    momentum: float = 0.0
    class_weight: tuple[float, ...] | None = None


@dataclass
class FitResult:
    """Outcome of training one model: its eval-set probabilities and history."""

    eval_probabilities: np.ndarray
    diverged: bool
    epochs_run: int
    history: dict[str, list[float]]


class UnsupportedModel(Exception):
    """The models cannot be trained by the fused loop; use ``model.fit``."""


def batch_schedule(n_samples: int, epochs: int, batch_size: int, steps: int, seed: int):
    """Shuffled sample order per epoch as (indices, mask), each [epochs, steps, batch].

    Like ``model.fit(shuffle=True)``: a fresh permutation every epoch and a
    partial last batch. Slots past a model's own samples have mask 0.
    """
    rng = np.random.default_rng(seed)
    indices = np.zeros((epochs, steps * batch_size), dtype=np.int32)
    mask = np.zeros((epochs, steps * batch_size), dtype=np.float32)
    for epoch in range(epochs):
        indices[epoch, :n_samples] = rng.permutation(n_samples)
        mask[epoch, :n_samples] = 1.0
    shape = (epochs, steps, batch_size)
    return indices.reshape(shape), mask.reshape(shape)


def check_supported(models: Sequence[keras.Model]) -> None:
    """Raise UnsupportedModel if the models cannot share one fused loop."""
    template = models[0]
    for layer in template._flatten_layers():
        if getattr(layer, "stateful", False):
            raise UnsupportedModel(f"layer {layer.name!r} is stateful")
    shapes = [[tuple(v.shape) for v in m.variables] for m in models]
    if any(s != shapes[0] for s in shapes):
        raise UnsupportedModel("the builder returned models with different variable shapes")


def fused_fit(models: Sequence[keras.Model], tasks: Sequence[ModelTask], settings: FitSettings) -> list[FitResult]:
    """Train ``models[i]`` on ``tasks[i]`` for every i in one XLA-compiled loop.

    A model whose loss turns NaN or infinite stops updating from that step on
    and is reported as diverged. The trained weights are written back into
    ``models``.

    Raises
    ------
    UnsupportedModel
        If the models cannot be stacked or the loop cannot be compiled.
    """
    check_supported(models)
    template = models[0]
    n_models, epochs, batch = len(models), settings.epochs, settings.batch_size
    steps = max(math.ceil(len(t.x_train) / batch) for t in tasks)
    schedules = [batch_schedule(len(t.x_train), epochs, batch, steps, t.shuffle_seed) for t in tasks]
    data = {
        "order": np.stack([s[0] for s in schedules]),
        "mask": np.stack([s[1] for s in schedules]),
        "x_train": _stack_padded([t.x_train for t in tasks], np.float32),
        "y_train": _stack_padded([t.y_train for t in tasks], np.int32),
        "x_eval": _stack_padded([t.x_eval for t in tasks], np.float32),
        "y_eval": _stack_padded([t.y_eval for t in tasks], np.int32),
        "eval_mask": _stack_padded([np.ones(len(t.x_eval)) for t in tasks], np.float32),
    }
    n_classes = int(template.output_shape[-1])
    class_weight = settings.class_weight or (1.0,) * n_classes
    trainable = [tf.stack([m.trainable_variables[j].value for m in models]) for j in range(len(models[0].trainable_variables))]
    non_trainable = [
        tf.stack([m.non_trainable_variables[j].value for m in models])
        for j in range(len(models[0].non_trainable_variables))
    ]
    loop = _FusedLoop(template, settings, steps, class_weight)
    try:
        out = loop.run(trainable, non_trainable, {k: tf.constant(v) for k, v in data.items()})
    except (tf.errors.OpError, ValueError, TypeError, NotImplementedError) as error:
        raise UnsupportedModel(f"the fused loop failed to build or compile: {type(error).__name__}: {error}") from error
    trainable, non_trainable, diverged, epochs_run, history, probs = (x.numpy() if hasattr(x, "numpy") else x for x in out)
    for i, model in enumerate(models):
        for var, stacked in zip(model.trainable_variables, trainable):
            var.assign(stacked[i].numpy())
        for var, stacked in zip(model.non_trainable_variables, non_trainable):
            var.assign(stacked[i].numpy())
    results = []
    for i, task in enumerate(tasks):
        n = int(epochs_run[i])
        curves = {key: [float(x) for x in history[k][:n, i]] for k, key in enumerate(HISTORY_KEYS)}
        results.append(FitResult(probs[i, : len(task.x_eval)], bool(diverged[i]), n, curves))
    return results


def _stack_padded(arrays: Sequence[np.ndarray], dtype) -> np.ndarray:
    rows = max(len(a) for a in arrays)
    out = np.zeros((len(arrays), rows, *arrays[0].shape[1:]), dtype=dtype)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def _cross_entropy(labels: tf.Tensor, probs: tf.Tensor) -> tf.Tensor:
    """Per-sample cross-entropy of predicted probabilities, clipped as Keras clips."""
    picked = tf.gather(probs, labels, batch_dims=labels.shape.rank)
    epsilon = keras.config.epsilon()
    return -tf.math.log(tf.clip_by_value(picked, epsilon, 1.0 - epsilon))


def _all_finite(tensors: Sequence[tf.Tensor]) -> tf.Tensor:
    """Per model: whether every value of every stacked tensor is finite."""
    checks = [tf.reduce_all(tf.reshape(tf.math.is_finite(t), [t.shape[0], -1]), axis=1) for t in tensors]
    return tf.reduce_all(tf.stack(checks), axis=0)


def _per_model(flags: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Reshape a [models] vector so it broadcasts against a stacked tensor."""
    return tf.reshape(flags, [-1] + [1] * (like.shape.rank - 1))


class _FusedLoop:
    """The compiled training loop over stacked model states."""

    def __init__(self, template: keras.Model, settings: FitSettings, steps: int, class_weight):
        self.template = template
        self.settings = settings
        self.steps = steps
        self.class_weight = tf.constant(class_weight, tf.float32)
        self.optimizer = _Optimizer(settings)

    def forward(self, trainable, non_trainable, x, training: bool):
        """Run every model on its own inputs: x is [models, batch, features]."""

        def one(args):
            t, n, xi = args
            probs, n_new = self.template.stateless_call(t, n, xi, training=training)
            return probs, n_new

        return tf.vectorized_map(one, (trainable, non_trainable, x))

    def run(self, trainable, non_trainable, data):
        n_models = data["order"].shape[0]
        epochs = self.settings.epochs
        xla_loop = tf.function(self._loop, jit_compile=True)
        return xla_loop(trainable, non_trainable, data, tf.zeros([n_models], tf.bool), epochs)

    def _loop(self, trainable, non_trainable, data, diverged, epochs):
        n_models = data["order"].shape[0]
        slots = self.optimizer.init_slots(trainable)
        epochs_run = tf.zeros([n_models], tf.int32)
        history = tf.zeros([len(HISTORY_KEYS), epochs, n_models])
        for epoch in tf.range(epochs):
            alive = tf.logical_not(diverged)
            sums = tf.zeros([3, n_models])
            for step in tf.range(self.steps):
                trainable, non_trainable, slots, diverged, sums = self._step(
                    trainable, non_trainable, slots, diverged, sums, data, epoch, step
                )
            val_loss, val_acc = self._evaluate(trainable, non_trainable, data)
            seen = tf.maximum(sums[2], 1.0)
            row = tf.stack([sums[0] / seen, sums[1] / seen, val_loss, val_acc])
            history = tf.tensor_scatter_nd_update(
                history, tf.stack([tf.range(4), tf.fill([4], epoch)], axis=1), row
            )
            epochs_run += tf.cast(tf.logical_and(alive, tf.logical_not(diverged)), tf.int32)
        probs, _ = self.forward(trainable, non_trainable, data["x_eval"], training=False)
        return trainable, non_trainable, diverged, epochs_run, history, probs

    def _step(self, trainable, non_trainable, slots, diverged, sums, data, epoch, step):
        idx = data["order"][:, epoch, step]
        weights = data["mask"][:, epoch, step]
        xb = tf.gather(data["x_train"], idx, batch_dims=1)
        yb = tf.gather(data["y_train"], idx, batch_dims=1)
        counts = tf.reduce_sum(weights, axis=1)
        sample_weight = weights * tf.gather(self.class_weight, yb)
        with tf.GradientTape() as tape:
            tape.watch(trainable)
            probs, new_non_trainable = self.forward(trainable, non_trainable, xb, training=True)
            per_sample = _cross_entropy(yb, probs)
            losses = tf.reduce_sum(sample_weight * per_sample, axis=1) / tf.maximum(counts, 1.0)
            total = tf.reduce_sum(losses)  # models are independent: d(total)/d(model i) = d(loss i)
        grads = tape.gradient(total, trainable)
        finite = tf.logical_and(tf.math.is_finite(losses), _all_finite(grads))
        active = tf.logical_and(counts > 0, tf.logical_not(diverged))
        update = tf.logical_and(active, finite)
        trainable, slots = self.optimizer.apply(trainable, grads, slots, update)
        non_trainable = [tf.where(_per_model(active, n), new, n) for n, new in zip(non_trainable, new_non_trainable)]
        diverged = tf.logical_or(diverged, tf.logical_and(active, tf.logical_not(finite)))
        hits = tf.cast(tf.equal(tf.argmax(probs, -1, output_type=tf.int32), yb), tf.float32)
        done = tf.cast(update, tf.float32)
        sums += tf.stack([done * losses * counts, done * tf.reduce_sum(weights * hits, axis=1), done * counts])
        return trainable, non_trainable, slots, diverged, sums

    def _evaluate(self, trainable, non_trainable, data):
        probs, _ = self.forward(trainable, non_trainable, data["x_eval"], training=False)
        mask = data["eval_mask"]
        per_sample = _cross_entropy(data["y_eval"], probs)
        per_sample = tf.where(mask > 0, per_sample, 0.0)
        hits = tf.cast(tf.equal(tf.argmax(probs, -1, output_type=tf.int32), data["y_eval"]), tf.float32)
        total = tf.reduce_sum(mask, axis=1)
        return tf.reduce_sum(per_sample, axis=1) / total, tf.reduce_sum(mask * hits, axis=1) / total


class _Optimizer:
    """SGD (optionally with momentum) or Adam on stacked weights, as Keras does it.

    Written out so that each model's update can be switched off on its own
    (a padding step past its data, or after it diverged) without touching
    its state.
    """

    def __init__(self, settings: FitSettings):
        self.settings = settings

    def init_slots(self, trainable):
        n_models = trainable[0].shape[0]
        if self.settings.optimizer == "adam":
            zeros = [tf.zeros_like(v) for v in trainable]
            return {"m": zeros, "v": [tf.zeros_like(v) for v in trainable], "t": tf.zeros([n_models])}
        if self.settings.momentum:
            return {"m": [tf.zeros_like(v) for v in trainable]}
        return {}

    def apply(self, trainable, grads, slots, update):
        lr = self.settings.learning_rate
        keep = [_per_model(update, v) for v in trainable]
        if self.settings.optimizer == "adam":
            b1, b2, eps = 0.9, 0.999, 1e-7
            t = slots["t"] + tf.cast(update, tf.float32)
            lr_t = lr * tf.sqrt(1 - b2**t) / (1 - b1**t)
            new_m, new_v, new_w = [], [], []
            for w, g, m, v, k in zip(trainable, grads, slots["m"], slots["v"], keep):
                m2 = m + (g - m) * (1 - b1)
                v2 = v + (tf.square(g) - v) * (1 - b2)
                step = _per_model(lr_t, w) * m2 / (tf.sqrt(v2) + eps)
                new_m.append(tf.where(k, m2, m))
                new_v.append(tf.where(k, v2, v))
                new_w.append(tf.where(k, w - step, w))
            return new_w, {"m": new_m, "v": new_v, "t": t}
        if self.settings.momentum:
            new_m, new_w = [], []
            for w, g, m, k in zip(trainable, grads, slots["m"], keep):
                m2 = self.settings.momentum * m - lr * g
                new_m.append(tf.where(k, m2, m))
                new_w.append(tf.where(k, w + m2, w))
            return new_w, {"m": new_m}
        return [tf.where(k, w - lr * g, w) for w, g, k in zip(trainable, grads, keep)], slots
