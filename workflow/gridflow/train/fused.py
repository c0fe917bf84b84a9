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
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from gridflow.train import caches, loop, optimizer
from gridflow.train.fingerprint import runtime_dropout_layers
from gridflow.train.fitting import (
    HISTORY_KEYS_BY_TASK,
    FitResult,
    FitSettings,
    ModelResult,
    ModelsState,
    ModelTask,
    batch_schedule,
    has_momentum,
    holds,
    loop_mode,
    steps_per_epoch,
)
from gridflow.train.lru import BoundedCache
from gridflow.train.optimizer import Optimizer
from gridflow.train.seeding import ModelState


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
    start: ModelsState | None = None,
    start_mode: str | None = None,
) -> FitResult:
    """Train one model per (initial state, task) pair in one compiled loop, from epoch 0 or from ``start``.

    ``template`` supplies the architecture and the ``Dropout`` rates; its own
    weights are not changed. ``architecture`` names what the template computes
    (``fingerprint.architecture_fingerprint``, or the builder and axis values
    where there is none): cells with equal names, optimizer, data shapes and
    mode share one loop, whatever their epochs. A model whose loss turns NaN or
    infinite stops updating from that step on and is reported as diverged.
    Going on from ``start`` (a state of the same models after fewer epochs,
    trained in loop mode ``start_mode``) gives what training from epoch 0
    gives; a state of other models or another mode is passed over (XLA and a
    plain graph may round differently), and ``start_note`` says why.

    Raises
    ------
    UnsupportedModel
        If the models cannot be stacked or the loop cannot be compiled.
    """
    started = time.perf_counter()
    check_supported(template, states)
    steps = steps_per_epoch(tasks, settings.batch_size)
    data = {k: tf.constant(v) for k, v in loop_inputs(template, tasks, settings).items()}
    order, mask = _schedules(tasks, settings, steps)
    run = _run(template, states, settings, architecture=architecture, data=data, order=order, mask=mask,
               start=start, start_mode=start_mode, mode=loop_mode(steps))  # fmt: skip
    history = np.stack([r.numpy() for r in run.rows], axis=1)  # [curves, epochs run now, models]
    if run.epochs.start:
        history = np.hstack([start.history, history])
    end_state = _end_state(run.end, settings.epochs, history)
    models = _model_results(end_state, run.probs.numpy(), tasks, settings.task)
    return FitResult(models, trainer="fused", seconds=time.perf_counter() - started, loop_source=run.source,
                     loop_mode=run.mode, note=run.note, state=end_state, trained_from=run.epochs.start,
                     start_note=run.start_note)  # fmt: skip


class _Run(NamedTuple):
    """What running a cell's epochs gave."""

    end: dict  # the loop's state after the last epoch
    rows: list  # a history row per epoch run
    probs: tf.Tensor  # the last epoch's eval outputs
    source: str  # where the loop came from
    mode: str  # xla or graph
    note: str | None  # why it ran as a graph, if XLA could not compile it
    start_note: str | None  # why a kept state was passed over, if one was
    epochs: range  # the epochs run


def _run(template, states, settings: FitSettings, *, architecture, data, order, mask, start, start_mode, mode) -> _Run:
    """Run the epochs in ``mode``, falling back to a plain graph when XLA cannot compile the loop, from ``start``
    if it holds these models and was trained in the mode the cell runs in the end."""
    trainable_shapes = [a.shape for a in states[0].trainable]
    slots = Optimizer(settings.optimizer, has_momentum(settings)).slot_shapes(trainable_shapes, len(states))
    weights = trainable_shapes + [a.shape for a in states[0].non_trainable]
    offered, note, start_note = start, None, None
    if offered is not None and not holds(offered, weights=weights, slots=slots, models=len(states)):
        offered, start_note = None, "the kept state does not hold this cell's models"
    shapes = tuple((k, tuple(v.shape)) for k, v in data.items()), order.shape[1:], tuple(weights)
    while True:
        key = (architecture, settings.task, settings.optimizer, has_momentum(settings), mode, shapes)  # not epochs
        if key in _xla_failures:
            mode, note = "graph", _xla_failures[key]
            continue
        start = offered if offered is not None and start_mode == mode else None
        if offered is not None and start is None:
            start_note = f"the kept state ran the loop as {start_mode}, this cell runs it as {mode}"
        epochs = range(start.epochs if start else 0, settings.epochs)
        if not epochs:
            raise ValueError(f"nothing to train: the state is at epoch {start.epochs} of {settings.epochs}")
        state = _state_tensors(start) if start else _initial_state(states)
        fused = _cached_loop(key, template, settings, mode)
        if state["slots"] is None:
            state["slots"] = fused.initial_slots(state["trainable"])
        try:
            end, rows, probs, source = _run_epochs(fused, state, data, order=order, mask=mask, epochs=epochs)
            return _Run(end, rows, probs, source, mode, note, None if start else start_note, epochs)
        except (tf.errors.OpError, ValueError, TypeError, NotImplementedError) as error:
            _loops.discard(key)
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            if mode == "graph":
                raise UnsupportedModel(f"the fused loop failed to build: {reason}") from error
            # Remembered, so the loop's other cells in this process go straight to the graph.
            _xla_failures[key] = f"XLA could not compile the loop, ran it as a TensorFlow graph: {reason}"


