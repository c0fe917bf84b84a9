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

# Built-in data sets (shipped with scikit-learn, no download) and the task each is for.
BUILTIN_DATASETS = {"breast_cancer": "classification", "diabetes": "regression"}
# A numeric label with more distinct values than this is a quantity, not classes.
MAX_NUMERIC_CLASSES = 50
# Regression splits are stratified on at most this many quantile bins of the label.
MAX_LABEL_BINS = 10
# Fold label of training samples that no model validates on (holdout mode).
NEVER_VALIDATED = -1


@dataclass(frozen=True)
class Dataset:
    """Features and labels: integers 0..k-1 with the class names behind them, or numbers (regression)."""

    features: np.ndarray
    labels: np.ndarray
    feature_names: list[str]
    class_names: list[str]  # empty for regression
    task: str = "classification"


@dataclass(frozen=True)
class Split:
    """Training and test parts, with each training sample's validation fold."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    folds: np.ndarray
    feature_names: list[str]
    class_names: list[str]  # empty for regression
    task: str = "classification"

    @property
    def n_folds(self) -> int:
        return int(self.folds.max()) + 1


def load_dataset(source: str, target: str | None, task: str = "classification") -> Dataset:
    """Load a built-in data set or a CSV/Parquet file with a label column, for ``task``.

    Raises
    ------
    ConfigError
        If the file is missing or unreadable, lacks the target column, has
        non-numeric features or missing values, holds a single class or value,
        or its label does not fit the task (a quantity under classification,
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


def _load_table(path: Path, target: str | None, task: str) -> Dataset:
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
    labels, class_names = task_labels(table[target], task=task, what=f"dataset {path}", target=target)
    return Dataset(features.to_numpy(dtype=np.float32), labels, [str(c) for c in features.columns], class_names, task)


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


def strata(labels: np.ndarray, *, task: str, parts: int, smallest_part: int) -> np.ndarray | None:
    """What a split into ``parts`` parts is stratified on: the classes, or for regression the label's quantile bins.

    Binning a numeric label makes every fold and the test part cover its whole
    range (a plain shuffle can leave a small data set's extremes out of a
    fold). At most MAX_LABEL_BINS bins and no more than the smallest part has
    samples; repeated label values can merge bins, and a bin of fewer than
    2 x ``parts`` samples joins its smaller neighbour. None (a plain shuffled
    split) when fewer than two bins are left.
    """
    if task == "classification":
        return labels
    n_bins = min(MAX_LABEL_BINS, smallest_part, len(labels) // (2 * parts))
    if n_bins < 2:
        return None
    edges = np.unique(np.quantile(labels, np.linspace(0, 1, n_bins + 1)[1:-1]))
    bins = np.searchsorted(edges, labels, side="right")
    counts = np.bincount(bins)
    while len(counts) > 1 and counts.min() < 2 * parts:
        small = int(counts.argmin())
        neighbours = [i for i in (small - 1, small + 1) if 0 <= i < len(counts)]
        into = min(neighbours, key=lambda i: counts[i])
        bins = np.unique(np.where(bins == small, into, bins), return_inverse=True)[1]
        counts = np.bincount(bins)
    return bins if len(counts) > 1 else None


def make_split(dataset: Dataset, *, test_size: float, cv_folds: int, validation_size: float, seed: int) -> Split:
    """Stratified, seeded test split and fold assignment of the training part.

    Stratified on the classes, or on quantile bins of a numeric label (see
    ``strata``). With ``cv_folds`` 0, one validation part (fold 0) is held out
    of the training part and the other samples get NEVER_VALIDATED.
    """
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    task, n_rows = dataset.task, len(dataset.labels)
    n_test = int(np.ceil(test_size * n_rows))  # as train_test_split rounds
    x_train, x_test, y_train, y_test = train_test_split(
        dataset.features,
        dataset.labels,
        test_size=test_size,
        stratify=strata(dataset.labels, task=task, parts=2, smallest_part=min(n_test, n_rows - n_test)),
        random_state=seed,
    )
    folds = np.full(len(y_train), NEVER_VALIDATED, dtype=np.int32)
    if cv_folds:
        by = strata(y_train, task=task, parts=cv_folds, smallest_part=len(y_train) // cv_folds)
        splitter = (KFold if by is None else StratifiedKFold)(n_splits=cv_folds, shuffle=True, random_state=seed)
        for fold, (_, validation) in enumerate(splitter.split(x_train, y_train if by is None else by)):
            folds[validation] = fold
    else:
        n_validation = int(np.ceil(validation_size * len(y_train)))
        smallest = min(n_validation, len(y_train) - n_validation)
        _, validation = train_test_split(
            np.arange(len(y_train)),
            test_size=validation_size,
            stratify=strata(y_train, task=task, parts=2, smallest_part=smallest),
            random_state=seed,
        )
        folds[validation] = 0
    return Split(x_train, y_train, x_test, y_test, folds, dataset.feature_names, dataset.class_names, task)


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
            class_names=np.array(split.class_names, dtype=str),
            task=np.array(split.task),
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
            str(npz["task"]) if "task" in npz else "classification",
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
        dataset = load_dataset(dataset_spec["source"], dataset_spec.get("target"), dataset_spec["task"])
        split = make_split(
            dataset,
            test_size=split_spec["test_size"],
            cv_folds=cv_folds,
            validation_size=split_spec["validation_size"],
            seed=split_spec["seed"],
        )
        save_split(split, path)
        labels = (
            f"classes {split.class_names}"
            if split.task == "classification"
            else f"a numeric label from {split.y_train.min():g} to {split.y_train.max():g}"
        )
        log.info(
            "%d training and %d test samples, %d features, %s, %d validation fold(s)",
            len(split.y_train),
            len(split.y_test),
            split.x_train.shape[1],
            labels,
            split.n_folds,
        )
