"""One console line per trained cell: how far a local run is, in cells, and how long it still needs.

Snakemake counts jobs, not cells, and does not know that a cell failed or
diverged (its job succeeds: the cell's metrics file says so).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable


def duration(seconds: float) -> str:
    """12 s, 3 min 05 s, 1 h 02 min."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


# Cells whose pace predicts the rest.
WINDOW = 20


class CellProgress:
    """Counts the cells of one run as they finish; thread-safe (cells finish in several threads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._total = 0
        self._started = clock()
        self._finished: deque[float] = deque(maxlen=WINDOW + 1)
        self._statuses: dict[str, str] = {}  # cell -> its last status: a retried cell counts once

    def start(self, total: int) -> None:
        """A run begins that trains ``total`` cells."""
        with self._lock:
            self._total, self._started, self._statuses = total, self._clock(), {}
            self._finished.clear()

    def cell_done(self, cell: str, status: str) -> str:
        """Count one finished cell (ok, failed or diverged); returns the line to show."""
        with self._lock:
            self._statuses[cell] = status
            done = len(self._statuses)
            counts = Counter(self._statuses.values())
            total = max(self._total, done)
            now = self._clock()
            elapsed = now - self._started
            self._finished.append(now)
            line = (
                f"gridflow: {done}/{total} cells trained ({counts['failed']} failed, "
                f"{counts['diverged']} diverged), {duration(elapsed)} elapsed"
            )
            if 1 < done < total:
                # The pace of the last cells: the first ones pay for starting TensorFlow and
                # compiling loops that later cells reuse.
                per_cell = (now - self._finished[0]) / (len(self._finished) - 1)
                line += f", about {duration(per_cell * (total - done))} left"
            return line
