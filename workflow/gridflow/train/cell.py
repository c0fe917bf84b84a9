"""Train one grid cell: every repetition x (each CV fold + the full training part).

The cell's models go through the fused loop together; where they cannot, each
is trained by ``model.fit``. The result is one self-describing metrics.json
(gridflow.results.record) and what the models computed, models.npz
(gridflow.results.arrays); scores are computed downstream, from those.
TensorFlow is imported when a cell trains, not when this module is.
"""

from __future__ import annotations

import logging
import os
import platform
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from gridflow import __version__
from gridflow.io import file_digest
from gridflow.logs import job_log
from gridflow.results.arrays import CellArrays, cell_arrays, write_arrays
from gridflow.results.record import CellRecord, Execution, ModelRecord, Seeds, Timing, arrays_path, write_record
from gridflow.spec import grid
from gridflow.spec.axes import split_axes, training_value
from gridflow.spec.key import key_digest, trained_settings
from gridflow.train import kept
from gridflow.train.fitting import HISTORY_KEYS_BY_TASK, FitSettings, ModelResult
from gridflow.train.plan import CellPlan, ModelPlan, class_weights, plan_cell
from gridflow.train.workers import run_in_worker


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
) -> CellRecord:
    """The body of rule train_cell: train every model of one cell and write its metrics.json and models.npz.

    ``settings`` are the settings part of the cell's key (gridflow.spec.key).

    A user's builder or model that raises makes the cell 'failed' (with the
    message); a model whose loss turns NaN or infinite makes it 'diverged'.
    With ``workers`` > 0 the cell runs in this run's training process, which
    trains that many cells at once and keeps TensorFlow and every compiled
    loop between cells (see gridflow.train.workers); with 0, in this process.
    A retry (``attempt`` > 1) restores the cell's kept record if it finished
    in an earlier attempt (see gridflow.train.kept). Returns the record written.
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
) -> CellRecord:
    """Train one cell in this process (or restore it on a retry); returns the record written to ``metrics``.

    Its arrays go to models.npz beside it, written first: a metrics.json is never without them.
    """
    with job_log(log) as logger:
        key = kept.result_key(values=values, settings=settings, split_path=split)
        record = kept.restore(key, metrics) if attempt > 1 else None
        if record is not None:
            logger.info("cell %s: %s, kept from an earlier attempt of its job", record.cell, record.status)
            return record
        record, arrays = _train(split_path=split, values=values, settings=settings, threads=threads, log=logger)
        write_arrays(arrays, arrays_path(metrics))
        write_record(record, metrics)
        kept.keep(key, metrics)
        logger.info("cell %s: %s in %.2f s", record.cell, record.status, record.timing.total_seconds)
    return record


def fit_settings(values: Mapping, training: Mapping, plan: CellPlan) -> FitSettings:
    """The cell's training settings: its own training axes, else the config's ``training`` defaults."""
    return FitSettings(
        epochs=training["epochs"],
        batch_size=int(training_value(values, training, "batch_size")),
        learning_rate=float(training_value(values, training, "learning_rate")),
        optimizer=training["optimizer"],
        momentum=training["momentum"],
        class_weight=class_weights(plan.y_train, plan.n_classes, training["class_weight"]),
        task=plan.task,
    )


def _train(
    *, split_path: str, values: Mapping, settings: Mapping, threads: int, log: logging.Logger
) -> tuple[CellRecord, CellArrays]:
    """Plan, build and fit the cell's models; returns its record and what its models computed."""
    started = time.perf_counter()
    from gridflow.train.backend import keras_runtime

    keras = keras_runtime(threads)
    key = {"values": dict(values), "settings": dict(settings)}
    settings = trained_settings(settings)
    training = settings["training"]
    plan = plan_cell(
        split_path,
        repetitions=training["repetitions"],
        seed=training["seed"],
        scaler=settings["preprocessing"]["scaler"],
    )
    fit = fit_settings(values, training, plan)
    log.info("cell %s: %d models, %s", grid.cell_id(values), len(plan.models), fit)
    outcome = _build_and_fit(plan=plan, fit=fit, values=values, settings=settings, log=log)
    fit_share = (outcome.timing.fit_seconds or 0.0) / len(plan.models)
    models = [_model_record(p, r, fit_seconds=fit_share) for p, r in zip(plan.models, outcome.results)]
    status = "diverged" if any(m.status == "diverged" for m in models) else outcome.status
    record = CellRecord(
        cell=grid.cell_id(values),
        params=dict(values),
        status=status,
        error=outcome.error,
        key_digest=key_digest(key),
        settings=key["settings"],
        split_digest=file_digest(split_path),
        trainer=outcome.trainer,
        trainer_note=outcome.note,
        n_params=outcome.n_params,
        timing=Timing(**{**vars(outcome.timing), "total_seconds": time.perf_counter() - started}),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        versions=_versions(keras),
        execution=Execution(
            host=platform.node(), pid=os.getpid(), slurm_job_id=os.environ.get("SLURM_JOB_ID"), threads=threads
        ),
        models=models,
    )
    return record, _arrays(plan, outcome.results)


