"""Train each model of a cell with plain ``model.fit``: the reference and the fallback trainer."""

from __future__ import annotations

import time
from collections.abc import Sequence

import keras
import numpy as np

from gridflow.train.fitting import HISTORY_KEYS_BY_TASK, FitResult, FitSettings, ModelResult, ModelTask
from gridflow.train.seeding import seed_lock


def fit_models(models: Sequence[keras.Model], tasks: Sequence[ModelTask], settings: FitSettings) -> FitResult:
    """Train ``models[i]`` on ``tasks[i]``, one after the other."""
    started = time.perf_counter()
    results = [fit_one(m, t, settings) for m, t in zip(models, tasks)]
    return FitResult(results, trainer="fit", seconds=time.perf_counter() - started)


def fit_one(model: keras.Model, task: ModelTask, settings: FitSettings) -> ModelResult:
    """Train one model with ``model.fit`` and score it on its eval part."""
    if settings.optimizer == "adam":
        optimizer = keras.optimizers.Adam(settings.learning_rate)
    else:
        optimizer = keras.optimizers.SGD(settings.learning_rate, momentum=settings.momentum)
    if settings.task == "classification":
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    else:  # the label is standardised (ModelTask), as the fused loop trains it
        model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    weights = dict(enumerate(settings.class_weight)) if settings.class_weight else None
    with seed_lock:  # fit's shuffling draws from process-wide seeds
        keras.utils.set_random_seed(task.shuffle_seed)
        history = model.fit(
            task.x_train,
            task.y_train,
            batch_size=settings.batch_size,
            epochs=settings.epochs,
            shuffle=True,
            class_weight=weights,
            validation_data=(task.x_eval, task.y_eval),
            callbacks=[keras.callbacks.TerminateOnNaN()],
            verbose=0,
        ).history
    losses = np.asarray(history["loss"], dtype=float)
    finite = np.isfinite(losses)
    epochs_run = int(np.argmin(finite)) if not finite.all() else len(losses)
    curves = {k: [float(x) for x in history.get(k, [])[:epochs_run]] for k in HISTORY_KEYS_BY_TASK[settings.task]}
    probs = np.asarray(model(task.x_eval, training=False))
    diverged = not finite.all() or not np.isfinite(probs).all()
    return ModelResult(probs, diverged, epochs_run, curves)
