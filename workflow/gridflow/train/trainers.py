"""Build a cell's seeded models and train them: the fused loop, or ``model.fit`` where asked or needed.

Either trainer starts at epoch 0 or goes on from a kept state of the cell
(gridflow.train.state) that it trained itself. TensorFlow is imported when a
cell trains, not when this module is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from gridflow.results.record import Timing
from gridflow.spec import grid
from gridflow.train.fitting import FitSettings, ModelResult, ModelsState
from gridflow.train.plan import CellPlan


@dataclass
class Outcome:
    """What building and fitting a cell's models gave: results, or the failure that stopped them."""

    status: str = "ok"
    error: str | None = None
    trainer: str | None = None
    note: str | None = None
    n_params: int | None = None
    results: list[ModelResult] = field(default_factory=list)
    timing: Timing = Timing()
    state: ModelsState | None = None  # where the models stand at the end
    trained_from: int = 0
    start_note: str | None = None  # why the kept state it was given was passed over, if it was


@dataclass(frozen=True)
class Start:
    """A kept state to go on from, and how it was trained (its trainer and loop mode)."""

    state: ModelsState
    trainer: str
    loop_mode: str | None


def build_and_fit(
    *,
    plan: CellPlan,
    fit: FitSettings,
    model_axes: Mapping,
    settings: Mapping,
    start: Start | None,
    log: logging.Logger,
) -> Outcome:
    """Build the seeded models and train them; a builder or model that raises makes the cell 'failed'."""
    from gridflow.train.seeding import seeded_models

    outcome = Outcome()
    builder = settings["model"]["builder"]
    try:
        t0 = time.perf_counter()
        built = seeded_models(builder, model_axes, n_features=plan.n_features, n_classes=plan.n_classes,
                              seeds=[p.weight_seed for p in plan.models], task=plan.task)  # fmt: skip
        outcome.n_params = int(built.template.count_params())
        outcome.timing = Timing(build_seconds=time.perf_counter() - t0)
        result, outcome.note = _fit(built=built, plan=plan, fit=fit, trainer=settings["training"]["trainer"],
                                    builder=builder, model_axes=model_axes, start=start, log=log)  # fmt: skip
        outcome.trainer, outcome.results, outcome.state = result.trainer, result.models, result.state
        outcome.trained_from, outcome.start_note = result.trained_from, result.start_note
        if start is not None and start.trainer != result.trainer:
            used = {"fused": "the fused loop", "fit": "model.fit"}
            outcome.start_note = (
                f"the kept state was trained by {used[start.trainer]}, this cell by {used[result.trainer]}"
            )
        outcome.timing = Timing(build_seconds=outcome.timing.build_seconds, fit_seconds=result.seconds,
                                loop_source=result.loop_source, loop_mode=result.loop_mode)  # fmt: skip
    except MemoryError:
        raise
    except Exception as failure:  # the user's builder or model rejected these values
        log.exception("cell failed")
        outcome.status, outcome.error = "failed", f"{type(failure).__name__}: {failure}".splitlines()[0]
    return outcome


def _fit(*, built, plan: CellPlan, fit: FitSettings, trainer: str, builder: str, model_axes, start, log):
    """Train with the fused loop, or with model.fit where asked or needed; returns (FitResult, note)."""
    from gridflow.train import fused, keras_fit
    from gridflow.train.builders import resolve_builder
    from gridflow.train.seeding import build_seeded

    tasks = [p.task for p in plan.models]
    note = None
    if trainer != "fit":
        # Without a fingerprint, only cells of the same builder and axis values share a loop.
        architecture = built.fingerprint or f"{builder}:{grid.cell_id(model_axes) if model_axes else ''}"
        going_on = start if start is not None and start.trainer == "fused" else None
        state, mode = (going_on.state, going_on.loop_mode) if going_on else (None, None)
        try:
            result = fused.fused_fit(built.template, built.states, tasks, fit, architecture=architecture,
                                     start=state, start_mode=mode)  # fmt: skip
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
    going_on = start.state if start is not None and start.trainer == "fit" else None
    return keras_fit.fit_models(models, tasks, fit, start=going_on), note
