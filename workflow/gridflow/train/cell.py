"""Train one grid cell: every repetition x (each CV fold + the full training part).

The cell's models go through the fused loop together; where they cannot, each
is trained by ``model.fit``. The result is one self-describing metrics.json
(gridflow.results.record) and what the models computed, models.npz
(gridflow.results.arrays); scores are computed downstream, from those.
TensorFlow is imported when a cell trains, not when this module is.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import resource
import time
from collections.abc import Mapping, Sequence

import numpy as np

from gridflow import __version__
from gridflow.data.prepare import Preparation
from gridflow.data.transformer import TransformerError
from gridflow.io import file_digest
from gridflow.logs import job_log
from gridflow.results.arrays import CellArrays, cell_arrays, write_arrays
from gridflow.results.record import CellRecord, Execution, ModelRecord, Seeds, Timing, arrays_path, write_record
from gridflow.spec import grid
from gridflow.spec.axes import route_axes, training_value
from gridflow.spec.key import budget_free_digest, key_digest, trained_settings
from gridflow.spec.signature import builder_axes, transformer_axes
from gridflow.train import kept
from gridflow.train.fitting import HISTORY_KEYS_BY_TASK, FitSettings, ModelResult, loop_mode, steps_per_epoch
from gridflow.train.plan import CellPlan, ModelPlan, class_weights, plan_cell
from gridflow.train.state import belonging, find_start, state_path, write_state
from gridflow.train.trainers import Outcome, Start, build_and_fit
from gridflow.train.workers import run_in_worker


def train_cell(
    *,
    split: str,
    values: Mapping,
    settings: Mapping,
    metrics: str,
    log: str,
    previous: Sequence[str] = (),
    keep_state: bool = True,
    threads: int = 1,
    workers: int = 0,
    attempt: int = 1,
    keep_copy: bool = True,
) -> CellRecord:
    """The body of rule train_cell: train every model of one cell and write its metrics.json and models.npz.

    ``settings`` are the settings part of the cell's key (gridflow.spec.key).
    ``previous``: metrics files of cells that are this one at a smaller budget
    (the next smaller value of an epochs axis, the round before of a halving
    search); the cell goes on from the kept state with the most epochs below
    its own, of those and its own folder's (gridflow.train.state), and keeps
    its own end state when ``keep_state``.

    A user's builder or model that raises makes the cell 'failed' (with the
    message); a model whose loss turns NaN or infinite makes it 'diverged'.
    With ``workers`` > 0 the cell runs in this run's training process, which
    trains that many cells at once and keeps TensorFlow and every compiled
    loop between cells (see gridflow.train.workers); with 0, in this process.
    With ``keep_copy`` the cell keeps a copy of its files, and a retry
    (``attempt`` > 1) restores the copy if the cell finished in an earlier
    attempt (see gridflow.train.kept). Returns the record written.
    """
    cell = {"metrics": metrics, "log": log, "previous": list(previous), "keep_state": keep_state, "attempt": attempt,
            "keep_copy": keep_copy}  # fmt: skip
    if workers:
        # The training process runs `workers` cells at once: TensorFlow gets a thread for each.
        return run_in_worker(
            train_cell_in_process, split, dict(values), dict(settings), slots=workers, stderr_path=log, threads=workers,
            **cell,
        )  # fmt: skip
    return train_cell_in_process(split, values, settings, threads=threads, **cell)


def train_cell_in_process(
    split: str,
    values: Mapping,
    settings: Mapping,
    *,
    metrics: str,
    log: str,
    previous: Sequence[str] = (),
    keep_state: bool = True,
    threads: int = 1,
    attempt: int = 1,
    keep_copy: bool = True,
) -> CellRecord:
    """Train one cell in this process (or restore it on a retry); returns the record written to ``metrics``.

    Its arrays go to models.npz beside it, written first: a metrics.json is never without them. Its end state
    goes to state.npz beside them last (or, without ``keep_state``, an older one there is removed).
    """
    with job_log(log) as logger:
        # Snakemake removes a job's declared output before it runs; models.npz is not declared (train.smk).
        arrays_path(metrics).unlink(missing_ok=True)
        key = kept.result_key(values=values, settings=settings, split_path=split)
        record = kept.restore(key, metrics) if attempt > 1 else None
        if record is not None:
            logger.info("cell %s: %s, kept from an earlier attempt of its job", record.cell, record.status)
            return record
        candidates = [state_path(metrics)] + [state_path(p) for p in previous]
        record, arrays, end = _train(split_path=split, values=values, settings=settings, threads=threads,
                                     candidates=candidates, log=logger)  # fmt: skip
        write_arrays(arrays, arrays_path(metrics))
        write_record(record, metrics)
        if keep_copy:
            kept.keep(key, metrics)
        if keep_state and end is not None:
            belongs_to = belonging(key=budget_free_digest(values, settings), split=file_digest(split),
                                   trainer=end.trainer, loop_mode=end.timing.loop_mode)  # fmt: skip
            write_state(end.state, state_path(metrics), belongs_to=belongs_to)
        elif not keep_state:
            state_path(metrics).unlink(missing_ok=True)
        logger.info("cell %s: %s in %.2f s", record.cell, record.status, record.timing.total_seconds)
    return record


def cell_axes(values: Mapping, settings: Mapping) -> tuple[dict, dict]:
    """(preprocessing axes, builder axes) of a cell's values: each axis to the functions that take it."""
    transformer = settings["preprocessing"]["transformer"]
    if not transformer:
        return route_axes(values, builder_takes=None, transformer_takes=False)
    builder_takes, transformer_takes = _parameters(settings["model"]["builder"], transformer)
    return route_axes(values, builder_takes=builder_takes, transformer_takes=transformer_takes)


