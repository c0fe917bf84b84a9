"""Score a model's outputs against the true labels: class probabilities, or predicted numbers.

Written with NumPy instead of calling scikit-learn's metric functions: they
validate their inputs on every call, which cost 18 ms per model (more than
training it, for a cell whose loop is compiled). tests/test_scoring.py checks
every metric against scikit-learn's.
"""

from __future__ import annotations

import numpy as np

EPS = np.finfo(np.float64).eps


def score_outputs(task: str, y_true: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """Every metric of ``task``: outputs are class probabilities, or predictions in the label's units."""
    return score(y_true, outputs) if task == "classification" else score_regression(y_true, outputs)


def score_regression(y_true: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """R², mean squared error, its root and mean absolute error; ``predictions`` is [samples, 1].

    R² is scikit-learn's: 1 - residual SS / total SS; for a constant label, 1 if predicted exactly, else 0.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    error = np.asarray(predictions, dtype=np.float64).reshape(len(y_true)) - y_true
    mse = float(np.mean(error**2))
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    residual = float(np.sum(error**2))
    r2 = 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else 0.0)
    return {"r2": r2, "mse": mse, "rmse": float(np.sqrt(mse)), "mae": float(np.mean(np.abs(error)))}


def score(y_true: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Accuracy, cross-entropy loss, ROC AUC and macro F1/precision/recall.

    ``probabilities`` is [samples, classes]. ROC AUC is one-vs-rest macro for
    more than two classes, and NaN where a class is missing from ``y_true``.
    Precision, recall and F1 count a class with no predicted or no true
    samples as 0 (scikit-learn's ``zero_division=0``).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    n_classes = probabilities.shape[1]
    probs = np.clip(probabilities.astype(np.float64), 1e-7, 1.0)
    probs /= probs.sum(axis=1, keepdims=True)
    predicted = probs.argmax(axis=1)
    confusion = np.bincount(y_true * n_classes + predicted, minlength=n_classes**2).reshape(n_classes, n_classes)
    hits = np.diag(confusion).astype(np.float64)
    true_counts, predicted_counts = confusion.sum(axis=1), confusion.sum(axis=0)
    picked = np.clip(probs[np.arange(len(y_true)), y_true], EPS, 1 - EPS)
    if (true_counts == 0).any():
        roc_auc = float("nan")
    elif n_classes == 2:
        roc_auc = _binary_roc_auc(y_true == 1, probs[:, 1])
    else:
        roc_auc = float(np.mean([_binary_roc_auc(y_true == c, probs[:, c]) for c in range(n_classes)]))
    return {
        "accuracy": float(hits.sum() / len(y_true)),
        "loss": float(-np.mean(np.log(picked))),
        "roc_auc": roc_auc,
        "f1": float(np.mean(_ratio(2 * hits, true_counts + predicted_counts))),
        "precision": float(np.mean(_ratio(hits, predicted_counts))),
        "recall": float(np.mean(_ratio(hits, true_counts))),
    }


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator per class, 0 where the denominator is 0."""
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing their mean rank (scipy's rankdata, without importing SciPy)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    sizes = np.diff(starts, append=len(values))
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(starts + (sizes + 1) / 2, sizes)
    return ranks


def _binary_roc_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the Mann-Whitney U statistic, ties counted half."""
    ranks = _average_ranks(scores)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
