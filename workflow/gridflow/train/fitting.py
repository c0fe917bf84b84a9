"""What a trainer is given and what it returns, for either trainer.

The fused loop (``gridflow.train.fused``) and plain ``model.fit``
(``gridflow.train.keras_fit``) take the same tasks and settings and return the same
result. NumPy only, so planning and record writing import no TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Per-epoch curves every trainer records, in this order, per task: the loss (cross-entropy, or mean
# squared error on the standardised label) and accuracy or mean absolute error, on the training
# batches and on the held-out part.
HISTORY_KEYS_BY_TASK = {
    "classification": ("loss", "accuracy", "val_loss", "val_accuracy"),
    "regression": ("loss", "mae", "val_loss", "val_mae"),
}


# A cell compiles its loop with XLA when each model runs at least this many
# optimizer steps an epoch; shorter epochs run the loop as a plain TensorFlow
# graph. Measured (docs/benchmarks.md): XLA saves about 1.5 ms a step and costs
# 1-3 s to compile, so it pays once a loop's cells run some 1,500 steps
# together: 15 steps an epoch is 300 a model at the default 20 epochs, which
# covers the 4-12 cells that usually share a loop. Decided by the cell's steps
# an epoch alone, not its epochs: its results never depend on the rest of the
# grid, and a cell trained on to more epochs runs the same program throughout.
XLA_MIN_STEPS_PER_EPOCH = 15


def loop_mode(steps_per_epoch: int) -> str:
    """``xla`` when each model runs at least XLA_MIN_STEPS_PER_EPOCH optimizer steps an epoch, else ``graph``."""
    return "xla" if steps_per_epoch >= XLA_MIN_STEPS_PER_EPOCH else "graph"


def steps_per_epoch(tasks: Sequence[ModelTask], batch_size: int) -> int:
    """Optimizer steps an epoch of the cell's largest model (the loop runs every model that many)."""
    return max(math.ceil(len(t.x_train) / batch_size) for t in tasks)


@dataclass(frozen=True)
class ModelTask:
    """What one model trains on and is scored on."""

    shuffle_seed: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_eval: np.ndarray
    y_eval: np.ndarray
    # Regression: the labels above are standardised on this model's training labels;
    # label = value * label_scale + label_center puts them (and predictions) back in the label's units.
    label_center: float = 0.0
    label_scale: float = 1.0


@dataclass(frozen=True)
class FitSettings:
    """Training settings shared by all models of a cell."""

    epochs: int
    batch_size: int
    learning_rate: float
    optimizer: str = "sgd"
    momentum: float = 0.0
    class_weight: tuple[float, ...] | None = None
    task: str = "classification"


@dataclass(frozen=True)
class ModelResult:
    """Outcome of training one model: its outputs on the eval part and history.

    Outputs are class probabilities, or (regression) predictions of the standardised label.
    """

    eval_outputs: np.ndarray
    diverged: bool
    epochs_run: int
    history: dict[str, list[float]]


@dataclass(frozen=True)
class ModelsState:
    """Where a cell's models stand after ``epochs`` epochs: all it takes to go on exactly as if never stopped.

    Every array is stacked over the models (first axis) and kept as trained
    (float32 weights). ``non_trainable`` holds each ``Dropout``'s random-stream
    position (Keras' seed state); the batch order's position is the epoch
    count itself (each epoch's order is drawn in turn from the model's seed).
    ``slots`` is the optimizer's state, by name. ``history`` is every epoch
    so far, [curves, epochs, models] (NaN where a model had stopped).
    """

    epochs: int
    trainable: tuple[np.ndarray, ...]
    non_trainable: tuple[np.ndarray, ...]
    slots: dict[str, tuple[np.ndarray, ...]]
    diverged: np.ndarray
    epochs_run: np.ndarray
    history: np.ndarray


def holds(state: ModelsState, *, weights: Sequence[tuple], slots: dict[str, list[tuple]], models: int) -> bool:
    """Whether a kept state is of these models: their number, every weight's and every optimizer slot's shape.

    ``weights``: one model's trainable then non-trainable shapes; ``slots``: each slot's stacked shapes.
    """
    held = [a.shape for a in state.trainable + state.non_trainable]
    held_slots = {name: [a.shape for a in arrays] for name, arrays in state.slots.items()}
    return (
        len(state.diverged) == models
        and held == [(models, *shape) for shape in weights]
        and held_slots == {name: [tuple(s) for s in shapes] for name, shapes in slots.items()}
    )


def has_momentum(settings: FitSettings) -> bool:
    """Whether the optimizer keeps a momentum slot: SGD with momentum (Adam has its own, whatever the momentum)."""
    return settings.optimizer == "sgd" and settings.momentum > 0


@dataclass(frozen=True)
class FitResult:
    """Outcome of training all models of a cell, and how it was done.

    ``loop_source``: ``compiled`` (this fit built its loop, so ``seconds``
    includes tracing and compiling it), ``disk`` (traced it and loaded the
    compiled program from the on-disk cache) or ``memory`` (reused a loop
    built earlier in this process); None for ``model.fit``. ``loop_mode``: ``xla``
    or ``graph`` (TensorFlow graph without XLA); None for ``model.fit``.
    ``note``: why the fit did not go the usual way, if it did not. ``state``:
    where the models stand at the end, to go on from later; ``trained_from``:
    the epoch this fit began at.
    """

    models: list[ModelResult]
    trainer: str
    seconds: float
    loop_source: str | None = None
    loop_mode: str | None = None
    note: str | None = None
    state: ModelsState | None = None
    trained_from: int = 0  # the epoch training began at: 0, or the epochs of the state it went on from
    start_note: str | None = None  # why a kept state it was given was passed over, if it was


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
