"""Train each model of a cell with plain ``model.fit``: the reference and the fallback trainer.

One ``fit`` call an epoch, over the batch order the fused loop uses (each
epoch's permutation drawn in turn from the model's shuffle seed), so a model
goes on from a kept state exactly as if it had never stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import keras
import numpy as np

from gridflow.train.fitting import (
    HISTORY_KEYS_BY_TASK,
    FitResult,
    FitSettings,
    ModelResult,
    ModelsState,
    ModelTask,
    batch_schedule,
    holds,
)
from gridflow.train.seeding import seed_lock

# The optimizer's variables are kept under this slot name.
SLOT = "keras"


def fit_models(
    models: Sequence[keras.Model],
    tasks: Sequence[ModelTask],
    settings: FitSettings,
    *,
    start: ModelsState | None = None,
) -> FitResult:
    """Train ``models[i]`` on ``tasks[i]``, one after the other, from epoch 0 or from ``start``."""
    started = time.perf_counter()
    start_note = None
    if start is not None and not _holds(start, models, settings):
        start, start_note = None, "the kept state does not hold this cell's models"
    results, ends = [], []
    for i, (model, task) in enumerate(zip(models, tasks)):
        result, end = fit_one(model, task, settings, start=None if start is None else _one_model(start, i))
        results.append(result)
        ends.append(end)
    seconds, trained_from = time.perf_counter() - started, 0 if start is None else start.epochs
    return FitResult(results, trainer="fit", seconds=seconds, state=_stacked(ends), trained_from=trained_from,
                     start_note=start_note)  # fmt: skip


def _holds(state: ModelsState, models: Sequence[keras.Model], settings: FitSettings) -> bool:
    """Whether a kept state is of these models and their optimizer (``fit_one`` compiles the first model again)."""
    optimizer = _compiled(models[0], settings)
    weights = [tuple(v.shape) for v in models[0].trainable_variables + models[0].non_trainable_variables]
    slots = {SLOT: [(len(models), *v.shape) for v in optimizer.variables]}
    return holds(state, weights=weights, slots=slots, models=len(models))


def fit_one(
    model: keras.Model, task: ModelTask, settings: FitSettings, *, start: ModelsState | None = None
) -> tuple[ModelResult, ModelsState]:
    """Train one model with ``model.fit`` epoch by epoch and score it on its eval part; returns its end state too.

    ``start`` (one model's state, unstacked) sets its weights, optimizer and history before it goes on.
    """
    optimizer = _compiled(model, settings)
    if start is not None:
        _restore(model, optimizer, start)
    keys = HISTORY_KEYS_BY_TASK[settings.task]
    first = start.epochs if start is not None else 0
    history = np.full((len(keys), settings.epochs), np.nan, dtype=np.float32)
    diverged, epochs_run = (bool(start.diverged), int(start.epochs_run)) if start is not None else (False, 0)
    if start is not None:
        history[:, :first] = start.history
    n = len(task.x_train)
    order, _ = batch_schedule(n, epochs=settings.epochs, batch_size=settings.batch_size,
                              steps=math.ceil(n / settings.batch_size), seed=task.shuffle_seed)  # fmt: skip
    weights = dict(enumerate(settings.class_weight)) if settings.class_weight else None
    for epoch in range(first, settings.epochs):
        if diverged:
            break
        rows = order[epoch].reshape(-1)[:n]
        with seed_lock:  # Keras' fit may touch process-wide random state
            logs = model.fit(task.x_train[rows], task.y_train[rows], batch_size=settings.batch_size, epochs=1,
                             shuffle=False, class_weight=weights, validation_data=(task.x_eval, task.y_eval),
                             verbose=0).history  # fmt: skip
        values = [logs.get(key, [np.nan])[0] for key in keys]
        diverged = not np.isfinite(values[0])
        if not diverged:
            history[:, epoch] = values
            epochs_run += 1
    probs = np.asarray(model(task.x_eval, training=False))
    diverged = diverged or not np.isfinite(probs).all()
    curves = {key: [float(x) for x in history[k, :epochs_run]] for k, key in enumerate(keys)}
    end = ModelsState(
        epochs=settings.epochs,
        trainable=tuple(np.array(v.numpy()) for v in model.trainable_variables),
        non_trainable=tuple(np.array(v.numpy()) for v in model.non_trainable_variables),
        slots={SLOT: tuple(np.array(v.numpy()) for v in optimizer.variables)},
        diverged=np.array(diverged),
        epochs_run=np.array(epochs_run),
        history=history,
    )
    return ModelResult(probs, diverged, epochs_run, curves), end


def _compiled(model: keras.Model, settings: FitSettings) -> keras.optimizers.Optimizer:
    """Compile ``model`` for the cell's task and optimizer (built, so its variables exist); returns the optimizer."""
    if settings.optimizer == "adam":
        optimizer = keras.optimizers.Adam(settings.learning_rate)
    else:
        optimizer = keras.optimizers.SGD(settings.learning_rate, momentum=settings.momentum)
    if settings.task == "classification":
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    else:  # the label is standardised (ModelTask), as the fused loop trains it
        model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    optimizer.build(model.trainable_variables)
    return optimizer


def _restore(model: keras.Model, optimizer: keras.optimizers.Optimizer, state: ModelsState) -> None:
    """Set a model's weights, random streams and optimizer to a kept state of it."""
    for variables, values in (
        (model.trainable_variables, state.trainable),
        (model.non_trainable_variables, state.non_trainable),
        (optimizer.variables, state.slots[SLOT]),
    ):
        if len(variables) != len(values):
            raise ValueError(f"the kept state has {len(values)} variables where the model has {len(variables)}")
        for variable, value in zip(variables, values):
            variable.assign(value)


def _one_model(state: ModelsState, i: int) -> ModelsState:
    """Model i's part of a stacked state."""
    return ModelsState(
        epochs=state.epochs,
        trainable=tuple(a[i] for a in state.trainable),
        non_trainable=tuple(a[i] for a in state.non_trainable),
        slots={name: tuple(a[i] for a in arrays) for name, arrays in state.slots.items()},
        diverged=state.diverged[i],
        epochs_run=state.epochs_run[i],
        history=state.history[:, :, i],
    )


def _stacked(states: Sequence[ModelsState]) -> ModelsState:
    """One state of every model, stacked over the models as the fused loop keeps it."""

    def stack(parts):
        return tuple(np.stack(arrays) for arrays in zip(*parts))

    return ModelsState(
        epochs=states[0].epochs,
        trainable=stack([s.trainable for s in states]),
        non_trainable=stack([s.non_trainable for s in states]),
        slots={SLOT: stack([s.slots[SLOT] for s in states])},
        diverged=np.array([bool(s.diverged) for s in states]),
        epochs_run=np.array([int(s.epochs_run) for s in states]),
        history=np.stack([s.history for s in states], axis=-1),
    )
