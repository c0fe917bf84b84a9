"""Cell records for tests, built through gridflow.results (record and arrays) as training builds them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gridflow.analysis.scores import ScoredCell
from gridflow.data.split import FULL, Split
from gridflow.results.arrays import cell_arrays, write_arrays
from gridflow.results.record import CellRecord, Execution, ModelRecord, Seeds, Timing, arrays_path, write_record
from gridflow.spec.grid import cell_id

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def model_record(role="cv", *, status="ok", repetition=0, fold=0, **fields) -> ModelRecord:
    """One model: ``fold`` is its validation fold (role cv) or ignored (role test: ``full``)."""
    return ModelRecord(
        repetition=repetition,
        fold=fold if role == "cv" else FULL,
        role=role,
        seeds=fields.pop("seeds", Seeds(weights=1, shuffle=2)),
        status=status,
        epochs_run=fields.pop("epochs_run", 3),
        fit_seconds=fields.pop("fit_seconds", 1.0),
        n_train=fields.pop("n_train", 80),
        n_eval=fields.pop("n_eval", 40),
        **fields,
    )


def cell_record(values, models=(), *, status="ok", error=None, timing=None, **fields) -> CellRecord:
    """A cell with these axis values and models; everything else as a quick fused run would leave it."""
    return CellRecord(
        cell=cell_id(values),
        params=dict(values),
        status=status,
        error=error,
        key_digest=fields.pop("key_digest", "0" * 16),
        settings=fields.pop("settings", {}),
        split_digest=fields.pop("split_digest", "0" * 64),
        trainer=fields.pop("trainer", "fused"),
        trainer_note=fields.pop("trainer_note", None),
        trained_from=fields.pop("trained_from", 0),
        trained_from_note=fields.pop("trained_from_note", None),
        n_params=fields.pop("n_params", 10),
        timing=Timing(**(timing or {})),
        peak_rss_mb=fields.pop("peak_rss_mb", 100.0),
        versions=fields.pop("versions", {}),
        execution=fields.pop("execution", Execution(host="test", pid=1, slurm_job_id=None, threads=1)),
        models=list(models),
        **fields,
    )


def scored_cell(record: CellRecord, scores) -> ScoredCell:
    """A record with given scores per model (None where a model diverged), as the summary gets them."""
    return ScoredCell(record, list(scores))


def outputs_with_accuracy(labels: np.ndarray, accuracy: float, n_classes: int = 2) -> np.ndarray:
    """Class probabilities that are right on the first round(accuracy x n) rows and wrong on the rest."""
    right = np.arange(len(labels)) < round(accuracy * len(labels))
    predicted = np.where(right, labels, (labels + 1) % n_classes)
    outputs = np.full((len(labels), n_classes), 0.1 / (n_classes - 1), dtype=np.float32)
    outputs[np.arange(len(labels)), predicted] = 0.9
    return outputs


def write_cell(folder: Path, record: CellRecord, *, split: Split, split_digest: str, accuracies, histories=None):
    """Write a cell's metrics.json and models.npz as training would: each model right on about its accuracy's share
    of the rows the split gives it (``accuracies`` per model, None for a diverged one: NaN outputs)."""
    from dataclasses import replace

    models = []
    outputs = []
    for model, accuracy in zip(record.models, accuracies):
        labels = split.eval_labels(model.fold)
        models.append(replace(model, n_eval=len(labels)))
        if accuracy is None:
            outputs.append(np.full((len(labels), 2), np.nan, dtype=np.float32))
        else:
            outputs.append(outputs_with_accuracy(labels, accuracy))
    record = replace(record, models=models, split_digest=split_digest)
    histories = histories or [{} for _ in models]
    path = folder / "cells" / record.cell / "metrics.json"
    write_arrays(cell_arrays(outputs, histories, history_keys=HISTORY_KEYS), arrays_path(path))
    write_record(record, path)
    return path
