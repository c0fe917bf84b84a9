"""Plan a cell's models: which repetition and fold each is, its seeds and its prepared data.

NumPy only. Plans depend on the split file and the training settings alone, so
a process plans once per split and reuses the plan for every cell it trains.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from gridflow.data.prepare import Preparation, prepared_parts
from gridflow.data.split import FULL, Split, load_split
from gridflow.train import caches
from gridflow.train.fitting import ModelTask
from gridflow.train.lru import BoundedCache


@dataclass(frozen=True)
class ModelPlan:
    """One model of a cell: which repetition and fold, its seeds and data."""

    repetition: int
    fold: int | str
    weight_seed: int
    task: ModelTask

    @property
    def role(self) -> str:
        """'test' for the full-training-part model, else 'cv'."""
        return "test" if self.fold == FULL else "cv"


@dataclass(frozen=True)
class CellPlan:
    """Every model of a cell, and what the split says about the data."""

    models: list[ModelPlan]
    n_features: int
    n_classes: int  # output units: the classes, or 1 for regression
    y_train: np.ndarray  # the whole training part's labels (class weights come from them)
    task: str = "classification"
    preprocessing: dict | None = None  # what the preprocessing made of the columns, for the record


def model_seeds(root: int, repetition: int, fold: int | str) -> tuple[int, int]:
    """(weight seed, shuffle seed) of one model, from (root seed, repetition, fold) only."""
    fold_slot = 0 if fold == FULL else int(fold) + 1
    state = np.random.SeedSequence([root, repetition, fold_slot]).generate_state(2)
    return int(state[0] % 2**31), int(state[1] % 2**31)


def plan_models(split: Split, repetitions: int, seed: int, preparation: Preparation) -> tuple[list[ModelPlan], dict]:
    """Every model of a cell with its data, prepared on its own training samples; and what the preparation did."""
    parts, described = prepared_parts(split, preparation)
    tasks = [(p.fold, _task_data(split.task, x_train=p.x_train, y_train=p.y_train, x_eval=p.x_eval, y_eval=p.y_eval))
             for p in parts]  # fmt: skip
    plans = []
    for repetition in range(repetitions):
        for fold, data in tasks:
            weight_seed, shuffle_seed = model_seeds(seed, repetition, fold)
            plans.append(ModelPlan(repetition, fold, weight_seed, ModelTask(shuffle_seed, **data)))
    return plans, described


def _task_data(task: str, *, x_train, y_train, x_eval, y_eval) -> dict:
    """A model's data; for regression the label standardised on its own training labels, as the features are."""
    if task == "classification":
        return {"x_train": x_train, "y_train": y_train, "x_eval": x_eval, "y_eval": y_eval}
    center, scale = float(y_train.mean()), float(y_train.std()) or 1.0
    return {
        "x_train": x_train,
        "y_train": ((y_train - center) / scale).astype(np.float32),
        "x_eval": x_eval,
        "y_eval": ((y_eval - center) / scale).astype(np.float32),
        "label_center": center,
        "label_scale": scale,
    }


# One split at a time (a process trains one experiment), read once; a plan per preparation, two at a time (a
# preprocessing axis's cells alternate).
_splits = BoundedCache(1)
_plans = BoundedCache(2)


def plan_cell(split_path: str, *, repetitions: int, seed: int, preparation: Preparation) -> CellPlan:
    """The plan of every cell trained on this split with these settings, read and prepared once per process.

    Keyed by the split file's path, size and modification time, so a new
    split is read again.

    Raises
    ------
    gridflow.data.transformer.TransformerError
        If the user's transformer fails.
    """
    info = os.stat(split_path)
    where = (os.path.abspath(split_path), info.st_size, info.st_mtime_ns)
    split = _splits.get_or_create(where, lambda: load_split(split_path))[0]

    def plan() -> CellPlan:
        models, described = plan_models(split, repetitions, seed, preparation)
        n_outputs = len(split.class_names) if split.task == "classification" else 1
        n_features = models[0].task.x_train.shape[1]
        return CellPlan(models, n_features, n_outputs, split.y_train, split.task, described)

    return _plans.get_or_create((*where, repetitions, seed, preparation), plan)[0]


def clear_plan_cache() -> None:
    """Forget the cached split and plans (the next cell reads its split again)."""
    _splits.clear()
    _plans.clear()


caches.register(clear_plan_cache)


def class_weights(labels: np.ndarray, n_classes: int, mode: str) -> tuple[float, ...] | None:
    """Keras-style class weights: None, or 'balanced' as scikit-learn computes them."""
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=n_classes)
    return tuple(float(len(labels) / (n_classes * c)) if c else 0.0 for c in counts)
