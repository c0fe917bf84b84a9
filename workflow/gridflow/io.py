"""Write result files so that no reader ever sees half of one."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    On an exception the temporary file is removed and ``path`` is untouched.
    The file gets the usual permissions (umask), unlike a mkstemp file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield str(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(data: object, path: str | Path, *, one_line_items: str | None = None) -> None:
    """Write ``data`` as indented JSON, atomically; NaN and infinities become null.

    ``one_line_items``: a top-level key of ``data`` whose list is written one item a line (compact and still
    easy to read: a cell's models).
    """
    data = _nan_to_none(data)
    items = data.pop(one_line_items) if one_line_items else None
    text = json.dumps(data, indent=2, sort_keys=False)
    if one_line_items:
        lines = ",\n".join(f"    {json.dumps(item)}" for item in items)
        listed = f"[\n{lines}\n  ]" if items else "[]"
        text = text.removesuffix("\n}") + f',\n  "{one_line_items}": {listed}\n}}'
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text + "\n")


def _nan_to_none(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nan_to_none(v) for v in value]
    return value


def remove_unlisted(folder: str | Path, keep: Iterable[str | Path], suffixes: tuple[str, ...]) -> list[Path]:
    """Delete files with these suffixes under ``folder`` that are not in ``keep``; returns them.

    Used on generated folders only (results/figures), so that a figure the
    current config no longer makes cannot be mistaken for a current one.
    """
    keep = {Path(p).resolve() for p in keep}
    stale = [p for p in Path(folder).rglob("*") if p.suffix in suffixes and p.resolve() not in keep]
    for path in stale:
        path.unlink()
    return stale


def file_digest(path: str | Path) -> str:
    """A digest of a file's bytes, read once per process while its size and modification time stay the same."""
    info = os.stat(path)
    return _digest(os.path.abspath(path), info.st_size, info.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    # Size and modification time are part of the cache key: a changed file is a new entry.
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
