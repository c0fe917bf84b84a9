"""What a cell's models computed, kept as arrays beside its metrics.json: the ground its scores are computed from.

``models.npz`` holds, per model in the record's order, its outputs on the rows
it was scored on (class probabilities, or the prediction of the label
standardised on its training samples, with the mean and scale that put it back
in the label's units) and its per-epoch history, float32 as trained. Which
rows those are follows from the split (gridflow.data.split.eval_labels), so
they are not stored. Scoring happens downstream (gridflow.analysis.scores):
a new metric, or another ranking metric, needs no retraining.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridflow.io import atomic_path


@dataclass(frozen=True)
class CellArrays:
    """Every model's outputs and history; model i is the record's ``models[i]``."""

    outputs: tuple[np.ndarray, ...]  # per model: [rows scored, outputs], float32
    label_center: np.ndarray  # per model (regression; 0 for classification), float64
    label_scale: np.ndarray  # per model (regression; 1 for classification), float64
    history_keys: tuple[str, ...]
    history: np.ndarray  # [models, keys, epochs] float32; NaN after a model stopped (diverged)

    def predictions(self, i: int) -> np.ndarray:
        """Model i's class probabilities, or its predictions in the label's own units, as float64."""
        return self.outputs[i].astype(np.float64) * self.label_scale[i] + self.label_center[i]

    def curve(self, i: int, key: str, epochs: int) -> np.ndarray:
        """Model i's per-epoch ``key`` over the ``epochs`` it ran (empty if it has no such curve)."""
        if key not in self.history_keys:
            return np.zeros(0)
        return self.history[i, self.history_keys.index(key), :epochs].astype(np.float64)


def cell_arrays(
    outputs: Sequence[np.ndarray],
    histories: Sequence[dict[str, Sequence[float]]],
    *,
    history_keys: Sequence[str],
    label_center: Sequence[float] | None = None,
    label_scale: Sequence[float] | None = None,
) -> CellArrays:
    """Arrays from a trainer's results: per model its eval outputs and its history as lists per key."""
    epochs = max((len(h.get(k, [])) for h in histories for k in history_keys), default=0)
    history = np.full((len(histories), len(history_keys), epochs), np.nan, dtype=np.float32)
    for i, curves in enumerate(histories):
        for k, key in enumerate(history_keys):
            values = curves.get(key, [])
            history[i, k, : len(values)] = values
    n = len(outputs)
    return CellArrays(
        outputs=tuple(np.asarray(o, dtype=np.float32) for o in outputs),
        label_center=np.zeros(n) if label_center is None else np.asarray(label_center, dtype=np.float64),
        label_scale=np.ones(n) if label_scale is None else np.asarray(label_scale, dtype=np.float64),
        history_keys=tuple(history_keys),
        history=history,
    )


def write_arrays(arrays: CellArrays, path: str | Path) -> None:
    """Write models.npz atomically (compressed: a cell's histories are mostly alike)."""
    width = arrays.outputs[0].shape[-1] if arrays.outputs else 0
    stacked = np.concatenate(arrays.outputs) if arrays.outputs else np.zeros((0, width), np.float32)
    label = {"label_center": arrays.label_center, "label_scale": arrays.label_scale}
    if (arrays.label_center == 0).all() and (arrays.label_scale == 1).all():  # classification: nothing to undo
        label = {}
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(
            handle,
            outputs=stacked,
            rows=np.array([len(o) for o in arrays.outputs], dtype=np.int32),
            history_keys=np.array(arrays.history_keys, dtype=str),
            history=arrays.history,
            **label,
        )


def read_arrays(path: str | Path, *, histories: bool = True) -> CellArrays:
    """Read a cell's models.npz; without ``histories`` only what scoring needs (each array read costs, and
    the summary of a 100,000-cell grid reads one file a cell)."""
    try:
        npz = np.load(path)
    except FileNotFoundError:  # its cell's job writes it first, but declares only the metrics.json to Snakemake
        metrics = Path(path).with_name("metrics.json")
        raise FileNotFoundError(f"{path} is missing; delete {metrics} to retrain the cell") from None
    with npz:
        rows = npz["rows"]
        return CellArrays(
            outputs=tuple(np.split(npz["outputs"], np.cumsum(rows)[:-1])) if len(rows) else (),
            label_center=npz["label_center"] if "label_center" in npz else np.zeros(len(rows)),
            label_scale=npz["label_scale"] if "label_scale" in npz else np.ones(len(rows)),
            history_keys=tuple(str(k) for k in npz["history_keys"]) if histories else (),
            history=npz["history"] if histories else np.zeros((len(rows), 0, 0), np.float32),
        )
