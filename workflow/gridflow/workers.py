"""Long-lived worker processes that train the cells of a local run.

A local run executes `train_cell` jobs as threads of the Snakemake process
(`force-use-threads` in profiles/default); each thread hands its cell to one of
these workers, which keep TensorFlow imported between cells. Processes rather
than threads, because building and tracing models is Python work that would
queue on one GIL.

Cells that can share a compiled loop go to the same worker where it is free,
so they reuse its cached initial weights and compiled loops. A worker is replaced
after CELLS_PER_WORKER cells: TensorFlow never frees a compiled XLA program,
so a worker that lived forever would grow with every program it compiled.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
import zlib
from collections.abc import Callable

CELLS_PER_WORKER = 60


class WorkerDied(RuntimeError):
    """A worker process ended while training a cell (killed, out of memory)."""


def _serve(conn) -> None:
    """A worker's loop: run each (function, args, stderr path) it is sent, answer (ok, result or error)."""
    _die_with_parent()
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the Snakemake process is gone
            return
        if message is None:
            return
        function, args, stderr_path = message
        try:
            with _stderr_into(stderr_path):
                result = function(*args)
            conn.send((True, result))
        except Exception as error:
            conn.send((False, error))


@contextlib.contextmanager
def _stderr_into(path: str | None):
    """Append this process's stderr (file descriptor 2) to ``path`` for the block.

    TensorFlow's C++ start-up and XLA messages are written straight to fd 2;
    in a worker they belong in the log of the cell being trained, not on the
    console of the whole run.
    """
    if path is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    target = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.dup2(target, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this worker when Snakemake dies (even by kill -9),
    so a killed run leaves no worker finishing a cell nobody waits for."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux/glibc: the worker ends at its next read instead
        pass


class _Worker:
    def __init__(self):
        parent, child = multiprocessing.Pipe()
        # spawn, never fork: the parent may hold threads and locks mid-use
        self.process = multiprocessing.get_context("spawn").Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        self.cells = 0

    def call(self, function: Callable, args: tuple, stderr_path: str | None):
        try:
            self.conn.send((function, args, stderr_path))
            ok, result = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as error:
            raise WorkerDied(f"worker process {self.process.pid} ended ({self.process.exitcode})") from error
        self.cells += 1
        if not ok:
            raise result
        return result

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=30)
        self.conn.close()


class WorkerPool:
    """A fixed number of worker slots, each holding at most one live process."""

    def __init__(self, size: int):
        self.workers: list[_Worker | None] = [None] * size
        self.busy = [False] * size
        self.free = threading.Condition()

    def run(self, affinity: str, function: Callable, *args, stderr_path: str | None = None):
        """Run ``function(*args)`` in a worker, preferring the one ``affinity`` maps to.

        The worker's stderr goes to ``stderr_path`` while it runs (if given).
        """
        with self.free:
            self.free.wait_for(lambda: not all(self.busy))
            preferred = zlib.crc32(affinity.encode()) % len(self.workers)
            slot = preferred if not self.busy[preferred] else self.busy.index(False)
            self.busy[slot] = True
        try:
            worker = self.workers[slot]
            if worker is None or worker.cells >= CELLS_PER_WORKER or not worker.process.is_alive():
                if worker is not None:
                    worker.stop()
                worker = self.workers[slot] = _Worker()
            try:
                return worker.call(function, args, stderr_path)
            except WorkerDied:
                self.workers[slot] = None  # the next cell in this slot starts a new process
                raise
        finally:
            with self.free:
                self.busy[slot] = False
                self.free.notify()


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def run_in_worker(affinity: str, function: Callable, *args, workers: int, stderr_path: str | None = None):
    """Call ``function(*args)`` in this process's worker pool of ``workers`` processes.

    The worker's stderr is appended to ``stderr_path`` (if given) during the call.

    If the worker dies, this raises WorkerDied and the slot starts a fresh
    process next time, so Snakemake's retry of the job can succeed.
    """
    global _pool
    with _pool_lock:
        if _pool is None or len(_pool.workers) != workers:
            _pool = WorkerPool(workers)
    return _pool.run(affinity, function, *args, stderr_path=stderr_path)
