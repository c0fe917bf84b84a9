"""What a training process keeps between cells: counted and cleared without importing TensorFlow.

The modules that hold a process cache (compiled loops, seeded models, the
plan) register how to clear it when they are imported, and the loop cache
counts the loops it builds here. The training process reads the count to
know when to retire (gridflow.train.workers), and tests clear everything to
start cold, without importing TensorFlow where nothing was trained.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_clearers: list[Callable[[], None]] = []
_lock = threading.Lock()
_loops_built = 0


def register(clear: Callable[[], None]) -> None:
    """Have ``clear_all`` call ``clear`` (a module's function that empties its cache)."""
    _clearers.append(clear)


def count_loop_built() -> None:
    """One more loop traced and compiled by this process."""
    global _loops_built
    with _lock:
        _loops_built += 1


def loops_built() -> int:
    """How many loops this process has built (traced and compiled) so far."""
    return _loops_built


def clear_all() -> None:
    """Forget every registered cache of this process: the next cell starts cold."""
    for clear in _clearers:
        clear()
