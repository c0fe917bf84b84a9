"""Train one grid cell: every repetition x (each CV fold + the full training part).

The cell's models go through the fused loop together; where they cannot, each
is trained by ``model.fit``. The result is one self-describing metrics.json.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gridflow import __version__, grid
from gridflow.backend import keras_runtime
from gridflow.config import settings_digest
from gridflow.data import Split, fit_scaler, load_split
from gridflow.io import write_json
from gridflow.logs import job_log
from gridflow.scoring import score
from gridflow.workers import run_in_worker

FULL = "full"  # the fold label of the model trained on the whole training part


@dataclass(frozen=True)
class ModelPlan:
    """One model of a cell: which repetition and fold, its seeds and data."""

    repetition: int
    fold: int | str
    weight_seed: int
    shuffle_seed: int
    task: object  # fused.ModelTask; typed loosely so this module imports without TensorFlow

    @property
    def role(self) -> str:
        """'test' for the full-training-part model, else 'cv'."""
        return "test" if self.fold == FULL else "cv"


def model_seeds(root: int, repetition: int, fold: int | str) -> tuple[int, int]:
    """(weight seed, shuffle seed) of one model, from (root seed, repetition, fold) only."""
    fold_slot = 0 if fold == FULL else int(fold) + 1
    state = np.random.SeedSequence([root, repetition, fold_slot]).generate_state(2)
    return int(state[0] % 2**31), int(state[1] % 2**31)


def plan_models(split: Split, repetitions: int, seed: int, scaler: str) -> list[ModelPlan]:
    """Every model of a cell with its data, scaled on its own training samples."""
    from gridflow.fused import ModelTask

    parts = []
    for fold in range(split.n_folds):
        train, held_out = split.folds != fold, split.folds == fold
        scale = fit_scaler(scaler, split.x_train[train])
        parts.append(
            (
                fold,
                scale(split.x_train[train]),
                split.y_train[train],
                scale(split.x_train[held_out]),
                split.y_train[held_out],
            )
        )
    scale = fit_scaler(scaler, split.x_train)
    parts.append((FULL, scale(split.x_train), split.y_train, scale(split.x_test), split.y_test))
    plans = []
    for repetition in range(repetitions):
        for fold, x_train, y_train, x_eval, y_eval in parts:
            weight_seed, shuffle_seed = model_seeds(seed, repetition, fold)
            task = ModelTask(shuffle_seed, x_train, y_train, x_eval, y_eval)
            plans.append(ModelPlan(repetition, fold, weight_seed, shuffle_seed, task))
    return plans


def class_weights(labels: np.ndarray, n_classes: int, mode: str) -> tuple[float, ...] | None:
    """Keras-style class weights: None, or 'balanced' as scikit-learn computes them."""
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=n_classes)
    return tuple(float(len(labels) / (n_classes * c)) if c else 0.0 for c in counts)


def train_cell(
    split_path: str,
    values: Mapping,
    settings: Mapping,
    metrics_path: str,
    log_path: str,
    threads: int = 1,
    workers: int = 0,
) -> None:
    """Train every model of one cell and write its metrics.json atomically: the body of rule train_cell.

    A user's builder or model that raises makes the cell 'failed' (with the
    message); a model whose loss turns NaN or infinite makes it 'diverged'.
    With ``workers`` > 0 the cell runs in a pool of that many long-lived
    worker processes (see gridflow.workers); with 0, in this process.
    """
    args = (split_path, dict(values), dict(settings), metrics_path, log_path, threads)
    if workers:
        # Cells that differ only in learning rate share a compiled loop: send them to the same worker.
        shared = {k: v for k, v in values.items() if k != "learning_rate"}
        affinity = f"{settings['model']['builder']}:{grid.cell_id(shared) if shared else ''}"
        run_in_worker(affinity, train_cell_here, *args, workers=workers, stderr_path=log_path)
    else:
        train_cell_here(*args)


def train_cell_here(split_path, values, settings, metrics_path, log_path, threads) -> dict:
    """Train one cell in this process; returns the record written to metrics.json."""
    with job_log(log_path) as log:
        return _train_cell(split_path, values, settings, metrics_path, log, threads)


def _train_cell(split_path, values, settings, metrics_path, log, threads) -> dict:
    started = time.perf_counter()
    keras = keras_runtime(threads)
    from gridflow import fused, model

    training = settings["training"]
    split = load_split(split_path)
    n_classes, n_features = len(split.class_names), split.x_train.shape[1]
    plans = plan_models(split, training["repetitions"], training["seed"], settings["preprocessing"]["scaler"])
    train_axes, model_axes = grid.split_axes(values)
    fit_settings = fused.FitSettings(
        epochs=training["epochs"],
        batch_size=int(train_axes.get("batch_size", training["batch_size"])),
        learning_rate=float(train_axes.get("learning_rate", training["learning_rate"])),
        optimizer=training["optimizer"],
        momentum=training["momentum"],
        class_weight=class_weights(split.y_train, n_classes, training["class_weight"]),
    )
    record = {
        "cell": grid.cell_id(values),
        "params": dict(values),
        "status": "ok",
        "error": None,
        "settings_digest": settings_digest(settings),
        "settings": dict(settings),
        "trainer": None,
        "trainer_note": None,
        "n_params": None,
        "timing": {},
        "versions": _versions(keras),
        "execution": {
            "host": platform.node(),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
            "threads": threads,
        },
        "models": [],
    }
    log.info("cell %s: %d models, %s", record["cell"], len(plans), fit_settings)
    try:
        t0 = time.perf_counter()
        seeds = [p.weight_seed for p in plans]
        template, states = model.seeded_states(settings["model"]["builder"], model_axes, n_features, n_classes, seeds)
        record["n_params"] = int(template.count_params())
        record["timing"]["build_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        results, record["trainer"], record["trainer_note"] = _fit(
            template,
            states,
            plans,
            fit_settings,
            training["trainer"],
            settings["model"]["builder"],
            model_axes,
            log,
            record["timing"],
        )
        record["timing"]["fit_seconds"] = time.perf_counter() - t0
    except MemoryError:
        raise
    except Exception as error:  # the user's builder or model rejected these values
        log.exception("cell failed")
        record.update(status="failed", error=f"{type(error).__name__}: {error}".splitlines()[0])
        results = []
    for plan, result in zip(plans, results):
        record["models"].append(_model_record(plan, result, record["timing"]["fit_seconds"] / len(plans)))
    if any(m["status"] == "diverged" for m in record["models"]):
        record["status"] = "diverged"
    record["timing"]["total_seconds"] = time.perf_counter() - started
    record["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_json(record, metrics_path)
    log.info("cell %s: %s in %.2f s", record["cell"], record["status"], record["timing"]["total_seconds"])
    return record


def _fit(template, states, plans, fit_settings, trainer, builder_spec, model_axes, log, timing):
    """Train with the fused loop, or with model.fit where asked or needed.

    ``timing`` gets ``loop_compiled`` from the fused loop (None for model.fit).
    """
    from gridflow import fused
    from gridflow.model import build_seeded, resolve_builder

    tasks = [p.task for p in plans]
    note = None
    timing["loop_compiled"] = None
    if trainer != "fit":
        try:
            return fused.fused_fit(template, states, tasks, fit_settings, stats=timing), "fused", None
        except fused.UnsupportedModel as reason:
            if trainer == "fused":
                raise
            note = f"fell back to model.fit: {reason}".splitlines()[0]
            log.warning(note)
            timing["loop_compiled"] = None
    builder = resolve_builder(builder_spec)
    n_features, n_classes = template.input_shape[-1], template.output_shape[-1]
    models = [build_seeded(builder, model_axes, n_features, n_classes, p.weight_seed) for p in plans]
    return [fit_one(m, p.task, fit_settings) for m, p in zip(models, plans)], "fit", note


def fit_one(model, task, settings):
    """Train one model with plain ``model.fit``: the reference and the fallback path."""
    import keras

    from gridflow.fused import HISTORY_KEYS, FitResult
    from gridflow.model import seed_lock

    if settings.optimizer == "adam":
        optimizer = keras.optimizers.Adam(settings.learning_rate)
    else:
        optimizer = keras.optimizers.SGD(settings.learning_rate, momentum=settings.momentum)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
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
    curves = {k: [float(x) for x in history.get(k, [])[:epochs_run]] for k in HISTORY_KEYS}
    probs = np.asarray(model(task.x_eval, training=False))
    diverged = not finite.all() or not np.isfinite(probs).all()
    return FitResult(probs, diverged, epochs_run, curves)


def _model_record(plan: ModelPlan, result, fit_seconds: float) -> dict:
    ok = not result.diverged and np.isfinite(result.eval_probabilities).all()
    return {
        "repetition": plan.repetition,
        "fold": plan.fold,
        "role": plan.role,
        "seeds": {"weights": plan.weight_seed, "shuffle": plan.shuffle_seed},
        "status": "ok" if ok else "diverged",
        "epochs_run": result.epochs_run,
        "fit_seconds": fit_seconds,
        "n_train": len(plan.task.y_train),
        "n_eval": len(plan.task.y_eval),
        "metrics": score(plan.task.y_eval, result.eval_probabilities) if ok else None,
        "history": result.history,
    }


def _versions(keras) -> dict:
    import sklearn
    import tensorflow as tf

    return {
        "gridflow": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }
