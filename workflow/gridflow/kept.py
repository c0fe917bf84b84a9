"""Keep a copy of each finished cell's metrics, so that a retried cluster job trains only what failed.

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
import importlib.util
import json
import os
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

from gridflow import grid
from gridflow.io import write_json
from gridflow.settings import settings_digest

KEPT_ROOT = Path(".snakemake/gridflow/kept-cells")


def result_key(*, values: Mapping, settings: Mapping, split_path: str) -> str:
    """A fingerprint of everything a cell's result depends on."""
    info = os.stat(split_path)
    parts = [
        _code_digest(),
        grid.cell_id(values),
        settings_digest(settings),
        _file_digest(os.path.abspath(split_path), info.st_size, info.st_mtime_ns),
        _builder_digest(settings["model"]["builder"]),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def keep(record: Mapping, key: str) -> None:
    """Store a finished cell's record under its key."""
    write_json(record, _kept_path(key))


def restore(key: str, metrics_path: str) -> dict | None:
    """Write the kept record of ``key`` to ``metrics_path`` and return it, or None if there is none."""
    try:
        record = json.loads(_kept_path(key).read_text())
    except (OSError, ValueError):
        return None
    write_json(record, metrics_path)
    return record


def _kept_path(key: str) -> Path:
    return KEPT_ROOT / key[:2] / f"{key}.json"


@functools.cache
def _code_digest() -> str:
    """gridflow's own source and the versions of what trains: read once per process."""
    digest = hashlib.sha256(f"{version('tensorflow')}|{version('keras')}".encode())
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """A file's content digest; size and modification time in the arguments make a changed file a new entry."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _builder_digest(spec: str) -> str:
    """The source of the builder's module (gridflow's own model module for the built-in mlp)."""
    module = "gridflow.model" if spec == "mlp" else spec.split(":")[0]
    found = importlib.util.find_spec(module)
    if not found or not found.origin:
        return spec
    info = os.stat(found.origin)
    return _file_digest(found.origin, info.st_size, info.st_mtime_ns)
