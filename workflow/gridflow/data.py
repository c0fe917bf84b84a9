"""Load a data set, split it once, assign folds and scale per model.

No TensorFlow here: the split runs in its own light job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridflow.errors import ConfigError
from gridflow.io import atomic_path
from gridflow.logs import job_log

BUILTIN_DATASETS = ("breast_cancer",)
# Fold label of training samples that no model validates on (holdout mode).
NEVER_VALIDATED = -1


@dataclass(frozen=True)
class Dataset:
    """Features, integer labels 0..k-1 and the names behind them."""

    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str]
    class_names: list[str]


@dataclass(frozen=True)
class Split:
    """Training and test parts, with each training sample's validation fold."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    folds: np.ndarray
    feature_names: list[str]
    class_names: list[str]

    @property
    def n_folds(self) -> int:
        return int(self.folds.max()) + 1


def load_dataset(source: str, target: str | None) -> Dataset:
    """Load a built-in data set or a CSV/Parquet file with a label column.

    Raises
    ------
    ConfigError
        If the file is missing or unreadable, lacks the target column, has
        non-numeric features or missing values, or holds a single class.
    """
    if source in BUILTIN_DATASETS:
        from sklearn.datasets import load_breast_cancer

        bunch = load_breast_cancer()
        return Dataset(
            bunch.data.astype(np.float32),
            bunch.target.astype(np.int32),
            [str(n) for n in bunch.feature_names],
            [str(n) for n in bunch.target_names],
        )
    return _load_table(Path(source), target)


def _load_table(path: Path, target: str | None) -> Dataset:
    import pandas as pd

    key = "config key 'dataset.source'"
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(
            f'{key} has value "{path}"; allowed: {", ".join(BUILTIN_DATASETS)} or a .csv or .parquet file'
        )
    if not path.is_file():
        raise ConfigError(f'{key} has value "{path}"; no such file')
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
    features = table.drop(columns=[target])
    non_numeric = [str(c) for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if non_numeric:
        raise ConfigError(f"dataset {path}: feature column '{non_numeric[0]}' is not numeric; allowed: numbers only")
    if features.shape[1] == 0:
        raise ConfigError(f"dataset {path}: no feature columns besides the target '{target}'")
    missing = table.columns[table.isna().any()].tolist()
    if missing:
        raise ConfigError(f"dataset {path}: column '{missing[0]}' has missing values; allowed: complete rows only")
    class_names, labels = np.unique(table[target].to_numpy(), return_inverse=True)
    if len(class_names) < 2:
        raise ConfigError(f"dataset {path}: target '{target}' has a single class; allowed: two or more classes")
    return Dataset(
        features.to_numpy(dtype=np.float32),
        labels.astype(np.int32),
        [str(c) for c in features.columns],
        [str(c) for c in class_names],
    )


def check_split_feasible(dataset: Dataset, test_size: float, cv_folds: int, validation_size: float) -> None:
    """Raise ConfigError if the stratified split or the folds cannot be made."""
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


def make_split(dataset: Dataset, *, test_size: float, cv_folds: int, validation_size: float, seed: int) -> Split:
    """Stratified, seeded test split and fold assignment of the training part.

    With ``cv_folds`` 0, one stratified validation part (fold 0) is held out of
    the training part and the other samples get NEVER_VALIDATED.
    """
    from sklearn.model_selection import StratifiedKFold, train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        dataset.features, dataset.labels, test_size=test_size, stratify=dataset.labels, random_state=seed
    )
    folds = np.full(len(y_train), NEVER_VALIDATED, dtype=np.int32)
    if cv_folds:
        splitter = StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed)
        for fold, (_, validation) in enumerate(splitter.split(x_train, y_train)):
            folds[validation] = fold
    else:
        _, validation = train_test_split(
            np.arange(len(y_train)), test_size=validation_size, stratify=y_train, random_state=seed
        )
        folds[validation] = 0
    return Split(x_train, y_train, x_test, y_test, folds, dataset.feature_names, dataset.class_names)


def save_split(split: Split, path: str | Path) -> None:
    """Write the split as one .npz file, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(
            handle,
            x_train=split.x_train,
            y_train=split.y_train,
            x_test=split.x_test,
            y_test=split.y_test,
            folds=split.folds,
            feature_names=np.array(split.feature_names),
            class_names=np.array(split.class_names),
        )


def load_split(path: str | Path) -> Split:
    """Read a split written by save_split."""
    with np.load(path) as npz:
        return Split(
            npz["x_train"],
            npz["y_train"],
            npz["x_test"],
            npz["y_test"],
            npz["folds"],
            [str(n) for n in npz["feature_names"]],
            [str(n) for n in npz["class_names"]],
        )


def fit_scaler(name: str, x: np.ndarray):
    """Return a function that scales features as fitted on ``x`` alone."""
    if name == "none":
        return lambda a: a.astype(np.float32)
    if name == "standard":
        center, scale = x.mean(axis=0), x.std(axis=0)
    elif name == "minmax":
        center, scale = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
    else:
        raise ValueError(f"unknown scaler {name!r}")
    scale = np.where(scale > 0, scale, 1.0)
    return lambda a: ((a - center) / scale).astype(np.float32)


def write_split(*, dataset_spec: Mapping, split_spec: Mapping, cv_folds: int, path: str, log_path: str) -> None:
    """Load the data set, split it and save the split: the body of rule split_data."""
    with job_log(log_path) as log:
        dataset = load_dataset(dataset_spec["source"], dataset_spec.get("target"))
        split = make_split(
            dataset,
            test_size=split_spec["test_size"],
            cv_folds=cv_folds,
            validation_size=split_spec["validation_size"],
            seed=split_spec["seed"],
        )
        save_split(split, path)
        log.info(
            "%d training and %d test samples, %d features, classes %s, %d validation fold(s)",
            len(split.y_train),
            len(split.y_test),
            split.x_train.shape[1],
            split.class_names,
            split.n_folds,
        )
