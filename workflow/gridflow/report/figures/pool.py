"""Draw figures in a pool of processes, one per core.

Matplotlib holds Python's lock while it draws, and the shared style is
process-wide, so threads of one process draw one figure at a time; a local run
has dozens of figures to draw after its summary.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def draw(function: Callable, *, processes: int, **arguments) -> None:
    """Call ``function(**arguments)`` in a pool of ``processes`` processes; in this process if 0."""
    global _pool
    if not processes:
        function(**arguments)
        return
    with _pool_lock:
        if _pool is None:
            # spawn, never fork: Snakemake's process holds threads and locks mid-use
            _pool = ProcessPoolExecutor(processes, mp_context=get_context("spawn"))
        pool = _pool
    try:
        pool.submit(function, **arguments).result()
    except BrokenProcessPool:
        with _pool_lock:  # a killed process breaks the pool: the next figure (or the retry) gets a new one
            if _pool is pool:
                _pool = None
        raise
