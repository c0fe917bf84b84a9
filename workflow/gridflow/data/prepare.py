"""Each model's features: raw rows of the split through the preprocessing fitted on that model's training samples.

The built-in preprocessing (gridflow.data.encode) or the user's transformer
(gridflow.data.transformer), fitted per CV fold on the fold's training
samples and for the test model on the whole training part, so that no model
sees what it is scored on. No TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gridflow.data.encode import Layout, fit_encoding, layout_of
from gridflow.data.split import FULL, Split
from gridflow.data.transformer import fit_transformer
from gridflow.spec.axes import PREPROCESSING_AXES


@dataclass(frozen=True)
class Preparation:
    """How a cell's models get their features: the built-in settings, or the user's transformer and its keywords."""

    scaler: str = "standard"
    impute: str = "median"
    fill_value: float = 0.0
    transformer: str | None = None
    keywords: tuple[tuple[str, object], ...] = ()  # the transformer's, sorted (hashable: plans are cached by it)

    @classmethod
    def of(cls, preprocessing: Mapping, axes: Mapping) -> Preparation:
        """A cell's preparation: its preprocessing axes' values (``axes``) over the config's ``preprocessing``."""
        merged = {**preprocessing, **{k: v for k, v in axes.items() if k in PREPROCESSING_AXES}}
        keywords = tuple(sorted((k, v) for k, v in axes.items() if k not in PREPROCESSING_AXES))
        return cls(merged["scaler"], merged["impute"], float(merged["fill_value"]), merged["transformer"], keywords)


@dataclass(frozen=True)
class Part:
    """One model's data: which fold it is (or FULL), its training rows and labels, its eval rows and labels."""

    fold: int | str
    x_train: np.ndarray
    y_train: np.ndarray
    x_eval: np.ndarray
    y_eval: np.ndarray


def prepared_parts(split: Split, preparation: Preparation) -> tuple[list[Part], dict]:
    """Every distinct model's data (each CV fold, then FULL), and what the preprocessing did, for the record.

    A transformer that gives the models different numbers of features (a
    category missing from one fold's training samples) has the narrower ones
    padded with zero features, which no model learns from: every model of a
    cell has one input width.
    """
    train_masks = [(fold, ~split.held_out(fold)) for fold in range(split.n_folds)]
    layout = (
        None
        if preparation.transformer
        else layout_of(split.x_train, split.x_test, names=split.feature_names, categories=split.categories)
    )
    parts = []
    for fold, train in [*train_masks, (FULL, slice(None))]:
        prepare = _fit(split, preparation, layout, train=train)
        x_eval = split.x_test if fold == FULL else split.x_train[~train]
        parts.append(Part(fold, prepare(split.x_train[train]), split.y_train[train], prepare(x_eval),
                          split.eval_labels(fold)))  # fmt: skip
    width = max(p.x_train.shape[1] for p in parts)
    parts = [Part(p.fold, _pad(p.x_train, width), p.y_train, _pad(p.x_eval, width), p.y_eval) for p in parts]
    if layout is None:
        return parts, {"columns_in": len(split.feature_names), "features_out": width,
                       "transformer": preparation.transformer}  # fmt: skip
    return parts, {**layout.describe(), "scaler": preparation.scaler, "impute": preparation.impute}


def _fit(split: Split, preparation: Preparation, layout: Layout | None, *, train):
    x = split.x_train[train]
    if layout is None:
        return fit_transformer(preparation.transformer, dict(preparation.keywords), x=x, y=split.y_train[train],
                               names=split.feature_names, categories=split.categories)  # fmt: skip
    return fit_encoding(x, layout, scaler=preparation.scaler, impute=preparation.impute,
                        fill_value=preparation.fill_value)  # fmt: skip


def _pad(x: np.ndarray, width: int) -> np.ndarray:
    return x if x.shape[1] == width else np.pad(x, ((0, 0), (0, width - x.shape[1])))
