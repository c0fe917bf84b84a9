"""Cell records for tests, built through gridflow.results.record as training builds them."""

from __future__ import annotations

from gridflow.results.record import FULL, CellRecord, Execution, ModelRecord, Seeds, Timing
from gridflow.spec.grid import cell_id


def model_record(role="cv", *, metrics=None, history=None, status="ok", repetition=0, fold=0, **fields) -> ModelRecord:
    """One model: ``fold`` is its validation fold (role cv) or ignored (role test: ``full``)."""
    return ModelRecord(
        repetition=repetition,
        fold=fold if role == "cv" else FULL,
        role=role,
        seeds=fields.pop("seeds", Seeds(weights=1, shuffle=2)),
        status=status,
        epochs_run=fields.pop("epochs_run", len((history or {}).get("loss", [])) or 3),
        fit_seconds=fields.pop("fit_seconds", 1.0),
        n_train=fields.pop("n_train", 80),
        n_eval=fields.pop("n_eval", 40),
        metrics=metrics if status == "ok" else None,
        history=history or {},
        **fields,
    )


def cell_record(values, models=(), *, status="ok", error=None, timing=None, **fields) -> CellRecord:
    """A cell with these axis values and models; everything else as a quick fused run would leave it."""
    return CellRecord(
        cell=cell_id(values),
        params=dict(values),
        status=status,
        error=error,
        settings_digest=fields.pop("settings_digest", "0" * 16),
        settings=fields.pop("settings", {}),
        trainer=fields.pop("trainer", "fused"),
        trainer_note=fields.pop("trainer_note", None),
        n_params=fields.pop("n_params", 10),
        timing=Timing(**(timing or {})),
        peak_rss_mb=fields.pop("peak_rss_mb", 100.0),
        versions=fields.pop("versions", {}),
        execution=fields.pop("execution", Execution(host="test", pid=1, slurm_job_id=None, threads=1)),
        models=list(models),
        **fields,
    )
