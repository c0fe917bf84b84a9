"""The compiled training loop over stacked model states, and what makes it one program per architecture.

Traced with names that depend on the loop alone, so XLA's on-disk cache finds
a loop another process compiled; the learning rate, momentum and every
``Dropout`` rate are inputs, not constants.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from unittest import mock

import keras
import tensorflow as tf
from keras.src.backend.tensorflow import random as keras_tf_random
from tensorflow.python.framework import ops as tf_ops

from gridflow.train.backend import active_xla_cache
from gridflow.train.fingerprint import runtime_dropout_layers
from gridflow.train.fitting import FitSettings, has_momentum
from gridflow.train.optimizer import Optimizer, per_model
from gridflow.train.seeding import seed_lock


def _cross_entropy(labels: tf.Tensor, probs: tf.Tensor) -> tf.Tensor:
    """Per-sample cross-entropy of predicted probabilities, clipped as Keras clips."""
    picked = tf.gather(probs, labels, batch_dims=labels.shape.rank)
    epsilon = keras.config.epsilon()
    return -tf.math.log(tf.clip_by_value(picked, epsilon, 1.0 - epsilon))


def _loss_and_score(task: str, labels: tf.Tensor, outputs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-sample loss and second curve: cross-entropy and hit (classification), or squared and absolute
    error of the one output (regression, on the standardised label: Keras' mse and mae)."""
    if task == "classification":
        hits = tf.cast(tf.equal(tf.argmax(outputs, -1, output_type=tf.int32), labels), tf.float32)
        return _cross_entropy(labels, outputs), hits
    error = outputs[..., 0] - labels
    return tf.square(error), tf.abs(error)


def _all_finite(tensors: Sequence[tf.Tensor]) -> tf.Tensor:
    """Per model: whether every value of every stacked tensor is finite."""
    checks = [tf.reduce_all(tf.math.is_finite(t), axis=list(range(1, t.shape.rank))) for t in tensors]
    return tf.reduce_all(tf.stack(checks), axis=0)


@contextlib.contextmanager
def _dropout_rates_as_inputs(layers: Sequence[keras.layers.Dropout], rates: tf.Tensor):
    """While the loop is traced, each Dropout layer drops at ``rates[i]``, a loop input, not its own rate.

    Keras' ``Dropout.call`` skips at rate 0 by a Python test, which would bake
    the rate into the program; this call draws the same noise from the same
    seed state for every rate (rate 0 keeps every unit: x / 1 * 1).
    """

    def call_at(layer, rate):
        def call(inputs, training=False):
            if not training:
                return inputs
            # Keras' TensorFlow dropout without its Python tests of the rate (pinned Keras; tested).
            seed = keras_tf_random._cast_seed(keras_tf_random.draw_seed(layer.seed_generator))
            shape = keras_tf_random._get_concrete_noise_shape(inputs, layer.noise_shape)
            return tf.nn.experimental.stateless_dropout(inputs, rate=rate, noise_shape=shape, seed=seed)

        return call

    for i, layer in enumerate(layers):
        layer.call = call_at(layer, rates[i])
    try:
        yield
    finally:
        for layer in layers:
            del layer.call


@contextlib.contextmanager
def _uids_from(start: int):
    """Number what TensorFlow traces in the block from ``start``, not from its process-wide counter.

    The compiled program's name (part of XLA's disk cache key) and its inner
    functions' names come from that counter, so without this the same loop
    traced after different cells would miss the cache. Callers hold seed_lock.
    """
    counter = itertools.count(start)
    with mock.patch.object(tf_ops, "uid", lambda: next(counter)):
        yield


def _entries(cache: Path) -> set[str]:
    """The compiled programs in the cache folder."""
    return {path.name for path in cache.glob("*.pb")}


def _set_aside(cache: Path) -> None:
    """Move a cache folder that TensorFlow could not read out of the way, keeping it for inspection."""
    with contextlib.suppress(OSError):
        cache.rename(cache.with_name(f"{cache.name}.unreadable-{os.getpid()}-{time.time_ns()}"))
    cache.mkdir(parents=True, exist_ok=True)


