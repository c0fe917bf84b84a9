"""Whether a data set can be split as the config asks, checked before any job runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gridflow.data.encode import layout_of
from gridflow.data.load import Dataset, load_dataset
from gridflow.data.table import MAX_CATEGORIES
from gridflow.errors import ConfigError


@dataclass(frozen=True)
class DataSize:
    """What a cell job's memory grows with: the data set's rows, and the features the built-in preprocessing
    makes of its columns (for a user's transformer, the columns)."""

    rows: int
    features: int


def check_data(config: Mapping) -> DataSize:
    """Load the data set once (no TensorFlow), check it can be split as asked; returns its size.

    Raises
    ------
    ConfigError
        With a one-line message for the first problem found.
    """
    dataset = load_dataset(config["dataset"]["source"], config["dataset"]["target"], config["dataset"]["task"])
    if not config["preprocessing"]["transformer"]:
        check_categories(dataset, config["dataset"]["source"])
    split = config["split"]
    check_split_feasible(dataset, split["test_size"], config["training"]["cv_folds"], split["validation_size"])
    if config["preprocessing"]["transformer"]:  # its output is unknown before it runs: taken as the columns
        return DataSize(len(dataset.labels), len(dataset.feature_names))
    layout = layout_of(dataset.features, names=dataset.feature_names, categories=dataset.categories)
    return DataSize(len(dataset.labels), layout.n_features)


def check_categories(dataset: Dataset, source: str) -> None:
    """Raise ConfigError for a categorical column too varied for the built-in one-hot encoding (an identifier)."""
    for name, categories in dataset.categories.items():
        if len(categories) > MAX_CATEGORIES:
            raise ConfigError(
                f"dataset {source}: feature column '{name}' has {len(categories)} distinct text values, too many to "
                f"one-hot encode; allowed: at most {MAX_CATEGORIES} (drop it if it identifies rows, or encode it in "
                "your own preprocessing.transformer)"
            )


def check_split_feasible(dataset: Dataset, test_size: float, cv_folds: int, validation_size: float) -> None:
    """Raise ConfigError if the stratified split or the folds cannot be made."""
    if dataset.task == "regression":
        _check_regression_split(len(dataset.labels), test_size, cv_folds, validation_size)
        return
    counts = np.bincount(dataset.labels)
    smallest, name = int(counts.min()), dataset.class_names[int(counts.argmin())]
    n_test = int(np.ceil(test_size * len(dataset.labels)))
    if n_test < len(counts) or len(dataset.labels) - n_test < len(counts):
        raise ConfigError(
            f"config key 'split.test_size' has value {test_size}; with {len(dataset.labels)} rows it leaves a part "
            f"smaller than the {len(counts)} classes; allowed: a size that leaves every class in both parts"
        )
    in_train = int(np.floor(smallest * (1 - test_size)))
    if not cv_folds:
        n_train = len(dataset.labels) - n_test
        n_validation = int(np.ceil(validation_size * n_train))
        if n_validation < len(counts) or n_train - n_validation < len(counts):
            raise ConfigError(
                f"config key 'split.validation_size' has value {validation_size}; with {n_train} training rows it "
                f"leaves a part smaller than the {len(counts)} classes; allowed: a size that leaves every class in both"
            )
    need = max(cv_folds, 2)
    if in_train < need:
        what = f"{cv_folds} folds" if cv_folds else "a validation part"
        raise ConfigError(
            f"config key 'training.cv_folds' has value {cv_folds}; class '{name}' has only {in_train} training "
            f"samples, too few for {what}; allowed: at most {in_train} folds"
        )


def _check_regression_split(n_rows: int, test_size: float, cv_folds: int, validation_size: float) -> None:
    """Every part must hold at least 2 samples (R² needs them)."""
    n_test = int(np.ceil(test_size * n_rows))
    if n_test < 2 or n_rows - n_test < 2:
        raise ConfigError(
            f"config key 'split.test_size' has value {test_size}; with {n_rows} rows it leaves a part of fewer "
            "than 2 samples; allowed: a size that leaves 2 or more in both parts"
        )
    n_train = n_rows - n_test
    if cv_folds and n_train // cv_folds < 2:
        raise ConfigError(
            f"config key 'training.cv_folds' has value {cv_folds}; {n_train} training samples leave folds of "
            f"fewer than 2; allowed: at most {n_train // 2} folds"
        )
    n_validation = int(np.ceil(validation_size * n_train))
    if not cv_folds and (n_validation < 2 or n_train - n_validation < 2):
        raise ConfigError(
            f"config key 'split.validation_size' has value {validation_size}; with {n_train} training rows it "
            "leaves a part of fewer than 2 samples; allowed: a size that leaves 2 or more in both"
        )
