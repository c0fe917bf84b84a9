"""Jobs for the training process's tests: importable in a spawned process, no TensorFlow."""

import os
import time

from gridflow.train import caches


def build_a_loop() -> int:
    """Count a compiled loop as the loop cache does (what the pool counts to retire a process); return the pid."""
    caches.count_loop_built()
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
