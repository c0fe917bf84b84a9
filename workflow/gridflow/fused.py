"""Train many copies of one Keras architecture together in one compiled loop.

Each model keeps its own weights, optimizer state, dropout noise, batch order
and data. The models are stacked along a leading axis and run through the
architecture once with ``tf.vectorized_map`` over Keras' ``stateless_call``, so
the graph (and XLA's compile time) does not grow with the number of models.

A loop is built once per process for each architecture fingerprint, optimizer,
epochs, data shapes and mode, and reused by every cell that shares them: the
learning rate, momentum and ``Dropout`` rates are inputs, not constants.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import math
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from unittest import mock

import keras
import numpy as np
import tensorflow as tf
from keras.src.backend.tensorflow import random as keras_tf_random
from tensorflow.python.framework import ops as tf_ops

from gridflow.backend import active_xla_cache
from gridflow.fitting import HISTORY_KEYS_BY_TASK, FitResult, FitSettings, ModelResult, ModelTask
from gridflow.lru import BoundedCache
from gridflow.model import ModelState, runtime_dropout_layers, seed_lock

# A cell compiles its loop with XLA when each model runs at least this many
# optimizer steps (epochs x batches per epoch); shorter cells run the loop as a
# plain TensorFlow graph. Measured (docs/benchmarks.md): XLA saves about 1.5 ms
# a step and costs 1-3 s to compile, so it pays once a loop's cells run some
# 1,500 steps together; 300 a cell covers the 4-12 cells that usually share one.
# Decided by the cell alone, so its results never depend on the rest of the grid.
XLA_MIN_STEPS = 300


class UnsupportedModel(Exception):
    """The models cannot be trained by the fused loop; use ``model.fit``."""


# A loop's names (and so its disk cache marker) change with this file's code.
_SOURCE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]

# Compiled loops, bounded so a long-lived process's memory stays flat.
_loops = BoundedCache(64)
_loops_built = 0
# Loops XLA could not compile, and why: their cells run the graph.
_xla_failures: dict[tuple, str] = {}


def loops_built() -> int:
    """How many loops this process has built (traced and compiled) so far."""
    return _loops_built


def clear_loop_cache() -> None:
    """Forget every compiled loop of this process (the next cell of each compiles again)."""
    _loops.clear()
    _xla_failures.clear()


def loop_mode(epochs: int, steps_per_epoch: int) -> str:
    """``xla`` when each model runs at least XLA_MIN_STEPS optimizer steps, else ``graph``."""
    return "xla" if epochs * steps_per_epoch >= XLA_MIN_STEPS else "graph"


def batch_schedule(n_samples: int, *, epochs: int, batch_size: int, steps: int, seed: int):
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


def check_supported(template: keras.Model, states: Sequence[ModelState]) -> None:
    """Raise UnsupportedModel if these models cannot share one fused loop."""
    for layer in template._flatten_layers():
        if getattr(layer, "stateful", False):
            raise UnsupportedModel(f"layer {layer.name!r} is stateful")
    shapes = [[a.shape for a in s.trainable + s.non_trainable] for s in states]
    if any(s != shapes[0] for s in shapes):
        raise UnsupportedModel("the builder returned models with different variable shapes")


def fused_fit(
    template: keras.Model,
    states: Sequence[ModelState],
    tasks: Sequence[ModelTask],
    settings: FitSettings,
    *,
    architecture: str,
) -> FitResult:
    """Train one model per (initial state, task) pair in one compiled loop.

    ``template`` supplies the architecture and the ``Dropout`` rates; its own
    weights are not changed. ``architecture`` names what the template computes
    (``model.architecture_fingerprint``, or the builder and axis values where
    there is none): cells with equal names, optimizer, epochs and data shapes
    share one loop. A model whose loss turns NaN or infinite stops updating
    from that step on and is reported as diverged.

    Raises
    ------
    UnsupportedModel
        If the models cannot be stacked or the loop cannot be compiled.
    """
    started = time.perf_counter()
    check_supported(template, states)
    epochs, batch = settings.epochs, settings.batch_size
    steps = max(math.ceil(len(t.x_train) / batch) for t in tasks)
    schedules = [
        batch_schedule(len(t.x_train), epochs=epochs, batch_size=batch, steps=steps, seed=t.shuffle_seed) for t in tasks
    ]
    n_classes = int(template.output_shape[-1])
    label_type = np.int32 if settings.task == "classification" else np.float32
    data = {
        "order": np.stack([s[0] for s in schedules]),
        "mask": np.stack([s[1] for s in schedules]),
        "x_train": _stack_padded([t.x_train for t in tasks], np.float32),
        "y_train": _stack_padded([t.y_train for t in tasks], label_type),
        "x_eval": _stack_padded([t.x_eval for t in tasks], np.float32),
        "y_eval": _stack_padded([t.y_eval for t in tasks], label_type),
        "eval_mask": _stack_padded([np.ones(len(t.x_eval)) for t in tasks], np.float32),
        "learning_rate": np.float32(settings.learning_rate),
        "momentum": np.float32(settings.momentum),
        "class_weight": np.asarray(settings.class_weight or (1.0,) * n_classes, np.float32),
        "dropout_rates": np.asarray([layer.rate for layer in runtime_dropout_layers(template)], np.float32),
    }
    trainable = [np.stack([s.trainable[j] for s in states]) for j in range(len(states[0].trainable))]
    non_trainable = [np.stack([s.non_trainable[j] for s in states]) for j in range(len(states[0].non_trainable))]
    shapes = tuple((k, v.shape) for k, v in data.items()), tuple(v.shape for v in trainable + non_trainable)
    inputs = {k: tf.constant(v) for k, v in data.items()}
    mode, note = loop_mode(epochs, steps), None
    while True:
        key = (architecture, settings.task, settings.optimizer, settings.momentum > 0, epochs, mode, shapes)
        if key in _xla_failures:
            mode, note = "graph", _xla_failures[key]
            continue
        loop = _cached_loop(key, template, settings, mode)
        try:
            out, source = loop.run(trainable, non_trainable, inputs)
            break
        except (tf.errors.OpError, ValueError, TypeError, NotImplementedError) as error:
            _loops.discard(key)
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            if mode == "graph":
                raise UnsupportedModel(f"the fused loop failed to build: {reason}") from error
            # Remembered, so the loop's other cells in this process go straight to the graph.
            _xla_failures[key] = f"XLA could not compile the loop, ran it as a TensorFlow graph: {reason}"
    diverged, epochs_run, history, probs = (x.numpy() for x in out)
    results = []
    for i, task in enumerate(tasks):
        n = int(epochs_run[i])
        keys = HISTORY_KEYS_BY_TASK[settings.task]
        curves = {key: [float(x) for x in history[k][:n, i]] for k, key in enumerate(keys)}
        results.append(ModelResult(probs[i, : len(task.x_eval)], bool(diverged[i]), n, curves))
    seconds = time.perf_counter() - started
    return FitResult(results, trainer="fused", seconds=seconds, loop_source=source, loop_mode=mode, note=note)


def _cached_loop(key: tuple, template: keras.Model, settings: FitSettings, mode: str) -> _FusedLoop:
    """The loop for ``key``: this process's, or a new one (built on its first run)."""

    def new_loop() -> _FusedLoop:
        global _loops_built
        _loops_built += 1
        # Above TensorFlow's own counter and below 2**63 (the names' numbers are also tensor ids).
        digest = hashlib.sha256(f"{_SOURCE_DIGEST}{key!r}".encode()).hexdigest()
        name_seed = 10**12 + int(digest[:9], 16) * 10**6
        return _FusedLoop(template, settings, jit_compile=mode == "xla", name_seed=name_seed)

    loop, _ = _loops.get_or_create(key, new_loop)
    return loop


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


