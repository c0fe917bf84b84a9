"""Keep a copy of each finished cell's record, so that a retried cluster job trains only what failed.

When one cell of a grouped cluster job kills the job's process, Snakemake
removes the outputs of every cell of the group, finished ones included, and
retries the group. A cell that trains in its job's own process (a cluster
job's) therefore also keeps a copy of its files
(metrics.json and models.npz) under .snakemake/gridflow/kept-cells/, keyed by
everything its result depends on (gridflow's own source code, TensorFlow's and
Keras' versions, the cell's key, the split's bytes and the builder's source);
a retry restores a matching copy instead of training the cell again. Training is
deterministic, so the copy is what the retry would compute. Only retries
restore: a first attempt always trains. A local run's threads keep no copy: they
retry only the cell that failed, which has nothing to restore.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

from gridflow.io import atomic_path, file_digest
from gridflow.results.record import CellRecord, arrays_path, read_record
from gridflow.spec.key import key_digest

KEPT_ROOT = Path(".snakemake/gridflow/kept-cells")


def result_key(*, values: Mapping, settings: Mapping, split_path: str) -> str:
    """A fingerprint of everything a cell's result depends on."""
    parts = [
        _code_digest(),
        key_digest({"values": dict(values), "settings": dict(settings)}),
        file_digest(split_path),  # the key holds the builder module's source digest already
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def keep(key: str, metrics_path: str) -> None:
    """Copy a finished cell's files (its arrays first, like the cell) under its key."""
    kept = _kept_path(key)
    for source, target in ((arrays_path(metrics_path), arrays_path(kept)), (Path(metrics_path), kept)):
        _copy(source, target)


def restore(key: str, metrics_path: str) -> CellRecord | None:
    """Copy the kept files of ``key`` to the cell's and return its record, or None if there is none."""
    kept = _kept_path(key)
    try:
        record = read_record(kept)
    except (OSError, ValueError):
        return None
    for source, target in ((arrays_path(kept), arrays_path(metrics_path)), (kept, Path(metrics_path))):
        _copy(source, target)
    return record


def _copy(source: Path, target: Path) -> None:
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def _kept_path(key: str) -> Path:
    """The kept metrics.json of ``key``; its models.npz beside it."""
    return KEPT_ROOT / key[:2] / key / "metrics.json"


@functools.cache
def _code_digest() -> str:
    """gridflow's own source and the versions of what trains: read once per process."""
    digest = hashlib.sha256(f"{version('tensorflow')}|{version('keras')}".encode())
    for path in sorted(Path(__file__).parents[1].rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()