class FusedLoop:
    """The compiled training loop over stacked model states: one call trains every model one epoch.

    The epoch's batch order is an input, so one program serves every epoch and
    any number of them: a cell that goes on from a kept state compiles nothing
    new. The state (weights, ``Dropout`` random streams, optimizer slots,
    divergence) goes in and comes out as tensors.
    """

    def __init__(self, template: keras.Model, settings: FitSettings, jit_compile: bool, name_seed: int):
        self.template = template
        self.dropout_layers = runtime_dropout_layers(template)
        self.optimizer = Optimizer(settings.optimizer, has_momentum(settings))
        self.task = settings.task
        self.jit_compile = jit_compile
        self.name_seed = name_seed
        self._compiled = tf.function(self._epoch, jit_compile=jit_compile)
        self._built = False
        self._building = threading.Lock()

    def forward(self, trainable, non_trainable, x, *, training: bool, dropout_rates):
        """Run every model on its own inputs: x is [models, batch, features]."""

        def one(args):
            t, n, xi = args
            probs, n_new = self.template.stateless_call(t, n, xi, training=training)
            return probs, n_new

        n_models = x.shape[0]
        with _dropout_rates_as_inputs(self.dropout_layers, dropout_rates):
            outputs = tf.vectorized_map(one, (trainable, non_trainable, x))
        # vectorized_map may lose the static number of models; the loop needs it.
        return tf.nest.map_structure(lambda t: tf.ensure_shape(t, [n_models] + t.shape[1:]), outputs)

    def initial_slots(self, trainable) -> dict:
        """The optimizer's state before the first step."""
        return self.optimizer.init_slots(trainable)

    def run(self, state: dict, data: dict, schedule: dict) -> tuple[tuple, str]:
        """Train every model one epoch from ``state`` (trainable, non_trainable, slots, diverged, epochs_run).

        Returns ((new state, the epoch's history row [4, models], eval outputs), loop source):
        ``compiled`` or ``disk`` for the call that built the loop, ``memory`` for every later one (also one
        that waited for the build).
        """
        if not self._built:
            with self._building:
                if not self._built:
                    out, source = self._build_and_run(state, data, schedule)
                    self._built = True
                    return out, source
        return self._compiled(state, data, schedule), "memory"

    def _build_and_run(self, state, data, schedule) -> tuple[tuple, str]:
        """Trace with names that depend on the loop alone, then run: XLA compiles, or loads from its disk cache.

        ``disk`` only when a marker says an earlier run compiled this loop into
        the cache and no new entry appeared while it ran (another loop
        compiling at the same moment makes it ``compiled``: never the other way).
        """
        args = (state, data, schedule)
        self._trace(args, self.name_seed)
        cache = active_xla_cache() if self.jit_compile else None
        if cache is None:
            return self._compiled(*args), "compiled"
        marker = cache / f"gridflow-loop-{self.name_seed}"
        expected, before = marker.exists(), _entries(cache)
        try:
            out = self._compiled(*args)
        except tf.errors.OpError:
            if not expected:
                raise  # XLA cannot compile this model: the caller runs it as a graph
            # Its entry is unreadable (cut short by a crash, corrupt). TensorFlow remembers the
            # failure under the program's name, so trace under other names and compile.
            _set_aside(cache)
            self._trace(args, self.name_seed + 500_000)
            out, expected = self._compiled(*args), False
        loaded = expected and marker.exists() and not (_entries(cache) - before)
        if not loaded:
            with contextlib.suppress(OSError):
                marker.touch()
        return out, "disk" if loaded else "compiled"

    def _trace(self, args, name_seed: int) -> None:
        self._compiled = tf.function(self._epoch, jit_compile=self.jit_compile)
        with seed_lock, _uids_from(name_seed):
            self._compiled.get_concrete_function(*args)

    def _epoch(self, state, data, schedule):
        trainable, non_trainable, slots = state["trainable"], state["non_trainable"], state["slots"]
        diverged, epochs_run = state["diverged"], state["epochs_run"]
        n_models, steps = schedule["order"].shape[0], schedule["order"].shape[1]
        alive = tf.logical_not(diverged)
        sums = tf.zeros([3, n_models])
        for step in tf.range(steps):
            batch = (schedule["order"][:, step], schedule["mask"][:, step])
            trainable, non_trainable, slots, diverged, sums = self._step(
                (trainable, non_trainable, slots, diverged, sums), data, batch
            )
        val_loss, val_score, probs = self._evaluate(trainable, non_trainable, data)
        seen = tf.maximum(sums[2], 1.0)
        row = tf.stack([sums[0] / seen, sums[1] / seen, val_loss, val_score])
        epochs_run += tf.cast(tf.logical_and(alive, tf.logical_not(diverged)), tf.int32)
        new_state = {"trainable": trainable, "non_trainable": non_trainable, "slots": slots, "diverged": diverged,
                     "epochs_run": epochs_run}  # fmt: skip
        return new_state, row, probs

    def _step(self, state, data, batch):
        """One optimizer step of every model; ``state`` is (trainable, non_trainable, slots, diverged, sums)."""
        trainable, non_trainable, slots, diverged, sums = state
        idx, weights = batch
        xb = tf.gather(data["x_train"], idx, batch_dims=1)
        yb = tf.gather(data["y_train"], idx, batch_dims=1)
        counts = tf.reduce_sum(weights, axis=1)
        # Class weights weigh classes; a regression label has none.
        sample_weight = weights * tf.gather(data["class_weight"], yb) if self.task == "classification" else weights
        with tf.GradientTape() as tape:
            tape.watch(trainable)
            probs, new_non_trainable = self.forward(
                trainable, non_trainable, xb, training=True, dropout_rates=data["dropout_rates"]
            )
            per_sample, scores = _loss_and_score(self.task, yb, probs)
            losses = tf.reduce_sum(sample_weight * per_sample, axis=1) / tf.maximum(counts, 1.0)
            total = tf.reduce_sum(losses)  # models are independent: d(total)/d(model i) = d(loss i)
        grads = [tf.ensure_shape(g, w.shape) for g, w in zip(tape.gradient(total, trainable), trainable)]
        new_trainable, new_slots = self.optimizer.apply(trainable, grads, slots, data)
        finite = tf.logical_and(tf.math.is_finite(losses), _all_finite(grads))
        finite = tf.logical_and(finite, _all_finite(new_trainable))
        active = tf.logical_and(counts > 0, tf.logical_not(diverged))
        update = tf.logical_and(active, finite)
        trainable, slots, non_trainable = tf.nest.map_structure(
            lambda new, old: tf.where(per_model(update, old), new, old),
            (new_trainable, new_slots, new_non_trainable),
            (trainable, slots, non_trainable),
        )
        diverged = tf.logical_or(diverged, tf.logical_and(active, tf.logical_not(finite)))
        done = tf.cast(update, tf.float32)
        sums += tf.stack([done * losses * counts, done * tf.reduce_sum(weights * scores, axis=1), done * counts])
        return trainable, non_trainable, slots, diverged, sums

    def _evaluate(self, trainable, non_trainable, data):
        probs, _ = self.forward(
            trainable, non_trainable, data["x_eval"], training=False, dropout_rates=data["dropout_rates"]
        )
        mask = data["eval_mask"]
        per_sample, scores = _loss_and_score(self.task, data["y_eval"], probs)
        per_sample = tf.where(mask > 0, per_sample, 0.0)
        total = tf.reduce_sum(mask, axis=1)
        return tf.reduce_sum(per_sample, axis=1) / total, tf.reduce_sum(mask * scores, axis=1) / total, probs
