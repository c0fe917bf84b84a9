"""Train one grid cell: every repetition x (each CV fold + the full training part).

The cell's models go through the fused loop together; where they cannot, each
is trained by ``model.fit``. The result is one self-describing metrics.json.
"""

from __future__ import annotations

import logging
import os
import platform
import resource
import time
from collections.abc import Mapping

import numpy as np

from gridflow import __version__, grid, kept
from gridflow.axes import split_axes, training_value
from gridflow.fitting import FitSettings, ModelResult
from gridflow.io import write_json
from gridflow.logs import job_log
from gridflow.plan import CellPlan, ModelPlan, class_weights, plan_cell
from gridflow.settings import settings_digest
from gridflow.workers import run_in_worker


def train_cell(
    *,
    split: str,
    values: Mapping,
    settings: Mapping,
    metrics: str,
    log: str,
    threads: int = 1,
    workers: int = 0,
    attempt: int = 1,
) -> dict:
    """The body of rule train_cell: train every model of one cell and write its metrics.json atomically.

    A user's builder or model that raises makes the cell 'failed' (with the
    message); a model whose loss turns NaN or infinite makes it 'diverged'.
    With ``workers`` > 0 the cell runs in this run's training process, which
    trains that many cells at once and keeps TensorFlow and every compiled
    loop between cells (see gridflow.workers); with 0, in this process. A
    retry (``attempt`` > 1) restores the cell's kept record if it finished in
    an earlier attempt (see gridflow.kept). Returns the record written.
    """
    if workers:
        # The training process runs `workers` cells at once: TensorFlow gets a thread for each.
        cell = {"metrics": metrics, "log": log, "threads": workers, "attempt": attempt}
        return run_in_worker(
            train_cell_in_process, split, dict(values), dict(settings), slots=workers, stderr_path=log, **cell
        )
    return train_cell_in_process(split, values, settings, metrics=metrics, log=log, threads=threads, attempt=attempt)


def train_cell_in_process(
    split: str, values: Mapping, settings: Mapping, *, metrics: str, log: str, threads: int = 1, attempt: int = 1
) -> dict:
    """Train one cell in this process (or restore it on a retry); returns the record written to ``metrics``."""
    with job_log(log) as logger:
        key = kept.result_key(values=values, settings=settings, split_path=split)
        record = kept.restore(key, metrics) if attempt > 1 else None
        if record is not None:
            logger.info("cell %s: %s, kept from an earlier attempt of its job", record["cell"], record["status"])
            return record
        record = _train(split_path=split, values=values, settings=settings, threads=threads, log=logger)
        write_json(record, metrics)
        kept.keep(record, key)
        logger.info("cell %s: %s in %.2f s", record["cell"], record["status"], record["timing"]["total_seconds"])
    return record


def _train(*, split_path: str, values: Mapping, settings: Mapping, threads: int, log: logging.Logger) -> dict:
    """Plan, build and fit the cell's models; returns its metrics record."""
    started = time.perf_counter()
    from gridflow.backend import keras_runtime

    keras = keras_runtime(threads)
    training = settings["training"]
    plan = plan_cell(
        split_path,
        repetitions=training["repetitions"],
        seed=training["seed"],
        scaler=settings["preprocessing"]["scaler"],
    )
    _, model_axes = split_axes(values)
    fit_settings = FitSettings(
        epochs=training["epochs"],
        batch_size=int(training_value(values, training, "batch_size")),
        learning_rate=float(training_value(values, training, "learning_rate")),
        optimizer=training["optimizer"],
        momentum=training["momentum"],
        class_weight=class_weights(plan.y_train, plan.n_classes, training["class_weight"]),
        task=plan.task,
    )
    log.info("cell %s: %d models, %s", grid.cell_id(values), len(plan.models), fit_settings)
    timing = {"build_seconds": None, "fit_seconds": None, "loop_source": None, "loop_mode": None}
    status, error, trainer, note, n_params, results = "ok", None, None, None, None, []
    try:
        t0 = time.perf_counter()
        from gridflow.model import seeded_models

        seeds = [p.weight_seed for p in plan.models]
        built = seeded_models(
            settings["model"]["builder"],
            model_axes,
            n_features=plan.n_features,
            n_classes=plan.n_classes,
            seeds=seeds,
            task=plan.task,
        )
        n_params = int(built.template.count_params())
        timing["build_seconds"] = time.perf_counter() - t0
        fit, note = _fit(
            built=built,
            plan=plan,
            fit_settings=fit_settings,
            trainer=training["trainer"],
            builder_spec=settings["model"]["builder"],
            model_axes=model_axes,
            log=log,
        )
        trainer, results = fit.trainer, fit.models
        timing.update(fit_seconds=fit.seconds, loop_source=fit.loop_source, loop_mode=fit.loop_mode)
    except MemoryError:
        raise
    except Exception as failure:  # the user's builder or model rejected these values
        log.exception("cell failed")
        status, error = "failed", f"{type(failure).__name__}: {failure}".splitlines()[0]
    fit_share = (timing["fit_seconds"] or 0.0) / len(plan.models)
    models = [_model_record(p, r, fit_seconds=fit_share, task=plan.task) for p, r in zip(plan.models, results)]
    if any(m["status"] == "diverged" for m in models):
        status = "diverged"
    timing["total_seconds"] = time.perf_counter() - started
    return {
        "cell": grid.cell_id(values),
        "params": dict(values),
        "status": status,
        "error": error,
        "settings_digest": settings_digest(settings),
        "settings": dict(settings),
        "trainer": trainer,
        "trainer_note": note,
        "n_params": n_params,
        "timing": timing,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "versions": _versions(keras),
        "execution": {
            "host": platform.node(),
            "pid": os.getpid(),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
            "threads": threads,
        },
        "models": models,
    }


