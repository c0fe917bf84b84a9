"""A user's scikit-learn transformer (``preprocessing.transformer: package.module:function``), fitted per model.

The function returns an unfitted transformer (a ``ColumnTransformer``, a
``Pipeline``); its keyword parameters can be grid axes, as a builder's are.
It is fitted on one model's training samples, given as a DataFrame with the
file's column names: numbers as float, text and yes/no as text, gaps as NaN.
Whatever it raises fails the cells that use it, with one line naming it.
No TensorFlow.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

import numpy as np

from gridflow.spec.signature import callable_target


class TransformerError(Exception):
    """The user's transformer failed: a one-line message that names it."""


def as_frame(x: np.ndarray, names: list[str], categories: Mapping[str, list[str]]):
    """Raw feature rows as the DataFrame the user's transformer takes: categories back as their text."""
    import pandas as pd

    columns = {}
    for j, name in enumerate(names):
        if name in categories:
            text = np.array(categories[name], dtype=object)
            gap = np.isnan(x[:, j])
            columns[name] = np.where(gap, np.nan, text[np.where(gap, 0, x[:, j]).astype(np.int64)])
        else:
            columns[name] = x[:, j].astype(np.float64)
    return pd.DataFrame(columns)


def fit_transformer(
    spec: str, keywords: Mapping, *, x: np.ndarray, y: np.ndarray, names: list[str], categories: Mapping
) -> Callable[[np.ndarray], np.ndarray]:
    """A function from raw feature rows to float32 features: the user's transformer fitted on ``x``, ``y``.

    Raises
    ------
    TransformerError
        If the function, the fitting or a transform raises, or the features are not finite numbers.
    """
    module_name, func_name = callable_target(spec)
    with _named(spec):
        transformer = getattr(importlib.import_module(module_name), func_name)(**keywords)
        transformer.fit(as_frame(x, names, categories), y)

    def transform(rows: np.ndarray) -> np.ndarray:
        with _named(spec):
            out = transformer.transform(as_frame(rows, names, categories))
            out = np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=np.float32)
        if out.ndim != 2 or len(out) != len(rows):
            raise TransformerError(
                f"preprocessing.transformer {spec} gave features of shape {out.shape} for {len(rows)} rows; "
                "allowed: one row of features per row"
            )
        if not np.isfinite(out).all():
            raise TransformerError(
                f"preprocessing.transformer {spec} gave features with gaps or infinities; allowed: finite numbers "
                "(fill gaps in the transformer, e.g. with SimpleImputer)"
            )
        return out

    return transform


class _named:
    """Turn whatever the user's code raises into a TransformerError of one line naming ``spec``."""

    def __init__(self, spec: str):
        self.spec = spec

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None or isinstance(error, TransformerError | MemoryError | KeyboardInterrupt):
            return False
        first = next((line for line in str(error).splitlines() if line.strip()), "")
        first = f"{kind.__name__}: {first.strip()}"
        raise TransformerError(f"preprocessing.transformer {self.spec}: {first}") from error
