"""Read a data set: a built-in one or a CSV/Parquet file with a label column.

No TensorFlow: the config check reads the data set while Snakemake parses,
and the split runs in its own light job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gridflow.data.labels import task_labels
from gridflow.data.table import table_features
from gridflow.errors import ConfigError
from gridflow.spec.datasets import BUILTIN_DATASETS


@dataclass(frozen=True)
class Dataset:
    """Features and labels: integers 0..k-1 with the class names behind them, or numbers (regression).

    ``features`` is float32 with NaN for a gap; a categorical column holds
    codes that index its entry of ``categories`` (gridflow.data.table).
    """

    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str]
    class_names: list[str]  # empty for regression
    task: str = "classification"
    categories: dict[str, list[str]] = field(default_factory=dict)


def load_dataset(source: str, target: str | None, task: str = "classification") -> Dataset:
    """Load a built-in data set or a CSV/Parquet file with a label column, for ``task``.

    Raises
    ------
    ConfigError
        If the file is missing or unreadable, lacks the target column, has a
        gap in its label, no feature column, an empty column or one that is
        neither numbers, text nor yes/no, holds a single class or value, or
        its label does not fit the task (a quantity under classification,
        text under regression).
    """
    if source in BUILTIN_DATASETS:
        if BUILTIN_DATASETS[source] != task:
            raise ConfigError(
                f"config key 'dataset.task' has value {task}; built-in data set {source} is for "
                f"{BUILTIN_DATASETS[source]}; allowed: dataset.task: {BUILTIN_DATASETS[source]}"
            )
        from sklearn import datasets

        bunch = datasets.load_breast_cancer() if source == "breast_cancer" else datasets.load_diabetes()
        features, names = bunch.data.astype(np.float32), [str(n) for n in bunch.feature_names]
        if task == "classification":
            return Dataset(features, bunch.target.astype(np.int32), names, [str(n) for n in bunch.target_names])
        return Dataset(features, bunch.target.astype(np.float64), names, [], task)
    return _load_table(Path(source), target, task)


def _load_table(path: Path, target: str | None, task: str) -> Dataset:
    import pandas as pd

    key = "config key 'dataset.source'"
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(
            f'{key} has value "{path}"; allowed: {", ".join(BUILTIN_DATASETS)} or a .csv or .parquet file'
        )
    if not path.is_file():
        # Relative to the working directory, which --directory moves: say which directory that was.
        where = "" if path.is_absolute() else f" in {Path.cwd()}"
        raise ConfigError(f'{key} has value "{path}"; no such file{where}; allowed: an existing file')
    try:
        table = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except Exception as error:  # any parser error is the user's file, not our bug
        raise ConfigError(f'{key} has value "{path}"; cannot read it: {str(error).splitlines()[0]}') from None
    if not target:
        raise ConfigError(f"config key 'dataset.target' has value null; allowed: a column of {path}")
    if target not in table.columns:
        columns = ", ".join(map(str, table.columns[:10]))
        raise ConfigError(
            f"config key 'dataset.target' has value \"{target}\"; allowed: a column of {path} ({columns})"
        )
    gaps = table[target].isna().to_numpy()
    if gaps.any():
        raise ConfigError(
            f"dataset {path}: label column '{target}' has {int(gaps.sum())} missing value(s), the first in data row "
            f"{int(gaps.argmax()) + 1}; allowed: a label in every row (drop those rows)"
        )
    if table.shape[1] == 1:
        raise ConfigError(
            f"dataset {path}: no feature column besides the label '{target}'; allowed: a file with feature columns"
        )
    features, names, categories = table_features(table.drop(columns=[target]), what=f"dataset {path}")
    labels, class_names = task_labels(table[target], task=task, what=f"dataset {path}", target=target)
    return Dataset(features, labels, names, class_names, task, categories)
