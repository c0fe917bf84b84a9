"""The data check's answer, remembered: every process that parses the workflow needs it, few need the data.

Snakemake parses the workflow in every dry run, every run and every cluster job; without this each of them
loaded the data set (a second for the built-in one, which imports scikit-learn; longer for a large file).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from gridflow.data.feasible import DataSize, check_data
from gridflow.io import write_json
from gridflow.spec.datasets import BUILTIN_DATASETS

CACHE_FILE = Path(".snakemake/gridflow/data-check.json")
# Answers kept: one per data file and settings in use, a few of them at a time.
MAX_ENTRIES = 32


def cached_check_data(config: Mapping, cache_file: Path = CACHE_FILE) -> DataSize:
    """``check_data(config)``, read from ``cache_file`` when the same data and settings passed it before.

    Only passes are kept: a failing check runs again, and says what is wrong, every time.
    """
    try:
        key = check_key(config)
    except OSError:  # no such file: the check says so in its words
        return check_data(config)
    known = _read(cache_file)
    if isinstance(entry := known.pop(key, None), dict) and set(entry) == {"rows", "features"}:
        return DataSize(**entry)
    size = check_data(config)
    entries = [*known.items()][-(MAX_ENTRIES - 1) :] + [(key, asdict(size))]
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        write_json(dict(entries), cache_file)
    except OSError:  # a read-only folder: check again next time
        pass
    return size


def check_key(config: Mapping) -> str:
    """What the check's answer depends on: the data (a file's path, size and modification time; a built-in
    one's scikit-learn), the settings the check reads, and the code that checks."""
    dataset = config["dataset"]
    source = dataset["source"]
    if source in BUILTIN_DATASETS:
        data = [source, metadata.version("scikit-learn")]
    else:
        info = os.stat(source)  # missing: the check below says so
        data = [os.path.abspath(source), info.st_size, info.st_mtime_ns]
    settings = [
        dataset["target"],
        dataset["task"],
        config["preprocessing"]["transformer"],
        config["split"]["test_size"],
        config["split"]["validation_size"],
        config["training"]["cv_folds"],
    ]
    return hashlib.sha256(json.dumps([data, settings, _checking_code()]).encode()).hexdigest()[:32]


@functools.cache
def _checking_code() -> list[str]:
    """What checks the data: the data stage's source (gridflow's version does not change between commits) and
    pandas' version (it reads the file)."""
    sources = sorted(Path(__file__).parent.glob("*.py"))
    return [hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest(), metadata.version("pandas")]


def _read(cache_file: Path) -> dict:
    try:
        known = json.loads(cache_file.read_text())
    except (OSError, ValueError):  # none yet, or unreadable: check again
        return {}
    return known if isinstance(known, dict) else {}