@functools.lru_cache(maxsize=8)
def _parameters(builder: str, transformer: str) -> tuple:
    """The builder's and the transformer's parameters, read from their source once per process."""
    return builder_axes(builder, []), transformer_axes(transformer, [])


def fit_settings(values: Mapping, training: Mapping, plan: CellPlan) -> FitSettings:
    """The cell's training settings: its own training axes, else the config's ``training`` defaults."""
    return FitSettings(
        epochs=int(training_value(values, training, "epochs")),
        batch_size=int(training_value(values, training, "batch_size")),
        learning_rate=float(training_value(values, training, "learning_rate")),
        optimizer=training_value(values, training, "optimizer"),
        momentum=float(training_value(values, training, "momentum")),
        class_weight=class_weights(plan.y_train, plan.n_classes, training["class_weight"]),
        task=plan.task,
    )


def _train(
    *, split_path: str, values: Mapping, settings: Mapping, threads: int, candidates: Sequence, log: logging.Logger
) -> tuple[CellRecord, CellArrays, Outcome | None]:
    """Plan, build and fit the cell's models, going on from a kept state of ``candidates`` if one fits.

    Returns its record, what its models computed, and the training's outcome (None if it failed: no state).
    """
    started = time.perf_counter()
    from gridflow.train.backend import keras_runtime

    keras = keras_runtime(threads)
    key = {"values": dict(values), "settings": dict(settings)}
    settings = trained_settings(settings)
    preprocessing_axes, model_axes = cell_axes(values, settings)
    try:
        plan = plan_cell(split_path, repetitions=settings["training"]["repetitions"], seed=settings["training"]["seed"],
                         preparation=Preparation.of(settings["preprocessing"], preprocessing_axes))  # fmt: skip
    except TransformerError as failure:  # the user's transformer fails this cell's models, as a builder would
        log.error("cell %s failed: %s", grid.cell_id(values), failure)
        plan, outcome, passed_over = None, Outcome(status="failed", error=str(failure)), ""
    else:
        outcome, passed_over = _fit_plan(plan, values=values, model_axes=model_axes, key=key, settings=settings,
                                         split_path=split_path, candidates=candidates, log=log)  # fmt: skip
    models = []
    if plan is not None:
        fit_share = (outcome.timing.fit_seconds or 0.0) / len(plan.models)
        models = [_model_record(p, r, fit_seconds=fit_share) for p, r in zip(plan.models, outcome.results)]
    record = CellRecord(
        cell=grid.cell_id(values),
        params=dict(values),
        status="diverged" if any(m.status == "diverged" for m in models) else outcome.status,
        error=outcome.error,
        key_digest=key_digest(key),
        settings=key["settings"],
        split_digest=file_digest(split_path),
        trainer=outcome.trainer,
        trainer_note=outcome.note,
        trained_from=outcome.trained_from,
        trained_from_note=_trained_from_note(outcome, passed_over),
        n_params=outcome.n_params,
        timing=Timing(**{**vars(outcome.timing), "total_seconds": time.perf_counter() - started}),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        versions=_versions(keras),
        execution=Execution(
            host=platform.node(), pid=os.getpid(), slurm_job_id=os.environ.get("SLURM_JOB_ID"), threads=threads
        ),
        models=models,
        preprocessing=None if plan is None else plan.preprocessing,
    )
    arrays = _arrays(plan, outcome.results, task=settings["dataset"]["task"] if plan is None else plan.task)
    return record, arrays, outcome if outcome.status == "ok" else None


