"""The chance baseline: what a model that ignores the features scores on the same splits.

Classification: the most-frequent-class predictor of scikit-learn's
DummyClassifier with strategy "prior": it predicts the training samples' most
frequent class, with their class frequencies as probabilities (so its loss is
the entropy of the labels, not infinite). Regression: DummyRegressor's mean
predictor, the mean of the training labels. NumPy only.
"""

from __future__ import annotations

import numpy as np

from gridflow.data.split import load_split
from gridflow.results.scoring import score_outputs
from gridflow.spec.metrics import METRICS_BY_TASK

STRATEGIES = {
    "classification": "most frequent class (class frequencies of the training samples as probabilities)",
    "regression": "mean of the training labels",
}


def chance_scores(y_train: np.ndarray, y_eval: np.ndarray, *, task: str, n_classes: int) -> dict[str, float]:
    """Every metric of the task's chance predictor fitted on ``y_train``, scored on ``y_eval``."""
    if task == "classification":
        outputs = np.bincount(y_train, minlength=n_classes) / len(y_train)
    else:
        outputs = np.array([float(np.mean(y_train))])
    return score_outputs(task, y_eval, np.tile(outputs, (len(y_eval), 1)))


def baseline_scores(split_path: str) -> dict:
    """Mean and std of every metric over the cross-validation folds, and on the holdout (test) part.

    The predictor has no seed, so repetitions would repeat the same scores: one per fold.
    """
    split = load_split(split_path)
    kind = {"task": split.task, "n_classes": len(split.class_names)}
    folds = [
        chance_scores(split.y_train[split.folds != fold], split.y_train[split.folds == fold], **kind)
        for fold in range(split.n_folds)
    ]
    holdout = chance_scores(split.y_train, split.y_test, **kind)
    metrics = METRICS_BY_TASK[split.task]
    return {
        "strategy": STRATEGIES[split.task],
        "cv": {
            m: {"mean": float(np.mean([f[m] for f in folds])), "std": float(np.std([f[m] for f in folds]))}
            for m in metrics
        },  # fmt: skip
        "holdout": {m: {"mean": holdout[m], "std": 0.0} for m in metrics},
    }
