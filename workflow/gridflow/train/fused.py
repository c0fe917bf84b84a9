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

import hashlib
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gridflow.train import caches, loop, optimizer
from gridflow.train.fingerprint import runtime_dropout_layers
from gridflow.train.fitting import HISTORY_KEYS_BY_TASK, FitResult, FitSettings, ModelResult, ModelTask
from gridflow.train.lru import BoundedCache
from gridflow.train.seeding import ModelState

# A cell compiles its loop with XLA when each model runs at least this many
# optimizer steps (epochs x batches per epoch); shorter cells run the loop as a
# plain TensorFlow graph. Measured (docs/benchmarks.md): XLA saves about 1.5 ms
# a step and costs 1-3 s to compile, so it pays once a loop's cells run some
# 1,500 steps together; 300 a cell covers the 4-12 cells that usually share one.
# Decided by the cell alone, so its results never depend on the rest of the grid.
XLA_MIN_STEPS = 300


class UnsupportedModel(Exception):
    """The models cannot be trained by the fused loop; use ``model.fit``."""


# A loop's names (and so its disk cache marker) change with the code that traces it.
_SOURCE_DIGEST = hashlib.sha256(
    b"".join(Path(module.__file__).read_bytes() for module in (sys.modules[__name__], loop, optimizer))
).hexdigest()[:16]


# Compiled loops, bounded so a long-lived process's memory stays flat.
_loops = BoundedCache(64)
# Loops XLA could not compile, and why: their cells run the graph.
_xla_failures: dict[tuple, str] = {}


def clear_loop_cache() -> None:
    """Forget every compiled loop of this process (the next cell of each compiles again)."""
    _loops.clear()
    _xla_failures.clear()


caches.register(clear_loop_cache)


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
    (``fingerprint.architecture_fingerprint``, or the builder and axis values
    where there is none): cells with equal names, optimizer, epochs and data
    shapes share one loop. A model whose loss turns NaN or infinite stops
    updating from that step on and is reported as diverged.

    Raises
    ------
    UnsupportedModel
        If the models cannot be stacked or the loop cannot be compiled.
    """
    started = time.perf_counter()
    check_supported(template, states)
    steps = max(math.ceil(len(t.x_train) / settings.batch_size) for t in tasks)
    data = loop_inputs(template, tasks, settings, steps=steps)
    trainable = [np.stack([s.trainable[j] for s in states]) for j in range(len(states[0].trainable))]
    non_trainable = [np.stack([s.non_trainable[j] for s in states]) for j in range(len(states[0].non_trainable))]
    shapes = tuple((k, v.shape) for k, v in data.items()), tuple(v.shape for v in trainable + non_trainable)
    inputs = {k: tf.constant(v) for k, v in data.items()}
    mode, note = loop_mode(settings.epochs, steps), None
    while True:
        key = (architecture, settings.task, settings.optimizer, settings.momentum > 0, settings.epochs, mode, shapes)
        if key in _xla_failures:
            mode, note = "graph", _xla_failures[key]
            continue
        try:
            out, source = _cached_loop(key, template, settings, mode).run(trainable, non_trainable, inputs)
            break
        except (tf.errors.OpError, ValueError, TypeError, NotImplementedError) as error:
            _loops.discard(key)
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            if mode == "graph":
                raise UnsupportedModel(f"the fused loop failed to build: {reason}") from error
            # Remembered, so the loop's other cells in this process go straight to the graph.
            _xla_failures[key] = f"XLA could not compile the loop, ran it as a TensorFlow graph: {reason}"
    seconds = time.perf_counter() - started
    models = _model_results(out, tasks, settings.task)
    return FitResult(models, trainer="fused", seconds=seconds, loop_source=source, loop_mode=mode, note=note)


def loop_inputs(template: keras.Model, tasks: Sequence[ModelTask], settings: FitSettings, *, steps: int) -> dict:
    """The loop's inputs as NumPy arrays: every model's batch order, data and the cell's rates, stacked."""
    schedules = [
        batch_schedule(len(t.x_train), epochs=settings.epochs, batch_size=settings.batch_size, steps=steps,
                       seed=t.shuffle_seed)
        for t in tasks
    ]  # fmt: skip
    n_classes = int(template.output_shape[-1])
    label_type = np.int32 if settings.task == "classification" else np.float32
    return {
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


def _model_results(out, tasks: Sequence[ModelTask], task: str) -> list[ModelResult]:
    """Each model's eval outputs, divergence and history from the loop's stacked outputs."""
    diverged, epochs_run, history, probs = (x.numpy() for x in out)
    keys = HISTORY_KEYS_BY_TASK[task]
    results = []
    for i, model_task in enumerate(tasks):
        n = int(epochs_run[i])
        curves = {key: [float(x) for x in history[k][:n, i]] for k, key in enumerate(keys)}
        results.append(ModelResult(probs[i, : len(model_task.x_eval)], bool(diverged[i]), n, curves))
    return results


def _cached_loop(key: tuple, template: keras.Model, settings: FitSettings, mode: str) -> loop.FusedLoop:
    """The loop for ``key``: this process's, or a new one (built on its first run)."""

    def new_loop() -> loop.FusedLoop:
        caches.count_loop_built()
        # Above TensorFlow's own counter and below 2**63 (the names' numbers are also tensor ids).
        digest = hashlib.sha256(f"{_SOURCE_DIGEST}{key!r}".encode()).hexdigest()
        name_seed = 10**12 + int(digest[:9], 16) * 10**6
        return loop.FusedLoop(template, settings, jit_compile=mode == "xla", name_seed=name_seed)

    built, _ = _loops.get_or_create(key, new_loop)
    return built


def _stack_padded(arrays: Sequence[np.ndarray], dtype) -> np.ndarray:
    rows = max(len(a) for a in arrays)
    out = np.zeros((len(arrays), rows, *arrays[0].shape[1:]), dtype=dtype)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out
