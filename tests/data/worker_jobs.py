"""Jobs for the training process's tests: importable in a spawned process, no TensorFlow."""

import os
import sys
import time
import types


def build_a_loop() -> int:
    """Pretend to build a compiled loop (what the pool counts to retire a process); return the pid."""
    fused = sys.modules.setdefault("gridflow.fused", types.ModuleType("gridflow.fused"))
    fused.count = getattr(fused, "count", 0) + 1
    fused.loops_built = lambda: fused.count
    return os.getpid()


def nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def print_to_stderr(text: str) -> int:
    """Write to file descriptor 2 as TensorFlow's C++ code does."""
    os.write(2, text.encode())
    return os.getpid()


def die() -> None:
    os._exit(3)


def fail() -> None:
    raise ValueError("no such luck")
