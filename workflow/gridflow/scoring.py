"""Score a model's predicted probabilities against the true labels."""

from __future__ import annotations

import numpy as np

METRICS = ("accuracy", "loss", "roc_auc", "f1", "precision", "recall")
# Metrics where a smaller value is better.
LOWER_IS_BETTER = frozenset({"loss"})


def score(y_true: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Accuracy, cross-entropy loss, ROC AUC and macro F1/precision/recall.

    ``probabilities`` is [samples, classes]. ROC AUC is one-vs-rest macro for
    more than two classes, and NaN where a class is missing from ``y_true``.
    """
    from sklearn import metrics

    n_classes = probabilities.shape[1]
    labels = list(range(n_classes))
    probs = np.clip(probabilities.astype(np.float64), 1e-7, 1.0)
    probs /= probs.sum(axis=1, keepdims=True)
    predicted = probs.argmax(axis=1)
    if len(np.unique(y_true)) < n_classes:
        roc_auc = float("nan")
    elif n_classes == 2:
        roc_auc = metrics.roc_auc_score(y_true, probs[:, 1])
    else:
        roc_auc = metrics.roc_auc_score(y_true, probs, multi_class="ovr", average="macro", labels=labels)
    averaged = {"labels": labels, "average": "macro", "zero_division": 0}
    return {
        "accuracy": float(metrics.accuracy_score(y_true, predicted)),
        "loss": float(metrics.log_loss(y_true, probs, labels=labels)),
        "roc_auc": float(roc_auc),
        "f1": float(metrics.f1_score(y_true, predicted, **averaged)),
        "precision": float(metrics.precision_score(y_true, predicted, **averaged)),
        "recall": float(metrics.recall_score(y_true, predicted, **averaged)),
    }