def _fit_plan(
    plan: CellPlan,
    *,
    values: Mapping,
    model_axes: Mapping,
    key: Mapping,
    settings: Mapping,
    split_path: str,
    candidates: Sequence,
    log: logging.Logger,
) -> tuple[Outcome, str]:
    """Build and fit a planned cell's models, from the kept state that fits if any; (outcome, states passed over).

    ``key`` is the cell's key; ``settings`` its settings as the job reads them (gridflow.spec.key.trained_settings).
    """
    training = settings["training"]
    fit = fit_settings(values, training, plan)
    log.info("cell %s: %d models, %s", grid.cell_id(values), len(plan.models), fit)
    expected = "fit" if training["trainer"] == "fit" else "fused"
    mode = loop_mode(steps_per_epoch([p.task for p in plan.models], fit.batch_size)) if expected == "fused" else None
    belongs_to = belonging(key=budget_free_digest(values, key["settings"]), split=file_digest(split_path),
                           trainer=expected, loop_mode=mode)  # fmt: skip
    start, passed_over = _start(candidates, belongs_to=belongs_to, epochs=fit.epochs)
    outcome = build_and_fit(plan=plan, fit=fit, model_axes=model_axes, settings=settings, start=start, log=log)
    return outcome, passed_over


def _start(candidates: Sequence, *, belongs_to: dict, epochs: int) -> tuple[Start | None, str]:
    """The kept state this cell goes on from, if any, and why kept states were passed over."""
    state, about, passed_over = find_start(candidates, belongs_to=belongs_to, epochs=epochs)
    return (None if state is None else Start(state, about["trainer"], about["loop_mode"])), passed_over


def _trained_from_note(outcome: Outcome, passed_over: str) -> str | None:
    """Where the cell's training began, in words, when it is not plainly epoch 0."""
    if outcome.trained_from:
        return f"went on from its kept state after {outcome.trained_from} epochs"
    reason = outcome.start_note or passed_over
    return f"trained from epoch 0: {reason}" if reason else None


def _arrays(plan: CellPlan | None, results: list[ModelResult], *, task: str) -> CellArrays:
    """What the models computed: outputs on their eval rows (with the label's scale for regression), histories."""
    tasks = [] if plan is None else [p.task for p in plan.models[: len(results)]]
    regression = task == "regression"
    return cell_arrays(
        [r.eval_outputs for r in results],
        [r.history for r in results],
        history_keys=HISTORY_KEYS_BY_TASK[task],
        label_center=[t.label_center for t in tasks] if regression else None,
        label_scale=[t.label_scale for t in tasks] if regression else None,
    )


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