def _fit(*, built, plan: CellPlan, fit_settings: FitSettings, trainer: str, builder_spec: str, model_axes, log):
    """Train with the fused loop, or with model.fit where asked or needed; returns (FitResult, note)."""
    from gridflow import fused, keras_fit
    from gridflow.model import build_seeded, resolve_builder

    tasks = [p.task for p in plan.models]
    note = None
    if trainer != "fit":
        # Without a fingerprint, only cells of the same builder and axis values share a loop.
        architecture = built.fingerprint or f"{builder_spec}:{grid.cell_id(model_axes) if model_axes else ''}"
        try:
            fit = fused.fused_fit(built.template, built.states, tasks, fit_settings, architecture=architecture)
            if fit.note:
                log.warning(fit.note)
            return fit, fit.note
        except fused.UnsupportedModel as reason:
            if trainer == "fused":
                raise
            note = f"fell back to model.fit: {reason}".splitlines()[0]
            log.warning(note)
    builder = resolve_builder(builder_spec)
    models = [
        build_seeded(
            builder,
            model_axes,
            n_features=plan.n_features,
            n_classes=plan.n_classes,
            seed=p.weight_seed,
            task=plan.task,
        )
        for p in plan.models
    ]
    return keras_fit.fit_models(models, tasks, fit_settings), note


def _model_record(plan: ModelPlan, result: ModelResult, *, fit_seconds: float, task: str) -> dict:
    """One model's part of the record: scored in the label's own units (a regression label is trained standardised)."""
    from gridflow.scoring import score_outputs

    ok = not result.diverged and np.isfinite(result.eval_outputs).all()
    data = plan.task
    y_eval, outputs = data.y_eval, result.eval_outputs
    if task == "regression":  # back from the standardised label to the label's own units
        y_eval = y_eval * data.label_scale + data.label_center
        outputs = outputs * data.label_scale + data.label_center
    return {
        "repetition": plan.repetition,
        "fold": plan.fold,
        "role": plan.role,
        "seeds": {"weights": plan.weight_seed, "shuffle": plan.task.shuffle_seed},
        "status": "ok" if ok else "diverged",
        "epochs_run": result.epochs_run,
        "fit_seconds": fit_seconds,
        "n_train": len(plan.task.y_train),
        "n_eval": len(plan.task.y_eval),
        "metrics": score_outputs(task, y_eval, outputs) if ok else None,
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


def clear_process_caches() -> None:
    """Forget this process's compiled loops, initial states and plan: the next cell starts cold."""
    import sys

    from gridflow.plan import clear_plan_cache

    clear_plan_cache()
    if "gridflow.fused" in sys.modules:  # never import TensorFlow just to clear
        from gridflow.fused import clear_loop_cache
        from gridflow.model import clear_model_caches

        clear_loop_cache()
        clear_model_caches()
