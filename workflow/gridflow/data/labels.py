"""A label column as the trainers take it: classes numbered 0..k-1, or numbers for a regression."""

from __future__ import annotations

import numpy as np

from gridflow.errors import ConfigError

# A numeric label with more distinct values than this is a quantity, not classes.
MAX_NUMERIC_CLASSES = 50


def task_labels(raw: np.ndarray, *, task: str, what: str, target: str | None) -> tuple[np.ndarray, list[str]]:
    """Labels as the trainers take them, and the class names: integers 0..k-1, or float32 numbers (no names)."""
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
    if task == "regression":
        if not numeric:
            raise ConfigError(
                f"config key 'dataset.target' has value \"{target}\"; its values are not numeric; allowed: "
                "numbers for dataset.task: regression, or dataset.task: classification for classes"
            )
        labels = np.asarray(raw, dtype=np.float64)  # float32 only once standardised (plan): no digits lost
        if np.ptp(labels) == 0:
            raise ConfigError(f"{what}: the label has a single value; allowed: a label that varies")
        return labels, []
    values = np.asarray(raw)
    if numeric:
        distinct = np.unique(values)
        if len(distinct) > MAX_NUMERIC_CLASSES or not np.all(np.mod(distinct, 1) == 0):
            raise ConfigError(
                f"config key 'dataset.task' has value classification; the label of {what} looks continuous "
                f"({len(distinct)} distinct numbers); allowed: dataset.task: regression for a quantity, or a label "
                f"with at most {MAX_NUMERIC_CLASSES} whole-number or text classes"
            )
    class_names, labels = np.unique(values, return_inverse=True)
    if len(class_names) < 2:
        raise ConfigError(f"{what}: target '{target}' has a single class; allowed: two or more classes")
    return labels.astype(np.int32), [str(c) for c in class_names]
