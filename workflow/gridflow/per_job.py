"""Functions Snakemake calls once for every job: make each call as cheap as a plain value's."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

from snakemake.common import overwrite_function_params

F = TypeVar("F", bound=Callable)


def per_job(function: F) -> F:
    """Mark an input function, param or resource that Snakemake evaluates for every job.

    Before every call Snakemake reads the function's parameters with ``inspect.signature`` (twice), which
    was a fifth of planning a 10,000-cell grid (benchmarks/bench_scale.py). Its own wrappers
    (snakemake.ioutils) hand it the parameters once instead, through ``overwrite_function_params``; so does this.
    """
    overwrite_function_params(function, inspect.signature(function).parameters)
    return function
