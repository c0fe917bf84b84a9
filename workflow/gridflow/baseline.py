"""The chance baseline: what a model that ignores the features scores on the same splits.

The most-frequent-class predictor of scikit-learn's DummyClassifier with
strategy "prior": it predicts the training samples' most frequent class, with
their class frequencies as probabilities (so its loss is the entropy of the
labels, not infinite). NumPy only.
"""

from __future__ import annotations

import numpy as np

from gridflow.data import load_split
from gridflow.scoring import METRICS, score

STRATEGY = "most frequent class (class frequencies of the training samples as probabilities)"


def prior_scores(y_train: np.ndarray, y_eval: np.ndarray, n_classes: int) -> dict[str, float]:
    """Every metric of the prior predictor fitted on ``y_train``, scored on ``y_eval``."""
    frequencies = np.bincount(y_train, minlength=n_classes) / len(y_train)
    return score(y_eval, np.tile(frequencies, (len(y_eval), 1)))


def baseline_scores(split_path: str) -> dict:
    """Mean and std of every metric over the cross-validation folds, and on the holdout (test) part.

    The predictor has no seed, so repetitions would repeat the same scores: one per fold.
    """
    split = load_split(split_path)
    n_classes = len(split.class_names)
    folds = [
        prior_scores(split.y_train[split.folds != fold], split.y_train[split.folds == fold], n_classes)
        for fold in range(split.n_folds)
    ]
    holdout = prior_scores(split.y_train, split.y_test, n_classes)
    return {
        "strategy": STRATEGY,
        "cv": {
            m: {"mean": float(np.mean([f[m] for f in folds])), "std": float(np.std([f[m] for f in folds]))}
            for m in METRICS
        },  # fmt: skip
        "holdout": {m: {"mean": holdout[m], "std": 0.0} for m in METRICS},
    }
