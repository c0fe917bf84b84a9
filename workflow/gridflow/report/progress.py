"""Console lines on trained cells: how far a local run is, in cells, and how long it still needs.

Snakemake counts jobs, not cells, and does not know that a cell failed or
diverged (its job succeeds: the cell's metrics file says so). A run of up to
MAX_LINES cells gets a line per cell; a larger one a line every 1/MAX_LINES of
its cells, so that 100,000 cells print 31 lines (the first, every 1/30, the last), not 100,000.
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
# Lines a run's cells print at most (and one more for its last cell): with Snakemake's table of jobs and its
# last lines, a console of about 60 lines.
MAX_LINES = 30


class CellProgress:
    """Counts the cells of one run as they finish; thread-safe (cells finish in several threads)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._total = 0
        self._started = clock()
        self._finished: deque[float] = deque(maxlen=WINDOW + 1)
        self._statuses: dict[str, str] = {}  # cell -> its last status: a retried cell counts once
        self._counts: Counter[str] = Counter()  # of the statuses, kept as they change (not recounted per cell)
        self._next_line = 0  # cells done when the next line is due
        self._shown = (0, 0, 0)  # (cells done, failed, diverged) in the last line shown

    def start(self, total: int) -> None:
        """A run begins that trains ``total`` cells."""
        with self._lock:
            self._total, self._started, self._next_line, self._shown = total, self._clock(), 0, (0, 0, 0)
            self._statuses, self._counts = {}, Counter()
            self._finished.clear()

    def cell_done(self, cell: str, status: str) -> str | None:
        """Count one finished cell (ok, failed or diverged); returns the line to show, or None if none is due."""
        with self._lock:
            if cell in self._statuses:
                self._counts[self._statuses[cell]] -= 1
            self._statuses[cell] = status
            self._counts[status] += 1
            done = len(self._statuses)
            total = max(self._total, done)
            now = self._clock()
            self._finished.append(now)
            # A small run: every cell; a large one: the first, the last and every total/MAX_LINES in between (and
            # on past the total, at that pace, for the cells of a halving search's later rounds).
            if self._total > MAX_LINES and done < self._next_line and done != self._total:
                return None
            self._next_line, self._shown = done + -(-self._total // MAX_LINES), self._counted(done)
            line = self._line(done, total, now)
            if 1 < done < total:
                # The pace of the last cells: the first ones pay for starting TensorFlow and
                # compiling loops that later cells reuse.
                per_cell = (now - self._finished[0]) / (len(self._finished) - 1)
                line += f", about {duration(per_cell * (total - done))} left"
            return line

    def final_line(self) -> str | None:
        """The line on the run's cells at its end if the last line shown is out of date: a halving search's later
        rounds go on past the cells counted at the start, and which of them is the last is known only at the end
        (or a retried cell changed its status since)."""
        with self._lock:
            done = len(self._statuses)
            if self._counted(done) == self._shown:
                return None
            self._shown = self._counted(done)
            return self._line(done, max(self._total, done), self._clock())

    def _counted(self, done: int) -> tuple[int, int, int]:
        return done, self._counts["failed"], self._counts["diverged"]

    def _line(self, done: int, total: int, now: float) -> str:
        return (
            f"gridflow: {done}/{total} cells trained ({self._counts['failed']} failed, "
            f"{self._counts['diverged']} diverged), {duration(now - self._started)} elapsed"
        )
