"""The training process of a local run: one per machine, training several cells at once.

A local run executes `train_cell` jobs as threads of the Snakemake process
(`force-use-threads` in profiles/default); each thread hands its cell to this
run's training process, which trains up to `slots` cells at once, one thread
each. One process rather than one per core, so every compiled loop, initial
state and the plan are made once per machine and shared by all cells; the
compiled programs run outside Python's lock, so the slots run in parallel.
Separate from Snakemake, so a crash in TensorFlow costs only the cells in it.

A process is replaced (after its running cells finish) once it has built
LOOPS_PER_PROCESS loops: TensorFlow never frees a compiled program, so a
process that lived forever would grow with every new architecture.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import tempfile
import threading
from collections.abc import Callable

from gridflow.train import caches

LOOPS_PER_PROCESS = 100


class WorkerDied(RuntimeError):
    """The training process ended while training a cell (killed, out of memory)."""


def _serve(conns) -> None:
    """The training process: one thread per slot, each running what its pipe is sent."""
    _die_with_parent()
    # TensorFlow's C++ messages go straight to file descriptor 2; keep them in a
    # file so each cell's log gets what was printed while it trained.
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        threads = [threading.Thread(target=_serve_slot, args=(conn,), daemon=True) for conn in conns]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _serve_slot(conn) -> None:
    """Run each (function, args, kwargs, stderr path) sent; answer (ok, result or error, loops built)."""
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the Snakemake process is gone
            return
        if message is None:
            return
        function, args, kwargs, stderr_path = message
        start = _stderr_size()
        try:
            answer = (True, function(*args, **kwargs))
        except Exception as error:
            answer = (False, error)
        if stderr_path is not None:
            _copy_stderr(start, stderr_path)
        conn.send((*answer, caches.loops_built()))


def _stderr_size() -> int:
    sys.stderr.flush()
    return os.fstat(2).st_size


def _copy_stderr(start: int, path: str) -> None:
    """Append what this process wrote to stderr since ``start`` to ``path``.

    Cells that ran at the same time may both get a line printed while both ran.
    """
    end = _stderr_size()
    if end > start:
        with open(path, "ab") as log:
            log.write(os.pread(2, end - start, start))


def _die_with_parent() -> None:
    """On Linux, have the kernel kill this process when Snakemake dies (even by kill -9),
    so a killed run leaves no process finishing a cell nobody waits for."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux/glibc: the process ends at its next read instead
        pass


class _Worker:
    """One training process and its slots (a pipe each)."""

    def __init__(self, slots: int):
        pipes = [multiprocessing.Pipe() for _ in range(slots)]
        # spawn, never fork: the parent may hold threads and locks mid-use
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(target=_serve, args=([child for _, child in pipes],), daemon=True)
        self.process.start()
        for _, child in pipes:
            child.close()
        self.free = [parent for parent, _ in pipes]
        self.in_flight = 0
        self.loops_built = 0
        self.dead = False
        self.stopped = False

    @property
    def retired(self) -> bool:
        return self.dead or self.loops_built >= LOOPS_PER_PROCESS or not self.process.is_alive()

    def call(self, conn, function: Callable, args: tuple, kwargs: dict, *, stderr_path: str | None):
        try:
            conn.send((function, args, kwargs, stderr_path))
            ok, result, self.loops_built = conn.recv()
        except (EOFError, OSError, BrokenPipeError) as error:
            self.dead = True
            self.process.join(timeout=5)
            raise WorkerDied(f"training process {self.process.pid} ended ({self.process.exitcode})") from error
        if not ok:
            raise result
        return result

    def stop(self) -> None:
        for conn in self.free:
            with contextlib.suppress(OSError):
                conn.send(None)
        self.process.join(timeout=30)
        for conn in self.free:
            conn.close()


class WorkerPool:
    """This run's training process: at most ``slots`` calls at once, a fresh process when one retires."""

    def __init__(self, slots: int):
        self.slots = slots
        self.current: _Worker | None = None
        self.in_flight = 0
        self.changed = threading.Condition()

    def run(self, function: Callable, *args, stderr_path: str | None = None, **kwargs):
        """Run ``function(*args, **kwargs)`` in the training process; its stderr goes to ``stderr_path`` (if given)."""
        with self.changed:
            self.changed.wait_for(lambda: self.in_flight < self.slots)
            if self.current is None or self.current.retired:
                replaced, self.current = self.current, _Worker(self.slots)
            else:
                replaced = None
            worker = self.current
            conn = worker.free.pop()
            worker.in_flight += 1
            self.in_flight += 1
            idle = self._take_if_idle(replaced)
        if idle:
            idle.stop()  # outside the lock: it may take a while
        try:
            return worker.call(conn, function, args, kwargs, stderr_path=stderr_path)
        finally:
            with self.changed:
                worker.free.append(conn)
                worker.in_flight -= 1
                self.in_flight -= 1
                self.changed.notify_all()
                idle = self._take_if_idle(worker) if worker is not self.current else None
            if idle:
                idle.stop()

    @staticmethod
    def _take_if_idle(worker: _Worker | None) -> _Worker | None:
        """A replaced process whose last cell is done, to stop (once); called under the lock."""
        if worker is None or worker.in_flight or worker.stopped:
            return None
        worker.stopped = True
        return worker


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def _pool_of(slots: int) -> WorkerPool:
    global _pool
    with _pool_lock:
        if _pool is None or _pool.slots != slots:
            _pool = WorkerPool(slots)
        return _pool


def run_in_worker(function: Callable, *args, slots: int, stderr_path: str | None = None, **kwargs):
    """Call ``function(*args, **kwargs)`` in this run's training process of ``slots`` slots.

    The process's stderr output during the call is appended to ``stderr_path``
    (if given). If the process dies, this raises WorkerDied and the next call
    starts a fresh process, so Snakemake's retry of the job can succeed.
    """
    return _pool_of(slots).run(function, *args, stderr_path=stderr_path, **kwargs)
