"""Keep a copy of each finished cell's record, so that a retried cluster job trains only what failed.

When one cell of a grouped cluster job kills the job's process, Snakemake
removes the outputs of every cell of the group, finished ones included, and
retries the group. Each cell therefore also keeps its record under
.snakemake/gridflow/kept-cells/, keyed by everything its result depends on
(gridflow's code, TensorFlow's and Keras' versions, the cell's values, the
shared settings, the split's bytes and the builder's source); a retry
restores a matching copy instead of training the cell again. Training is
deterministic, so the copy is what the retry would compute. Only retries
restore: a first attempt always trains.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

from gridflow.io import file_digest
from gridflow.results.record import CellRecord, read_record, write_record
from gridflow.spec import grid
from gridflow.spec.settings import settings_digest
from gridflow.spec.signature import builder_source_digest

KEPT_ROOT = Path(".snakemake/gridflow/kept-cells")


def result_key(*, values: Mapping, settings: Mapping, split_path: str) -> str:
    """A fingerprint of everything a cell's result depends on."""
    parts = [
        _code_digest(),
        grid.cell_id(values),
        settings_digest(settings),
        file_digest(split_path),
        builder_source_digest(settings["model"]["builder"], sys.path),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def keep(record: CellRecord, key: str) -> None:
    """Store a finished cell's record under its key."""
    write_record(record, _kept_path(key))


def restore(key: str, metrics_path: str) -> CellRecord | None:
    """Write the kept record of ``key`` to ``metrics_path`` and return it, or None if there is none."""
    try:
        record = read_record(_kept_path(key))
    except (OSError, ValueError):
        return None
    write_record(record, metrics_path)
    return record


def _kept_path(key: str) -> Path:
    return KEPT_ROOT / key[:2] / f"{key}.json"


@functools.cache
def _code_digest() -> str:
    """gridflow's own source and the versions of what trains: read once per process."""
    digest = hashlib.sha256(f"{version('tensorflow')}|{version('keras')}".encode())
    for path in sorted(Path(__file__).parents[1].rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()
