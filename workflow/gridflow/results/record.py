"""A cell's record: what its job did, as typed values, written and read here only.

``metrics.json`` is self-describing: the cell's id and values, status, its key
(the settings it trained with, gridflow.spec.key) and the split it trained on,
how it trained, where, and every model's repetition, fold, seeds and status.
What the models computed (outputs and histories) is beside it in
``models.npz`` (gridflow.results.arrays); scores are computed from those.
``format`` says which version of this layout a file has; a reader refuses a
format it does not know instead of guessing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gridflow.io import write_json

# The layout of metrics.json (and models.npz); raise it with every change a reader must know about.
RECORD_FORMAT = 2
# What the models computed, beside each cell's metrics.json.
ARRAYS_FILE = "models.npz"
STATUSES = ("ok", "diverged", "failed")
# Where a fused cell's loop came from (None: model.fit, no loop): built by this
# cell (traced and compiled), loaded from the on-disk cache (traced only), or
# built by an earlier cell of the same process.
LOOP_SOURCES = ("compiled", "disk", "memory")


@dataclass(frozen=True)
class Seeds:
    """The seeds one model started from."""

    weights: int
    shuffle: int


@dataclass(frozen=True)
class ModelRecord:
    """One model of a cell: which repetition and fold, how it went. Its outputs and history are in models.npz.

    ``fold`` is the validation fold (role ``cv``) or ``full`` (role ``test``:
    trained on the whole training part, scored on the test part). ``status``
    is ``diverged`` when its loss became NaN or infinite (it has no scores).
    """

    repetition: int
    fold: int | str
    role: str
    seeds: Seeds
    status: str
    epochs_run: int
    fit_seconds: float
    n_train: int
    n_eval: int


@dataclass(frozen=True)
class Timing:
    """Seconds spent, and where the fused loop came from (None for ``model.fit``; see train.fitting)."""

    build_seconds: float | None = None
    fit_seconds: float | None = None
    loop_source: str | None = None
    loop_mode: str | None = None
    total_seconds: float | None = None


@dataclass(frozen=True)
class Execution:
    """Where the cell trained: host, the training process and, on a cluster, the Slurm job."""

    host: str
    pid: int
    slurm_job_id: str | None
    threads: int


@dataclass(frozen=True)
class CellRecord:
    """Everything a cell's job leaves behind, in metrics.json."""

    cell: str
    params: dict[str, object]
    status: str
    error: str | None
    key_digest: str
    settings: dict
    split_digest: str
    trainer: str | None
    trainer_note: str | None
    trained_from: int  # the epoch training began at: 0, or the epochs of the kept state it went on from
    trained_from_note: str | None
    n_params: int | None
    timing: Timing
    peak_rss_mb: float
    versions: dict[str, str]
    execution: Execution
    models: list[ModelRecord] = field(default_factory=list)
    # What the preprocessing made of the file's columns (gridflow.data.prepare); None in records before it was kept.
    preprocessing: dict | None = None

    def cv_models(self) -> list[ModelRecord]:
        """The cross-validation models (each scored on its held-out fold)."""
        return [m for m in self.models if m.role == "cv"]

    def test_models(self) -> list[ModelRecord]:
        """The models trained on the whole training part, scored on the test part."""
        return [m for m in self.models if m.role == "test"]


def to_json(record: CellRecord) -> dict:
    """The record as metrics.json holds it."""
    return {"format": RECORD_FORMAT, **dataclasses.asdict(record)}


def from_json(data: Mapping) -> CellRecord:
    """A record from metrics.json's contents.

    Raises
    ------
    ValueError
        If the file is of another format.
    """
    found = data.get("format")
    if found != RECORD_FORMAT:
        raise ValueError(f"record of format {found}; this gridflow reads format {RECORD_FORMAT}")
    fields = {k: v for k, v in data.items() if k != "format"}
    models = [ModelRecord(**{**m, "seeds": Seeds(**m["seeds"])}) for m in fields.pop("models")]
    return CellRecord(
        **{**fields, "timing": Timing(**fields["timing"]), "execution": Execution(**fields["execution"])},
        models=models,
    )


def arrays_path(metrics_path: str | Path) -> Path:
    """The models.npz beside a cell's metrics.json."""
    return Path(metrics_path).with_name(ARRAYS_FILE)


def write_record(record: CellRecord, path: str | Path) -> None:
    """Write a cell's metrics.json atomically."""
    write_json(to_json(record), path, one_line_items="models")


def read_record(path: str | Path) -> CellRecord:
    """Read a cell's metrics.json."""
    return from_json(json.loads(Path(path).read_text()))


def read_records(paths: Sequence[str | Path]) -> list[CellRecord]:
    """Read the metrics.json of every cell."""
    return [read_record(p) for p in paths]
