"""Split a data set once: a stratified test part, and each training sample's validation fold.

Saved as one .npz file that every cell job reads. No TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gridflow.data.load import Dataset, load_dataset
from gridflow.io import atomic_path
from gridflow.logs import job_log
from gridflow.spec.key import trained_settings

# Regression splits are stratified on at most this many quantile bins of the label.
MAX_LABEL_BINS = 10


# Fold label of training samples that no model validates on (holdout mode).
NEVER_VALIDATED = -1
# The fold label of the model trained on the whole training part and scored on the test part.
FULL = "full"


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
    categories: dict[str, list[str]] = field(default_factory=dict)  # as the Dataset's

    @property
    def n_folds(self) -> int:
        return int(self.folds.max()) + 1

    def held_out(self, fold: int) -> np.ndarray:
        """Which training samples fold ``fold``'s models are scored on (the rest train them)."""
        return self.folds == fold

    def eval_labels(self, fold: int | str) -> np.ndarray:
        """The labels a model of ``fold`` is scored on, in order: its fold's, or the test part's (``full``)."""
        return self.y_test if fold == FULL else self.y_train[self.held_out(int(fold))]


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
    return Split(
        x_train, y_train, x_test, y_test, folds, dataset.feature_names, dataset.class_names, task, dataset.categories
    )


def save_split(split: Split, path: str | Path) -> None:
    """Write the split as one .npz file, atomically (a file of numbers alone as it always was)."""
    categories = {}
    if split.categories:
        categories = {
            "category_columns": np.array(list(split.categories), dtype=str),
            "category_counts": np.array([len(c) for c in split.categories.values()]),
            "category_names": np.array([n for c in split.categories.values() for n in c], dtype=str),
        }
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
            **categories,
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
            _categories(npz),
        )


def _categories(npz) -> dict[str, list[str]]:
    if "category_columns" not in npz:
        return {}
    names = [str(n) for n in npz["category_names"]]
    ends = np.cumsum(npz["category_counts"])
    return {str(c): names[end - n : end] for c, n, end in zip(npz["category_columns"], npz["category_counts"], ends)}


def write_split(*, settings: Mapping, path: str, log_path: str) -> None:
    """Load the data set, split it and save the split: the body of rule split_data.

    ``settings`` is the split's key (gridflow.spec.key.split_settings): the data set, the split and the folds.
    """
    settings = trained_settings(settings)
    dataset_spec, split_spec = settings["dataset"], settings["split"]
    with job_log(log_path) as log:
        dataset = load_dataset(dataset_spec["source"], dataset_spec["target"], dataset_spec["task"])
        split = make_split(
            dataset,
            test_size=split_spec["test_size"],
            cv_folds=settings["cv_folds"],
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
            "%d training and %d test samples, %d feature columns (%d categorical), %s, %d validation fold(s)",
            len(split.y_train),
            len(split.y_test),
            split.x_train.shape[1],
            len(split.categories),
            labels,
            split.n_folds,
        )