def _arrays(plan: CellPlan, results: list[ModelResult]) -> CellArrays:
    """What the models computed: outputs on their eval rows (with the label's scale for regression), histories."""
    tasks = [p.task for p in plan.models[: len(results)]]
    regression = plan.task == "regression"
    return cell_arrays(
        [r.eval_outputs for r in results],
        [r.history for r in results],
        history_keys=HISTORY_KEYS_BY_TASK[plan.task],
        label_center=[t.label_center for t in tasks] if regression else None,
        label_scale=[t.label_scale for t in tasks] if regression else None,
    )


@dataclass
class _Outcome:
    """What building and fitting a cell's models gave: results, or the failure that stopped them."""

    status: str = "ok"
    error: str | None = None
    trainer: str | None = None
    note: str | None = None
    n_params: int | None = None
    results: list[ModelResult] = field(default_factory=list)
    timing: Timing = Timing()


def _build_and_fit(*, plan: CellPlan, fit: FitSettings, values: Mapping, settings: Mapping, log) -> _Outcome:
    """Build the seeded models and train them; a builder or model that raises makes the cell 'failed'."""
    from gridflow.train.seeding import seeded_models

    outcome = _Outcome()
    _, model_axes = split_axes(values)
    builder = settings["model"]["builder"]
    try:
        t0 = time.perf_counter()
        built = seeded_models(
            builder,
            model_axes,
            n_features=plan.n_features,
            n_classes=plan.n_classes,
            seeds=[p.weight_seed for p in plan.models],
            task=plan.task,
        )
        outcome.n_params = int(built.template.count_params())
        outcome.timing = Timing(build_seconds=time.perf_counter() - t0)
        result, outcome.note = _fit(
            built=built, plan=plan, fit=fit, trainer=settings["training"]["trainer"], builder=builder,
            model_axes=model_axes, log=log,
        )  # fmt: skip
        outcome.trainer, outcome.results = result.trainer, result.models
        outcome.timing = Timing(
            build_seconds=outcome.timing.build_seconds,
            fit_seconds=result.seconds,
            loop_source=result.loop_source,
            loop_mode=result.loop_mode,
        )
    except MemoryError:
        raise
    except Exception as failure:  # the user's builder or model rejected these values
        log.exception("cell failed")
        outcome.status, outcome.error = "failed", f"{type(failure).__name__}: {failure}".splitlines()[0]
    return outcome


def _fit(*, built, plan: CellPlan, fit: FitSettings, trainer: str, builder: str, model_axes, log):
    """Train with the fused loop, or with model.fit where asked or needed; returns (FitResult, note)."""
    from gridflow.train import fused, keras_fit
    from gridflow.train.builders import resolve_builder
    from gridflow.train.seeding import build_seeded

    tasks = [p.task for p in plan.models]
    note = None
    if trainer != "fit":
        # Without a fingerprint, only cells of the same builder and axis values share a loop.
        architecture = built.fingerprint or f"{builder}:{grid.cell_id(model_axes) if model_axes else ''}"
        try:
            result = fused.fused_fit(built.template, built.states, tasks, fit, architecture=architecture)
            if result.note:
                log.warning(result.note)
            return result, result.note
        except fused.UnsupportedModel as reason:
            if trainer == "fused":
                raise
            note = f"fell back to model.fit: {reason}".splitlines()[0]
            log.warning(note)
    build = resolve_builder(builder)
    models = [
        build_seeded(build, model_axes, n_features=plan.n_features, n_classes=plan.n_classes, seed=p.weight_seed,
                     task=plan.task)
        for p in plan.models
    ]  # fmt: skip
    return keras_fit.fit_models(models, tasks, fit), note


def _model_record(plan: ModelPlan, result: ModelResult, *, fit_seconds: float) -> ModelRecord:
    """One model's part of the record: which it is and how it went (its outputs go to models.npz)."""
    ok = not result.diverged and np.isfinite(result.eval_outputs).all()
    data = plan.task
    return ModelRecord(
        repetition=plan.repetition,
        fold=plan.fold,
        role=plan.role,
        seeds=Seeds(weights=plan.weight_seed, shuffle=data.shuffle_seed),
        status="ok" if ok else "diverged",
        epochs_run=result.epochs_run,
        fit_seconds=fit_seconds,
        n_train=len(data.y_train),
        n_eval=len(data.y_eval),
    )


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