def _schedules(tasks: Sequence[ModelTask], settings: FitSettings, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Every model's batch order and mask for every epoch, stacked: [epochs, models, steps, batch] each."""
    schedules = [batch_schedule(len(t.x_train), epochs=settings.epochs, batch_size=settings.batch_size, steps=steps,
                                seed=t.shuffle_seed) for t in tasks]  # fmt: skip
    return np.stack([s[0] for s in schedules], axis=1), np.stack([s[1] for s in schedules], axis=1)


def _run_epochs(fused: loop.FusedLoop, state: dict, data: dict, *, order, mask, epochs: range):
    """Every epoch of ``epochs`` in turn: (end state, a history row per epoch, last eval outputs, loop source)."""
    rows, source, probs = [], None, None
    for epoch in epochs:
        schedule = {"order": tf.constant(order[epoch]), "mask": tf.constant(mask[epoch])}
        (state, row, probs), how = fused.run(state, data, schedule)
        source = source or how
        rows.append(row)
    return state, rows, probs, source


def _initial_state(states: Sequence[ModelState]) -> dict:
    """The loop's state before the first epoch: the stacked initial weights, no slots yet, nothing diverged."""
    n = len(states)
    trainable = [tf.constant(np.stack([s.trainable[j] for s in states])) for j in range(len(states[0].trainable))]
    non_trainable = [
        tf.constant(np.stack([s.non_trainable[j] for s in states])) for j in range(len(states[0].non_trainable))
    ]
    return {"trainable": trainable, "non_trainable": non_trainable, "slots": None, "diverged": tf.zeros([n], tf.bool),
            "epochs_run": tf.zeros([n], tf.int32)}  # fmt: skip


def _state_tensors(state: ModelsState) -> dict:
    """A kept state as the loop's inputs."""
    return {
        "trainable": [tf.constant(a) for a in state.trainable],
        "non_trainable": [tf.constant(a) for a in state.non_trainable],
        "slots": {name: [tf.constant(a) for a in arrays] for name, arrays in state.slots.items()},
        "diverged": tf.constant(state.diverged, tf.bool),
        "epochs_run": tf.constant(state.epochs_run, tf.int32),
    }


def _end_state(state: dict, epochs: int, history: np.ndarray) -> ModelsState:
    """The loop's state after ``epochs`` epochs, as NumPy arrays to keep."""
    slots = state["slots"]
    return ModelsState(
        epochs=epochs,
        trainable=tuple(t.numpy() for t in state["trainable"]),
        non_trainable=tuple(t.numpy() for t in state["non_trainable"]),
        slots={name: tuple(a.numpy() for a in arrays) for name, arrays in slots.items()},
        diverged=state["diverged"].numpy(),
        epochs_run=state["epochs_run"].numpy(),
        history=history,
    )


def loop_inputs(template: keras.Model, tasks: Sequence[ModelTask], settings: FitSettings) -> dict:
    """The loop's inputs that every epoch shares, as NumPy arrays: every model's data and the cell's rates."""
    n_classes = int(template.output_shape[-1])
    label_type = np.int32 if settings.task == "classification" else np.float32
    return {
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


def _model_results(state: ModelsState, probs: np.ndarray, tasks: Sequence[ModelTask], task: str) -> list[ModelResult]:
    """Each model's eval outputs, divergence and history (the epochs it ran) from the loop's stacked end state."""
    keys = HISTORY_KEYS_BY_TASK[task]
    results = []
    for i, model_task in enumerate(tasks):
        n = int(state.epochs_run[i])
        curves = {key: [float(x) for x in state.history[k, :n, i]] for k, key in enumerate(keys)}
        results.append(ModelResult(probs[i, : len(model_task.x_eval)], bool(state.diverged[i]), n, curves))
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