def _per_model(flags: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Reshape a [models] vector so it broadcasts against a stacked tensor."""
    return tf.reshape(flags, [-1] + [1] * (like.shape.rank - 1))


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


class _FusedLoop:
    """The compiled training loop over stacked model states."""

    def __init__(self, template: keras.Model, settings: FitSettings, jit_compile: bool, name_seed: int):
        self.template = template
        self.dropout_layers = runtime_dropout_layers(template)
        self.optimizer = _Optimizer(settings.optimizer, settings.momentum > 0)
        self.epochs = settings.epochs
        self.task = settings.task
        self.jit_compile = jit_compile
        self.name_seed = name_seed
        self._compiled = tf.function(self._loop, jit_compile=jit_compile)
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

    def run(self, trainable, non_trainable, data) -> tuple[tuple, str]:
        """Train from the stacked initial states.

        Returns ((diverged, epochs_run, history, eval probabilities), loop
        source): ``compiled`` or ``disk`` for the call that built the loop,
        ``memory`` for every later one (also one that waited for the build).
        """
        if not self._built:
            with self._building:
                if not self._built:
                    out, source = self._build_and_run(trainable, non_trainable, data)
                    self._built = True
                    return out, source
        return self._compiled(trainable, non_trainable, data), "memory"

    def _build_and_run(self, trainable, non_trainable, data) -> tuple[tuple, str]:
        """Trace with names that depend on the loop alone, then run: XLA compiles, or loads from its disk cache.

        ``disk`` only when a marker says an earlier run compiled this loop into
        the cache and no new entry appeared while it ran (another loop
        compiling at the same moment makes it ``compiled``: never the other way).
        """
        self._trace(trainable, non_trainable, data, self.name_seed)
        cache = active_xla_cache() if self.jit_compile else None
        if cache is None:
            return self._compiled(trainable, non_trainable, data), "compiled"
        marker = cache / f"gridflow-loop-{self.name_seed}"
        expected, before = marker.exists(), _entries(cache)
        try:
            out = self._compiled(trainable, non_trainable, data)
        except tf.errors.OpError:
            if not expected:
                raise  # XLA cannot compile this model: the caller runs it as a graph
            # Its entry is unreadable (cut short by a crash, corrupt). TensorFlow remembers the
            # failure under the program's name, so trace under other names and compile.
            _set_aside(cache)
            self._trace(trainable, non_trainable, data, self.name_seed + 500_000)
            out, expected = self._compiled(trainable, non_trainable, data), False
        loaded = expected and marker.exists() and not (_entries(cache) - before)
        if not loaded:
            with contextlib.suppress(OSError):
                marker.touch()
        return out, "disk" if loaded else "compiled"

    def _trace(self, trainable, non_trainable, data, name_seed: int) -> None:
        self._compiled = tf.function(self._loop, jit_compile=self.jit_compile)
        with seed_lock, _uids_from(name_seed):
            self._compiled.get_concrete_function(trainable, non_trainable, data)

    def _loop(self, trainable, non_trainable, data):
        n_models, epochs, steps = data["order"].shape[0], self.epochs, data["order"].shape[2]
        diverged = tf.zeros([n_models], tf.bool)
        slots = self.optimizer.init_slots(trainable)
        epochs_run = tf.zeros([n_models], tf.int32)
        history = tf.zeros([len(HISTORY_KEYS_BY_TASK[self.task]), epochs, n_models])
        probs = tf.zeros(data["x_eval"].shape[:2] + self.template.output_shape[-1:])
        for epoch in tf.range(epochs):
            alive = tf.logical_not(diverged)
            sums = tf.zeros([3, n_models])
            for step in tf.range(steps):
                state = (trainable, non_trainable, slots, diverged, sums)
                trainable, non_trainable, slots, diverged, sums = self._step(state, data, epoch, step)
            val_loss, val_acc, probs = self._evaluate(trainable, non_trainable, data)
            seen = tf.maximum(sums[2], 1.0)
            row = tf.stack([sums[0] / seen, sums[1] / seen, val_loss, val_acc])
            history = tf.tensor_scatter_nd_update(history, tf.stack([tf.range(4), tf.fill([4], epoch)], axis=1), row)
            epochs_run += tf.cast(tf.logical_and(alive, tf.logical_not(diverged)), tf.int32)
        return diverged, epochs_run, history, probs

    def _step(self, state, data, epoch, step):
        """One optimizer step of every model; ``state`` is (trainable, non_trainable, slots, diverged, sums)."""
        trainable, non_trainable, slots, diverged, sums = state
        idx = data["order"][:, epoch, step]
        weights = data["mask"][:, epoch, step]
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
            lambda new, old: tf.where(_per_model(update, old), new, old),
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


class _Optimizer:
    """SGD (optionally with momentum) or Adam on stacked weights, as Keras does it.

    Written out so that each model's update can be dropped on its own (a
    padding step past its data, or a step that would diverge) without touching
    its state. The learning rate and momentum are inputs, so one compiled loop
    serves every value of them.
    """

    def __init__(self, name: str, momentum: bool):
        self.name = name
        self.momentum = momentum

    def init_slots(self, trainable):
        if self.name == "adam":
            zeros = [tf.zeros_like(v) for v in trainable]
            return {"m": zeros, "v": [tf.zeros_like(v) for v in trainable], "t": tf.zeros([trainable[0].shape[0]])}
        if self.momentum:
            return {"m": [tf.zeros_like(v) for v in trainable]}
        return {}

    def apply(self, trainable, grads, slots, data):
        """One update of every model; the caller keeps or drops it per model."""
        lr = data["learning_rate"]
        if self.name == "adam":
            b1, b2, eps = 0.9, 0.999, 1e-7
            t = slots["t"] + 1.0
            lr_t = lr * tf.sqrt(1 - b2**t) / (1 - b1**t)
            m = [m + (g - m) * (1 - b1) for g, m in zip(grads, slots["m"])]
            v = [v + (tf.square(g) - v) * (1 - b2) for g, v in zip(grads, slots["v"])]
            w = [w - _per_model(lr_t, w) * mi / (tf.sqrt(vi) + eps) for w, mi, vi in zip(trainable, m, v)]
            return w, {"m": m, "v": v, "t": t}
        if self.momentum:
            m = [data["momentum"] * m - lr * g for g, m in zip(grads, slots["m"])]
            return [w + mi for w, mi in zip(trainable, m)], {"m": m}
        return [w - lr * g for w, g in zip(trainable, grads)], slots
